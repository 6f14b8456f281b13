"""The runtime's WSGI edge: scope per request, in-flight count, drain.

:class:`ConnectionTracker` wraps the Flask app's ``wsgi_app`` and does three
things per request, each for a reason:

- **sets the runtime's scope** for the request's greenlet, so the
  module-level ``bus``/``registry`` resolve to this app with one contextvar
  read instead of probing Flask's app context on every call;
- **counts requests in flight** (Engine.IO requests aside: a websocket or a
  long poll is a connection, not a request). At shutdown the runtime stops
  taking new requests (503 with ``Retry-After`` and ``Connection: close``)
  and *waits for the ones in flight* before it stops a single service, so an
  accepted request gets its normal answer, never a 500 from a service that
  stopped under it;
- **closes idle keep-alive connections** at shutdown. gevent's servers serve
  each connection in one greenlet; a browser keeps an idle HTTP/1.1
  connection open after its last request, and gunicorn waits for it until
  ``graceful_timeout``. :meth:`close_idle` kills the connection greenlets
  that are between requests (what pywsgi itself does to stragglers after its
  stop timeout). gunicorn's own request loop (``-k gevent``, recognisable by
  ``environ["gunicorn.socket"]``) already drops idle connections after
  ``--keep-alive`` seconds and is left alone.
"""
from __future__ import annotations

import time
import weakref
from typing import Any, Callable, Dict, Iterable, Iterator, Optional

import gevent
from gevent import Greenlet
from gevent.event import Event

from ..typing import AnyGreenlet
from ..wiring.scope import Scope, reset_current, set_current

_UNAVAILABLE = b'{"error": "Service unavailable", "detail": "the server is shutting down"}'


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
    """WSGI middleware; ``draining()`` says when to refuse new requests."""

    def __init__(self, wsgi_app: Callable[..., Any], draining: Callable[[], bool],
                 socketio_path: str = "/socket.io", scope: Optional[Scope] = None) -> None:
        self.wsgi_app = wsgi_app
        self._draining = draining
        self._scope = scope
        #: Engine.IO requests pass while draining: connected clients must still
        #: fetch the final event (long-polling does it with a new request), and
        #: the runtime's SocketIngress refuses new connections itself
        self._socketio_prefix = "/" + socketio_path.strip("/") + "/"
        self._seen: "weakref.WeakSet[AnyGreenlet]" = weakref.WeakSet()
        self._busy: Dict[int, int] = {}
        self._in_flight = 0
        self._idle = Event()
        self._idle.set()

    def __call__(self, environ: Dict[str, Any], start_response: Callable[..., Any]) -> Any:
        engineio = environ.get("PATH_INFO", "").startswith(self._socketio_prefix)
        if not engineio and self._draining():
            return self._unavailable(start_response)
        connection = gevent.getcurrent()
        key = id(connection)
        # served by a real gevent server (one greenlet per connection; servers
        # set SERVER_SOFTWARE and always close the response); a test client
        # calling the app in place, whose response may never be closed, is
        # neither counted nor given the scope
        tracked = isinstance(connection, Greenlet) and "SERVER_SOFTWARE" in environ
        token = set_current(self._scope) if tracked and self._scope is not None else None
        counted = tracked and not engineio
        if isinstance(connection, Greenlet) and "gunicorn.socket" not in environ:
            self._seen.add(connection)  # gunicorn's own loop times idle connections out
        if tracked:
            self._busy[key] = self._busy.get(key, 0) + 1
        if counted:
            self._in_flight += 1
            self._idle.clear()

        def done() -> None:
            if tracked:
                left = self._busy.get(key, 1) - 1
                if left > 0:
                    self._busy[key] = left
                else:
                    self._busy.pop(key, None)
            if counted:
                self._in_flight -= 1
                if self._in_flight <= 0:
                    self._in_flight = 0
                    self._idle.set()
            if token is not None:
                reset_current(token)

        try:
            body = self.wsgi_app(environ, start_response)
        except BaseException:
            done()
            raise
        return _Tracked(body, done)

    @staticmethod
    def _unavailable(start_response: Callable[..., Any]) -> Iterable[bytes]:
        """While draining, every request gets the 503 envelope and the
        connection is closed after it."""
        start_response("503 SERVICE UNAVAILABLE", [("Content-Type", "application/json"),
                                                   ("Content-Length", str(len(_UNAVAILABLE))),
                                                   ("Retry-After", "5"), ("Connection", "close")])
        return [_UNAVAILABLE]

    @property
    def in_flight(self) -> int:
        """Requests inside the app right now (Engine.IO traffic not counted)."""
        return self._in_flight

    def wait_idle(self, deadline: float, *, exclude_current: bool = True) -> bool:
        """Wait until no request is in flight (the caller's own request, when
        it is one, does not count), or until ``deadline``; True when idle."""
        own = 0
        if exclude_current and self._busy.get(id(gevent.getcurrent())):
            own = 1
        while self._in_flight > own:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if own:
                gevent.sleep(min(0.01, remaining))
            else:
                self._idle.wait(remaining)
        return True

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
