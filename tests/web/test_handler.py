"""specter_spoc.web.handler: a class-based group of Socket.IO events with a
lifecycle (setup subscribes, teardown unsubscribes and unwinds)."""
from __future__ import annotations

import logging
from typing import Any, Dict, Iterator, List, Tuple

import pytest
from flask import Flask
from flask_socketio import SocketIO

from specter_spoc import Handler
from specter_spoc.web.handler import INGRESS_KEY
from specter_spoc.web.ingress import SocketIngress
from specter_spoc.wiring.scope import Scope


@pytest.fixture
def wired() -> Iterator[Tuple[Scope, SocketIngress, SocketIO]]:
    """A scope providing a SocketIngress attached to a real Flask-SocketIO,
    as a booted runtime's scope does."""
    app = Flask("handler_tests")
    socketio = SocketIO(app, async_mode="gevent")
    scope = Scope("handler-tests")
    ingress = SocketIngress(socketio, scope=scope)
    scope.registry.provide(INGRESS_KEY, ingress)
    with scope.activate():
        yield scope, ingress, socketio


class Chat(Handler):
    name = "chat"
    events = {"say": "on_say", "leave": "on_leave"}
    event_priorities = {"say": 5}

    def __init__(self) -> None:
        super().__init__()
        self.log: List[Any] = []

    def on_say(self, data: Any = None) -> Any:
        self.log.append(("say", data))
        return {"said": data}

    def on_leave(self, data: Any = None) -> None:
        self.log.append(("leave", data))

    def on_setup(self) -> None:
        self.log.append("on_setup")

    def on_teardown(self) -> None:
        self.log.append("on_teardown")


def test_setup_subscribes_every_declared_event_through_the_ingress(wired: Any) -> None:
    _, ingress, socketio = wired
    chat = Chat()
    assert not chat.registered and chat.socketio is None
    assert chat.setup(socketio) is chat
    assert chat.registered and chat.socketio is socketio
    assert ingress.events() == {"say": 1, "leave": 1}
    assert chat.log == ["on_setup"]  # after the subscriptions
    assert ingress.dispatch("say", "hi") == {"said": "hi"}
    assert chat.log[-1] == ("say", "hi")


def test_setup_is_idempotent(wired: Any) -> None:
    _, ingress, socketio = wired
    chat = Chat()
    chat.setup(socketio)
    chat.setup(socketio)
    assert ingress.events() == {"say": 1, "leave": 1} and chat.log == ["on_setup"]


def test_event_priorities_order_the_handler_among_other_subscribers(wired: Any) -> None:
    _, ingress, socketio = wired
    order: List[str] = []
    ingress.subscribe("say", lambda data=None: order.append("priority 10"), priority=10)
    ingress.subscribe("leave", lambda data=None: order.append("priority 10"), priority=10)

    class Ordered(Chat):
        def on_say(self, data: Any = None) -> None:
            order.append("chat say (5)")

        def on_leave(self, data: Any = None) -> None:
            order.append("chat leave (default 100)")

    Ordered().setup(socketio)
    ingress.dispatch("say")
    ingress.dispatch("leave")
    assert order == ["chat say (5)", "priority 10", "priority 10", "chat leave (default 100)"]


def test_teardown_unsubscribes_runs_cleanups_lifo_and_detaches(wired: Any) -> None:
    _, ingress, socketio = wired
    released: List[str] = []

    class Resource:
        def close(self) -> None:
            released.append("resource.close")

    class Pool:
        def shutdown(self) -> None:
            released.append("pool.shutdown")

    chat = Chat().setup(socketio)
    assert chat.add_cleanup(lambda: released.append("cleanup 1")) is chat
    resource = Resource()
    assert chat.own(resource) is resource
    assert chat.own(None) is None
    chat.own(Pool(), stop_method="shutdown")
    chat.add_cleanup(lambda: released.append("cleanup 2"))
    assert chat.teardown() is chat
    assert chat.log == ["on_setup", "on_teardown"]
    assert released == ["cleanup 2", "pool.shutdown", "resource.close", "cleanup 1"]
    assert ingress.events() == {}
    assert not chat.registered and chat.socketio is None  # SPECTER: a torn-down handler is detached
    assert ingress.dispatch("say", "after") is None and ("say", "after") not in chat.log


def test_teardown_is_idempotent_and_stop_is_an_alias(wired: Any) -> None:
    _, _, socketio = wired
    released: List[str] = []
    chat = Chat().setup(socketio)
    chat.add_cleanup(lambda: released.append("once"))
    chat.stop()
    chat.teardown()
    assert released == ["once"] and chat.log == ["on_setup", "on_teardown"]


def test_a_handler_can_be_set_up_again_after_teardown(wired: Any) -> None:
    _, ingress, socketio = wired
    chat = Chat().setup(socketio)
    chat.teardown()
    chat.setup(socketio)
    assert chat.registered and ingress.events() == {"say": 1, "leave": 1}
    chat.teardown()


def test_cleanups_added_before_setup_run_at_teardown() -> None:
    released: List[str] = []
    chat = Chat()
    chat.add_cleanup(lambda: released.append("early"))
    chat.teardown()  # never set up, but it owns something: it is released
    assert released == ["early"] and "on_teardown" not in chat.log


