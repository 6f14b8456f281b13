"""Two runtimes' scopes never see each other's events or entries."""
from __future__ import annotations

import gevent

from specter_spoc import Scope, Service, bus, current_scope, registry
from specter_spoc.wiring.scope import default_scope
from specter_spoc.testing import wait_until


def test_module_level_names_resolve_to_the_active_scope() -> None:
    a, b = Scope("a"), Scope("b")
    got_a: list[object] = []
    got_b: list[object] = []
    with a.activate():
        bus.on("ping", got_a.append)
        registry.provide("who", "a")
    with b.activate():
        bus.on("ping", got_b.append)
        registry.provide("who", "b")
        bus.emit("ping", "from b")
        assert registry.require("who") == "b"
    with a.activate():
        bus.emit("ping", "from a")
        assert registry.require("who") == "a"
    assert got_a == ["from a"] and got_b == ["from b"]
    assert not default_scope().registry.has("who")


def test_outside_any_runtime_the_default_scope_is_used() -> None:
    assert current_scope() is default_scope()
    registry.provide("k", 1)
    assert default_scope().registry.require("k") == 1


def test_service_greenlets_carry_the_scope_of_their_service() -> None:
    """gevent greenlets do not inherit contextvars: the owner must carry them."""
    a = Scope("a")
    seen: list[str] = []

    class Probe(Service):
        def on_start(self) -> None:
            self.spawn(lambda: seen.append(current_scope().name))
            self.timeout(lambda: seen.append(current_scope().name), 0)

    with a.activate():
        probe = Probe("probe").start()
    # a raw greenlet spawned outside does NOT see scope a
    gevent.spawn(lambda: seen.append(current_scope().name)).join()
    wait_until(lambda: len(seen) == 3, timeout=5, what="the spawned greenlet and the timeout to run")
    probe.stop()
    assert sorted(seen) == ["a", "a", "default"]


def test_service_listen_and_emit_use_their_own_scope() -> None:
    a, b = Scope("a"), Scope("b")
    heard: list[str] = []
    with a.activate():
        listener = Service("listener").start().listen("news", heard.append)
    with b.activate():
        Service("other").start().emit("news", "b-news").stop()
        bus.emit("news", "b-bus")
    with a.activate():
        bus.emit("news", "a-bus")
    listener.stop()
    with a.activate():
        bus.emit("news", "after stop")
    assert heard == ["a-bus"]
