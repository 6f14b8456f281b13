"""Schema / Field: coercion, defaults, every-error reporting, strict mode,
nesting, argument checks."""
from __future__ import annotations

import logging

import pytest

from specter_spoc.contracts import Field, Outcome, Schema, SchemaError
from specter_spoc.contracts.schema import ROOT_ERROR_KEY

USER = Schema("create_user", {
    "name": Field(str, required=True),
    "age": Field(int, validator=lambda n: n >= 0),
    "score": Field(float, default=0.0),
    "admin": Field(bool, default=False),
    "role": Field(str, default="member", choices=["member", "editor"]),
    "tags": Field(list, default=list),
    "extra": Field(dict),
})


def test_valid_payload_is_coerced_and_defaulted():
    outcome = USER.validate({"name": "ada", "age": "36", "score": "1.5", "admin": "yes",
                             "unknown": "dropped"})
    assert isinstance(outcome, Outcome)
    assert outcome.ok and outcome.status == 200 and outcome.error is None
    assert outcome.value == {"name": "ada", "age": 36, "score": 1.5, "admin": True,
                             "role": "member", "tags": [], "extra": None}


def test_every_bad_field_is_reported_at_once():
    outcome = USER.validate({"age": "abc", "score": "x", "admin": "maybe", "role": "root",
                             "tags": "nope", "extra": [1]})
    assert not outcome.ok and outcome.status == 400
    assert set(outcome.errors) == {"name", "age", "score", "admin", "role", "tags", "extra"}
    assert outcome.meta["errors"] == outcome.errors
    assert outcome.errors["name"] == "'name' is required"
    assert outcome.errors["age"] == "'age' must be an integer, got 'abc'"
    assert "one of ['member', 'editor']" in outcome.errors["role"]
    # one readable sentence naming the schema and each problem
    assert outcome.error.startswith("create_user: invalid payload: ")
    for message in outcome.errors.values():
        assert message in outcome.error


def test_defaults_are_fresh_per_payload():
    first = USER.validate({"name": "a"}).value
    first["tags"].append("mutated")
    assert USER.validate({"name": "b"}).value["tags"] == []
    shared = Schema("s", {"items": Field(list, default=[1])})
    shared.validate({}).value["items"].append(2)
    assert shared.validate({}).value["items"] == [1]


def test_explicit_null_means_missing():
    assert USER.validate({"name": "a", "role": None}).value["role"] == "member"
    assert USER.validate({"name": None}).errors == {"name": "'name' is required"}


@pytest.mark.parametrize("raw, expected", [
    (True, True), (False, False), (1, True), (0, False),
    ("true", True), ("FALSE", False), (" yes ", True), ("no", False),
    ("on", True), ("off", False), ("1", True), ("0", False),
])
def test_bool_coercion_accepts_known_spellings(raw, expected):
    assert Schema("b", {"v": Field(bool)}).validate({"v": raw}).value == {"v": expected}


@pytest.mark.parametrize("raw", [2, -1, 1.0, "", "maybe", [], {}, object()])
def test_bool_is_never_guessed_from_other_values(raw):
    outcome = Schema("b", {"v": Field(bool)}).validate({"v": raw})
    assert not outcome.ok and "must be a boolean" in outcome.errors["v"]


@pytest.mark.parametrize("field, raw, expected", [
    (int, 5, 5), (int, " 42 ", 42), (int, 3.0, 3), (int, "-7", -7),
    (float, 2, 2.0), (float, "2.5", 2.5), (float, " 1e3", 1000.0),
    (str, "x", "x"), (str, 12, "12"), (str, 1.5, "1.5"),
    (list, (1, 2), [1, 2]), (dict, {"a": 1}, {"a": 1}),
    (object, {"any": [1]}, {"any": [1]}),
])
def test_scalar_coercions(field, raw, expected):
    outcome = Schema("c", {"v": Field(field)}).validate({"v": raw})
    assert outcome.ok, outcome.error
    assert outcome.value["v"] == expected and type(outcome.value["v"]) is type(expected)


