"""Graceful drain under a real gunicorn: requests in flight when SIGTERM
arrives get their normal answer (services stop only after them); requests
arriving during the drain get 503 with Retry-After; none gets a 500."""
from __future__ import annotations

import collections
from pathlib import Path

import gevent
import pytest
import requests
from gevent.pool import Pool

from specter_spoc.testing import wait_until

pytestmark = pytest.mark.e2e

IN_FLIGHT = 20


@pytest.mark.parametrize("worker", ["geventwebsocket.gunicorn.workers.GeventWebSocketWorker", "gevent"])
def test_requests_racing_sigterm_get_their_answer_or_503_never_500(gunicorn_server, tmp_path: Path,
                                                                    worker: str) -> None:
    with gunicorn_server("drain_app:create_app()", worker=worker, env={"WORK_SECONDS": "0.5"}) as server:
        session_pool = Pool(IN_FLIGHT * 2)
        statuses: collections.Counter = collections.Counter()

        def call() -> None:
            try:
                response = requests.get(f"{server.url}/work", timeout=20)
            except requests.ConnectionError:
                statuses["refused"] += 1  # arrived after the listener closed: not an answer at all
                return
            statuses[response.status_code] += 1
            if response.status_code == 503:
                assert response.headers.get("Retry-After")

        for _ in range(IN_FLIGHT):
            session_pool.spawn(call)
        wait_until(lambda: requests.get(f"{server.url}/inflight", timeout=5).json()["in_flight"] >= IN_FLIGHT,
                   timeout=10, interval=0.02, what=f"{IN_FLIGHT} requests in flight")
        server.proc.send_signal(__import__("signal").SIGTERM)
        for _ in range(IN_FLIGHT):  # late arrivals race the drain
            session_pool.spawn(call)
            gevent.sleep(0.005)  # pacing the load (arrivals spread over the drain), not a synchronisation
        session_pool.join(timeout=30)
        server.proc.wait(20)
    print(f"\n{worker}: {dict(statuses)}")
    assert statuses[500] == 0, (dict(statuses), server.log())
    assert statuses[200] >= IN_FLIGHT, (dict(statuses), server.log())  # every request in flight was answered
    assert sum(statuses.values()) == 2 * IN_FLIGHT
