"""One client cannot starve the others (issue 12 section 4), on a real gunicorn worker.

Protection checked: python-socketio spawns one greenlet per inbound event, so
one websocket writing thousands of frames used to queue thousands of handler
greenlets ahead of every other client (other clients' HTTP requests waited
seconds, the worker's memory grew with the backlog). The runtime's ingress
now admits at most ``SOCKETIO_MAX_IN_FLIGHT`` running events per connection
(and optionally ``SOCKETIO_RATE_LIMIT`` per second) *before* the greenlet is
spawned; the excess is answered with an error ack, status 429, or closes the
connection (``SOCKETIO_ON_EXCESS=disconnect``).

The flood comes from a raw websocket in a process of its own (its reading of
acks must not slow the probing client); the probing client is this process.
Latency bounds are generous (machines running this suite are shared): before
the fix the same flood held other requests for seconds.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest
from specter_spoc.testing import wait_until
import requests

import blog_example_helpers as helpers  # loaded by this folder's conftest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
FLOODER = r'''
from gevent import monkey; monkey.patch_all()
import json, sys
sys.path.insert(0, sys.argv[4])
from benchmarks._sio_protocol import Closed, RawClient
url, count, event = sys.argv[1], int(sys.argv[2]), sys.argv[3]
client = RawClient(url, timeout=60)
print("connected", flush=True)
sys.stdin.readline()
frames = [f"42{i}" + json.dumps([event, {"n": i}]) for i in range(1, count + 1)]
try:
    for frame in frames:
        client.send_raw(frame)
    last = client.emit(event, {"n": "last"}, timeout=60)
except Closed:
    last = "closed"
print(json.dumps({"last": last, "closed": client.closed}), flush=True)
client.close()
'''


def _flood(url: str, count: int, event: str = "work") -> "subprocess.Popen[str]":
    proc = subprocess.Popen([sys.executable, "-c", FLOODER, url, str(count), event, str(ROOT)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "connected"
    return proc


def _probe_during(url: str, flooder: "subprocess.Popen[str]") -> List[float]:
    """Start the flood, then time ``GET /ping`` one after another until the
    flooder got its last answer; the latencies in seconds."""
    assert flooder.stdin is not None and flooder.stdout is not None
    latencies: List[float] = []
    with requests.Session() as session:
        session.get(url + "/ping", timeout=5)  # a warm keep-alive connection
        flooder.stdin.write("go\n")
        flooder.stdin.flush()
        while flooder.poll() is None or not latencies:
            started = time.perf_counter()
            session.get(url + "/ping", timeout=60)
            latencies.append(time.perf_counter() - started)
            time.sleep(0.002)
    return latencies


def _stats(url: str) -> Dict[str, Any]:
    return requests.get(url + "/stats", timeout=5).json()


@pytest.mark.e2e
def test_a_flood_from_one_websocket_is_bounded_and_other_clients_stay_fast(tmp_path: Path) -> None:
    with helpers.e2e.gunicorn("flood_app:create_app()", chdir=HERE / "apps", tmp_path=tmp_path,
                              env={"SOCKETIO_MAX_IN_FLIGHT": "8"}) as server:
        rss_before = _rss(_stats(server.url)["pid"])
        flooder = _flood(server.url, 3000)
        latencies = _probe_during(server.url, flooder)
        out, _ = flooder.communicate(timeout=60)
        answer = json.loads(out.strip().splitlines()[-1])
        stats = _wait_for_disconnect(server.url)
        rss_after = _rss(stats["pid"])
        log = server.log()
    # the last event was answered, by the handler or with a 429 error ack
    assert answer["last"] == {"ok": True} or answer["last"].get("status") == 429, answer
    assert stats["connections"] == 0 and stats["in_flight"] == 0, stats  # nothing left per connection
    assert stats["most"] <= 8, f"{stats['most']} handlers ran at once for one connection (limit 8)"
    assert stats["done"] < 3001, stats  # some were refused (429) instead of run
    assert "exceeded its event limits" in log
    worst = max(latencies)
    assert worst < 2.0, f"another client's request waited {worst:.2f}s during the flood ({len(latencies)} probes)"
    assert rss_after - rss_before < 20 * 2**20, f"worker grew by {(rss_after - rss_before) / 2**20:.0f} MiB"


@pytest.mark.e2e
def test_on_excess_disconnect_closes_the_flooding_connection_only(tmp_path: Path) -> None:
    env = {"SOCKETIO_MAX_IN_FLIGHT": "4", "SOCKETIO_ON_EXCESS": "disconnect"}
    with helpers.e2e.gunicorn("flood_app:create_app()", chdir=HERE / "apps", tmp_path=tmp_path,
                              env=env) as server:
        flooder = _flood(server.url, 500)
        _probe_during(server.url, flooder)
        out, _ = flooder.communicate(timeout=60)
        answer = json.loads(out.strip().splitlines()[-1])
        assert answer["last"] == "closed" and answer["closed"], answer
        assert "closing connection" in server.log()
        assert requests.get(server.url + "/ping", timeout=5).json() == {"ok": True}


def _wait_for_disconnect(url: str, timeout: float = 10) -> Dict[str, Any]:
    """/stats once the server saw the flooder's connection end."""
    try:
        wait_until(lambda: _stats(url)["connections"] == 0, timeout=timeout, interval=0.02,
                   what="the server to see the flooder's connection end")
    except AssertionError:
        pass  # the caller asserts on the figures and says what is left
    return _stats(url)


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for pid {pid}")
