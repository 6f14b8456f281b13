from __future__ import annotations

import logging

import pytest
from flask import Flask, abort

from specter_spoc import Field, HTTPError, Outcome, Schema, expect_json, json_endpoint, require_fields


@pytest.fixture
def app() -> Flask:
    app = Flask(__name__)
    schema = Schema("item", {"name": Field(str, required=True), "qty": Field(int, default=1)})

    @app.post("/items")
    @json_endpoint
    def create() -> object:
        clean = schema.require(expect_json())
        return clean, 201

    @app.get("/http-error")
    @json_endpoint("custom failure")
    def http_error() -> object:
        raise HTTPError("nope", 409, payload={"hint": "retry"})

    @app.get("/boom")
    @json_endpoint("custom failure")
    def boom() -> object:
        raise RuntimeError("db password is hunter2")

    @app.get("/abort")
    @json_endpoint
    def aborted() -> object:
        abort(404)

    @app.get("/outcome")
    @json_endpoint
    def outcome() -> object:
        return Outcome.failure("gone", status=410)

    @app.post("/required")
    @json_endpoint
    def required() -> object:
        return require_fields(expect_json(), ["a", "b"])

    return app


def test_valid_body_is_validated_and_returned(app: Flask) -> None:
    r = app.test_client().post("/items", json={"name": "pen", "qty": "3"})
    assert r.status_code == 201 and r.get_json() == {"name": "pen", "qty": 3}


@pytest.mark.parametrize("kwargs,status,fragment", [
    ({"data": "{not json", "content_type": "application/json"}, 400, "not valid JSON"),
    ({"json": [1, 2]}, 400, "must be an object"),
    ({"json": "text"}, 400, "must be an object"),
    ({"data": "", "content_type": "application/json"}, 400, "Request body is required"),
    ({"json": {}}, 400, "'name' is required"),          # {} is a body: the schema lists what is missing
    ({"data": "null", "content_type": "application/json"}, 400, "got null"),   # JSON's names, not Python's
    ({"data": '{"name": "x"}', "content_type": "text/plain"}, 415, "Content-Type: application/json"),
    ({"json": {"qty": "many"}}, 400, "'name' is required"),
])
def test_bad_bodies_are_4xx_json_never_500(app: Flask, kwargs: dict, status: int, fragment: str) -> None:
    r = app.test_client().post("/items", **kwargs)
    assert r.status_code == status, r.get_json()
    assert fragment in r.get_json()["error"]


def test_schema_error_lists_every_bad_field(app: Flask) -> None:
    r = app.test_client().post("/items", json={"qty": "many"})
    assert set(r.get_json()["errors"]) == {"name", "qty"}


def test_http_error_status_and_payload(app: Flask) -> None:
    r = app.test_client().get("/http-error")
    assert r.status_code == 409 and r.get_json() == {"error": "nope", "hint": "retry"}


def test_unexpected_error_is_500_without_internals(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        r = app.test_client().get("/boom")
    assert r.status_code == 500 and r.get_json() == {"error": "custom failure"}
    assert "hunter2" not in r.get_data(as_text=True)
    assert "hunter2" in caplog.text  # the operator still sees it in the log


def test_debug_mode_includes_the_traceback(app: Flask) -> None:
    app.debug = True
    body = app.test_client().get("/boom").get_json()
    assert "RuntimeError" in body["exception"] and body["traceback"]


def test_werkzeug_http_exceptions_keep_their_code(app: Flask) -> None:
    r = app.test_client().get("/abort")
    assert r.status_code == 404 and "error" in r.get_json()


def test_outcome_return_uses_its_status(app: Flask) -> None:
    r = app.test_client().get("/outcome")
    assert r.status_code == 410 and r.get_json()["error"] == "gone"


def test_require_fields_lists_missing_and_blank(app: Flask) -> None:
    r = app.test_client().post("/required", json={"a": "  ", "c": 1})
    assert r.status_code == 400 and r.get_json()["missing"] == ["a", "b"]
