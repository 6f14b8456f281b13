"""The resolution rule of the module-level ``bus`` / ``registry``
(specter_spoc.wiring.scope): one booted runtime behaves like SPECTER's
process-wide singletons; two runtimes never see each other."""
from __future__ import annotations

from typing import Any, List

from flask import Flask
from flask_socketio import SocketIO

from specter_spoc import Service, boot, bus, current_scope, registry
from specter_spoc.wiring.scope import booted_scopes, default_scope


def _app(name: str, **kwargs: Any) -> Any:
    app = Flask(name)
    socketio = SocketIO(app, async_mode="gevent")
    return boot(app, socketio, install_signals=False, **kwargs)


def test_plain_code_resolves_to_the_only_booted_runtime() -> None:
    runtime = _app("only")
    try:
        assert current_scope() is runtime.scope
        heard: List[Any] = []
        runtime.bus.on("ping", heard.append)
        bus.emit("ping", 1)                        # plain code, no app context
        assert heard == [1]
        assert registry.resolve("service_manager") is runtime
        assert registry.resolve("socket_ingress") is runtime.socket_ingress
    finally:
        runtime.shutdown()
    assert current_scope() is default_scope() and booted_scopes() == []


def test_subscriptions_and_entries_made_before_boot_are_carried_into_the_runtime() -> None:
    heard: List[Any] = []
    bus.on("posts:published", heard.append)      # module-level code, before boot
    registry.provide("config", {"answer": 42})

    class Publisher(Service):
        def on_start(self) -> None:
            self.emit("posts:published", registry.require("config")["answer"])

    runtime = _app("carry", services=[Publisher("publisher")])
    try:
        assert heard == [42]
        bus.emit("posts:published", "from plain code")
        assert heard == [42, "from plain code"]
    finally:
        runtime.shutdown()


def test_two_booted_runtimes_never_see_each_other() -> None:
    one, two = _app("one"), _app("two")
    try:
        heard_one: List[Any] = []
        heard_two: List[Any] = []
        one.bus.on("x", heard_one.append)
        two.bus.on("x", heard_two.append)
        with one.app.app_context():
            bus.emit("x", "one")
        with two.app.app_context():
            bus.emit("x", "two")
        bus.emit("x", "plain")                      # ambiguous: goes to the default scope
        assert heard_one == ["one"] and heard_two == ["two"]
        assert current_scope() is default_scope()
    finally:
        two.shutdown()
        one.shutdown()


def test_a_service_registers_before_its_own_on_start_runs() -> None:
    seen: List[Any] = []

    class Early(Service):
        def on_start(self) -> None:
            seen.append(registry.resolve("early"))

    service = Early("early")
    runtime = _app("early-app", services=[service])
    try:
        assert seen == [service]
    finally:
        runtime.shutdown()
    assert registry.resolve("early") is None
