"""One Flask-SocketIO dispatcher per event, fanning out to many subscribers.

Flask-SocketIO keeps one handler per event; apps made of many modules want
several. The ingress binds exactly one dispatcher per event and calls its
subscribers in ``priority`` order (lower first; ties in subscription order).
The last non-None result is the acknowledgement sent back to the client.

What the dispatcher adds, so a bad event never hurts a connection:

- it runs subscribers inside the runtime's scope (bus, registry, app context);
- a payload that fails a Schema (``SchemaError``) is answered with an error
  acknowledgement and an ``error_event`` to that client; nothing is logged as
  a crash and the connection stays up;
- any other exception is logged with its traceback and answered the same
  way, with a generic message outside debug (no internals to clients);
- while the runtime drains, events are ignored and new connections refused;
- a payload bigger than ``max_payload_bytes`` is refused before any
  subscriber sees it.
"""
from __future__ import annotations

import inspect
import json
import logging
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar

from ..wiring.scope import Scope, current_scope

F = TypeVar("F", bound=Callable[..., Any])
logger = logging.getLogger("specter_spoc.socket")

#: event sent to a client whose event failed (name configurable per ingress)
ERROR_EVENT = "specter_error"

# (priority, order, callback, fewest and most positional arguments it takes; None = any number)
_Record = Tuple[int, int, Callable[..., Any], int, Optional[int]]

#: events the connection itself raises; a client may not send them as events
_LIFECYCLE = ("connect", "disconnect")


def _arity(callback: Callable[..., Any]) -> Tuple[int, Optional[int]]:
    """(fewest, most) positional arguments ``callback`` accepts; computed once
    per subscription so each event is checked without inspecting anything."""
    try:
        params = inspect.signature(callback).parameters.values()
    except (TypeError, ValueError):
        return 0, None
    fewest, most = 0, 0
    for param in params:
        if param.kind is inspect.Parameter.VAR_POSITIONAL:
            return fewest, None
        if param.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD):
            most += 1
            if param.default is inspect.Parameter.empty:
                fewest += 1
    return fewest, most


