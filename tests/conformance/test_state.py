"""Store, Model and Cache (SPECTER guide §11, §28)."""
from __future__ import annotations

import gevent
import pytest

from conformance_harness import ROW_CACHE_NONE, ROW_CACHE_TTL, ROW_MODEL_SET_THROUGH, wait_until


# -------------------------------------------------------------------- Store
def test_store_get_set_snapshot_are_shallow_copies(impl):
    store = impl.mod.create_store("connections", {"count": 0})
    assert isinstance(store, impl.mod.Store) and store.name == "connections"
    assert store.set({"count": 1}) == {"count": 1}
    assert store.get("count") == 1 and store.get("missing", "d") == "d"
    snap = store.snapshot()
    snap["count"] = 99
    assert store.get() == {"count": 1}


def test_store_set_and_replace_need_dicts(impl):
    store = impl.mod.create_store("s")
    with pytest.raises(TypeError):
        store.set(["not", "a", "dict"])
    with pytest.raises(TypeError):
        store.replace("nope")


def test_store_update_mutates_a_draft_or_replaces_with_returned_dict(impl):
    store = impl.mod.create_store("s", {"count": 1})
    store.update(lambda draft: draft.update({"count": draft["count"] + 1}))
    assert store.get("count") == 2
    store.update(lambda draft: {"other": True})
    assert store.get() == {"other": True}
    with pytest.raises(TypeError):
        store.update(lambda draft: ["bad"])
    with pytest.raises(TypeError):
        store.update("not callable")


def test_store_replace_delete_clear(impl):
    store = impl.mod.create_store("s", {"a": 1, "b": 2, "c": 3})
    store.replace({"x": 1, "y": 2})
    assert store.get() == {"x": 1, "y": 2}
    assert store.delete("x", "nope") == {"y": 2}
    assert store.clear() == {}


def test_store_access_reads_without_notifying(impl):
    store = impl.mod.create_store("s", {"a": 1})
    seen = []
    store.subscribe(lambda snap, s: seen.append(snap))
    assert store.access(lambda state: state["a"] + 1) == 2
    assert seen == []
    with pytest.raises(TypeError):
        store.access(None)


def test_store_subscribers_get_snapshot_and_store(impl):
    store = impl.mod.create_store("s", {"count": 0})
    seen = []
    unsub = store.subscribe(lambda snap, s: seen.append((snap, s)), immediate=True)
    store.set({"count": 1})
    store.delete("missing")  # nothing deleted: no notification
    unsub()
    store.set({"count": 2})
    assert seen == [({"count": 0}, store), ({"count": 1}, store)]


def test_store_watch_is_immediate_and_a_raising_subscriber_is_isolated(impl):
    store = impl.mod.create_store("s", {"n": 0})
    seen = []

    def bad(snap, s):
        raise RuntimeError("subscriber bug")

    store.subscribe(bad)
    store.watch(lambda snap, s: seen.append(snap["n"]))
    store.set({"n": 1})
    assert seen == [0, 1]


def test_store_subscribe_owner_unsubscribes_on_stop_and_is_checked(impl):
    store = impl.mod.create_store("s", {"n": 0})
    owner = impl.mod.Service("owner").start()
    seen = []
    store.subscribe(lambda snap, s: seen.append(snap["n"]), owner=owner)
    store.set({"n": 1})
    owner.stop()
    store.set({"n": 2})
    assert seen == [1]
    with pytest.raises(TypeError):
        store.subscribe(lambda snap, s: None, owner=object())


def test_store_emit_events_goes_on_the_bus(impl):
    heard = []
    impl.mod.bus.on("conn:changed", heard.append)
    impl.mod.bus.on("custom", heard.append)
    impl.mod.create_store("conn", {"n": 0}, emit_events=True).set({"n": 1})
    impl.mod.create_store("other", emit_events=True, change_event="custom").set({"m": 2})
    impl.mod.create_store("quiet").set({"q": 3})
    assert heard == [{"n": 1}, {"m": 2}]


def test_store_destroy_resets_state_and_subscribers(impl):
    store = impl.mod.create_store("s", {"n": 0})
    seen = []
    store.subscribe(lambda snap, s: seen.append(snap))
    store.destroy()
    assert store.get() == {}
    store.set({"n": 1})
    assert seen == []


