from __future__ import annotations

from typing import List

import pytest

from specter_spoc import Service, SocketIngress


def test_subscribers_run_by_priority_then_order_and_owner_cleanup() -> None:
    ingress = SocketIngress()
    calls: List[str] = []
    owner = Service("owner").start()
    ingress.subscribe("e", lambda *a: calls.append("late"), priority=200)
    ingress.subscribe("e", lambda *a: calls.append("owned"), owner=owner)
    ingress.subscribe("e", lambda *a: calls.append("early"), priority=1)
    ingress.dispatch("e", {})
    assert calls == ["early", "owned", "late"]
    owner.stop()
    calls.clear()
    ingress.dispatch("e", {})
    assert calls == ["early", "late"]


def test_decorators_unsubscribe_and_clear() -> None:
    ingress = SocketIngress()

    @ingress.on("x")
    def handler(data=None):
        return data

    assert ingress.dispatch("x", 5) == 5
    assert ingress.unsubscribe("x", handler) is True
    assert ingress.unsubscribe("x", handler) is False
    assert ingress.dispatch("x", 5) is None
    ingress.on("y", handler)
    ingress.clear()
    assert ingress.events() == {}


def test_oversized_payload_is_refused_before_subscribers(make_app) -> None:
    app, socketio, runtime = make_app()
    seen: List[object] = []
    runtime.socket_ingress.max_payload_bytes = 100
    runtime.socket_ingress.subscribe("big", lambda data: seen.append(data))
    sio = socketio.test_client(app)
    ack = sio.emit("big", "x" * 500, callback=True)
    assert ack["status"] == 413 and seen == []
    sio.emit("big", "small", callback=True)
    assert seen == ["small"]
    sio.disconnect()


def test_bad_subscriptions_are_clear_type_errors() -> None:
    ingress = SocketIngress()
    with pytest.raises(TypeError, match="needs a callable"):
        ingress.subscribe("e", "nope")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="event name"):
        ingress.subscribe("", print)
    with pytest.raises(TypeError, match="add_cleanup"):
        ingress.subscribe("e", print, owner=object())
    with pytest.raises(TypeError, match="priority must be an int"):
        ingress.subscribe("e", print, priority="high")  # type: ignore[arg-type]
