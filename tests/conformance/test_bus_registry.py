"""EventBus and registry (SPECTER guide §14, §29), and the process-wide
``bus`` / ``registry`` seen from plain code after boot (§17, §18)."""
from __future__ import annotations

import gevent
import pytest

from conformance_harness import wait_until


# ------------------------------------------------------------------ EventBus
def test_on_emit_returns_unsubscribe(impl):
    bus = impl.mod.EventBus()
    heard = []
    unsub = bus.on("x", heard.append)
    bus.emit("x", 1)
    unsub()
    bus.emit("x", 2)
    assert heard == [1]


def test_emit_without_data_passes_none_and_unknown_event_is_a_no_op(impl):
    bus = impl.mod.EventBus()
    heard = []
    bus.on("x", heard.append)
    bus.emit("x")
    bus.emit("nobody-listens", 1)
    assert heard == [None]


def test_on_rejects_a_non_callable(impl):
    with pytest.raises(TypeError):
        impl.mod.EventBus().on("x", "not callable")


def test_off_removes_a_plain_function(impl):
    bus = impl.mod.EventBus()
    heard = []

    def listener(data):
        heard.append(data)

    bus.on("x", listener)
    bus.off("x", listener)
    bus.emit("x", 1)
    assert heard == []
    bus.off("x", listener)  # unknown pair: ignored
    bus.off("never", listener)


def test_off_with_a_bound_method_removes_the_listener(impl):
    bus = impl.mod.EventBus()

    class Listener:
        def __init__(self):
            self.heard = []

        def handler(self, data):
            self.heard.append(data)

    obj = Listener()
    bus.on("x", obj.handler)
    bus.off("x", obj.handler)  # a new bound-method object, equal to the first
    bus.emit("x", 1)
    assert obj.heard == []
    assert bus.listener_count("x") == 0


def test_once_fires_once_and_its_unsubscribe_works(impl):
    bus = impl.mod.EventBus()
    heard = []
    bus.once("x", heard.append)
    bus.emit("x", 1)
    bus.emit("x", 2)
    assert heard == [1]
    unsub = bus.once("y", heard.append)
    unsub()
    bus.emit("y", 3)
    assert heard == [1]


def test_raising_listener_is_logged_and_the_others_still_run(impl):
    bus = impl.mod.EventBus()
    heard = []

    def bad(data):
        raise RuntimeError("listener bug")

    bus.on("x", bad)
    bus.on("x", heard.append)
    bus.emit("x", 1)
    assert heard == [1]


def test_listener_may_unsubscribe_during_emit(impl):
    bus = impl.mod.EventBus()
    heard = []

    def first(data):
        heard.append("first")
        bus.off("x", first)

    bus.on("x", first)
    bus.on("x", lambda data: heard.append("second"))
    bus.emit("x")
    bus.emit("x")
    assert sorted(heard) == ["first", "second", "second"]


def test_clear_counts_and_has_listeners(impl):
    bus = impl.mod.EventBus()
    bus.on("a", lambda d: None)
    bus.on("a", lambda d: None)
    bus.on("b", lambda d: None)
    assert bus.has_listeners("a") and not bus.has_listeners("c")
    assert bus.listener_count("a") == 2
    assert bus.listener_count() == 3
    bus.clear("a")
    assert bus.listener_count() == 1
    bus.clear()
    assert bus.listener_count() == 0


def test_module_bus_delivers_synchronously_in_the_emitter(impl):
    heard = []
    impl.mod.bus.on("sync", lambda data: heard.append((data, gevent.getcurrent())))
    impl.mod.bus.emit("sync", 7)
    assert heard == [(7, gevent.getcurrent())]


# ------------------------------------------------------------------ registry
def test_provide_resolve_require_has_list_unregister(impl):
    reg = impl.mod.SPECTERRegistry()
    obj = object()
    assert reg.provide("svc", obj) is obj
    assert reg.resolve("svc") is obj and reg.require("svc") is obj
    assert reg.has("svc") and reg.list() == ["svc"]
    assert reg.resolve("missing") is None
    with pytest.raises(KeyError):
        reg.require("missing")
    assert reg.unregister("svc") is True
    assert reg.unregister("svc") is False
    assert not reg.has("svc")


def test_provide_twice_needs_replace(impl):
    reg = impl.mod.SPECTERRegistry()
    reg.provide("k", 1)
    with pytest.raises(KeyError):
        reg.provide("k", 2)
    reg.provide("k", 2, replace=True)
    assert reg.resolve("k") == 2


