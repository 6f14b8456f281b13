"""Cache: TTL, single flight, invalidation cascades on the creating scope."""
from __future__ import annotations

import logging
import time

import gevent
import pytest
from gevent.event import Event

from specter_spoc.lifecycle.service import Service
from specter_spoc.state import Cache, create_cache
from specter_spoc.testing import wait_until
from specter_spoc.wiring.scope import Scope, current_scope


def test_get_set_and_properties():
    cache = create_cache("c")
    assert isinstance(cache, Cache) and cache.ttl == 0 and cache.updated_at == 0
    assert cache.get() is None and cache.get("d") == "d" and not cache.is_valid()
    before = time.time()
    assert cache.set([1, 2]) is None
    assert cache.get() == [1, 2] and cache.is_valid() and cache.updated_at >= before
    cache.set(None)  # None is a value like any other
    assert cache.is_valid() and cache.get("d") is None
    assert create_cache("n", ttl=None).ttl == 0


def test_ttl_expiry_and_per_value_override():
    cache = create_cache("c", ttl=0.05)
    witness = create_cache("witness", ttl=0.05)  # same TTL, set after: expires no earlier
    cache.set("short")
    assert cache.get() == "short"
    cache.set("forever", ttl=0)
    witness.set("w")
    wait_until(lambda: not witness.is_valid(), timeout=5, what="the witness cache to expire")
    assert cache.get() == "forever"  # a 0.05 s TTL has run out, ttl=0 has not
    cache.set("short")
    wait_until(lambda: not cache.is_valid(), timeout=5, what="the 0.05 s TTL to run out")
    assert cache.get("gone") == "gone" and cache.updated_at == 0


def test_get_or_compute_caches_including_none():
    cache = create_cache("c")
    calls = []

    def factory():
        calls.append(1)
        return None

    assert cache.get_or_compute(factory) is None
    assert cache.get_or_compute(factory) is None
    assert calls == [1]


def test_single_flight_twenty_greenlets_one_compute():
    cache = create_cache("slow", ttl=10)
    calls = []

    def factory():
        calls.append(1)
        gevent.sleep(0.05)
        return {"answer": 42}

    glets = [gevent.spawn(cache.get_or_compute, factory) for _ in range(20)]
    gevent.joinall(glets, raise_error=True)
    assert len(calls) == 1
    results = [g.value for g in glets]
    assert all(r == {"answer": 42} for r in results)
    assert cache.get_or_compute(factory) == {"answer": 42} and len(calls) == 1


def test_failing_compute_reaches_every_waiter_and_next_call_recomputes():
    cache = create_cache("flaky")
    calls = []

    def failing():
        calls.append(1)
        gevent.sleep(0.02)
        raise ConnectionError("backend down")

    glets = [gevent.spawn(cache.get_or_compute, failing) for _ in range(5)]
    gevent.joinall(glets)
    assert len(calls) == 1
    assert all(isinstance(g.exception, ConnectionError) for g in glets)
    assert not cache.is_valid()
    assert cache.get_or_compute(lambda: "ok") == "ok"


def test_killed_compute_lets_a_waiter_take_over():
    cache = create_cache("c")
    started = Event()
    release = Event()
    calls = []

    def factory():
        calls.append(1)
        started.set()
        release.wait()
        return len(calls)

    first = gevent.spawn(cache.get_or_compute, factory)
    started.wait(1)
    started.clear()
    waiter = gevent.spawn(cache.get_or_compute, factory)
    gevent.sleep(0)
    first.kill()          # the computing greenlet dies: the waiter must not
    started.wait(1)
    release.set()
    waiter.join(1)
    assert waiter.successful() and waiter.value == 2 and cache.get() == 2


def test_invalidate_during_compute_is_not_overwritten_by_stale_result():
    cache = create_cache("c")
    release = Event()

    def factory():
        release.wait()
        return "stale"

    glet = gevent.spawn(cache.get_or_compute, factory)
    gevent.sleep(0)
    cache.invalidate()
    release.set()
    glet.join(1)
    assert glet.value == "stale" and not cache.is_valid()


def test_on_invalidate_callbacks_and_unsubscribe(caplog):
    cache = create_cache("c")
    seen = []
    off = cache.on_invalidate(lambda: seen.append("a"))
    cache.on_invalidate(lambda: 1 / 0)
    cache.on_invalidate(lambda: seen.append("c"))
    cache.set(1)
    caplog.set_level(logging.ERROR, logger="specter_spoc")
    cache.invalidate()
    assert seen == ["a", "c"] and "ZeroDivisionError" in caplog.text
    assert cache.get() is None
    off()
    off()
    cache.invalidate()
    assert seen == ["a", "c", "c"]


