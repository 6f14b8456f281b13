"""One exception -> envelope mapping for routes, socket acks and routing errors."""
from __future__ import annotations

from werkzeug.exceptions import MethodNotAllowed, NotFound

from specter_spoc import Field, HTTPError, Schema, SchemaError
from specter_spoc.web.errors import error_body, is_client_error


def test_http_error_keeps_status_and_payload() -> None:
    body, status = error_body(HTTPError("slow down", 429, payload={"retry_after": 3}))
    assert status == 429 and body == {"retry_after": 3, "error": "slow down"}


def test_schema_error_lists_every_bad_field() -> None:
    schema = Schema("s", {"a": Field(int, required=True), "b": Field(str, required=True)})
    try:
        schema.require({})
    except SchemaError as exc:
        body, status = error_body(exc)
    assert status == 400 and set(body["errors"]) == {"a", "b"}


def test_werkzeug_errors_keep_their_code() -> None:
    assert error_body(NotFound())[1] == 404
    assert error_body(MethodNotAllowed(["GET"]))[1] == 405


def test_anything_else_is_a_generic_500_without_internals() -> None:
    body, status = error_body(RuntimeError("password=hunter2 in a stack"))
    assert status == 500 and body == {"error": "Internal server error"}
    assert "hunter2" not in str(body)
    debug_body, _ = error_body(RuntimeError("detail"), debug=True)
    assert debug_body["exception"] == "RuntimeError: detail" and debug_body["traceback"]


def test_client_errors_are_told_apart_from_crashes() -> None:
    assert is_client_error(HTTPError("bad", 400)) and is_client_error(NotFound())
    assert not is_client_error(RuntimeError("x")) and not is_client_error(HTTPError("down", 503))