def test_keys_must_be_non_empty_strings(impl):
    reg = impl.mod.SPECTERRegistry()
    for key in ("", "   ", None, 3):
        with pytest.raises(TypeError):
            reg.provide(key, 1)
        with pytest.raises(TypeError):
            reg.resolve(key)


def test_owner_must_have_add_cleanup_and_entry_goes_when_owner_stops(impl):
    reg = impl.mod.SPECTERRegistry()
    with pytest.raises(TypeError):
        reg.provide("k", 1, owner=object())
    owner = impl.mod.Service("owner").start()
    reg.provide("k", 1, owner=owner)
    assert reg.has("k")
    owner.stop()
    assert not reg.has("k")


def test_wait_for_returns_once_provided(impl):
    reg = impl.mod.SPECTERRegistry()
    waiter = gevent.spawn(reg.wait_for, "db", 5)
    gevent.sleep(0)
    reg.provide("db", "conn")
    assert waiter.get(timeout=5) == "conn"
    assert reg.wait_for("db") == "conn"  # already there: immediate


def test_wait_for_times_out_with_timeout_error(impl):
    reg = impl.mod.SPECTERRegistry()
    with pytest.raises(TimeoutError):
        reg.wait_for("never", timeout=0.01)


def test_clear_rejects_pending_wait_for_with_runtime_error(impl):
    reg = impl.mod.SPECTERRegistry()
    reg.provide("k", 1)
    waiter = gevent.spawn(reg.wait_for, "db", 5)
    gevent.sleep(0)
    reg.clear()
    with pytest.raises(RuntimeError):
        waiter.get(timeout=2)
    assert reg.list() == []
    # a later provide of the same key does not resurrect the rejected waiter
    reg.provide("db", "x")


# ----------------------------------------- process-wide bus/registry after boot

def test_manager_and_ingress_resolve_from_plain_code_after_boot(impl):
    manager = impl.boot()
    assert impl.mod.registry.resolve("service_manager") is manager
    assert impl.mod.registry.require("socket_ingress") is manager.socket_ingress
    assert isinstance(manager.socket_ingress, impl.mod.SocketIngress)


def test_services_resolve_by_name_from_plain_code_after_boot(impl):
    svc = impl.mod.Service("indexer")
    impl.boot(services=[svc])
    assert impl.mod.registry.require("indexer") is svc


def test_plain_code_emit_reaches_a_booted_service(impl):
    heard = []

    class Listener(impl.mod.Service):
        def on_start(self):
            self.listen("media:added", heard.append)

    impl.boot(services=[Listener("listener")])
    impl.mod.bus.emit("media:added", {"path": "/a"})
    assert heard == [{"path": "/a"}]


def test_composition_root_provides_and_subscribes_before_boot(impl):
    heard = []
    impl.mod.bus.on("tick", heard.append)  # module-level subscription
    impl.mod.registry.provide("config", {"debug": False})

    class Emitter(impl.mod.Service):
        def on_start(self):
            self.config = self.resolve_config()
            self.emit("tick", 1)

        def resolve_config(self):
            return impl.mod.registry.require("config")

    svc = Emitter("emitter")
    impl.boot(services=[svc])
    assert svc.config == {"debug": False}
    assert heard == [1]


def test_import_time_cache_is_invalidated_by_a_booted_service(impl):
    cache = impl.mod.create_cache("drives", depends_on=["storage:mounts"])
    cache.set(["/media/usb1"])

    class Storage(impl.mod.Service):
        def on_start(self):
            self.emit("storage:mounts", None)

    impl.boot(services=[Storage("storage")])
    assert cache.get() is None
    cache.destroy()


def test_service_is_provided_before_its_on_start(impl):
    seen = {}

    class Svc(impl.mod.Service):
        def on_start(self):
            seen["self"] = impl.mod.registry.resolve("svc")
            seen["manager"] = impl.mod.registry.resolve("service_manager")

    svc = Svc("svc")
    manager = impl.boot(services=[svc])
    assert seen == {"self": svc, "manager": manager}


def test_registry_wait_for_in_a_service_greenlet_sees_a_later_service(impl):
    got = []

    class Consumer(impl.mod.Service):
        def on_start(self):
            self.spawn(lambda: got.append(impl.mod.registry.wait_for("producer", timeout=5)))

    producer = impl.mod.Service("producer")
    impl.boot(services=[Consumer("consumer"), producer])
    wait_until(lambda: got, message="the consumer to get the producer")
    assert got == [producer]


def test_shutdown_clears_the_boot_entries(impl):
    manager = impl.boot(services=[impl.mod.Service("svc")])
    manager.shutdown()
    assert impl.mod.registry.resolve("service_manager") is None
    assert impl.mod.registry.resolve("svc") is None
