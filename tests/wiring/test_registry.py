from __future__ import annotations

import gevent
import pytest

from specter_spoc import Registry, Service


def test_provide_resolve_require_list_unregister() -> None:
    reg = Registry()
    assert reg.provide("a", 1) == 1
    reg.provide("b", 2)
    assert reg.resolve("a") == 1 and reg.resolve("zzz") is None
    assert reg.require("b") == 2 and reg.has("b")
    assert reg.list() == ["a", "b"]
    assert reg.unregister("a") is True and reg.unregister("a") is False
    reg.clear()
    assert reg.list() == []


def test_duplicate_key_needs_replace() -> None:
    reg = Registry()
    reg.provide("k", 1)
    with pytest.raises(KeyError, match="replace=True"):
        reg.provide("k", 2)
    reg.provide("k", 3, replace=True)
    assert reg.require("k") == 3


def test_require_names_the_registered_keys() -> None:
    reg = Registry()
    reg.provide("users.service", object())
    with pytest.raises(KeyError) as info:
        reg.require("blog.service")
    assert "users.service" in str(info.value) and "blog.service" in str(info.value)


@pytest.mark.parametrize("bad", ["", "   ", None, 3])
def test_bad_keys_are_type_errors(bad: object) -> None:
    reg = Registry()
    for call in (lambda: reg.provide(bad, 1), lambda: reg.resolve(bad), lambda: reg.require(bad)):  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="non-empty str key"):
            call()


def test_owned_entry_disappears_when_owner_stops() -> None:
    reg = Registry()
    owner = Service("owner").start()
    reg.provide("thing", "x", owner=owner)
    assert reg.has("thing")
    owner.stop()
    assert not reg.has("thing")


def test_owned_entry_replaced_by_someone_else_is_not_removed() -> None:
    reg = Registry()
    owner = Service("owner").start()
    reg.provide("thing", "mine", owner=owner)
    reg.provide("thing", "theirs", replace=True)
    owner.stop()
    assert reg.require("thing") == "theirs"


def test_owner_without_add_cleanup_is_rejected() -> None:
    with pytest.raises(TypeError, match="add_cleanup"):
        Registry().provide("k", 1, owner=object())


def test_wait_for_is_cooperative_and_times_out() -> None:
    reg = Registry()
    waiter = gevent.spawn(reg.wait_for, "late", 2)
    gevent.sleep(0)
    reg.provide("late", 42)
    assert waiter.get(timeout=2) == 42
    with pytest.raises(TimeoutError, match="'never'"):
        reg.wait_for("never", timeout=0.02)
    assert reg.wait_for("late") == 42


def test_clear_rejects_pending_waiters_with_runtime_error() -> None:
    reg = Registry()
    waiters = [gevent.spawn(reg.wait_for, "db", 30), gevent.spawn(reg.wait_for, "cache")]
    gevent.sleep(0)
    reg.provide("other", 1)
    reg.clear()
    for waiter in waiters:
        waiter.join(2)
        assert waiter.dead and isinstance(waiter.exception, RuntimeError)
    assert "registry was cleared" in str(waiters[0].exception) and "'db'" in str(waiters[0].exception)
    assert reg.list() == [] and reg._waiters == {}
    reg.provide("db", 2)  # nothing left waiting; provide just registers
    assert reg.wait_for("db", 0.1) == 2


def test_a_class_finds_its_one_instance_and_names_the_problem_otherwise() -> None:
    from specter_spoc import Registry

    class Mailer:
        pass

    class Cache:
        pass

    reg = Registry()
    mailer = reg.provide("users.Mailer", Mailer())
    assert reg.require(Mailer) is mailer and reg.resolve(Mailer) is mailer
    assert reg.resolve(Cache) is None
    with pytest.raises(KeyError, match="no .*Cache.*users.Mailer"):
        reg.require(Cache)
    reg.provide("other.Mailer", Mailer())
    with pytest.raises(KeyError, match="2 .*Mailer entries"):
        reg.require(Mailer)


# ------------------------------------------------ the process-wide rule (specter.md,
# "The process-wide bus and registry")
def test_one_booted_runtime_is_what_plain_code_sees(spoc_app_factory) -> None:
    from specter_spoc import bus, registry

    heard: list = []
    registry.provide("config", {"debug": False})      # composition root, before boot
    bus.on("tick", heard.append)                       # module-level subscription
    app, _, runtime = spoc_app_factory(services=[Service("indexer")])
    assert registry.resolve("service_manager") is runtime
    assert registry.require("indexer").name == "indexer"
    with app.app_context():
        assert registry.require("config") == {"debug": False}
        bus.emit("tick", 1)
    bus.emit("tick", 2)
    assert heard == [1, 2]


def test_two_booted_runtimes_never_see_each_other_nor_plain_code(spoc_app_factory) -> None:
    from specter_spoc import bus, registry

    app_a, _, runtime_a = spoc_app_factory()
    app_b, _, runtime_b = spoc_app_factory()
    heard: dict = {"a": [], "b": [], "outside": []}
    with app_a.app_context():
        registry.provide("only-a", 1)
        bus.on("x", heard["a"].append)
    with app_b.app_context():
        bus.on("x", heard["b"].append)
        assert registry.resolve("only-a") is None
        assert registry.resolve("service_manager") is runtime_b
    bus.on("x", heard["outside"].append)
    bus.emit("x", "from outside")
    with app_a.app_context():
        bus.emit("x", "in a")
    assert registry.resolve("service_manager") is None  # two runtimes: the default scope
    assert registry.resolve("only-a") is None
    assert heard == {"a": ["in a"], "b": [], "outside": ["from outside"]}