@pytest.mark.parametrize("field, raw, fragment", [
    (int, 3.5, "must be an integer"), (int, True, "must be an integer"),
    (int, "1.5", "must be an integer"), (int, [1], "got a list"),
    (float, "nan", "finite"), (float, float("inf"), "finite"), (float, "1e999", "finite"),
    (float, 10 ** 400, "must be a number"), (float, False, "must be a number"),
    (str, True, "must be a string"), (str, {"a": 1}, "got an object"),
    (list, "abc", "must be a list"), (dict, [("a", 1)], "must be an object"),
])
def test_scalar_rejections(field, raw, fragment):
    outcome = Schema("c", {"v": Field(field)}).validate({"v": raw})
    assert not outcome.ok
    assert fragment in outcome.errors["v"]


def test_error_messages_never_echo_huge_input():
    outcome = Schema("c", {"v": Field(int)}).validate({"v": "9" * 10000 + "x"})
    assert len(outcome.errors["v"]) < 120
    outcome = Schema("c", {"v": Field(str)}).validate({"v": 10 ** 5000})
    assert not outcome.ok and len(outcome.error) < 200


def test_non_dict_payload_is_a_clear_error():
    for bad in ([1, 2], "text", 3, None, True):
        outcome = USER.validate(bad)
        assert not outcome.ok and outcome.status == 400
        assert "must be a JSON object" in outcome.errors[ROOT_ERROR_KEY]


def test_strict_mode_names_every_unknown_field():
    schema = Schema("strict", {"a": Field(int)}, strict=True)
    outcome = schema.validate({"a": 1, "b": 2, "c": 3})
    assert set(outcome.errors) == {"b", "c"}
    assert "unknown field 'b' (allowed: a)" == outcome.errors["b"]
    assert schema.validate({"a": "2"}).value == {"a": 2}


def test_validator_results_and_exceptions_are_field_errors(caplog):
    def positive(value):
        if value < 0:
            raise ValueError("must be positive")
        return True

    def broken(value):
        raise KeyError("internal detail")

    schema = Schema("v", {
        "a": Field(int, validator=positive),
        "b": Field(int, validator=lambda v: False),
        "c": Field(int, validator=broken),
        "d": Field(int, validator=lambda v: None),  # None is not a failure
    })
    caplog.set_level(logging.WARNING, logger="specter_spoc")
    outcome = schema.validate({"a": -1, "b": 1, "c": 1, "d": 1})
    assert outcome.errors == {"a": "'a' is invalid: must be positive",
                              "b": "'b' failed validation",
                              "c": "'c' failed validation"}
    assert "internal detail" not in outcome.error
    assert any("validator" in r.getMessage() for r in caplog.records)


def test_custom_coercer_and_label():
    def upper(value):
        if not isinstance(value, str):
            raise TypeError("expected text")
        return value.upper()

    schema = Schema("c", {"code": Field(upper, required=True, label="Country code")})
    assert schema.validate({"code": "nl"}).value == {"code": "NL"}
    assert schema.validate({"code": 5}).errors == {"code": "'Country code' is not a valid upper: expected text"}
    assert schema.validate({}).errors == {"code": "'Country code' is required"}


