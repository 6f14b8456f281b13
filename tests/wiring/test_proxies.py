"""specter_spoc.wiring.proxies: the module-level ``bus`` and ``registry``
forward every call to the scope current at the moment of the call."""
from __future__ import annotations

from typing import Any, List

import gevent
import pytest

from specter_spoc import bus as exported_bus
from specter_spoc import registry as exported_registry
from specter_spoc.wiring.bus import EventBus
from specter_spoc.wiring.proxies import BusProxy, RegistryProxy, bus, registry
from specter_spoc.wiring.registry import Registry
from specter_spoc.wiring.scope import Scope, current_scope, default_scope


def test_the_package_exports_these_proxies() -> None:
    assert exported_bus is bus and isinstance(bus, BusProxy)
    assert exported_registry is registry and isinstance(registry, RegistryProxy)


def test_proxies_hold_no_state_of_their_own() -> None:
    # __slots__ = (): nothing can be cached on the proxy, so it cannot go stale
    for proxy in (bus, registry):
        with pytest.raises(AttributeError):
            proxy.cached = 1  # type: ignore[union-attr]


def test_target_is_the_current_scope_s_bus_and_registry() -> None:
    a, b = Scope("a"), Scope("b")
    with a.activate():
        assert bus.target is a.bus and isinstance(bus.target, EventBus)
        assert registry.target is a.registry and isinstance(registry.target, Registry)
        with b.activate():
            assert bus.target is b.bus and registry.target is b.registry
        assert bus.target is a.bus
    assert bus.target is current_scope().bus is default_scope().bus
    assert registry.target is default_scope().registry


def test_repr_names_the_scope_it_resolves_to() -> None:
    a = Scope("repr-scope")
    with a.activate():
        assert repr(bus) == "<bus proxy -> <Scope 'repr-scope'>>"
        assert repr(registry) == "<registry proxy -> <Scope 'repr-scope'>>"
    assert "'default'" in repr(bus) and "'default'" in repr(registry)


def test_every_bus_method_forwards_to_the_current_scope() -> None:
    a, b = Scope("a"), Scope("b")
    heard: List[Any] = []
    with a.activate():
        unsubscribe = bus.on("evt", heard.append)
        bus.once("one-shot", heard.append)
        assert bus.has_listeners("evt") and bus.listener_count("evt") == 1
        assert bus.listener_count() == 2
    # the listeners live on a's bus, nowhere else
    assert a.bus.listener_count("evt") == 1 and a.bus.has_listeners("one-shot")
    assert b.bus.listener_count() == 0 and not default_scope().bus.has_listeners("evt")
    with b.activate():
        assert not bus.has_listeners("evt") and bus.listener_count() == 0
        bus.emit("evt", "to b")  # b has no listener: a's must not hear it
    assert heard == []
    with a.activate():
        bus.emit("evt", 1)
        bus.emit("one-shot", 2)
        bus.emit("one-shot", 3)  # once: already removed
    assert heard == [1, 2]
    assert not a.bus.has_listeners("one-shot")
    with a.activate():
        unsubscribe()
        assert not bus.has_listeners("evt")
        bus.on("evt", heard.append)
        bus.off("evt", heard.append)
        assert bus.listener_count("evt") == 0
        bus.on("x", heard.append)
        bus.on("y", heard.append)
        bus.clear("x")
        assert not bus.has_listeners("x") and bus.has_listeners("y")
        bus.clear()
        assert bus.listener_count() == 0


def test_emit_resolves_per_call_not_per_import() -> None:
    """The hot path (emit) inlines the resolution: it must still follow the scope."""
    a, b = Scope("a"), Scope("b")
    heard: List[str] = []
    a.bus.on("evt", lambda data: heard.append(f"a:{data}"))
    b.bus.on("evt", lambda data: heard.append(f"b:{data}"))
    default_scope().bus.on("evt", lambda data: heard.append(f"default:{data}"))
    emit = bus.emit  # a bound method taken once, used under different scopes
    with a.activate():
        emit("evt", 1)
    with b.activate():
        emit("evt", 2)
    emit("evt", 3)
    assert heard == ["a:1", "b:2", "default:3"]


def test_every_registry_method_forwards_to_the_current_scope() -> None:
    a, b = Scope("a"), Scope("b")
    value = object()
    with a.activate():
        assert registry.provide("k", value) is value
        assert registry.has("k") and "k" in registry
        assert registry.resolve("k") is value and registry.require("k") is value
        assert registry.list() == ["k"]
        assert registry.wait_for("k", timeout=0.1) is value
        with pytest.raises(KeyError, match="already provided"):
            registry.provide("k", 2)
        assert registry.provide("k", 2, replace=True) == 2
    assert a.registry.require("k") == 2
    assert not b.registry.has("k") and not default_scope().registry.has("k")
    with b.activate():
        assert not registry.has("k") and "k" not in registry and registry.list() == []
        assert registry.resolve("k") is None
        with pytest.raises(KeyError):
            registry.require("k")
    with a.activate():
        assert registry.unregister("k") is True and registry.unregister("k") is False
        registry.provide("x", 1)
        registry.provide("y", 2)
        registry.clear()
        assert registry.list() == []


def test_registry_provide_with_owner_forwards_the_owner() -> None:
    from specter_spoc import Service

    a = Scope("a")
    with a.activate():
        owner = Service("owner").start()
        registry.provide("owned", 1, owner=owner)
        assert a.registry.has("owned")
        owner.stop()
    assert not a.registry.has("owned")  # unregistered by the owner's cleanup


def test_wait_for_resolves_in_the_scope_of_the_caller() -> None:
    a = Scope("a")
    got: List[Any] = []

    def waiter() -> None:
        with a.activate():
            got.append(registry.wait_for("late", timeout=5))

    glet = gevent.spawn(waiter)
    gevent.idle()  # the waiter is parked on a's registry
    default_scope().registry.provide("late", "wrong scope")
    gevent.idle()
    assert got == []
    a.registry.provide("late", "right scope")
    glet.join(5)
    assert got == ["right scope"]
