"""Store: reads, writes, atomic update, subscribers, ownership, scoped events."""
from __future__ import annotations

import logging

import gevent
import pytest

from specter_spoc.lifecycle.owner import release_for
from specter_spoc.lifecycle.service import Service
from specter_spoc.state import Store, create_store
from specter_spoc.wiring.scope import Scope


def test_reads_return_copies():
    store = create_store("s", {"a": 1, "items": [1]})
    assert isinstance(store, Store) and store.name == "s"
    assert store.get() == {"a": 1, "items": [1]} and store.snapshot() == store.get()
    assert store.get("a") == 1 and store.get("missing", "d") == "d" and store.get("missing") is None
    copy = store.get()
    copy["a"] = 99
    assert store.get("a") == 1
    assert "a" in store and "zz" not in store


def test_initial_state_is_copied():
    initial = {"a": 1}
    store = create_store("s", initial)
    initial["a"] = 2
    assert store.get("a") == 1
    assert create_store("empty").get() == {}


def test_writes_return_the_new_snapshot():
    store = create_store("s", {"a": 1})
    assert store.set({"b": 2}) == {"a": 1, "b": 2}
    assert store.replace({"c": 3}) == {"c": 3}
    assert store.delete("c", "nope") == {}
    assert store.set({"x": 1, "y": 2}) == {"x": 1, "y": 2}
    assert store.update(lambda draft: draft.update(z=3)) == {"x": 1, "y": 2, "z": 3}
    assert store.update(lambda draft: {"only": True}) == {"only": True}
    assert store.clear() == {} and store.get() == {}
    returned = store.set({"k": 1})
    returned["k"] = 2
    assert store.get("k") == 1


def test_failed_update_changes_nothing():
    store = create_store("s", {"n": 1})
    calls = []
    store.subscribe(lambda state, s: calls.append(state))

    def broken(draft):
        draft["n"] = 2
        raise ValueError("nope")

    with pytest.raises(ValueError):
        store.update(broken)
    with pytest.raises(TypeError, match="return a dict"):
        store.update(lambda draft: [1])
    assert store.get() == {"n": 1} and calls == []
    store.set({"n": 5})  # the lock was released
    assert calls == [{"n": 5}]


def test_update_is_atomic_even_when_the_mutator_yields():
    store = create_store("counter", {"n": 0})

    def bump(draft):
        value = draft["n"]
        gevent.sleep(0.001)  # a yield inside the critical section
        draft["n"] = value + 1

    glets = [gevent.spawn(store.update, bump) for _ in range(20)]
    # plain writes arriving during a yielding update wait for it instead of being lost
    glets += [gevent.spawn(store.set, {f"k{i}": i}) for i in range(5)]
    gevent.joinall(glets, raise_error=True)
    state = store.get()
    assert state["n"] == 20
    assert all(state[f"k{i}"] == i for i in range(5))


def test_access_reads_without_interleaved_writes():
    store = create_store("s", {"a": 1, "b": 1})
    seen = []

    def reader(state):
        first = state["a"]
        gevent.sleep(0.001)
        seen.append((first, state["b"]))
        return "done"

    reader_glet = gevent.spawn(store.access, reader)
    gevent.sleep(0)
    writer = gevent.spawn(store.set, {"a": 2, "b": 2})
    gevent.joinall([reader_glet, writer], raise_error=True)
    assert reader_glet.value == "done" and seen == [(1, 1)]
    assert store.get() == {"a": 2, "b": 2}


def test_writing_from_inside_update_is_a_clear_error():
    store = create_store("s", {"n": 0})
    with pytest.raises(RuntimeError, match="inside update"):
        store.update(lambda draft: store.set({"n": 1}))
    with pytest.raises(RuntimeError, match="inside update"):
        store.access(lambda state: store.delete("n"))
    assert store.set({"n": 2}) == {"n": 2}  # not deadlocked


def test_subscribers_get_private_copies_in_order_and_delete_noop_is_silent():
    store = create_store("s", {"a": 1})
    calls = []

    def first(state, source):
        calls.append(("first", dict(state), source))
        state["a"] = "mutated"

    def second(state, source):
        calls.append(("second", dict(state), source))

    store.subscribe(first)
    store.subscribe(second)
    store.set({"a": 2})
    assert calls == [("first", {"a": 2}, store), ("second", {"a": 2}, store)]
    assert store.get("a") == 2
    calls.clear()
    store.delete("missing")
    assert calls == []
    store.delete("a")
    assert [c[0] for c in calls] == ["first", "second"]


def test_raising_subscriber_is_logged_and_others_still_run(caplog):
    store = create_store("s")
    seen = []
    store.subscribe(lambda state, s: 1 / 0)
    store.subscribe(lambda state, s: seen.append(state))
    caplog.set_level(logging.ERROR, logger="specter_spoc")
    assert store.set({"x": 1}) == {"x": 1}
    assert seen == [{"x": 1}]
    assert "ZeroDivisionError" in caplog.text and "'s'" in caplog.text


