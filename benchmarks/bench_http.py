"""One JSON POST through a Controller route (json_endpoint + Schema) against
a bare Flask view doing the same validation by hand; same payload.

    python -m benchmarks.bench_http [--repeats 5] [--quick]

Two methods, both stated in the rows:

- **in-process WSGI**: each app is called directly as a WSGI callable with a
  prebuilt environ (werkzeug's ``EnvironBuilder``, built once; each request
  copies it and gets a fresh ``wsgi.input``), so the harness overhead is a
  dict copy and a BytesIO — the figure is the framework's CPU time per
  request (``time.process_time``, robust to other load on the machine);
- **loopback server**: each app is served by gevent's pywsgi in its own
  process (``benchmarks.apps.http_app``); this process drives it with a
  fixed number of requests over a pool of keep-alive connections (raw
  sockets, one greenlet each, HTTP/1.1), so client and server each get a
  core. Figures: wall-clock time per request (what a client sees) and the
  server process's CPU time per request (``/proc/<pid>/stat``). Loopback
  only; the servers are stopped and reaped in ``finally``.

Ours and bare alternate every repeat (order reversed every other repeat), so
machine noise hits both alike; medians, spread = min-max of the per-repeat
ratios. Goal (issue 16 #8): in-process CPU ours / bare <= 1.08.
"""
from __future__ import annotations

if __name__ == "__main__":
    from gevent import monkey

    monkey.patch_all()

import gc
import io
import json
import os
import socket
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import gevent

from benchmarks._harness import cpu_timed, interleaved_samples, paired_row, row, scenario_main
from benchmarks._procs import Child
from benchmarks.apps.http_app import PATH, PAYLOAD, create_app, shutdown

BARE = "bare Flask view"
OURS = "ours: Controller route + json_endpoint + Schema.require(expect_json())"
BODY = json.dumps(PAYLOAD).encode()


# ---------------------------------------------------------------- in-process
def _call(app: Any, base: Dict[str, Any], body: bytes) -> Tuple[int, bytes]:
    status: List[str] = []
    env = base.copy()
    env["wsgi.input"] = io.BytesIO(body)
    result = app(env, lambda s, headers, exc_info=None: status.append(s))
    try:
        data = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return int(status[0].split()[0]), data


def _environ(body: bytes) -> Dict[str, Any]:
    from werkzeug.test import EnvironBuilder

    builder = EnvironBuilder(path=PATH, method="POST", data=body, content_type="application/json",
                             base_url="http://127.0.0.1/")
    try:
        return builder.get_environ()
    finally:
        builder.close()


def _check_same_answers(apps: Dict[str, Any], base: Dict[str, Any]) -> None:
    """Both apps must answer alike (201 + same body; 400 for a bad payload)
    before their timings mean anything."""
    answers = {name: _call(app, base, BODY) for name, app in apps.items()}
    decoded = {name: (status, json.loads(data)) for name, (status, data) in answers.items()}
    if decoded["ours"] != decoded["bare"] or decoded["ours"][0] != 201:
        raise RuntimeError(f"the two apps answer differently: {decoded}")
    bad = json.dumps({"qty": "many", "price": 1}).encode()
    bad_base = _environ(bad)
    for name, app in apps.items():
        status, data = _call(app, bad_base, bad)
        errors = json.loads(data).get("errors", {})
        if status != 400 or set(errors) != {"name", "qty"}:
            raise RuntimeError(f"{name}: a bad payload got {status} {data[:200]!r}")


def _wsgi_loop(app: Any, base: Dict[str, Any], count: int) -> Callable[[], None]:
    def loop() -> None:
        copy, body, BytesIO = base.copy, BODY, io.BytesIO  # noqa: N806
        start_response = lambda s, h, e=None: None  # noqa: E731
        for _ in range(count):
            env = copy()
            env["wsgi.input"] = BytesIO(body)
            result = app(env, start_response)
            for _chunk in result:
                pass
            result.close()
    return loop


def in_process_rows(repeats: int, count: int) -> List[Dict[str, Any]]:
    apps = {"ours": create_app("ours"), "bare": create_app("bare")}
    try:
        base = _environ(BODY)
        _check_same_answers(apps, base)
        for app in apps.values():
            _wsgi_loop(app, base, 200)()  # warm up
        # CPU time rather than wall time: other work on a shared machine stretches wall time
        # unevenly; a single-threaded gevent process's CPU time is the work the request path did
        t = interleaved_samples({name: _wsgi_loop(app, base, count) for name, app in apps.items()}, repeats,
                                timer=cpu_timed)
    finally:
        for app in apps.values():
            shutdown(app)
    return [paired_row("HTTP JSON POST + validation, in-process WSGI call (CPU time)", t["ours"], BARE, t["bare"],
                       "us/request", scale=1e6 / count, goal="issue 16 #8: <= 1.08x a hand-written Flask view (CPU)",
                       goal_max=1.08, note=f"{OURS}; {count} requests per sample, prebuilt environ")]