def test_store_owned_by_a_controller_is_destroyed_on_stop(impl):
    class Feature(impl.mod.Controller):
        name = "feature"

        def on_start(self):
            self.store = self.create_store("feature.store", {"n": 1})
            self.model = self.create_model("feature.model", {"a": {"b": 1}})

    ctrl = Feature().start()
    assert isinstance(ctrl.store, impl.mod.Store) and isinstance(ctrl.model, impl.mod.Model)
    ctrl.stop()
    assert ctrl.store.get() == {} and ctrl.model.get() == {}


# -------------------------------------------------------------------- Model
def _tv(impl):
    return impl.mod.create_model("tv", {"playback": {"url": None, "position": 0}, "casting": False})


def test_model_path_get_set_with_str_tuple_list(impl):
    tv = _tv(impl)
    assert isinstance(tv, impl.mod.Model)
    tv.set("playback.url", "/media/movie.mp4")
    assert tv.get("playback.url") == "/media/movie.mp4"
    assert tv.get(("playback", "position")) == 0
    assert tv.get(["playback", "missing"], "d") == "d"
    tv.set("new.deep.path", 1)
    assert tv.get("new") == {"deep": {"path": 1}}
    with pytest.raises(TypeError):
        tv.get(42)


def test_model_snapshots_are_deep_copies(impl):
    tv = _tv(impl)
    snap = tv.get()
    snap["playback"]["url"] = "changed"
    assert tv.get("playback.url") is None
    nested = tv.get("playback")
    nested["position"] = 5
    assert tv.snapshot()["playback"]["position"] == 0
    value = {"list": [1]}
    tv.set("v", value)
    value["list"].append(2)
    assert tv.get("v") == {"list": [1]}


def test_model_patch_update_delete_clear_select(impl):
    tv = _tv(impl)
    tv.patch({"casting": True})
    assert tv.get("casting") is True
    with pytest.raises(TypeError):
        tv.patch([1])
    tv.update(lambda draft: draft["playback"].update(position=10))
    assert tv.get("playback.position") == 10
    tv.update(lambda draft: {"replaced": True})
    assert tv.get() == {"replaced": True}
    with pytest.raises(TypeError):
        tv.update(lambda draft: "bad")
    tv.set("a.b", 1)
    tv.delete("a.b")
    assert tv.get("a") == {}
    tv.delete("no.such.path")
    assert tv.select(lambda state: sorted(state)) == ["a", "replaced"]
    assert tv.select("a") == {}
    assert tv.clear() == {}


def test_model_selector_subscription_fires_only_when_the_slice_changes(impl):
    tv = _tv(impl)
    seen = []
    tv.subscribe(lambda value, model: seen.append((value, model)), selector="playback.position")
    tv.set("casting", True)
    tv.set("playback.position", 5)
    tv.set("playback.position", 5)
    assert seen == [(5, tv)]


def test_model_callable_selector_and_full_state_subscription(impl):
    tv = _tv(impl)
    sliced, full = [], []
    tv.subscribe(lambda value, model: sliced.append(value), selector=lambda s: s["casting"])
    tv.subscribe(lambda value, model: full.append(value))
    tv.set("playback.url", "/x")
    tv.patch({"casting": True})
    assert sliced == [True]
    assert len(full) == 2 and full[-1]["casting"] is True


def test_model_watch_is_immediate_unsubscribe_and_owner(impl):
    tv = _tv(impl)
    seen = []
    unsub = tv.watch(lambda value, model: seen.append(value), selector="casting")
    assert seen == [False]
    unsub()
    tv.patch({"casting": True})
    assert seen == [False]
    owner = impl.mod.Service("owner").start()
    tv.subscribe(lambda value, model: seen.append(value), selector="casting", owner=owner)
    owner.stop()
    tv.patch({"casting": False})
    assert seen == [False]
    with pytest.raises(TypeError):
        tv.subscribe(lambda v, m: None, owner=object())


def test_model_emit_events_and_destroy(impl):
    heard = []
    impl.mod.bus.on("m:changed", heard.append)
    model = impl.mod.create_model("m", {"a": 1}, emit_events=True)
    model.set("a", 2)
    assert heard == [{"a": 2}]
    model.destroy()
    assert model.get() == {}