class SocketIngress:
    """Shared Socket.IO dispatcher with prioritised fan-out.

    Example::

        ingress = SocketIngress(socketio)
        ingress.subscribe("chat", save_message, priority=10)
        ingress.subscribe("chat", broadcast)        # runs after save_message
    """

    def __init__(self, socketio: Any = None, *, name: str = "socket_ingress",
                 scope: Optional[Scope] = None, error_event: str = ERROR_EVENT,
                 max_payload_bytes: Optional[int] = 1_000_000,
                 gate: Optional[Callable[[], Optional[str]]] = None,
                 debug: Callable[[], bool] = lambda: False) -> None:
        self.name = name
        self.error_event = error_event
        self.max_payload_bytes = max_payload_bytes
        self._socketio: Any = None
        self._scope = scope
        self._gate = gate
        self._debug = debug
        self._subscribers: Dict[str, List[_Record]] = {}
        self._error_subscribers: List[_Record] = []
        self._bound: Dict[str, Callable[..., Any]] = {}
        self._order = 0
        if socketio is not None:
            self.attach(socketio)

    @property
    def socketio(self) -> Any:
        return self._socketio

    def attach(self, socketio: Any) -> "SocketIngress":
        """Bind to a Flask-SocketIO instance (dispatchers for known events too)."""
        if self._socketio is socketio:
            return self
        if self._socketio is not None:
            raise RuntimeError(f"SocketIngress {self.name!r} is already attached to another SocketIO.")
        self._socketio = socketio
        if self._gate is not None:
            self._bind("connect")  # so connections can be refused while draining
        for event in list(self._subscribers):
            self._bind(event)
        if self._error_subscribers:
            self._bind_error_default()
        return self

    # ---------------------------------------------------------- subscribing
    def subscribe(self, event_name: str, callback: Callable[..., Any], *, owner: Any = None,
                  priority: int = 100) -> Callable[[], bool]:
        """Add ``callback`` for ``event_name``; returns an unsubscribe function.
        With ``owner`` (anything with ``add_cleanup``), it ends when the owner stops."""
        if not isinstance(event_name, str) or not event_name:
            raise TypeError(f"SocketIngress.subscribe() needs an event name str, got {event_name!r}.")
        if not callable(callback):
            raise TypeError(f"SocketIngress.subscribe({event_name!r}) needs a callable, got {callback!r}.")
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise TypeError(f"SocketIngress.subscribe({event_name!r}): priority must be an int, got {priority!r}.")
        self._check_owner(owner)
        self._order += 1
        records = self._subscribers.setdefault(event_name, [])
        records.append((priority, self._order, callback, *_arity(callback)))
        records.sort(key=lambda r: (r[0], r[1]))
        self._bind(event_name)

        def unsubscribe() -> bool:
            return self.unsubscribe(event_name, callback)

        if owner is not None:
            owner.add_cleanup(unsubscribe)
        return unsubscribe

    def on(self, event_name: str, callback: Optional[F] = None, *, owner: Any = None,
           priority: int = 100) -> Any:
        """``subscribe`` usable as a decorator when ``callback`` is omitted."""
        if callback is None:
            return self.handler(event_name, owner=owner, priority=priority)
        return self.subscribe(event_name, callback, owner=owner, priority=priority)

    def handler(self, event_name: str, *, owner: Any = None, priority: int = 100) -> Callable[[F], F]:
        def decorator(fn: F) -> F:
            self.subscribe(event_name, fn, owner=owner, priority=priority)
            return fn
        return decorator

    def unsubscribe(self, event_name: str, callback: Callable[..., Any]) -> bool:
        records = self._subscribers.get(event_name, [])
        for index, record in enumerate(records):
            if record[2] is callback or record[2] == callback:
                del records[index]
                return True
        return False

    def subscribe_error_default(self, callback: Callable[..., Any], *, owner: Any = None,
                                priority: int = 100) -> Callable[[], bool]:
        """Add a Flask-SocketIO default error handler subscriber."""
        if not callable(callback):
            raise TypeError(f"SocketIngress.subscribe_error_default() needs a callable, got {callback!r}.")
        self._check_owner(owner)
        self._order += 1
        self._error_subscribers.append((priority, self._order, callback, 0, None))
        self._error_subscribers.sort(key=lambda r: (r[0], r[1]))
        self._bind_error_default()

        def unsubscribe() -> bool:
            return self.unsubscribe_error_default(callback)

        if owner is not None:
            owner.add_cleanup(unsubscribe)
        return unsubscribe

    def on_error_default(self, callback: Optional[F] = None, *, owner: Any = None, priority: int = 100) -> Any:
        if callback is None:
            def decorator(fn: F) -> F:
                self.subscribe_error_default(fn, owner=owner, priority=priority)
                return fn
            return decorator
        return self.subscribe_error_default(callback, owner=owner, priority=priority)

    def unsubscribe_error_default(self, callback: Callable[..., Any]) -> bool:
        for index, record in enumerate(self._error_subscribers):
            if record[2] is callback or record[2] == callback:
                del self._error_subscribers[index]
                return True
        return False

    def events(self) -> Dict[str, int]:
        """Event name -> subscriber count (listings, duplicate checks)."""
        return {event: len(records) for event, records in self._subscribers.items() if records}

    def clear(self) -> None:
        """Drop every subscriber (dispatchers stay bound and then do nothing)."""
        self._subscribers.clear()
        self._error_subscribers.clear()

    @staticmethod
    def _check_owner(owner: Any) -> None:
        if owner is not None and not callable(getattr(owner, "add_cleanup", None)):
            raise TypeError(f"SocketIngress: owner must have add_cleanup() (a Service or Handler), "
                            f"got {type(owner).__name__}.")

    # ----------------------------------------------------------- dispatching
    def _bind(self, event_name: str) -> None:
        if self._socketio is None or event_name in self._bound:
            return

        def dispatcher(*args: Any) -> Any:
            return self._dispatch_from_socket(event_name, args)

        dispatcher.__name__ = f"spoc_dispatch_{event_name}"
        self._bound[event_name] = dispatcher
        self._socketio.on_event(event_name, dispatcher)

    def _bind_error_default(self) -> None:
        if self._socketio is None or "__error_default__" in self._bound:
            return

        def error_dispatcher(exc: BaseException) -> Any:
            return self.dispatch_default_error(exc)

        self._bound["__error_default__"] = error_dispatcher
        self._socketio.on_error_default(error_dispatcher)

    def dispatch(self, event_name: str, *args: Any, **kwargs: Any) -> Any:
        """Call every subscriber; return the last non-None result. Exceptions
        propagate (the socket-facing dispatcher turns them into error acks)."""
        result = None
        for record in list(self._subscribers.get(event_name, ())):
            value = record[2](*args, **kwargs)
            if value is not None:
                result = value
        return result

    def dispatch_default_error(self, *args: Any, **kwargs: Any) -> Any:
        result = None
        for record in list(self._error_subscribers):
            callback = record[2]
            try:
                value = callback(*args, **kwargs)
            except Exception:
                logger.exception("SocketIngress %r: default error handler %r raised", self.name, callback)
                continue
            if value is not None:
                result = value
        return result

    def _dispatch_from_socket(self, event_name: str, args: Tuple[Any, ...]) -> Any:
        scope = self._scope or current_scope()
        with scope.activate():
            reason = self._gate() if self._gate is not None else None
            if reason is not None:
                if event_name == "connect":
                    return False  # refuse new connections while draining
                return self._fail(event_name, "Service unavailable", {"detail": reason}, status=503)
            if event_name in _LIFECYCLE:
                if not self._from_the_connection(event_name):
                    return self._fail(event_name, f"{event_name!r} is reserved for the connection itself; "
                                                  "send your event under another name", {}, status=400,
                                      notify=True)
            else:
                refusal = self._check_arguments(event_name, args)
                if refusal is not None:
                    return refusal
            try:
                return self.dispatch(event_name, *args)
            except Exception as exc:
                return self._handle_error(event_name, exc)

    def _check_arguments(self, event_name: str, args: Tuple[Any, ...]) -> Optional[Dict[str, Any]]:
        """The error ack for a payload over the size limit, or for a number of
        arguments some subscriber cannot take (checked before any runs)."""
        if self.max_payload_bytes is not None and args:
            size = _payload_size(args)
            if size > self.max_payload_bytes:
                return self._fail(event_name, f"Payload of {size} bytes is larger than the "
                                              f"{self.max_payload_bytes}-byte limit", {}, status=413)
        count = len(args)
        for record in self._subscribers.get(event_name, ()):
            fewest, most = record[3], record[4]
            if count < fewest or (most is not None and count > most):
                takes = f"{fewest}" if fewest == most else (
                    f"at least {fewest}" if most is None else f"{fewest} to {most}")
                return self._fail(event_name, f"Event {event_name!r} takes {takes} argument(s), got {count}",
                                  {}, status=400)
        return None

    def _from_the_connection(self, event_name: str) -> bool:
        """True when Flask-SocketIO runs ``connect``/``disconnect`` for a real
        connection change. python-socketio also routes an ordinary event of
        that name, sent by the client, to the same handlers: for a real
        connect the first argument is the connection's own WSGI environ (an
        object a client cannot send); at a real disconnect the session is no
        longer connected."""
        try:
            from flask import request
            event = request.event
            environ = request.environ
        except (RuntimeError, AttributeError):
            return True  # not dispatched by Flask-SocketIO (a direct call)
        args = event.get("args") or ()
        if event_name == "connect":
            return bool(args) and args[0] is environ
        server = getattr(self._socketio, "server", None)
        manager = getattr(server, "manager", None)
        if manager is None:
            return True
        return not manager.is_connected(request.sid, request.namespace)

    def _handle_error(self, event_name: str, exc: Exception) -> Any:
        from ..contracts.schema import SchemaError
        from .http import HTTPError

        if isinstance(exc, SchemaError):
            return self._fail(event_name, str(exc), {"errors": dict(getattr(exc, "errors", None) or {})},
                              status=400)
        if isinstance(exc, HTTPError):
            return self._fail(event_name, exc.message, dict(exc.payload), status=exc.status_code)
        logger.error("socket event %r: handler raised %s: %s", event_name, type(exc).__name__, exc,
                     exc_info=exc)
        extra: Dict[str, Any] = {}
        if self._debug():
            extra["exception"] = f"{type(exc).__name__}: {exc}"
        return self._fail(event_name, "Internal error while handling the event", extra, status=500)

    def _fail(self, event_name: str, message: str, extra: Dict[str, Any], *, status: int,
              notify: Optional[bool] = None) -> Dict[str, Any]:
        body = {"ok": False, "event": event_name, "error": message, "status": status, **extra}
        if notify is None:
            notify = event_name not in _LIFECYCLE
        if not notify:
            return body
        try:
            from flask_socketio import emit
            emit(self.error_event, body)
        except Exception:  # outside a socket context (tests calling the dispatcher directly)
            logger.debug("could not emit %r for %r", self.error_event, event_name)
        return body


def _payload_size(args: Tuple[Any, ...]) -> int:
    total = 0
    for arg in args:
        if isinstance(arg, (bytes, bytearray)):
            total += len(arg)
        elif isinstance(arg, str):
            total += len(arg.encode("utf-8", "replace"))
        else:
            try:
                total += len(json.dumps(arg, default=str))
            except (TypeError, ValueError):
                total += 0
    return total
