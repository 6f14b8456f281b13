"""Model: nested paths, copies, selector subscriptions, atomic update."""
from __future__ import annotations

import enum
import logging

import gevent
import pytest

from specter_spoc.lifecycle.owner import release_for
from specter_spoc.lifecycle.service import Service
from specter_spoc.state import Model, create_model
from specter_spoc.wiring.scope import Scope


def make() -> Model:
    return create_model("player", {"queue": [{"title": "a"}, {"title": "b"}],
                                   "volume": 5, "meta": {"owner": {"name": "ada"}}})


def test_get_by_dotted_and_list_paths():
    model = make()
    assert model.get("volume") == 5
    assert model.get("queue.1.title") == "b"
    assert model.get(["queue", 0, "title"]) == "a"
    assert model.get(("queue", "1", "title")) == "b"
    assert model.get(["queue", -1, "title"]) == "b"
    assert model.get("meta.owner.name") == "ada"
    assert model.get("queue.7.title", "none") == "none"
    assert model.get("volume.deeper", "none") == "none"
    assert model.get("queue.x", 0) == 0
    assert model.get() == model.snapshot() and model.get("") == model.get()


def test_values_handed_out_and_taken_in_are_copies():
    model = make()
    queue = model.get("queue")
    queue.append({"title": "evil"})
    queue[0]["title"] = "changed"
    model.snapshot()["meta"]["owner"]["name"] = "eve"
    assert model.get("queue") == [{"title": "a"}, {"title": "b"}]
    assert model.get("meta.owner.name") == "ada"
    value = {"deep": [1]}
    returned = model.set("extra", value)
    value["deep"].append(2)
    returned["extra"]["deep"].append(3)
    assert model.get("extra") == {"deep": [1]}
    initial = {"a": {"b": 1}}
    other = create_model("other", initial)
    initial["a"]["b"] = 2
    assert other.get("a.b") == 1


class Mode(str, enum.Enum):
    LIVE = "live"


class Point:
    def __init__(self, x):
        self.x = x


def test_values_that_are_not_plain_data_are_kept_and_still_copied():
    model = create_model("m")
    point = Point(1)
    model.set("mode", Mode.LIVE)
    model.set("where", {"p": point, "t": (1, [2])})
    assert model.get("mode") is Mode.LIVE
    where = model.get("where")
    assert isinstance(where["p"], Point) and where["p"] is not point and where["p"].x == 1
    assert where["t"] == (1, [2])
    point.x = 2
    assert model.get("where.p").x == 1


def test_set_creates_paths_appends_and_reports_conflicts():
    model = make()
    assert model.set("new.branch.leaf", 1)["new"] == {"branch": {"leaf": 1}}
    model.set("queue.2", {"title": "c"})  # index == length appends
    assert model.get("queue.2.title") == "c"
    model.set(["queue", 0, "title"], "A")
    assert model.get("queue.0.title") == "A"
    model.set("nothing", None)
    model.set("nothing.now.dict", 1)  # null intermediates become dicts
    assert model.get("nothing") == {"now": {"dict": 1}}
    with pytest.raises(TypeError, match="'volume' holds an int value, not a dict or list"):
        model.set("volume.level", 3)
    with pytest.raises(IndexError, match="'queue' is a list of 3, so index '9' is out of range"):
        model.set("queue.9", {})
    with pytest.raises(TypeError, match="numeric index"):
        model.set("queue.title", "x")
    with pytest.raises(ValueError, match="non-empty path"):
        model.set("", 1)
    with pytest.raises(TypeError, match="path"):
        model.set(5, 1)
    with pytest.raises(TypeError, match="segments"):
        model.get(["a", 1.5])
    assert model.get("volume") == 5  # failed writes changed nothing


def test_patch_shallow_by_default_and_deep_on_request():
    model = create_model("m", {"a": {"x": 1, "y": 2}, "b": 1})
    assert model.patch({"a": {"x": 10}}) == {"a": {"x": 10}, "b": 1}
    assert model.patch({"a": {"y": 20}, "c": [1]}, deep=True) == {"a": {"x": 10, "y": 20}, "b": 1, "c": [1]}
    with pytest.raises(TypeError, match="patch"):
        model.patch([1])


def test_update_delete_clear():
    model = make()
    assert model.update(lambda d: d["queue"].remove({"title": "a"}))["queue"] == [{"title": "b"}]
    assert model.update(lambda d: {"fresh": True}) == {"fresh": True}
    with pytest.raises(TypeError, match="return a dict"):
        model.update(lambda d: 5)
    with pytest.raises(ZeroDivisionError):
        model.update(lambda d: d.update(x=1 / 0))
    assert model.get() == {"fresh": True}
    model.set("list", [1, 2, 3])
    assert model.delete("list.1")["list"] == [1, 3]
    assert model.delete("fresh") == {"list": [1, 3]}
    assert model.delete("not.there") == {"list": [1, 3]}
    with pytest.raises(ValueError, match="clear"):
        model.delete("")
    assert model.clear() == {} and model.get() == {}


def test_select_with_path_or_callable():
    model = make()
    assert model.select("queue.0.title") == "a"
    assert model.select("queue.9", "none") == "none"
    assert model.select(lambda state: len(state["queue"])) == 2
    # a callable selector gets a copy
    model.select(lambda state: state["queue"].clear())
    assert len(model.get("queue")) == 2