def test_add_cleanup_refuses_a_non_callable_naming_the_handler() -> None:
    with pytest.raises(TypeError, match="Handler 'chat': add_cleanup\\(\\) needs a callable, got 42"):
        Chat().add_cleanup(42)  # type: ignore[arg-type]


@pytest.mark.parametrize("target, problem", [("on_missing", "missing"), ("not_a_method", "not callable")])
def test_events_mapping_to_a_missing_or_non_callable_method_fails_setup_with_the_fix(
        wired: Any, target: str, problem: str) -> None:
    _, ingress, socketio = wired

    class Broken(Handler):
        name = "broken"
        events = {"ok": "on_ok", "bad": target}
        not_a_method = "a string"

        def on_ok(self, data: Any = None) -> None:
            pass

    broken = Broken()
    with pytest.raises(TypeError) as info:
        broken.setup(socketio)
    message = str(info.value)
    assert f"Handler 'broken': events maps 'bad' to {target!r}, which is {problem}" in message
    assert f"def {target}(self, data): ... on Broken" in message
    assert ingress.events() == {} and not broken.registered  # nothing half-subscribed


def test_a_failing_on_setup_undoes_the_subscriptions_and_reraises(wired: Any) -> None:
    _, ingress, socketio = wired
    released: List[str] = []

    class Failing(Chat):
        def on_setup(self) -> None:
            self.add_cleanup(lambda: released.append("cleanup from on_setup"))
            raise RuntimeError("cannot open the chat log")

    failing = Failing()
    with pytest.raises(RuntimeError, match="cannot open the chat log"):
        failing.setup(socketio)
    assert ingress.events() == {}
    assert released == ["cleanup from on_setup"]
    assert not failing.registered and failing.socketio is None
    assert failing.log == ["on_teardown"]  # teardown ran as usual


def test_a_raising_on_teardown_is_reported_and_teardown_goes_on(wired: Any, caplog: pytest.LogCaptureFixture) -> None:
    _, ingress, socketio = wired
    released: List[str] = []

    class BadTeardown(Chat):
        def on_teardown(self) -> None:
            raise ValueError("flush failed")

    handler = BadTeardown().setup(socketio)
    handler.add_cleanup(lambda: released.append("cleanup"))
    with caplog.at_level(logging.ERROR, logger="specter_spoc.handler"):
        handler.teardown()
    assert "on_teardown raised ValueError: flush failed" in caplog.text
    assert released == ["cleanup"] and ingress.events() == {} and not handler.registered


def test_without_an_ingress_events_are_bound_on_socketio_directly() -> None:
    app = Flask("no_ingress")
    socketio = SocketIO(app, async_mode="gevent")
    with Scope("bare").activate():
        chat = Chat().setup(socketio)
    client = socketio.test_client(app)
    try:
        assert client.emit("say", "direct", callback=True) == {"said": "direct"}
        assert chat.log == ["on_setup", ("say", "direct")]
    finally:
        client.disconnect()
        chat.teardown()


def test_require_and_resolve_use_the_scope_the_handler_was_set_up_in(wired: Any) -> None:
    scope, _, socketio = wired
    scope.registry.provide("store", "the store")
    chat = Chat().setup(socketio)
    with Scope("elsewhere").activate():
        assert chat.require("store") == "the store" and chat.resolve("store") == "the store"
        assert chat.resolve("missing") is None
        with pytest.raises(KeyError):
            chat.require("missing")
    chat.teardown()


def test_repr_says_whether_it_is_set_up(wired: Any) -> None:
    _, _, socketio = wired
    chat = Chat()
    assert repr(chat) == "<Chat 'chat' idle>"
    chat.setup(socketio)
    assert repr(chat) == "<Chat 'chat' set up>"
    chat.teardown()


def test_two_handlers_share_an_event_in_a_booted_app(spoc_app_factory: Any) -> None:
    seen: List[str] = []

    class First(Handler):
        name = "first"
        events = {"ping": "on_ping"}
        event_priorities = {"ping": 1}

        def on_ping(self, data: Any = None) -> Dict[str, str]:
            seen.append("first")
            return {"from": "first"}

    class Second(Handler):
        name = "second"
        events = {"ping": "on_ping"}

        def on_ping(self, data: Any = None) -> Dict[str, str]:
            seen.append("second")
            return {"from": "second"}

    first, second = First(), Second()
    app, socketio, runtime = spoc_app_factory(handlers=[second, first])
    client = socketio.test_client(app)
    try:
        assert client.emit("ping", None, callback=True) == {"from": "second"}  # the last non-None answer
        assert seen == ["first", "second"]
    finally:
        client.disconnect()
    runtime.shutdown()
    assert not first.registered and not second.registered


def test_setup_with_no_server_and_no_runtime_names_the_fix() -> None:
    class Lonely(Handler):
        name = "chat"
        events = {"chat:send": "on_send"}

        def on_send(self, data: Any = None) -> dict:
            return {"ok": True}

    handler = Lonely()
    with pytest.raises(RuntimeError, match=r"Handler 'chat'.*'chat:send'.*handler\.setup\(socketio\)"):
        handler.setup(None)
    assert not handler.registered
