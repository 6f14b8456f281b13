"""specter_spoc.signals: the lifecycle signals are sent at the documented moment,
with the documented sender and keyword arguments."""
from __future__ import annotations

from typing import Any, List, Tuple

import gevent
import pytest
from gevent.event import Event

from specter_spoc import Service, boot, signals

Record = Tuple[str, Any, dict]


class Idle(Service):
    def __init__(self, name: str = "idle", **kwargs: Any) -> None:
        super().__init__(name)
        for key, value in kwargs.items():
            setattr(self, key, value)


def test_started_then_stopped_with_the_service_as_sender() -> None:
    service = Idle()
    seen: List[Tuple[str, bool, int]] = []
    owned: List[gevent.Greenlet] = []

    def started(sender: Service, **extra: Any) -> None:
        assert sender is service and extra == {}
        seen.append(("started", sender.running, len(sender.live_greenlets())))

    def stopped(sender: Service, **extra: Any) -> None:
        assert sender is service and extra == {}
        # sent after everything owned was released: the greenlet has exited
        seen.append(("stopped", sender.running, sum(1 for g in owned if not g.dead)))

    service.on_start = lambda: owned.append(service.spawn(gevent.sleep, 60))  # type: ignore[method-assign]
    with signals.service_started.connected_to(started, sender=service), \
            signals.service_stopped.connected_to(stopped, sender=service):
        service.start()
        service.stop()
        service.stop()  # idempotent: no second signal
    assert seen == [("started", True, 1), ("stopped", False, 0)]


def test_sender_filter_only_delivers_that_services_signals() -> None:
    mine, other = Idle("mine"), Idle("other")
    got: List[str] = []
    with signals.service_started.connected_to(lambda s, **kw: got.append(s.name), sender=mine):
        other.start()
        mine.start()
        other.stop()
        mine.stop()
    assert got == ["mine"]


def test_a_start_that_fails_sends_neither_started_nor_stopped() -> None:
    class Broken(Service):
        def on_start(self) -> None:
            raise RuntimeError("no database")

    service = Broken("broken")
    got: List[str] = []
    with signals.service_started.connected_to(lambda s, **kw: got.append("started"), sender=service), \
            signals.service_stopped.connected_to(lambda s, **kw: got.append("stopped"), sender=service):
        with pytest.raises(RuntimeError, match="no database"):
            service.start()
    assert got == [] and not service.running


def test_a_crash_is_sent_with_error_label_and_policy() -> None:
    service = Idle("crashy", supervision="log")
    crashed = Event()
    records: List[Record] = []
    error = ValueError("bad row")

    def receiver(sender: Service, **extra: Any) -> None:
        records.append(("crashed", sender, extra))
        crashed.set()

    def import_rows() -> None:
        raise error

    with signals.service_crashed.connected_to(receiver, sender=service):
        service.start()
        try:
            service.spawn(import_rows)
            assert crashed.wait(5), "service_crashed was not sent within 5 s"
        finally:
            service.stop()
    assert len(records) == 1
    _, sender, extra = records[0]
    assert sender is service
    assert extra["error"] is error and extra["action"] == "log"
    assert "import_rows" in extra["label"]


def test_runtime_signals_bracket_serving() -> None:
    from flask import Flask
    from flask_socketio import SocketIO

    service = Idle("worker")
    app = Flask(__name__)
    socketio = SocketIO(app, async_mode="gevent")
    seen: List[Tuple[str, bool, bool, bool]] = []

    def booted(sender: Any, **extra: Any) -> None:
        seen.append(("booted", sender.booted, sender.draining, service.running))

    def shutting_down(sender: Any, **extra: Any) -> None:
        # sent first: already draining, the services still run
        seen.append(("shutting_down", sender.booted, sender.draining, service.running))

    with signals.runtime_booted.connected_to(booted), \
            signals.runtime_shutting_down.connected_to(shutting_down):
        runtime = boot(app, socketio, services=[service], install_signals=False)
        runtime.shutdown()
        runtime.shutdown()  # idempotent: sent once
    assert seen == [("booted", True, False, True), ("shutting_down", True, True, True)]
    assert not service.running


def test_an_escalated_crash_is_sent_by_the_runtime() -> None:
    from flask import Flask
    from flask_socketio import SocketIO

    service = Idle("escalating", supervision="escalate")
    app = Flask(__name__)
    escalated = Event()
    records: List[Record] = []

    def receiver(sender: Any, **extra: Any) -> None:
        if extra.get("action") == "escalate" and sender is not service:
            records.append(("crashed", sender, extra))
            escalated.set()

    def fail() -> None:
        raise KeyError("missing")

    with signals.service_crashed.connected_to(receiver):
        with boot(app, SocketIO(app, async_mode="gevent"), services=[service], install_signals=False) as runtime:
            service.spawn(fail)
            assert escalated.wait(5), "the runtime did not send service_crashed within 5 s"
    assert len(records) == 1
    _, sender, extra = records[0]
    assert sender is runtime
    assert isinstance(extra["error"], KeyError) and extra["label"] == "child 'escalating'"
