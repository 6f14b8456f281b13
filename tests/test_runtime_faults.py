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
from specter_spoc.testing import wait_until


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


def test_hanging_on_stop_is_cut_by_the_shared_deadline(spoc_app_factory, caplog) -> None:
    log: List[str] = []
    _, _, runtime = spoc_app_factory(services=[Logged("a", log), Hangs("hangs", log), Logged("c", log)],
                             shutdown_timeout=0.5)
    started = time.monotonic()
    with caplog.at_level(logging.ERROR):
        runtime.shutdown()
    elapsed = time.monotonic() - started
    assert elapsed < 5, elapsed  # shutdown_timeout=0.5 bounds it; generous for a loaded CI
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


def test_optional_service_failure_degrades_but_serves(spoc_app_factory) -> None:
    log: List[str] = []

    class Cache(Service):
        optional = True

        def on_start(self) -> None:
            raise ConnectionRefusedError("redis at 127.0.0.1:1 refused")

    app, _, runtime = spoc_app_factory(services=[Logged("db", log), Cache("cache"), Logged("api", log)],
                               health_endpoint="/health")
    assert runtime.booted and log == ["start db", "start api"]
    health = runtime.health()
    assert health["status"] == "degraded"
    assert health["services"]["cache"]["status"] == "failed"
    assert "refused" in health["services"]["cache"]["failed"]
    r = app.test_client().get("/health")
    assert r.status_code == 503 and r.get_json()["services"]["cache"]["status"] == "failed"
    assert "refused" not in r.get_data(as_text=True)


# ------------------------------------------------------- faults of issue 12
class _Slow(Service):
    """Records its stop, to check later services are still stopped."""

    def __init__(self, name: str, log: List[str]) -> None:
        super().__init__(name)
        self.log = log

    def on_stop(self) -> None:
        self.log.append(f"stop {self.name}")


def test_a_queue_worker_slow_to_die_does_not_stop_shutdown_halfway(spoc_app_factory) -> None:
    from gevent.event import Event as GEvent

    from specter_spoc import QueueService

    release = GEvent()
    handed_back: List[object] = []
    finished: List[object] = []

    class Stubborn(QueueService):
        drain_timeout = 0.1
        stop_margin = 0.2

        def handle_item(self, item: object) -> None:
            while not release.is_set():
                try:
                    release.wait()
                except BaseException:  # noqa: B036 - the fault under test
                    pass
            finished.append(item)

        def on_undelivered(self, items: List[object]) -> None:
            handed_back.extend(items)

    log: List[str] = []
    queue = Stubborn("stubborn")
    _, _, runtime = spoc_app_factory(services=[_Slow("first", log), queue, _Slow("last", log)], shutdown_timeout=2)
    queue.enqueue("a")
    queue.enqueue("b")
    gevent.sleep(0)
    started = time.monotonic()
    runtime.shutdown()  # must not raise gevent.Timeout
    assert time.monotonic() - started < 6  # shutdown_timeout=2 bounds it; generous for a loaded CI
    assert log == ["stop last", "stop first"]
    assert sorted(handed_back) == ["a", "b"]
    assert runtime.health()["status"] == "stopped"
    release.set()
    wait_until(lambda: finished == ["a"], timeout=5, what="the straggling handler to end once released")


def test_shutdown_called_from_a_queue_handler_neither_hangs_nor_leaves_the_worker(spoc_app_factory) -> None:
    from gevent.event import Event as GEvent

    from specter_spoc import QueueService

    handled = GEvent()

    class Stopper(QueueService):
        drain_timeout = 30.0

        def handle_item(self, item: object) -> None:
            runtime.shutdown()  # e.g. an admin "shut down" job
            handled.set()

    queue = Stopper("stopper")
    _, _, runtime = spoc_app_factory(services=[queue])
    started = time.monotonic()
    queue.enqueue("stop please")
    assert handled.wait(2)
    runtime._shutdown_done.wait(5)
    assert time.monotonic() - started < 10  # not the 30 s drain timeout
    assert queue.live_greenlets() == [] and queue.stats()["processed"] == 1
    assert runtime.health()["status"] == "stopped"


def test_a_blocking_on_start_fails_boot_naming_the_service() -> None:
    from gevent.event import Event as GEvent

    class Blocks(Service):
        def on_start(self) -> None:
            GEvent().wait()

    app = Flask("blocking")
    socketio = SocketIO(app, async_mode="gevent")
    started = time.monotonic()
    with pytest.raises(BootError, match=r"'blocks'.*start_timeout"):
        boot(app, socketio, services=[Blocks("blocks")], start_timeout=0.3, install_signals=False)
    assert time.monotonic() - started < 5  # start_timeout=0.3 bounds it; generous for a loaded CI


def test_an_on_stop_catching_everything_cannot_hold_shutdown_past_the_deadline(spoc_app_factory) -> None:
    from gevent.event import Event as GEvent

    release = GEvent()
    exited = GEvent()

    class Bare(Service):
        stop_timeout = 30

        def on_stop(self) -> None:
            while not release.is_set():
                try:
                    gevent.sleep(0.01)
                except:  # noqa: E722 - the fault under test
                    pass
            exited.set()

    log: List[str] = []
    _, _, runtime = spoc_app_factory(services=[_Slow("before", log), Bare("bare")], shutdown_timeout=1.0)
    started = time.monotonic()
    runtime.shutdown()
    assert time.monotonic() - started < 5  # shutdown_timeout=1 bounds it; generous for a loaded CI
    assert log == ["stop before"]
    release.set()
    assert exited.wait(5)  # the straggler ends once released


def test_health_says_stopped_after_shutdown_and_handlers_keep_specter_shape(spoc_app_factory) -> None:
    from specter_spoc import Handler

    class Chat(Handler):
        name = "chat"
        events = {"say": "on_say"}

        def on_say(self, data: object = None) -> None:
            return None

    _, _, runtime = spoc_app_factory(handlers=[Chat()])
    assert runtime.health()["handlers"] == {"chat": {"registered": True}}
    runtime.shutdown()
    health = runtime.health()
    assert health["status"] == "stopped" and health["handlers"] == {"chat": {"registered": False}}


def test_a_raising_service_health_is_reported_not_raised(spoc_app_factory) -> None:
    class Broken(Service):
        def health(self) -> dict:
            raise RuntimeError("no health for you")

    _, _, runtime = spoc_app_factory(services=[Broken("broken")])
    report = runtime.health()
    assert report["services"]["broken"] == {"status": "error", "error": "no health for you"}
    assert report["status"] == "degraded"
