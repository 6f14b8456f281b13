"""Keep-alive connections must not hold a stopping worker.

A browser keeps an idle HTTP/1.1 connection open after its last request.
gunicorn's gevent workers wait, on SIGTERM, until no connection is open —
so one idle browser tab makes the worker wait out ``graceful_timeout``.

gevent's WSGI servers (pywsgi, gunicorn's gevent workers, gevent-websocket)
serve each connection in one greenlet, which also runs the app for each of
its requests. :class:`ConnectionTracker` wraps the WSGI app and remembers
those greenlets, and which are inside a request right now. At shutdown the
runtime calls :meth:`close_idle`, which kills the idle ones (what pywsgi
itself does to stragglers after its stop timeout). gunicorn's own request
loop (``-k gevent``, recognisable by ``environ["gunicorn.socket"]``) is left
alone: it already drops idle keep-alive connections after ``--keep-alive``
seconds (2 by default). While draining, every request is answered 503
(JSON envelope, ``Retry-After``) with ``Connection: close``; doing it here
rather than in a Flask hook costs nothing per request while serving.
"""
from __future__ import annotations

import weakref
from typing import Any, Callable, Dict, Iterable, Iterator

import gevent
from gevent import Greenlet


class _Tracked:
    """A response iterable that reports when the server closed it."""

    __slots__ = ("_body", "_done")

    def __init__(self, body: Iterable[bytes], done: Callable[[], None]) -> None:
        self._body = body
        self._done = done

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._done()


class ConnectionTracker:
    """WSGI middleware; ``draining()`` says when to send ``Connection: close``."""

    def __init__(self, wsgi_app: Callable[..., Any], draining: Callable[[], bool],
                 socketio_path: str = "/socket.io") -> None:
        self.wsgi_app = wsgi_app
        self._draining = draining
        #: Engine.IO requests pass while draining: connected clients must still
        #: fetch the final event (long-polling does it with a new request), and
        #: the runtime's SocketIngress refuses new connections itself
        self._socketio_prefix = "/" + socketio_path.strip("/") + "/"
        self._seen: "weakref.WeakSet[Greenlet]" = weakref.WeakSet()
        self._busy: Dict[int, int] = {}

    def __call__(self, environ: Dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if self._draining() and not environ.get("PATH_INFO", "").startswith(self._socketio_prefix):
            return self._unavailable(start_response)
        responder = start_response
        connection = gevent.getcurrent()
        if not isinstance(connection, Greenlet):  # not served by a gevent server (tests, threads)
            return self.wsgi_app(environ, responder)
        key = id(connection)
        if "gunicorn.socket" not in environ:  # gunicorn's own loop times idle connections out
            self._seen.add(connection)
        self._busy[key] = self._busy.get(key, 0) + 1

        def done() -> None:
            left = self._busy.get(key, 1) - 1
            if left > 0:
                self._busy[key] = left
            else:
                self._busy.pop(key, None)

        try:
            body = self.wsgi_app(environ, responder)
        except BaseException:
            done()
            raise
        return _Tracked(body, done)

    @staticmethod
    def _unavailable(start_response: Callable[..., Any]) -> Iterable[bytes]:
        """While draining, every request gets the 503 envelope and the
        connection is closed after it."""
        body = b'{"error": "Service unavailable", "detail": "the server is shutting down"}'
        start_response("503 SERVICE UNAVAILABLE", [("Content-Type", "application/json"),
                                                   ("Content-Length", str(len(body))),
                                                   ("Retry-After", "5"), ("Connection", "close")])
        return [body]

    def close_idle(self) -> int:
        """Kill the connection greenlets that are between requests (waiting for
        the next one on a keep-alive connection); returns how many."""
        current = gevent.getcurrent()
        idle = [g for g in list(self._seen)
                if not g.dead and g is not current and id(g) not in self._busy]
        for glet in idle:
            glet.kill(block=False)
            self._seen.discard(glet)
        return len(idle)