def test_three_level_cascade_on_the_creating_scope(spoc_scope):
    drives = create_cache("drives", depends_on=["storage:mounts"])
    categories = create_cache("categories", depends_on=["drives:invalidated"])
    hidden = create_cache("hidden", depends_on="categories:invalidated")  # one event as str
    for cache in (drives, categories, hidden):
        cache.set("value")
    order = []
    spoc_scope.bus.on("hidden:invalidated", lambda data: order.append("hidden"))
    for cache in (drives, categories, hidden):
        cache.on_invalidate(lambda name=cache.name: order.append(name))

    spoc_scope.bus.emit("storage:mounts", {"path": "/mnt"})
    assert [c.is_valid() for c in (drives, categories, hidden)] == [False, False, False]
    assert order == ["drives", "categories", "hidden", "hidden"]

    categories.set("again")
    hidden.set("again")
    categories.invalidate()  # only downstream is affected
    assert not hidden.is_valid() and not categories.is_valid()
    drives.set("kept")
    hidden.invalidate()
    assert drives.get() == "kept"


def test_dependency_cycle_stops_after_one_round(spoc_scope):
    a = create_cache("a", depends_on=["b:invalidated"])
    b = create_cache("b", depends_on=["a:invalidated"])
    counts = {"a": 0, "b": 0}
    a.on_invalidate(lambda: counts.__setitem__("a", counts["a"] + 1))
    b.on_invalidate(lambda: counts.__setitem__("b", counts["b"] + 1))
    a.invalidate()
    assert counts == {"a": 1, "b": 1}


def test_two_scopes_never_see_each_others_invalidations():
    one, two = Scope("one"), Scope("two")
    with one.activate():
        source_one = create_cache("source")
        derived_one = create_cache("derived", depends_on=["source:invalidated"])
    with two.activate():
        derived_two = create_cache("derived", depends_on=["source:invalidated"])
    derived_one.set(1)
    derived_two.set(2)
    with two.activate():
        source_one.invalidate()  # emits on scope one's bus, where it was created
    assert not derived_one.is_valid()
    assert derived_two.get() == 2


def test_destroy_unsubscribes_from_the_bus(spoc_scope):
    cache = create_cache("c", depends_on=["x", "y"])
    assert spoc_scope.bus.listener_count() == 2
    cache.on_invalidate(lambda: None)
    cache.set(1)
    cache.destroy()
    assert spoc_scope.bus.listener_count() == 0 and not cache.is_valid()
    cache.destroy()  # idempotent


def test_service_own_destroys_cache():
    service = Service("cache-owner").start()
    try:
        cache = service.own(create_cache("owned", depends_on=["evt"]))
        bus = current_scope().bus
        assert bus.listener_count("evt") == 1
        cache.set(1)
    finally:
        service.stop()
    assert bus.listener_count("evt") == 0 and not cache.is_valid()


@pytest.mark.parametrize("call, error, fragment", [
    (lambda: create_cache(""), TypeError, "name"),
    (lambda: create_cache("c", ttl="5"), TypeError, "ttl"),
    (lambda: create_cache("c", ttl=-1), ValueError, "ttl"),
    (lambda: create_cache("c", ttl=float("nan")), ValueError, "ttl"),
    (lambda: create_cache("c", depends_on=5), TypeError, "depends_on"),
    (lambda: create_cache("c", depends_on=[""]), TypeError, "depends_on"),
    (lambda: create_cache("c", depends_on=["c:invalidated"]), ValueError, "own event"),
    (lambda: create_cache("c").set(1, ttl=-2), ValueError, "ttl"),
    (lambda: create_cache("c").get_or_compute(5), TypeError, "get_or_compute"),
    (lambda: create_cache("c").on_invalidate(None), TypeError, "on_invalidate"),
])
def test_argument_errors(call, error, fragment):
    with pytest.raises(error, match=fragment):
        call()


def test_ttl_runs_on_the_injected_clock() -> None:
    from specter_spoc.lifecycle.clock import ManualClock
    from specter_spoc.state.cache import create_cache

    clock = ManualClock()
    cache = create_cache("clocked", ttl=10)
    cache.clock = clock
    try:
        cache.set("v")
        clock.advance(9.9)
        assert cache.get() == "v"
        clock.advance(0.2)
        assert cache.get("gone") == "gone"      # expired exactly when the clock passed the TTL
        cache.set("w", ttl=0)                     # 0: never expires
        clock.advance(10_000)
        assert cache.get() == "w"
    finally:
        cache.destroy()
