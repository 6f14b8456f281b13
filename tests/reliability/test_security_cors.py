"""Socket.IO refuses connections from foreign web pages unless configured.

Protection checked: ``create_app`` passes ``cors_allowed_origins`` = the
``CORS_ALLOWED_ORIGINS`` setting, and ``None`` (same origin only) when it is
not set -- never ``"*"``. A browser sends the page's ``Origin`` header with
every long-polling request and websocket handshake; a page on another site
must not be able to open a socket carrying the user's cookies.

The example is served by gunicorn's GeventWebSocketWorker on a loopback
port; the requests are raw HTTP and raw websockets with chosen Origin
headers.
"""
from __future__ import annotations

from typing import Any, Optional

import requests
import websocket

from sio_raw import RawSocketIO

FOREIGN = "http://evil.example"
FRIEND = "http://friend.example"
POLLING = "/socket.io/?EIO=4&transport=polling"


def _polling(server: Any, origin: Optional[str]) -> requests.Response:
    headers = {"Origin": origin} if origin is not None else {}
    return requests.get(server.url + POLLING, headers=headers, timeout=5)


def _websocket_opens(server: Any, origin: str) -> bool:
    """True when a websocket with this Origin gets an Engine.IO session and a
    namespace connection; False when the server refuses it."""
    try:
        client = RawSocketIO(server.url, origin=origin, timeout=5)
    except (RuntimeError, ConnectionError, websocket.WebSocketException):
        return False  # refused: the handshake failed or the socket closed without a session
    try:
        return client.emit("posts:list", {"limit": 1})["ok"] is True
    finally:
        client.close()


def test_foreign_origins_are_refused_by_default_and_same_origin_accepted(blog_server: Any) -> None:
    with blog_server() as server:
        refused = _polling(server, FOREIGN)
        assert refused.status_code == 400 and "sid" not in refused.text, refused.text
        assert "Access-Control-Allow-Origin" not in refused.headers
        assert not _websocket_opens(server, FOREIGN)
        assert _polling(server, "null").status_code == 400  # sandboxed pages and file:// too

        same = _polling(server, server.url)
        assert same.status_code == 200 and same.text.startswith("0{") and '"sid"' in same.text, same.text
        assert _websocket_opens(server, server.url)
        assert _polling(server, None).status_code == 200  # non-browser clients send no Origin


def test_configured_origins_are_accepted_and_others_still_refused(blog_server: Any) -> None:
    spec = f"wsgi:create_app(config={{'CORS_ALLOWED_ORIGINS': ['{FRIEND}']}})"
    with blog_server(spec) as server:
        allowed = _polling(server, FRIEND)
        assert allowed.status_code == 200 and '"sid"' in allowed.text, allowed.text
        assert allowed.headers.get("Access-Control-Allow-Origin") == FRIEND
        assert _websocket_opens(server, FRIEND)
        assert _polling(server, FOREIGN).status_code == 400
        assert not _websocket_opens(server, FOREIGN)
