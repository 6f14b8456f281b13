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


# ------------------------------------------------ fan-out when a subscriber raises
def test_every_subscriber_runs_when_one_raises_and_the_error_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    ingress = SocketIngress()
    calls: List[str] = []

    def broken(data: object) -> None:
        calls.append("broken")
        raise RuntimeError("disk full")

    ingress.subscribe("save", broken, priority=1)
    ingress.subscribe("save", lambda data: calls.append("audit") or {"saved": data})
    with caplog.at_level("ERROR", logger="specter_spoc.socket"):
        assert ingress.dispatch("save", 7) == {"saved": 7}
    assert calls == ["broken", "audit"]
    assert any("disk full" in r.getMessage() and r.exc_info for r in caplog.records), caplog.text


def test_the_client_gets_the_answer_when_one_subscriber_raises_and_the_error_when_none_answers(make_app) -> None:
    """The acknowledgement is the last result of the subscribers that
    returned; the error ack (first failure) only when none returned one."""
    from specter_spoc import SchemaError

    app, socketio, runtime = make_app()
    ingress = runtime.socket_ingress
    ran: List[str] = []

    def crash(data: object) -> None:
        ran.append("crash")
        raise RuntimeError("boom")

    def invalid(data: object) -> None:
        ran.append("invalid")
        raise SchemaError("bad payload", errors={"title": "required"})

    ingress.subscribe("answered", crash, priority=1)
    ingress.subscribe("answered", lambda data: ran.append("answer") or {"ok": True, "got": data})
    ingress.subscribe("unanswered", invalid, priority=1)
    ingress.subscribe("unanswered", crash)
    client = socketio.test_client(app)
    try:
        assert client.emit("answered", 3, callback=True) == {"ok": True, "got": 3}
        assert ran == ["crash", "answer"]
        ran.clear()
        ack = client.emit("unanswered", 4, callback=True)
        assert ran == ["invalid", "crash"]  # the second still ran
        assert ack["ok"] is False and ack["status"] == 400 and ack["errors"] == {"title": "required"}, ack
        assert [e["name"] for e in client.get_received()] == [ingress.error_event]
    finally:
        client.disconnect()


def test_on_and_on_error_default_return_the_callback() -> None:
    ingress = SocketIngress()

    def cb(data: object = None) -> str:
        return "x"

    def err(exc: BaseException) -> None:
        return None

    assert ingress.on("e", cb) is cb
    assert ingress.on_error_default(err) is err
    assert ingress.events() == {"e": 1}
    assert ingress.dispatch("e") == "x"
    assert ingress.unsubscribe("e", cb) and ingress.unsubscribe_error_default(err)


# ------------------------------------------------ per-connection admission (event_guard)
def test_rate_limit_refuses_with_429_before_any_subscriber_runs(make_app) -> None:
    app, socketio, runtime = make_app()
    ingress = runtime.socket_ingress
    ingress.configure(rate_limit=0.001, rate_burst=3)  # three events, then (practically) no refill
    seen: List[object] = []
    ingress.subscribe("tick", lambda n: seen.append(n) or n)
    client = socketio.test_client(app)
    try:
        answers = [client.emit("tick", n, callback=True) for n in range(5)]
        assert answers[:3] == [0, 1, 2] and seen == [0, 1, 2]
        assert [a["status"] for a in answers[3:]] == [429, 429], answers
        assert "per second" in answers[3]["error"]
        # one notice per streak, not one per refused event
        assert [e["name"] for e in client.get_received()].count(ingress.error_event) == 1
        assert ingress.guard is not None and ingress.guard.refused == 2
    finally:
        client.disconnect()


def test_payload_size_is_the_raw_packet_size_including_binary_attachments(make_app) -> None:
    app, socketio, runtime = make_app()
    ingress = runtime.socket_ingress
    ingress.max_payload_bytes = 1000
    seen: List[int] = []
    ingress.subscribe("blob", lambda data: seen.append(len(data)))
    client = socketio.test_client(app)
    try:
        assert client.emit("blob", b"\x00" * 2000, callback=True)["status"] == 413
        assert client.emit("blob", "é" * 600, callback=True)["status"] == 413  # 1200 bytes in UTF-8
        assert client.emit("blob", b"\x00" * 500, callback=True) == []  # no answer, no error
        assert seen == [500]
    finally:
        client.disconnect()


def test_limits_are_validated_and_read_from_settings() -> None:
    ingress = SocketIngress()
    assert ingress.max_in_flight is not None and ingress.rate_limit is None  # a bound by default
    ingress.configure_from({"SOCKETIO_MAX_IN_FLIGHT": "4", "SOCKETIO_RATE_LIMIT": "2.5",
                            "SOCKETIO_RATE_BURST": 10, "SOCKETIO_ON_EXCESS": "Disconnect"})
    assert (ingress.max_in_flight, ingress.rate_limit, ingress.rate_burst, ingress.on_excess) == (
        4, 2.5, 10, "disconnect")
    ingress.configure_from({"SOCKETIO_MAX_IN_FLIGHT": "none"})
    assert ingress.max_in_flight is None and ingress.rate_limit is None
    with pytest.raises(ValueError, match="SOCKETIO_MAX_IN_FLIGHT must be a number"):
        ingress.configure_from({"SOCKETIO_MAX_IN_FLIGHT": "lots"})
    with pytest.raises(ValueError, match="on_excess must be one of"):
        ingress.configure_from({"SOCKETIO_ON_EXCESS": "ignore"})
    with pytest.raises(ValueError, match="rate_limit must be events per second"):
        ingress.configure(rate_limit=-1)


def test_python_socketio_still_has_the_steps_the_guard_overrides() -> None:
    """Contract with the installed python-socketio (see event_guard's docstring):
    if an upgrade renames these, this fails instead of the guard silently
    not running."""
    import inspect

    import socketio

    names = {"_handle_eio_message": ["eio_sid", "data"],
             "_handle_event": ["eio_sid", "namespace", "id", "data"],
             "_handle_event_internal": ["server", "sid", "eio_sid", "data", "namespace", "id"],
             "_handle_eio_disconnect": ["eio_sid", "reason"],
             "_send_packet": ["eio_sid", "pkt"]}
    for name, params in names.items():
        method = getattr(socketio.Server, name)
        assert list(inspect.signature(method).parameters)[1:] == params, name
    source = inspect.getsource(socketio.Server._handle_event)
    assert "self._handle_event_internal" in source and "start_background_task" in source
