"""Outcome and Operation."""
from __future__ import annotations

import dataclasses
import logging

import pytest

from specter_spoc.contracts import Field, Operation, OperationError, Outcome, OutcomeError, Schema, SchemaError


# ---------------------------------------------------------------- Outcome
def test_success_and_failure_shapes():
    ok = Outcome.success({"id": 1}, status=201, source="db")
    assert (ok.ok, ok.value, ok.error, ok.status, ok.meta) == (True, {"id": 1}, None, 201, {"source": "db"})
    assert ok.to_dict() == {"source": "db", "ok": True, "status": 201, "value": {"id": 1}}
    assert ok.to_tuple() == (True, {"id": 1}, None)
    assert ok.unwrap() == {"id": 1}
    assert Outcome.success().value is None and Outcome.success().status == 200

    bad = Outcome.failure(ValueError("boom"), status=409, value=[1], field="title")
    assert (bad.ok, bad.error, bad.status, bad.value) == (False, "boom", 409, [1])
    assert bad.to_dict() == {"field": "title", "ok": False, "status": 409, "error": "boom", "value": [1]}
    assert list(bad.to_dict()) == ["field", "ok", "status", "error", "value"]
    assert bad.to_tuple() == (False, [1], "boom")
    assert Outcome.failure("x").status == 400


def test_unwrap_raises_runtime_error_with_the_error_text():
    failed = Outcome.failure("not found", status=404)
    with pytest.raises(RuntimeError, match="not found") as info:
        failed.unwrap()
    assert isinstance(info.value, OutcomeError) and info.value.outcome is failed


def test_outcome_is_immutable_and_errors_property():
    outcome = Outcome.failure("bad", errors={"a": "'a' is required"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        outcome.ok = True  # type: ignore[misc]
    assert outcome.errors == {"a": "'a' is required"}
    assert Outcome.success(1).errors == {}


@pytest.mark.parametrize("call, error, fragment", [
    (lambda: Outcome.success(1, status="200"), TypeError, "status"),
    (lambda: Outcome.success(1, status=True), TypeError, "status"),
    (lambda: Outcome.failure("x", status=700), ValueError, "status"),
    (lambda: Outcome("yes"), TypeError, "ok"),
    (lambda: Outcome(False, error=3), TypeError, "error"),
    (lambda: Outcome(True, meta=[]), TypeError, "meta"),
])
def test_outcome_argument_errors(call, error, fragment):
    with pytest.raises(error, match=fragment):
        call()


# -------------------------------------------------------------- Operation
class Divide(Operation):
    name = "divide"

    def validate(self, a, b):
        if b == 0:
            raise OperationError("cannot divide by zero", status=422, meta={"field": "b", "status": "x"})

    def perform(self, a, b):
        return a / b


def test_run_returns_success_outcome():
    outcome = Divide().run(6, b=3)
    assert outcome.ok and outcome.value == 2 and outcome.status == 200


def test_operation_error_becomes_failure_with_status_and_meta():
    outcome = Divide().run(1, 0)
    assert not outcome.ok
    assert outcome.error == "cannot divide by zero" and outcome.status == 422
    # a meta key named like an Outcome field does not clash
    assert outcome.meta == {"field": "b", "status": "x"}


def test_returned_outcomes_pass_through():
    class Find(Operation):
        def validate(self, key):
            if key == "bad":
                return Outcome.failure("bad key", status=418)
            return None

        def perform(self, key):
            return self.failure("missing", status=404) if key == "none" else self.success(key, status=201, hit=True)

    assert Find().run("a").to_dict() == {"hit": True, "ok": True, "status": 201, "value": "a"}
    assert Find().run("none").status == 404
    assert Find().run("bad").status == 418


def test_schema_error_becomes_400_with_field_errors():
    schema = Schema("s", {"n": Field(int, required=True), "m": Field(int, required=True)})

    class Create(Operation):
        def perform(self, data):
            return schema.require(data)

    outcome = Create().run({"n": "x"})
    assert not outcome.ok and outcome.status == 400
    assert set(outcome.meta["errors"]) == {"n", "m"} and outcome.errors == outcome.meta["errors"]
    assert Create().run({"n": 1, "m": "2"}).value == {"n": 1, "m": 2}
    assert isinstance(SchemaError("x"), ValueError)


def test_unexpected_exception_is_500_without_leaking_internals(caplog):
    class Leaky(Operation):
        name = "leaky"

        def perform(self):
            raise KeyError("postgres://admin:secret@db/prod")

    caplog.set_level(logging.ERROR)
    outcome = Leaky().run()
    assert not outcome.ok and outcome.status == 500
    assert "secret" not in outcome.error and "postgres" not in str(outcome.to_dict())
    error_id = outcome.meta["error_id"]
    assert error_id in outcome.error and "leaky" in outcome.error
    record = next(r for r in caplog.records if error_id in r.getMessage())
    assert record.exc_info and "secret" in caplog.text  # the traceback is in the log


def test_perform_not_implemented_is_a_logged_500(caplog):
    caplog.set_level(logging.ERROR)
    outcome = Operation().run()
    assert outcome.status == 500 and "NotImplementedError" in caplog.text


def test_custom_logger_receives_failures(caplog):
    log = logging.getLogger("tests.operation.custom")

    class Boom(Operation):
        def perform(self):
            raise RuntimeError("x")

    caplog.set_level(logging.ERROR, logger="tests.operation.custom")
    Boom(logger_instance=log).run()
    assert [r.name for r in caplog.records] == ["tests.operation.custom"]


def test_base_exceptions_are_not_swallowed():
    class Cancelled(Operation):
        def perform(self):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Cancelled().run()


@pytest.mark.parametrize("call, error, fragment", [
    (lambda: OperationError("x", status="400"), TypeError, "status"),
    (lambda: OperationError("x", status=99), ValueError, "status"),
    (lambda: OperationError("x", meta=[1]), TypeError, "meta"),
    (lambda: Operation(logger_instance="log"), TypeError, "logger_instance"),
])
def test_operation_argument_errors(call, error, fragment):
    with pytest.raises(error, match=fragment):
        call()
