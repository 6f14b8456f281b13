"""HTTPError lives in the contracts layer; SchemaError is an HTTPError."""
from __future__ import annotations

import subprocess
import sys

import pytest
from flask import Flask

from specter_spoc import Field, HTTPError, Schema, SchemaError, json_endpoint


def test_schema_require_raises_an_http_error_with_status_400_and_the_errors_payload() -> None:
    schema = Schema("post", {"title": Field(str, required=True), "views": Field(int)})
    with pytest.raises(HTTPError) as caught:
        schema.require({"views": "many"})
    exc = caught.value
    assert isinstance(exc, SchemaError) and isinstance(exc, ValueError)
    assert exc.status_code == 400 and exc.status == 400
    assert set(exc.errors) == {"title", "views"}
    assert exc.payload == {"errors": exc.errors}
    assert exc.field == "title"


def test_schema_error_response_is_the_envelope_with_every_bad_field() -> None:
    app = Flask(__name__)
    with app.app_context():
        response, status = SchemaError("post: title is required", field="title").to_response()
    assert status == 400
    assert response.get_json() == {"error": "post: title is required",
                                   "errors": {"title": "post: title is required"}}


def test_json_endpoint_answers_either_except_clause_the_same() -> None:
    app = Flask(__name__)
    schema = Schema("post", {"title": Field(str, required=True)})

    @app.post("/a")
    @json_endpoint
    def a():
        return schema.require({})

    @app.post("/b")
    def b():
        try:
            schema.require({})
        except HTTPError as exc:  # SPECTER code catches HTTPError
            return exc.to_response()
        return {}

    client = app.test_client()
    ra, rb = client.post("/a"), client.post("/b")
    assert ra.status_code == rb.status_code == 400
    assert ra.get_json() == rb.get_json()
    assert set(ra.get_json()) == {"error", "errors"} and "title" in ra.get_json()["errors"]


def test_http_error_is_one_class_defined_below_the_web_layer() -> None:
    import specter_spoc.contracts as contracts
    import specter_spoc.web.http as web_http

    assert web_http.HTTPError is contracts.HTTPError is HTTPError
    assert HTTPError.__module__ == "specter_spoc.contracts.errors"
    code = ("import sys, specter_spoc.contracts as c; c.Schema('s', {}).validate({}); "
            "e = c.HTTPError('x', status=404); assert e.body() == {'error': 'x'}; "
            "assert 'flask' not in sys.modules, 'contracts imported flask'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_http_error_body_keeps_payload_and_an_explicit_error() -> None:
    assert HTTPError("gone", 410, payload={"id": 3}).body() == {"error": "gone", "id": 3}
    assert HTTPError("x", payload={"error": "custom"}).body() == {"error": "custom"}
    assert HTTPError("x", 400, status=429).status_code == 429