def test_immediate_watch_and_unsubscribe():
    store = create_store("s", {"a": 1})
    seen = []
    off = store.subscribe(lambda state, s: seen.append(("sub", state)), immediate=True)
    off_watch = store.watch(lambda state, s: seen.append(("watch", state)))
    assert seen == [("sub", {"a": 1}), ("watch", {"a": 1})]
    off()
    off()  # idempotent
    store.set({"a": 2})
    assert seen[-1] == ("watch", {"a": 2}) and len(seen) == 3
    off_watch()
    store.set({"a": 3})
    assert len(seen) == 3 and store.subscriber_count == 0


def test_same_function_subscribed_twice_unsubscribes_one_at_a_time():
    store = create_store("s")
    seen = []

    def fn(state, s):
        seen.append(1)

    off1 = store.subscribe(fn)
    store.subscribe(fn)
    off1()
    off1()
    store.set({"a": 1})
    assert seen == [1]


def test_owner_ends_subscription_and_own_destroys_store():
    store = create_store("owned", {"a": 1})
    seen = []
    service = Service("owner").start()
    try:
        service.own(store)
        store.subscribe(lambda state, s: seen.append(state), owner=service)
        store.set({"a": 2})
    finally:
        service.stop()
    assert seen == [{"a": 2}]
    assert store.get() == {} and store.subscriber_count == 0  # destroyed by own()
    store.set({"a": 3})  # still usable, nobody listening
    assert seen == [{"a": 2}]
    assert release_for(store)[0] == store.destroy


def test_owner_without_add_cleanup_is_rejected():
    store = create_store("s")
    with pytest.raises(TypeError, match="add_cleanup"):
        store.subscribe(lambda s, st: None, owner=object())
    assert store.subscriber_count == 0


def test_change_events_stay_on_the_creating_scope():
    one, two = Scope("one"), Scope("two")
    heard = {"one": [], "two": []}
    one.bus.on("prefs:changed", lambda data: heard["one"].append(data))
    two.bus.on("prefs:changed", lambda data: heard["two"].append(data))
    with one.activate():
        store_one = create_store("prefs", emit_events=True)
    with two.activate():
        store_two = create_store("prefs", emit_events=True)
    store_one.set({"theme": "dark"})      # emitted where it was created,
    with two.activate():
        store_one.set({"font": 12})       # whichever scope is active now
    store_two.set({"theme": "light"})
    assert heard["one"] == [{"theme": "dark"}, {"theme": "dark", "font": 12}]
    assert heard["two"] == [{"theme": "light"}]


def test_custom_change_event_and_silent_by_default(spoc_scope):
    heard = []
    spoc_scope.bus.on("custom", heard.append)
    spoc_scope.bus.on("quiet:changed", heard.append)
    create_store("loud", emit_events=True, change_event="custom").set({"a": 1})
    create_store("quiet").set({"b": 1})
    assert heard == [{"a": 1}]


@pytest.mark.parametrize("call, fragment", [
    (lambda: create_store(""), "name"),
    (lambda: create_store(5), "name"),
    (lambda: create_store("s", [1]), "initial_state"),
    (lambda: create_store("s", emit_events="yes"), "emit_events"),
    (lambda: create_store("s", change_event=3), "change_event"),
    (lambda: create_store("s").set([("a", 1)]), "set"),
    (lambda: create_store("s").replace("x"), "replace"),
    (lambda: create_store("s").update("x"), "update"),
    (lambda: create_store("s").access(None), "access"),
    (lambda: create_store("s").subscribe("fn"), "subscribe"),
])
def test_argument_errors_name_the_argument(call, fragment):
    with pytest.raises(TypeError, match=fragment):
        call()


def test_unknown_keyword_is_a_type_error():
    with pytest.raises(TypeError):
        create_store("s", emit=True)


def test_state_made_outside_a_runtime_follows_the_module_bus_made_inside_stays() -> None:
    """A module-level store/cache (SPECTER's import-time pattern) talks to the
    bus of whoever uses it; one created inside a runtime keeps that runtime's."""
    from specter_spoc import bus, create_cache

    module_level = create_store("mod", emit_events=True)
    cache = create_cache("drives", depends_on=["storage:mounts"])
    runtime = Scope("runtime")
    heard: list = []
    with runtime.activate():
        inside = create_store("inside", emit_events=True)
        bus.on("mod:changed", heard.append)
        bus.on("inside:changed", heard.append)
        module_level.set({"a": 1})        # written from the runtime: its bus hears it
    inside.set({"b": 2})                   # written from outside: still the runtime's bus
    assert heard == [{"a": 1}, {"b": 2}]
    cache.set(1)
    bus.emit("storage:mounts")             # the default scope, where it was created
    assert cache.get() is None
    cache.destroy()
    assert bus.listener_count("storage:mounts") == 0
