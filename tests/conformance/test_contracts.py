"""Schema/Field, Outcome and Operation (SPECTER guide §12, §13, §26, §27)."""
from __future__ import annotations

import pytest

from conformance_harness import ROW_OPERATION_500, ROW_STRICT_COERCION


def _cast(impl):
    F = impl.mod.Field
    return impl.mod.Schema("cast_media", {
        "media_path": F(str, required=True),
        "loop": F(bool, default=True),
        "start_time": F(float, default=0),
        "mode": F(str, choices=["video", "image"], default="video"),
    })


def test_validate_success_coerces_and_fills_defaults(impl):
    outcome = _cast(impl).validate({"media_path": "/m.mp4", "start_time": "1.5", "loop": "no"})
    assert outcome.ok is True
    assert outcome.value == {"media_path": "/m.mp4", "loop": False, "start_time": 1.5, "mode": "video"}


def test_validate_failure_is_an_outcome_with_every_field_error(impl):
    outcome = _cast(impl).validate({"mode": "audio", "start_time": "soon"})
    assert outcome.ok is False and outcome.status == 400
    assert set(outcome.meta["errors"]) == {"media_path", "mode", "start_time"}
    assert isinstance(outcome.error, str) and outcome.error


def test_validate_a_non_dict_fails_with_400(impl):
    outcome = _cast(impl).validate(["not", "a", "dict"])
    assert outcome.ok is False and outcome.status == 400


def test_unknown_keys_ignored_unless_strict(impl):
    F = impl.mod.Field
    loose = impl.mod.Schema("s", {"a": F(int)})
    assert loose.validate({"a": 1, "extra": 2}).value == {"a": 1}
    strict = impl.mod.Schema("s", {"a": F(int)}, strict=True)
    outcome = strict.validate({"a": 1, "extra": 2})
    assert not outcome.ok and "extra" in outcome.meta["errors"]


def test_explicit_none_for_an_optional_field_gets_the_default(impl):
    s = impl.mod.Schema("s", {"n": impl.mod.Field(int, default=3)})
    assert s.validate({"n": None}).value == {"n": 3}


def test_callable_default_is_a_factory(impl):
    s = impl.mod.Schema("s", {"tags": impl.mod.Field(list, default=lambda: [])})
    first, second = s.validate({}).value["tags"], s.validate({}).value["tags"]
    assert first == [] and first is not second


def test_bool_coercion_accepts_textual_forms(impl):
    s = impl.mod.Schema("s", {"b": impl.mod.Field(bool)})
    cases = [("true", True), ("YES", True), ("1", True), ("on", True), (" On ", True),
             ("false", False), ("no", False), ("0", False), ("off", False),
             (1, True), (0, False), (True, True), (False, False)]
    assert [s.validate({"b": raw}).value for raw, _ in cases] == [{"b": want} for _, want in cases]


def test_int_float_str_list_dict_and_callable_coercion(impl):
    F = impl.mod.Field
    s = impl.mod.Schema("s", {"i": F(int), "f": F(float), "s": F(str), "l": F(list), "d": F(dict),
                              "c": F(lambda v: v.upper())})
    out = s.validate({"i": "42", "f": "2.5", "s": "x", "l": [1], "d": {"k": 1}, "c": "abc"})
    assert out.value == {"i": 42, "f": 2.5, "s": "x", "l": [1], "d": {"k": 1}, "c": "ABC"}
    assert not s.validate({"l": "not a list"}).ok
    assert not s.validate({"d": [1]}).ok
    assert not s.validate({"i": "abc"}).ok


def test_validator_false_or_raising_fails_the_field(impl):
    F = impl.mod.Field

    def positive(v):
        if v < 0:
            raise ValueError("negative")
        return v != 0

    s = impl.mod.Schema("s", {"n": F(int, validator=positive)})
    assert s.validate({"n": 2}).ok
    assert "n" in s.validate({"n": 0}).meta["errors"]
    assert "n" in s.validate({"n": -1}).meta["errors"]


def test_label_names_the_field_in_messages(impl):
    s = impl.mod.Schema("s", {"mp": impl.mod.Field(str, required=True, label="Media path")})
    assert "Media path" in s.validate({}).meta["errors"]["mp"]


def test_require_returns_clean_dict(impl):
    assert _cast(impl).require({"media_path": "/a"})["mode"] == "video"


def test_require_raises_http_error_400_with_errors_payload(impl):
    with pytest.raises(impl.mod.HTTPError) as caught:
        _cast(impl).require({})
    exc = caught.value
    assert exc.status_code == 400
    assert "media_path" in exc.payload["errors"]


def test_require_error_is_also_caught_as_schema_error_on_ours(impl):
    """SPECTER raises HTTPError (SchemaError only without Flask); here the one
    exception is both, so `except SchemaError` keeps working too."""
    try:
        _cast(impl).require({})
    except impl.mod.HTTPError as exc:
        caught = exc
    assert isinstance(caught, impl.mod.HTTPError)
    if impl.ours:
        assert isinstance(caught, impl.mod.SchemaError)