def test_nested_schema_and_lists_of_schema_report_paths():
    item = Schema("item", {"name": Field(str, required=True), "qty": Field(int, default=1)}, strict=True)
    address = Schema("address", {"zip": Field(str, required=True)})
    order = Schema("order", {
        "address": Field(address, required=True),
        "items": Field([item]),
        "codes": Field(list, item=Field(int, choices=[1, 2, 3])),
    })
    ok = order.validate({"address": {"zip": 1234}, "items": [{"name": "a"}, {"name": "b", "qty": "2"}],
                         "codes": ["1", 3]})
    assert ok.value == {"address": {"zip": "1234"},
                        "items": [{"name": "a", "qty": 1}, {"name": "b", "qty": 2}], "codes": [1, 3]}
    bad = order.validate({"address": "nowhere",
                          "items": [{"name": "a"}, {"qty": "x"}, {"name": "c", "colour": "red"}, 7],
                          "codes": [1, 9]})
    assert bad.errors == {
        "address": "'address' must be an object, got a string",
        "items[1].name": "'items[1].name' is required",
        "items[1].qty": "'items[1].qty' must be an integer, got 'x'",
        "items[2].colour": "unknown field 'items[2].colour' (allowed: name, qty)",
        "items[3]": "'items[3]' must be an object, got a number",
        "codes[1]": "'codes[1]' must be one of [1, 2, 3], got 9",
    }


def test_require_returns_clean_dict_or_raises_schema_error():
    assert USER.require({"name": "x"})["role"] == "member"
    with pytest.raises(SchemaError) as info:
        USER.require({"age": "x"})
    exc = info.value
    assert set(exc.errors) == {"name", "age"} and exc.field == "name"
    assert exc.status == exc.status_code == 400 and exc.payload == {"errors": exc.errors}
    assert exc.to_dict()["errors"] == exc.errors and exc.message == str(exc)
    # no body at all: reported as missing required fields
    with pytest.raises(SchemaError) as info:
        USER.require(None)
    assert info.value.errors == {"name": "'name' is required"}
    with pytest.raises(SchemaError):
        USER.require([1])


def test_schema_error_defaults_errors_from_field():
    assert SchemaError("bad", field="x").errors == {"x": "bad"}
    assert SchemaError("bad").errors == {}


def test_extend_merges_fields_and_keeps_strictness():
    base = Schema("base", {"a": Field(int)}, strict=True)
    child = base.extend("child", {"b": Field(str, required=True)})
    assert child.name == "child" and child.strict
    assert list(child.field_names()) == ["a", "b"]
    assert base.field_names == {"a"}
    assert not base.extend("loose", {}, strict=False).strict
    with pytest.raises(TypeError, match="only strict"):
        base.extend("x", {}, bogus=True)
    with pytest.raises(TypeError, match="field 'b' must be a Field"):
        base.extend("x", {"b": int})


def test_field_names_and_required_fields_are_sets_and_callable():
    assert USER.field_names == {"name", "age", "score", "admin", "role", "tags", "extra"}
    assert USER.field_names() == ["name", "age", "score", "admin", "role", "tags", "extra"]
    assert USER.required_fields == {"name"} and USER.required_fields() == ["name"]
    assert "age" in USER.field_names and "nope" not in USER.field_names
    assert USER.field_names - {"name"} == {"age", "score", "admin", "role", "tags", "extra"}
    assert set(USER.field_names) == {"name", "age", "score", "admin", "role", "tags", "extra"}
    assert USER.fields["age"].type is int
    assert "7 fields (1 required)" in repr(USER)


@pytest.mark.parametrize("call, fragment", [
    (lambda: Schema("x", fields="nope"), "fields must be a dict"),
    (lambda: Schema("", {}), "name"),
    (lambda: Schema(3, {}), "name"),
    (lambda: Schema("x", {"a": int}), "field 'a' must be a Field"),
    (lambda: Schema("x", {1: Field()}), "field names"),
    (lambda: Schema("x", {}, strict="yes"), "strict"),
    (lambda: Field(required="yes"), "required"),
    (lambda: Field(choices="abc"), "choices"),
    (lambda: Field(choices=5), "choices"),
    (lambda: Field(validator=5), "validator"),
    (lambda: Field(label=5), "label"),
    (lambda: Field(42), "type"),
    (lambda: Field([int, str]), "exactly one"),
    (lambda: Field(int, item=int), "item"),
    (lambda: Field([int], item=int), "once"),
])
def test_constructor_argument_errors_name_the_argument(call, fragment):
    with pytest.raises(TypeError, match=fragment):
        call()
