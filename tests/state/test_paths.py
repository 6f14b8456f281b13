"""specter_spoc.state._paths: the copy-on-write path helpers behind Model.

The promise that matters to Model's subscribers: a change never mutates the
tree they were handed, copies only the containers on the changed path, and
shares every other branch by identity."""
from __future__ import annotations

import copy
from enum import Enum

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from specter_spoc.state._paths import (MISSING, PathConflict, assoc, clone, dissoc, lookup, merge, normalize,
                                       render)


def tree() -> dict:
    return {"player": {"queue": [{"id": 1}, {"id": 2}], "volume": 5}, "library": {"songs": [1, 2, 3]}}


def test_assoc_copies_only_the_changed_path_and_shares_the_rest() -> None:
    before = tree()
    snapshot = copy.deepcopy(before)
    after = assoc(before, ("player", "queue", 1, "id"), 20)
    assert before == snapshot  # nothing the old tree's holders see has changed
    assert after["player"]["queue"][1] == {"id": 20}
    assert after["library"] is before["library"]  # untouched branch shared
    assert after["player"]["queue"][0] is before["player"]["queue"][0]
    assert after["player"] is not before["player"] and after["player"]["queue"] is not before["player"]["queue"]


def test_lists_take_numeric_strings_negative_indexes_and_append_at_len() -> None:
    data = {"q": ["a", "b"]}
    assert lookup(data, normalize("q.1")) == "b"
    assert lookup(data, ("q", -1)) == "b"
    assert lookup(data, ("q", 2)) is MISSING
    assert assoc(data, normalize("q.2"), "c") == {"q": ["a", "b", "c"]}
    assert assoc(None, ("a", "b"), 1) == {"a": {"b": 1}}  # missing or null intermediates become dicts


def test_conflicts_name_the_depth_and_the_fix() -> None:
    with pytest.raises(PathConflict) as out_of_range:
        assoc({"q": ["a"]}, ("q", 5), "x")
    assert out_of_range.value.depth == 1 and "use 1 to append" in str(out_of_range.value)
    with pytest.raises(PathConflict, match="needs a numeric index, not 'first'"):
        assoc({"q": ["a"]}, ("q", "first"), "x")
    with pytest.raises(PathConflict) as scalar:
        assoc({"volume": 5}, ("volume", "level"), 1)
    assert scalar.value.depth == 1 and "holds an int value" in str(scalar.value)


def test_dissoc_removes_without_mutating_and_reports_absence() -> None:
    before = tree()
    after = dissoc(before, ("player", "queue", 0))
    assert after["player"]["queue"] == [{"id": 2}]
    assert before["player"]["queue"] == [{"id": 1}, {"id": 2}]
    assert dissoc(before, ("player", "missing")) is MISSING
    assert dissoc(before, ("player", "volume", "x")) is MISSING


def test_normalize_accepts_dotted_strings_and_lists_and_explains_bad_paths() -> None:
    assert normalize("player.queue.0") == ("player", "queue", "0")
    assert normalize(["player", "queue", 0]) == ("player", "queue", 0)
    assert render(()) == "<root>" and render(("a", 0)) == "a.0"
    with pytest.raises(TypeError, match=r"path segments must be str .* or int .*got True"):
        normalize(["a", True])
    with pytest.raises(TypeError, match="a path must be a dotted str"):
        normalize(3)


def test_clone_is_deep_and_keeps_types_it_cannot_marshal() -> None:
    class Color(Enum):
        RED = 1

    value = {"a": [1, {"b": 2}], "color": Color.RED, "t": (1, [2])}
    copied = clone(value)
    assert copied == value and copied["a"] is not value["a"] and copied["t"][1] is not value["t"][1]
    assert copied["color"] is Color.RED


def test_merge_merges_dicts_and_replaces_everything_else() -> None:
    base = {"player": {"volume": 5, "queue": [1]}, "x": 1}
    patch = {"player": {"volume": 7, "queue": [2]}, "y": {"z": 1}}
    merged = merge(base, patch)
    assert merged == {"player": {"volume": 7, "queue": [2]}, "x": 1, "y": {"z": 1}}
    assert base == {"player": {"volume": 5, "queue": [1]}, "x": 1}
    assert merged["y"] is not patch["y"]  # patch values are copied in


keys = st.sampled_from(["a", "b", "c"])
trees = st.recursive(st.integers() | st.none(),
                     lambda children: st.dictionaries(keys, children, max_size=3), max_leaves=8)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(trees.filter(lambda t: isinstance(t, dict)), st.lists(keys, min_size=1, max_size=4), st.integers())
def test_assoc_then_lookup_reads_the_value_and_leaves_the_original(base: dict, path: list, value: int) -> None:
    snapshot = copy.deepcopy(base)
    try:
        after = assoc(base, tuple(path), value)
    except PathConflict as exc:
        # only a scalar (not None) on the way can refuse the write
        assert isinstance(lookup(base, tuple(path[:exc.depth])), int)
        return
    assert lookup(after, tuple(path)) == value
    assert base == snapshot
