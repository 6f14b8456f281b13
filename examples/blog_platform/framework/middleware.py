"""WSGI middleware of the project (``middleware`` plugins in settings.PLUGINS).

:class:`CloseConnections` answers every plain HTTP request with
``Connection: close``. Why: gunicorn's GeventWebSocketWorker serves with
gevent's pywsgi, which keeps an idle keep-alive connection's greenlet
waiting for the next request with no timeout. A browser keeps such
connections open for minutes after loading the page, so on SIGTERM the
worker would sit out the whole ``--graceful-timeout`` (30 s by default)
even though the runtime had already disconnected every Socket.IO client.
Closing after each response costs one TCP handshake per request (nothing
on loopback or behind a proxy) and lets the worker exit at once.
WebSocket upgrades are left alone. ``-k gevent`` and ``serve()`` do not
need it (their idle connections time out), but it does no harm there.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, List, Optional, Tuple

StartResponse = Callable[..., Any]


class CloseConnections:
    """Add ``Connection: close`` to every response but WebSocket upgrades.

    Example::

        app.wsgi_app = CloseConnections(app.wsgi_app)
    """

    def __init__(self, app: Callable[[dict, StartResponse], Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("HTTP_UPGRADE", "").lower() == "websocket":
            return self.app(environ, start_response)

        def start(status: str, headers: List[Tuple[str, str]], exc_info: Optional[Any] = None) -> Any:
            headers = [(k, v) for k, v in headers if k.lower() != "connection"]
            headers.append(("Connection", "close"))
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        return self.app(environ, start)