# -------------------------------------------------------------------- Cache
def test_cache_get_set_ttl_properties(impl):
    cache = impl.mod.create_cache("drives", ttl=300)
    assert isinstance(cache, impl.mod.Cache) and cache.ttl == 300
    assert cache.get() is None and cache.get("d") == "d" and not cache.is_valid()
    assert cache.updated_at == 0
    cache.set(["/media"])
    assert cache.get() == ["/media"] and cache.is_valid() and cache.updated_at > 0
    cache.destroy()


def test_cache_expires_after_ttl_and_per_write_ttl_override(impl):
    cache = impl.mod.create_cache("c", ttl=0)
    cache.set("forever")
    assert cache.ttl == 0 and cache.is_valid()
    cache.set("short", ttl=0.01)
    wait_until(lambda: not cache.is_valid(), message="the per-write ttl to expire")
    assert cache.get("expired") == "expired"
    assert cache.ttl == 0
    cache.destroy()


def test_cache_get_or_compute_runs_the_factory_once(impl):
    cache = impl.mod.create_cache("c")
    calls = []

    def scan():
        calls.append(1)
        gevent.sleep(0.01)
        return ["/a"]

    results = [g.get(timeout=5) for g in [gevent.spawn(cache.get_or_compute, scan) for _ in range(3)]]
    assert results == [["/a"]] * 3 and calls == [1]
    assert cache.get_or_compute(scan) == ["/a"] and calls == [1]
    cache.destroy()


def test_cache_invalidate_emits_fires_callbacks_and_cascades(impl):
    heard = []
    drives = impl.mod.create_cache("drives", depends_on=["storage:mount_changed"])
    categories = impl.mod.create_cache("categories", depends_on=["drives:invalidated"])
    impl.mod.bus.on("categories:invalidated", heard.append)
    calls = []
    unsub = drives.on_invalidate(lambda: calls.append("drives"))
    drives.set([1])
    categories.set([2])
    impl.mod.bus.emit("storage:mount_changed", {"path": "/media/usb1"})
    assert drives.get() is None and categories.get() is None
    assert calls == ["drives"] and heard == [None]
    unsub()
    drives.invalidate()
    assert calls == ["drives"]
    drives.destroy()
    categories.destroy()


def test_cache_destroy_unsubscribes_from_dependencies(impl):
    cache = impl.mod.create_cache("c", depends_on=["dep"])
    assert impl.mod.bus.listener_count("dep") == 1
    cache.set(1)
    cache.destroy()
    assert impl.mod.bus.listener_count("dep") == 0
    assert cache.get() is None


def test_cache_owned_by_a_service_is_destroyed_on_stop(impl):
    svc = impl.mod.Service("svc").start()
    cache = svc.own(impl.mod.create_cache("c", depends_on=["dep"]))
    cache.set(1)
    svc.stop()
    assert cache.get() is None and impl.mod.bus.listener_count("dep") == 0


def test_cache_none(impl):
    cache = impl.mod.create_cache("c")
    calls = []
    cache.set(None)
    valid_after_set_none = cache.is_valid()
    cache.get_or_compute(lambda: calls.append(1))
    cache.get_or_compute(lambda: calls.append(1))
    if impl.difference(ROW_CACHE_NONE):
        assert valid_after_set_none and cache.get("d") is None and calls == []
    else:
        assert not valid_after_set_none and cache.get("d") == "d" and calls == [1, 1]
    cache.destroy()


def test_model_set_through_a_scalar(impl):
    model = impl.mod.create_model("m", {"a": 5})
    if impl.difference(ROW_MODEL_SET_THROUGH):
        with pytest.raises(TypeError, match="a"):
            model.set("a.b", 1)
        assert model.get() == {"a": 5}
    else:
        model.set("a.b", 1)
        assert model.get() == {"a": {"b": 1}}


def test_cache_ttl_from_a_string_or_negative(impl):
    if impl.difference(ROW_CACHE_TTL):
        with pytest.raises(TypeError, match="ttl"):
            impl.mod.create_cache("c", ttl="300")
        with pytest.raises(ValueError, match="ttl"):
            impl.mod.create_cache("c", ttl=-5)
    else:
        assert impl.mod.create_cache("c", ttl="300").ttl == 300.0
        assert impl.mod.create_cache("c", ttl=-5).ttl == 0
