"""No exception text reaches a client outside debug mode, and oversized input
is refused without hurting the process.

Protections checked (each test names its own):

- the JSON error envelope of routes (``specter_spoc.web.http.error_response``)
  and the Flask-level 500 handler: a generic message, the exception only in
  the log unless the app runs in debug mode;
- the SocketIngress error acknowledgement: a generic message, no exception
  text unless debug;
- ``MAX_CONTENT_LENGTH`` (1 MiB by default): a JSON 413;
- the socket payload limits: the ingress's ``max_payload_bytes`` (an error
  acknowledgement with status 413) below Engine.IO's ``max_http_buffer_size``
  (``SOCKETIO_MAX_PAYLOAD``; larger messages close that one connection).
"""
from __future__ import annotations

import json
from typing import Any, Iterator

import pytest
import requests

from reliability_checks import assert_broadcast_reaches, leaked_internals
from sio_raw import Closed, RawSocketIO

MARKER = "boom-MARKER-7f3a"


class _Boom(RuntimeError):
    pass


def _raise(*args: Any, **kwargs: Any) -> Any:
    raise _Boom(f"database said {MARKER} at /srv/secret/path.py")


@pytest.fixture(params=[False, True], ids=["production-like", "debug"])
def failing_blog(request: pytest.FixtureRequest, make_blog: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The example whose PostService.list_posts raises an exception carrying
    MARKER; in debug mode or not."""
    blog = make_blog(DEBUG=request.param)
    monkeypatch.setattr(blog.service("blog.PostService"), "list_posts", _raise)
    blog.debug = request.param
    yield blog


def test_http_500_hides_the_exception_outside_debug(failing_blog: Any) -> None:
    """Protection: the routes' JSON envelope (error_response) keeps the
    exception in the log; only debug mode shows it (which proves this test
    sees a leak when there is one)."""
    response = failing_blog.http.get("/api/posts")
    text = response.get_data(as_text=True)
    assert response.status_code == 500 and response.is_json, text
    if failing_blog.debug:
        assert MARKER in text and "_Boom" in text and "Traceback" in text
    else:
        assert response.get_json() == {"error": "Internal server error"}
        assert MARKER not in text and not leaked_internals(text, extra=["_Boom", "/srv/secret"]), text


def test_socket_error_ack_hides_the_exception_outside_debug(failing_blog: Any) -> None:
    """Protection: SocketIngress answers a raising handler with a generic error
    acknowledgement (and specter_error event); the connection stays up."""
    client = failing_blog.socketio.test_client(failing_blog.app)
    try:
        answer = client.emit("posts:list", {"limit": 5}, callback=True)
        received = client.get_received()
        shown = json.dumps([answer, received])
        assert answer["ok"] is False and answer["status"] == 500, answer
        assert [e["name"] for e in received] == ["specter_error"]
        if failing_blog.debug:
            assert MARKER in shown and "_Boom" in shown
        else:
            assert MARKER not in shown and not leaked_internals(shown, extra=["_Boom", "/srv/secret"]), shown
        assert client.is_connected()
        assert client.emit("post:get", {"id": 999}, callback=True)["status"] == 404  # still served
    finally:
        client.disconnect()


def test_an_exception_outside_any_route_is_a_json_500_without_its_text(make_blog: Any) -> None:
    """Protection: the app-level HTTP error handler (installed by create_app,
    refined by the example's install_json_errors): a before_request hook that
    raises gives a JSON 500 without the exception text."""
    blog = make_blog()

    @blog.app.before_request
    def explode() -> None:
        import flask
        if flask.request.path == "/api/search":
            _raise()

    response = blog.http.get("/api/search?q=x")
    text = response.get_data(as_text=True)
    assert response.status_code == 500 and response.is_json, text
    assert MARKER not in text and not leaked_internals(text, extra=["_Boom"]), text
    assert blog.http.get("/api/posts").status_code == 200


def test_request_body_over_the_limit_is_a_json_413_and_the_server_keeps_serving(blog_server: Any) -> None:
    """Protection: MAX_CONTENT_LENGTH (1 MiB) on a real gunicorn worker, with a
    Content-Length body and with a chunked one (no length announced)."""
    big = json.dumps({"username": "x" * (2 * 1024 * 1024)}).encode()
    with blog_server() as server:
        response = requests.post(server.url + "/api/users", data=big,
                                 headers={"Content-Type": "application/json"}, timeout=10)
        assert response.status_code == 413 and response.json()["error"], response.text[:300]

        def chunks() -> Iterator[bytes]:
            for start in range(0, len(big), 64 * 1024):
                yield big[start:start + 64 * 1024]

        chunked = requests.post(server.url + "/api/users", data=chunks(),
                                headers={"Content-Type": "application/json"}, timeout=10)
        assert chunked.status_code == 413 and chunked.json()["error"], chunked.text[:300]
        assert requests.get(server.url + "/api/posts", timeout=5).json()["count"] == 0
        assert "Traceback" not in server.log(), server.log()[-3000:]


def test_socket_payload_over_the_limit_gets_an_error_ack_and_others_are_unaffected(blog_server: Any) -> None:
    """Protection: the ingress payload limit (error ack 413) and Engine.IO's
    message limit (only the offending connection is closed), on a real
    gunicorn worker with websockets; a well-behaved client keeps its acks
    and broadcasts."""
    with blog_server() as server:
        good = RawSocketIO(server.url)
        heavy = RawSocketIO(server.url)
        try:
            answer = heavy.emit("posts:list", {"limit": 1, "pad": "x" * 1_020_000}, timeout=10)
            assert answer["ok"] is False and answer["status"] == 413, str(answer)[:300]
            assert heavy.emit("posts:list", {"limit": 1})["ok"] is True  # that client is still served
            with pytest.raises(Closed):
                heavy.emit("posts:list", {"limit": 1, "pad": "x" * (3 * 1024 * 1024)}, timeout=10)
            assert good.emit("posts:list", {"limit": 1})["ok"] is True
            # broadcasts still reach the well-behaved client
            assert_broadcast_reaches(server.url, good)
        finally:
            good.close()
            heavy.close()


@pytest.mark.parametrize("limit, size, expected", [
    (64 * 1024, 100_000, 413),          # a lower limit: refused with an error ack, not a dropped connection
    (4 * 1024 * 1024, 2_000_000, 400),  # a higher limit: the payload reaches the handler (its Schema says 400)
])
def test_the_socket_payload_limit_follows_SOCKETIO_MAX_PAYLOAD(make_blog: Any, limit: int, size: int,
                                                               expected: int) -> None:
    """Protection: one setting, SOCKETIO_MAX_PAYLOAD, sets both socket limits,
    the ingress's error-ack limit just below Engine.IO's connection limit.
    Otherwise raising the setting still refuses payloads over 1,000,000 bytes,
    and lowering it closes connections where an error ack was due."""
    blog = make_blog(SOCKETIO_MAX_PAYLOAD=limit)
    client = blog.socketio.test_client(blog.app)
    try:
        answer = client.emit("posts:list", {"limit": 1, "pad": "x" * size}, callback=True)
        assert answer["status"] == expected, str(answer)[:300]
    finally:
        client.disconnect()
