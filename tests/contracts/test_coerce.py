"""specter_spoc.contracts._coerce: the value coercion behind Field.

Its promise: coercers never guess (no bool from an arbitrary object, no
string from a dict, no NaN or infinity as a number), and the message tail
says what was expected and what came, without ever rendering a huge input."""
from __future__ import annotations

import sys

import pytest

from specter_spoc.contracts._coerce import (BUILTIN, Invalid, describe, kind, to_bool, to_dict, to_float, to_int,
                                            to_list, to_str)


@pytest.mark.parametrize("coerce, raw, expected", [
    (to_str, "x", "x"), (to_str, 12, "12"), (to_str, 1.5, "1.5"),
    (to_int, 3, 3), (to_int, " 42 ", 42), (to_int, 4.0, 4),
    (to_float, 2, 2.0), (to_float, " 2.5", 2.5),
    (to_bool, True, True), (to_bool, 0, False), (to_bool, " Yes ", True), (to_bool, "off", False),
    (to_list, (1, 2), [1, 2]), (to_dict, {"a": 1}, {"a": 1}),
])
def test_accepted_values(coerce, raw, expected) -> None:
    result = coerce(raw)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize("coerce, raw, message", [
    (to_str, {"a": 1}, "must be a string, got an object"),
    (to_str, True, "must be a string, got a boolean"),
    (to_str, float("nan"), "must be a string, got nan"),
    (to_int, True, "must be an integer, got True"),
    (to_int, 1.5, "must be an integer, got 1.5"),
    (to_int, "x", "must be an integer, got 'x'"),
    (to_int, [1], "must be an integer, got a list"),
    (to_float, False, "must be a number, got False"),
    (to_float, "inf", "must be a finite number, got 'inf'"),
    (to_float, None, "must be a number, got null"),
    (to_bool, 2, "must be a boolean (true/false, 1/0, yes/no, on/off), got 2"),
    (to_bool, "maybe", "got 'maybe'"),
    (to_bool, [], "got a list"),
    (to_list, "abc", "must be a list, got a string"),
    (to_dict, [("a", 1)], "must be an object, got a list"),
])
def test_refused_values_say_what_was_expected_and_what_came(coerce, raw, message) -> None:
    with pytest.raises(Invalid) as caught:
        coerce(raw)
    assert message in str(caught.value)


def test_a_copy_is_returned_for_containers() -> None:
    original = {"a": [1]}
    copied = to_dict(original)
    copied["b"] = 2
    assert original == {"a": [1]}


def test_describe_never_renders_a_huge_or_nested_value() -> None:
    assert describe("x" * 500) == "'" + "x" * 60 + "...'"  # the first 60 characters
    assert describe({"deep": [[[[1]]]]}) == "an object"
    assert "0x" not in describe(object())  # by kind, never its repr


@pytest.mark.skipif(not hasattr(sys, "set_int_max_str_digits"), reason="needs Python's int-to-str digit limit")
def test_an_int_too_long_to_print_is_described_not_rendered() -> None:
    previous = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(640)
    try:
        assert describe(10 ** 5000) == "a very large number"
        with pytest.raises(Invalid, match="must be a string, got a number too large to show"):
            to_str(10 ** 5000)
    finally:
        sys.set_int_max_str_digits(previous)


def test_kind_uses_json_names() -> None:
    assert [kind(v) for v in (None, True, 1, 1.0, "s", [], (), {})] == [
        "null", "a boolean", "a number", "a number", "a string", "a list", "a list", "an object"]


def test_every_builtin_target_has_its_coercer() -> None:
    assert BUILTIN[int] is to_int and BUILTIN[bool] is to_bool and BUILTIN[object]("anything") == "anything"