# ----------------------------------------------------------- loopback server
def _request_bytes(port: int) -> bytes:
    head = (f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(BODY)}\r\n\r\n")
    return head.encode() + BODY


def _keepalive_worker(port: int, budget: List[int], statuses: Dict[int, int]) -> None:
    request = _request_bytes(port)
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = b""
    try:
        while budget[0] > 0:
            budget[0] -= 1
            sock.sendall(request)
            while b"\r\n\r\n" not in buf:
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("server closed a keep-alive connection")
                buf += chunk
            head, _, buf = buf.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            while len(buf) < length:
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("server closed the connection mid-response")
                buf += chunk
            buf = buf[length:]
            status = int(head[9:12])
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        sock.close()


def _load(port: int, requests: int, connections: int) -> Callable[[], None]:
    def drive() -> None:
        budget = [requests]
        statuses: Dict[int, int] = {}
        workers = [gevent.spawn(_keepalive_worker, port, budget, statuses) for _ in range(connections)]
        try:
            gevent.joinall(workers, timeout=120, raise_error=True)
        finally:
            gevent.killall(workers, timeout=5)
        if statuses != {201: requests}:
            raise RuntimeError(f"127.0.0.1:{port} answered {statuses}, expected {requests} x 201")
    return drive


@contextmanager
def _server(variant: str, log_dir: Path) -> Iterator[Tuple[Child, int]]:
    """The app of ``variant`` served by pywsgi in its own process: (child, port)."""
    child = Child([sys.executable, "-m", "benchmarks.apps.http_app", "--variant", variant, "--port", "0"],
                  log_path=log_dir / f"http-{variant}.log", pipes=True, name=f"http_app {variant}")
    try:
        info = child.read_json(timeout=30)
        yield child, int(info["port"])
    finally:
        child.stop()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far (/proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_rows(repeats: int, requests: int, connections: int) -> List[Dict[str, Any]]:
    wall: Dict[str, List[float]] = {"ours": [], "bare": []}
    cpu: Dict[str, List[float]] = {"ours": [], "bare": []}
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp, ExitStack() as stack:
        servers = {v: stack.enter_context(_server(v, Path(tmp))) for v in wall}
        for _child, port in servers.values():
            _load(port, min(500, requests), connections)()  # warm up
        for i in range(repeats):  # alternate, so machine noise hits both alike
            for v in (("ours", "bare") if i % 2 == 0 else ("bare", "ours")):
                child, port = servers[v]
                cpu0, t0 = _cpu_seconds(child.pid), time.perf_counter()
                _load(port, requests, connections)()
                wall[v].append((time.perf_counter() - t0) / requests * 1e6)
                cpu[v].append((_cpu_seconds(child.pid) - cpu0) / requests * 1e6)
    w = {v: statistics.median(x) for v, x in wall.items()}
    how = f"{requests} requests over {connections} keep-alive connections per sample"
    return [
        paired_row("HTTP JSON POST + validation, pywsgi server on loopback (wall clock)", wall["ours"], BARE,
                   wall["bare"], "us/request",
                   note=f"{OURS}; {how}; {1e6 / w['ours']:,.0f} vs {1e6 / w['bare']:,.0f} req/s"),
        paired_row("HTTP JSON POST + validation, pywsgi server on loopback (server CPU time)", cpu["ours"], BARE,
                   cpu["bare"], "us/request",
                   note="user+system CPU of the server process (/proc/<pid>/stat) over the same samples"),
    ]


def run(repeats: int = 5, quick: bool = False, requests: Optional[int] = None,
        server: bool = True) -> List[Dict[str, Any]]:
    """In-process rows always; the loopback-server row unless ``server=False``."""
    count = requests or (300 if quick else 5000)
    rows = in_process_rows(repeats, count)
    if server:
        rows += server_rows(repeats, requests or (300 if quick else 4000), connections=8)
    return rows


def main(argv: Optional[List[str]] = None) -> int:
    return scenario_main(run, __doc__, repeats=5, argv=argv)

if __name__ == "__main__":
    raise SystemExit(main())
