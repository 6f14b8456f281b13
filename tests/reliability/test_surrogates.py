"""Lone UTF-16 surrogates are refused at validation, never a 500 (issue 12 section 5).

``"\\ud800"`` is valid JSON but not text: UTF-8 cannot encode it, so SQLite,
hashing or any ``.encode()`` behind a handler failed with a 500. Checked
here: ``expect_json`` (HTTP) and the socket ingress (error ack) answer 400
naming the field, and everything they accept can be stored. Hypothesis
generates the surrogates (it leaves them out of text by default).
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
from typing import Any, Callable, Dict, List

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

CHARS = st.one_of(st.characters(categories=["Cs"]), st.characters(max_codepoint=127), st.characters())
TEXT = st.lists(CHARS, max_size=8).map("".join)
PAYLOAD = st.fixed_dictionaries({"title": TEXT}, optional={"tags": st.lists(TEXT, max_size=3),
                                                          "meta": st.dictionaries(TEXT, TEXT, max_size=2)})
SETTINGS = settings(max_examples=150, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _lone(text: str) -> bool:
    return any(0xD800 <= ord(c) <= 0xDFFF for c in text)


def _as_received(payload: Dict[str, Any]) -> Dict[str, Any]:
    """What the server decodes: JSON joins an escaped high+low pair
    ("\\ud800\\udc00") into one real character, which is text, not a lone
    surrogate; only what is still lone after decoding must be refused."""
    decoded: Dict[str, Any] = json.loads(json.dumps(payload))
    return decoded


def _bad_paths(payload: Dict[str, Any]) -> List[str]:
    paths = ["title"] if _lone(payload["title"]) else []
    paths += [f"tags[{i}]" for i, tag in enumerate(payload.get("tags", [])) if _lone(tag)]
    for key, value in payload.get("meta", {}).items():
        if _lone(key) or _lone(value):
            paths.append("meta")
    return paths


def _store(db: sqlite3.Connection, payload: Dict[str, Any]) -> str:
    """What real handlers do with text: store it and hash it."""
    body = json.dumps(payload, ensure_ascii=False)
    db.execute("INSERT INTO notes (body) VALUES (?)", (body,))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _app(spoc_app_factory: Callable[..., tuple]) -> tuple:
    from flask import jsonify

    from specter_spoc.web.http import expect_json, json_endpoint

    app, socketio, runtime = spoc_app_factory()
    db = sqlite3.connect(":memory:", check_same_thread=False)
    db.execute("CREATE TABLE notes (body TEXT)")

    @app.post("/notes")
    @json_endpoint
    def notes() -> Any:
        return jsonify({"sha": _store(db, expect_json())}), 201

    runtime.socket_ingress.subscribe("note", lambda payload: {"ok": True, "sha": _store(db, payload)})
    return app, socketio, runtime


def test_expect_json_refuses_lone_surrogates_with_a_400_naming_the_field(spoc_app_factory: Callable[..., tuple]) -> None:
    app, _, _ = _app(spoc_app_factory)
    http = app.test_client()
    counts = {"created": 0, "refused": 0}

    @SETTINGS
    @given(PAYLOAD)
    @example({"title": "\ud800\udc00"})   # an escaped pair: one real character once decoded, accepted
    @example({"title": "a\udc00"})         # a lone low surrogate: refused
    def check(payload: Dict[str, Any]) -> None:
        # json.dumps escapes a lone surrogate as \\udXXX, the way browsers' JSON.stringify does
        response = http.post("/notes", data=json.dumps(payload), content_type="application/json")
        bad = _bad_paths(_as_received(payload))
        if bad:
            counts["refused"] += 1
            assert response.status_code == 400, (payload, response.get_data(as_text=True))
            answer = response.get_json()
            assert "surrogate" in answer["error"]
            [where] = answer["errors"]
            assert any(where == path or where.startswith(path) for path in bad), (where, bad)
        else:
            counts["created"] += 1
            assert response.status_code == 201, (payload, response.get_data(as_text=True))

    check()
    assert counts["created"] and counts["refused"], counts
    # raw UTF-8 bytes of a surrogate (invalid UTF-8 the JSON decoder lets through) are refused too
    raw = b'{"title": "a' + "\ud800".encode("utf-8", "surrogatepass") + b'"}'
    response = http.post("/notes", data=raw, content_type="application/json")
    assert response.status_code == 400 and "title" in response.get_json()["error"]


def test_socket_payloads_with_lone_surrogates_get_an_error_ack_naming_the_argument(
        spoc_app_factory: Callable[..., tuple]) -> None:
    app, socketio, _ = _app(spoc_app_factory)
    client = socketio.test_client(app)
    counts = {"stored": 0, "refused": 0}
    try:
        @SETTINGS
        @given(PAYLOAD)
        @example({"title": "\ud800\udc00"})
        @example({"title": "a\udc00"})
        def check(payload: Dict[str, Any]) -> None:
            ack = client.emit("note", payload, callback=True)
            bad = _bad_paths(_as_received(payload))
            if bad:
                counts["refused"] += 1
                assert ack["ok"] is False and ack["status"] == 400, (payload, ack)
                [where] = ack["errors"]
                assert where.startswith("args[0].") and any(where[len("args[0]."):].startswith(p) for p in bad)
            else:
                counts["stored"] += 1
                assert ack["ok"] is True, (payload, ack)

        check()
        assert client.is_connected()
    finally:
        client.disconnect()
    assert counts["stored"] and counts["refused"], counts