def test_selector_subscribers_fire_only_when_their_value_changes():
    model = make()
    calls = []
    model.subscribe(lambda v, m: calls.append(("volume", v)), selector="volume")
    model.subscribe(lambda v, m: calls.append(("first", v)), selector=["queue", 0])
    model.subscribe(lambda v, m: calls.append(("count", v)), selector=lambda s: len(s["queue"]))
    model.subscribe(lambda v, m: calls.append(("all", v.get("volume"))))

    model.set("meta.owner.name", "bob")
    assert calls == [("all", 5)]
    calls.clear()
    model.set("volume", 5)                      # same value: nobody called
    model.patch({"volume": 5})
    assert calls == []
    model.set("volume", 6)
    assert calls == [("volume", 6), ("all", 6)]
    calls.clear()
    model.set("queue.2", {"title": "c"})
    assert calls == [("count", 3), ("all", 6)]
    calls.clear()
    model.set("queue.0.title", "A")
    assert calls == [("first", {"title": "A"}), ("all", 6)]
    calls.clear()
    model.update(lambda d: None)                # rebuilt tree, equal values
    assert calls == []
    model.delete("volume")                      # a path that disappears reads as None
    assert calls == [("volume", None), ("all", None)]


def test_subscriber_values_are_private_copies():
    model = make()
    got = []

    def greedy(value, m):
        value.append("mine")
        got.append(value)

    model.subscribe(greedy, selector="queue")
    model.subscribe(lambda v, m: got.append(v), selector="queue")
    model.set("queue.0.title", "x")
    assert got[0][-1] == "mine" and got[1][-1] != "mine"
    assert "mine" not in model.get("queue")


def test_immediate_watch_owner_and_unsubscribe():
    model = make()
    seen = []
    off = model.subscribe(lambda v, m: seen.append(("sub", v)), selector="volume", immediate=True)
    model.watch(lambda v, m: seen.append(("watch", v)), selector="meta.owner.name")
    assert seen == [("sub", 5), ("watch", "ada")]
    service = Service("model-owner").start()
    try:
        model.subscribe(lambda v, m: seen.append(("owned", v)), selector="volume", owner=service)
        model.set("volume", 1)
    finally:
        service.stop()
    off()
    model.set("volume", 2)
    model.set("meta.owner.name", "bob")
    assert seen == [("sub", 5), ("watch", "ada"), ("sub", 1), ("owned", 1), ("watch", "bob")]
    with pytest.raises(TypeError, match="add_cleanup"):
        model.subscribe(lambda v, m: None, owner="me")


def test_raising_subscriber_or_selector_is_logged_and_others_run(caplog):
    model = make()
    seen = []
    model.subscribe(lambda v, m: 1 / 0, selector="volume")
    model.subscribe(lambda v, m: None, selector=lambda s: s["volume"] / (s["volume"] - 7))
    model.subscribe(lambda v, m: seen.append(v), selector="volume")
    caplog.set_level(logging.ERROR, logger="specter_spoc")
    model.set("volume", 7)
    assert seen == [7]
    assert "ZeroDivisionError" in caplog.text and "selector" in caplog.text


def test_update_is_atomic_with_yields_and_plain_writes_wait():
    model = create_model("m", {"n": 0})

    def bump(draft):
        value = draft["n"]
        gevent.sleep(0.001)
        draft["n"] = value + 1

    glets = [gevent.spawn(model.update, bump) for _ in range(10)]
    glets += [gevent.spawn(model.set, f"k.{i}", i) for i in range(3)]
    glets.append(gevent.spawn(model.patch, {"p": 1}))
    gevent.joinall(glets, raise_error=True)
    assert model.get("n") == 10 and model.get("k") == {"0": 0, "1": 1, "2": 2} and model.get("p") == 1
    with pytest.raises(RuntimeError, match="inside update"):
        model.update(lambda d: model.set("n", 0))


def test_change_events_on_creating_scope_and_destroy():
    one, two = Scope("one"), Scope("two")
    heard = {"one": [], "two": []}
    one.bus.on("game:changed", lambda d: heard["one"].append(d))
    two.bus.on("game:changed", lambda d: heard["two"].append(d))
    with one.activate():
        model = create_model("game", {"score": 0}, emit_events=True)
    with two.activate():
        model.set("score", 1)
    assert heard == {"one": [{"score": 1}], "two": []}
    heard["one"][0]["score"] = 99
    assert model.get("score") == 1
    model.subscribe(lambda v, m: None)
    assert release_for(model)[0] == model.destroy  # what service.own(model) will call
    model.destroy()
    assert model.get() == {} and model.subscriber_count == 0


@pytest.mark.parametrize("call, fragment", [
    (lambda: create_model(None), "name"),
    (lambda: create_model("m", "state"), "initial_state"),
    (lambda: create_model("m", emit_events=1), "emit_events"),
    (lambda: create_model("m").update(None), "update"),
    (lambda: create_model("m").subscribe(None), "subscribe"),
    (lambda: create_model("m").subscribe(print, selector=3), "path"),
])
def test_argument_errors(call, fragment):
    with pytest.raises(TypeError, match=fragment):
        call()