def test_schema_error_signature(impl):
    exc = impl.mod.SchemaError("bad", field="a", errors={"a": "bad"})
    assert exc.message == "bad" and exc.field == "a" and exc.errors == {"a": "bad"}


def test_extend_field_names_required_fields(impl):
    F = impl.mod.Field
    base = impl.mod.Schema("base", {"a": F(int, required=True)})
    ext = base.extend("ext", {"b": F(str)}, strict=True)
    assert ext.name == "ext"
    assert ext.field_names == {"a", "b"} and ext.required_fields == {"a"}
    assert not ext.validate({"a": 1, "zzz": 1}).ok
    with pytest.raises(TypeError):
        base.extend("bad", {"c": "not a field"})


def test_schema_rejects_non_field_specs(impl):
    with pytest.raises(TypeError):
        impl.mod.Schema("s", {"a": int})


@pytest.mark.parametrize("field_type, raw", [(str, {"k": 1}), (int, 2.7), (int, True), (str, 5)])
def test_coercion_of_values_of_another_kind(impl, field_type, raw):
    s = impl.mod.Schema("s", {"v": impl.mod.Field(field_type)})
    outcome = s.validate({"v": raw})
    if field_type is str and raw == 5:
        # a number where a string is wanted is a plain conversion on both
        assert outcome.value == {"v": "5"}
    elif impl.difference(ROW_STRICT_COERCION):
        assert not outcome.ok and "v" in outcome.meta["errors"]
    else:
        assert outcome.ok and outcome.value == {"v": field_type(raw)}


# ------------------------------------------------------------------ Outcome
def test_outcome_success_failure_unwrap_to_dict_to_tuple(impl):
    O = impl.mod.Outcome
    ok = O.success({"id": 42}, status=201, source="db")
    assert (ok.ok, ok.value, ok.error, ok.status, ok.meta) == (True, {"id": 42}, None, 201, {"source": "db"})
    assert ok.unwrap() == {"id": 42}
    assert ok.to_dict() == {"source": "db", "ok": True, "status": 201, "value": {"id": 42}}
    assert ok.to_tuple() == (True, {"id": 42}, None)
    bad = O.failure("Not found", status=404)
    assert (bad.ok, bad.error, bad.status) == (False, "Not found", 404)
    assert bad.to_dict() == {"ok": False, "status": 404, "error": "Not found", "value": None}
    with pytest.raises(RuntimeError, match="Not found"):
        bad.unwrap()
    assert O.failure(ValueError("boom")).error == "boom"
    assert O.failure("x").status == 400 and O.success().status == 200


def test_outcome_is_frozen(impl):
    with pytest.raises(Exception):
        impl.mod.Outcome.success(1).ok = False


# ---------------------------------------------------------------- Operation
def test_operation_run_validate_perform(impl):
    class CreateCategory(impl.mod.Operation):
        def validate(self, name):
            if not name:
                raise impl.mod.OperationError("name is required", status=422, meta={"field": "name"})

        def perform(self, name):
            return {"name": name}

    ok = CreateCategory().run("Movies")
    assert ok.ok and ok.value == {"name": "Movies"} and ok.status == 200
    bad = CreateCategory().run("")
    assert (bad.ok, bad.error, bad.status, bad.meta) == (False, "name is required", 422, {"field": "name"})


def test_operation_unhandled_exception_is_a_500_outcome(impl):
    class Boom(impl.mod.Operation):
        def perform(self):
            raise KeyError("missing")

    out = Boom().run()
    assert out.ok is False and out.status == 500
    if impl.difference(ROW_OPERATION_500):
        assert "missing" not in out.error and out.meta["error_id"] in out.error
    else:
        assert out.error == "'missing'"


def test_operation_returned_outcome_passes_through_and_helpers(impl):
    class Explicit(impl.mod.Operation):
        def perform(self, flag):
            return self.success("yes", status=201) if flag else self.failure("no", status=409)

    assert Explicit().run(True).status == 201
    assert Explicit().run(False).to_tuple() == (False, None, "no")


def test_operation_without_perform_fails_as_500(impl):
    out = impl.mod.Operation().run()
    assert out.ok is False and out.status == 500


def test_operation_error_signature(impl):
    exc = impl.mod.OperationError("nope")
    assert (exc.message, exc.status, exc.meta) == ("nope", 400, {})


def test_null_for_a_required_str_field(impl):
    s = impl.mod.Schema("s", {"a": impl.mod.Field(str, required=True)})
    outcome = s.validate({"a": None})
    if impl.difference(ROW_STRICT_COERCION):
        assert not outcome.ok and "a" in outcome.meta["errors"]
    else:
        assert outcome.ok and outcome.value == {"a": "None"}
