"""Faults during boot and shutdown (issue 9)."""
from __future__ import annotations

import logging
import time
from typing import List

import gevent
import pytest
from flask import Flask
from flask_socketio import SocketIO

from specter_spoc import BootError, Service, boot


class Logged(Service):
    def __init__(self, name: str, log: List[str]) -> None:
        super().__init__(name)
        self.log = log

    def on_start(self) -> None:
        self.interval(lambda: None, 0.01)
        self.log.append(f"start {self.name}")

    def on_stop(self) -> None:
        self.log.append(f"stop {self.name}")


class Hangs(Logged):
    stop_timeout = 30  # longer than the runtime's shared deadline

    def on_stop(self) -> None:
        self.log.append(f"stop {self.name} (hanging)")
        gevent.sleep(60)


def test_hanging_on_stop_is_cut_by_the_shared_deadline(make_app, caplog) -> None:
    log: List[str] = []
    _, _, runtime = make_app(services=[Logged("a", log), Hangs("hangs", log), Logged("c", log)],
                             shutdown_timeout=0.5)
    started = time.monotonic()
    with caplog.at_level(logging.ERROR):
        runtime.shutdown()
    elapsed = time.monotonic() - started
    assert elapsed < 3, elapsed
    assert log == ["start a", "start hangs", "start c", "stop c", "stop hangs (hanging)", "stop a"]
    assert "'hangs': on_stop() still running" in caplog.text
    assert all(not s.running for s in runtime.services)


def test_unreachable_dependency_fails_boot_clearly_and_leaves_nothing() -> None:
    log: List[str] = []

    class Database(Service):
        def on_start(self) -> None:
            self.spawn(gevent.sleep, 30)
            raise ConnectionRefusedError("postgresql://app@127.0.0.1:1/app refused the connection")

    app = Flask("unreachable")
    with pytest.raises(BootError, match="'database'.*refused the connection"):
        boot(app, SocketIO(app, async_mode="gevent"), install_signals=False,
             services=[Logged("first", log), Database("database"), Logged("never", log)])
    assert log == ["start first", "stop first"]


def test_optional_service_failure_degrades_but_serves(make_app) -> None:
    log: List[str] = []

    class Cache(Service):
        optional = True

        def on_start(self) -> None:
            raise ConnectionRefusedError("redis at 127.0.0.1:1 refused")

    app, _, runtime = make_app(services=[Logged("db", log), Cache("cache"), Logged("api", log)],
                               health_endpoint="/health")
    assert runtime.booted and log == ["start db", "start api"]
    health = runtime.health()
    assert health["status"] == "degraded"
    assert health["services"]["cache"]["status"] == "failed"
    assert "refused" in health["services"]["cache"]["failed"]
    r = app.test_client().get("/health")
    assert r.status_code == 503 and r.get_json()["services"]["cache"]["status"] == "failed"
    assert "refused" not in r.get_data(as_text=True)
