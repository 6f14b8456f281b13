"""Two gunicorn workers with REDIS_URL and PROMETHEUS_MULTIPROC_DIR: the
metrics endpoint of either worker reports both (parsed with
prometheus_client's own parser), and the console shows both processes side
by side, marking a killed one gone."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Set, Tuple

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.console.console_helpers import kill_pid, worker_pids
from tests.contrib.redis.redis_helpers import wait_until

pytestmark = pytest.mark.e2e


def _samples(url: str) -> List[Tuple[str, Dict[str, str], float]]:
    response = requests.get(url + "/_spoc/metrics", timeout=5)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/plain")
    return [(s.name, s.labels, s.value) for family in text_string_to_metric_families(response.text)
            for s in family.samples]


def _total(samples: List[Tuple[str, Dict[str, str], float]], name: str, **labels: str) -> float:
    return sum(v for n, lab, v in samples if n == name and all(lab.get(k) == w for k, w in labels.items()))


def _post_until_both(url: str, path: str, body: Any, pids: Set[int], least: int) -> int:
    """POST on fresh connections until each worker answered at least once
    (the kernel picks the worker); returns how many POSTs were made."""
    seen: Set[int] = set()
    count = 0
    while count < least or seen != pids:
        response = requests.post(url + path, json=body, timeout=5, headers={"Connection": "close"})
        assert response.status_code == 200, response.text
        seen.add(response.json()["pid"])
        count += 1
        assert count < 400, f"only workers {seen} of {pids} answered"
    return count


def test_metrics_and_console_cover_both_workers(gunicorn_console: Any, redis_server: Any, tmp_path: Path) -> None:
    prom_dir = tmp_path / "prom"
    prom_dir.mkdir()
    env = {"REDIS_URL": redis_server.url, "PROMETHEUS_MULTIPROC_DIR": str(prom_dir), "METRICS_SAMPLE": "0.2"}
    with gunicorn_console(2, **env) as server:
        pids = wait_until(lambda: (lambda p: p if len(p) == 2 else None)(worker_pids(server.proc.pid)),
                          timeout=20, what="two gunicorn workers")
        emits = _post_until_both(server.url, "/emit/ping", None, pids, 6)
        batches = _post_until_both(server.url, "/jobs", {"items": [1, 2, 3]}, pids, 4)

        def settled() -> Any:
            samples = _samples(server.url)
            done = _total(samples, "spoc_queue_processed_total", queue="jobs") == 3 * batches
            return samples if done else None

        samples = wait_until(settled, timeout=15, interval=0.2, what="processed items of both workers")
        assert _total(samples, "spoc_bus_emits_total", event="ping") == emits
        assert _total(samples, "spoc_queue_handling_seconds_count", queue="jobs") == 3 * batches
        assert _total(samples, "spoc_socketio_events_total", direction="out") == emits  # one emit per /emit call
        # gauges: one series per live worker (pid label)
        running = {lab["pid"]: v for n, lab, v in samples if n == "spoc_services" and lab["state"] == "running"}
        assert set(running) == {str(p) for p in pids} and all(v >= 4 for v in running.values())
        workers = [v for n, lab, v in samples if n == "spoc_queue_workers_alive"]
        assert workers == [2.0, 2.0]

        # the console: both processes side by side, through Redis
        def processes() -> List[Dict[str, Any]]:
            return requests.get(server.url + "/_spoc/console/api/snapshot", timeout=5).json()["processes"]

        live = wait_until(lambda: (lambda ps: ps if {p["process"]["pid"] for p in ps if not p.get("gone")} == pids
                                   else None)(processes()), timeout=10, interval=0.1, what="both workers listed")
        assert all(p["tree"]["owned"] for p in live)
        victim = sorted(pids)[0]
        kill_pid(victim)  # gunicorn replaces it; the console marks the old one gone
        gone = wait_until(lambda: [p for p in processes() if p.get("gone") and p["process"]["pid"] == victim],
                          timeout=15, interval=0.2, what=f"worker {victim} marked gone")
        assert gone[0]["stopped"] is False
