"""The runtime's WSGI edge under a real gevent server: the request's scope,
requests in flight counted and waited for, 503 while draining."""
from __future__ import annotations

import time
from typing import Any, List

import gevent
import pytest
import requests
from gevent.event import Event
from gevent.pywsgi import WSGIServer

from specter_spoc import bus, current_scope

pytestmark = pytest.mark.e2e


def test_a_request_runs_in_its_runtimes_scope_and_is_waited_for(spoc_app_factory: Any, free_port: int) -> None:
    app, _, runtime = spoc_app_factory()
    other_app, _, other = spoc_app_factory()  # two runtimes: no single-runtime fallback to hide a bug
    release = Event()
    entered = Event()
    seen: List[Any] = []

    @app.get("/slow")
    def slow() -> str:
        seen.append(current_scope())
        bus.emit("hit", 1)
        entered.set()
        release.wait(5)
        return "done"

    heard: List[int] = []
    runtime.bus.on("hit", heard.append)
    server = WSGIServer(("127.0.0.1", free_port), app, log=None)
    server.start()
    try:
        pending = gevent.spawn(requests.get, f"http://127.0.0.1:{free_port}/slow", timeout=10)
        assert entered.wait(5)
        assert seen == [runtime.scope] and heard == [1]
        tracker = runtime._connections
        assert tracker is not None and tracker.in_flight == 1
        assert not tracker.wait_idle(time.monotonic() + 0.05)
        runtime.draining = True
        refused = requests.get(f"http://127.0.0.1:{free_port}/slow", timeout=5)
        assert refused.status_code == 503 and refused.headers["Retry-After"]
        release.set()
        assert pending.get(timeout=5).text == "done"
        assert tracker.wait_idle(time.monotonic() + 2) and tracker.in_flight == 0
    finally:
        release.set()
        server.stop(timeout=2)
        runtime.draining = False
        other.shutdown()
