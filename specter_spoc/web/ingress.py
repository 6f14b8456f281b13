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
- every subscriber runs, even when an earlier one raised (as in SPECTER):
  each exception is reported (logged with its traceback; a ``SchemaError`` or
  ``HTTPError`` is the client's mistake and logged at INFO only), and the
  acknowledgement is the last non-None result of the subscribers that
  returned. Only when no subscriber returned a result does the client get
  the error acknowledgement of the first failure (400 for a Schema, the
  ``HTTPError``'s status, else 500 with a generic message outside debug, no
  internals to clients), plus an ``error_event``;
- while the runtime drains, events are ignored and new connections refused;
- before any greenlet is spawned for an event (see :mod:`.event_guard`): a
  packet bigger than ``max_payload_bytes`` gets status 413, and a connection
  with ``max_in_flight`` events still running, or over ``rate_limit`` events
  per second, gets status 429 (or is closed, ``on_excess="disconnect"``).
"""
from __future__ import annotations

import inspect
import logging
from typing import Any, Callable, Dict, List, Mapping, Optional, Protocol, Sequence, Tuple, TypeVar, cast

from ..typing import CleanupOwner
from ..wiring.scope import Scope, current_scope, reset_current, set_current
from .errors import error_body
from .event_guard import ON_EXCESS_CHOICES, EventGuard

F = TypeVar("F", bound=Callable[..., Any])
logger: logging.Logger = logging.getLogger("specter_spoc.socket")

#: event sent to a client whose event failed (name configurable per ingress)
ERROR_EVENT = "specter_error"

# (priority, order, callback, fewest and most positional arguments it takes; None = any number)
_Record = Tuple[int, int, Callable[..., Any], int, Optional[int]]

#: events the connection itself raises; a client may not send them as events
_LIFECYCLE = ("connect", "disconnect")

#: events one connection may have running at once by default (``SOCKETIO_MAX_IN_FLIGHT``)
DEFAULT_MAX_IN_FLIGHT = 16


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


class _SocketIORequest(Protocol):
    """The attributes Flask-SocketIO sets on ``flask.request`` while it
    dispatches a Socket.IO event (Flask's own type does not declare them)."""

    event: Dict[str, Any]
    sid: str
    namespace: str


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
                 max_in_flight: Optional[int] = DEFAULT_MAX_IN_FLIGHT,
                 rate_limit: Optional[float] = None, rate_burst: Optional[int] = None,
                 on_excess: str = "refuse",
                 gate: Optional[Callable[[], Optional[str]]] = None,
                 debug: Callable[[], bool] = lambda: False) -> None:
        self.name = name
        self.error_event = error_event
        #: largest inbound packet in bytes (error ack 413 above it); None: Engine.IO's limit only
        self.max_payload_bytes = max_payload_bytes
        #: events one connection may have running at once (429 above it); None: unbounded
        self.max_in_flight: Optional[int] = None
        #: events per second one connection may send (429 above it); None: no rate limit
        self.rate_limit: Optional[float] = None
        #: events a connection may send at once under the rate limit (default: the rate)
        self.rate_burst: Optional[int] = None
        #: "refuse" (error ack 429) or "disconnect" for an event over a limit
        self.on_excess: str = "refuse"
        self.configure(max_in_flight=max_in_flight, rate_limit=rate_limit, rate_burst=rate_burst,
                       on_excess=on_excess)
        self._guard: Optional[EventGuard] = None
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
        self._install_guard()
        if self._gate is not None:
            self._bind("connect")  # so connections can be refused while draining
        for event in list(self._subscribers):
            self._bind(event)
        if self._error_subscribers:
            self._bind_error_default()
        return self

    # --------------------------------------------------------------- limits
    def configure(self, *, max_in_flight: Optional[int] = None, rate_limit: Optional[float] = None,
                  rate_burst: Optional[int] = None, on_excess: str = "refuse") -> "SocketIngress":
        """Set the per-connection event limits (see :mod:`.event_guard`);
        ``None`` switches a limit off. Raises ValueError naming the bad one."""
        where = f"SocketIngress {self.name!r}"
        for label, value in (("max_in_flight", max_in_flight), ("rate_burst", rate_burst)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{where}: {label} must be a whole number >= 1 (or None for no limit), "
                                 f"got {value!r}.")
        if rate_limit is not None and (isinstance(rate_limit, bool) or not isinstance(rate_limit, (int, float))
                                       or not rate_limit > 0):
            raise ValueError(f"{where}: rate_limit must be events per second > 0 (or None for no limit), "
                             f"got {rate_limit!r}.")
        if on_excess not in ON_EXCESS_CHOICES:
            raise ValueError(f"{where}: on_excess must be one of {ON_EXCESS_CHOICES}, got {on_excess!r}.")
        self.max_in_flight = max_in_flight
        self.rate_limit = None if rate_limit is None else float(rate_limit)
        self.rate_burst = rate_burst
        self.on_excess = on_excess
        return self

    def configure_from(self, config: Mapping[str, Any]) -> "SocketIngress":
        """:meth:`configure` from settings (see :func:`socket_limits`)."""
        return self.configure(**socket_limits(config))

    @property
    def guard(self) -> Optional[EventGuard]:
        """The admission guard on the attached Socket.IO server (None before)."""
        return self._guard

    def in_flight(self) -> int:
        """Socket events admitted and still running, over all connections."""
        return self._guard.in_flight() if self._guard is not None else 0

    def _install_guard(self) -> None:
        server = getattr(self._socketio, "server", None)
        if server is not None and self._guard is None:
            self._guard = EventGuard.install(server, self)

    # ---------------------------------------------------------- subscribing
    def subscribe(self, event_name: str, callback: Callable[..., Any], *, owner: Optional[CleanupOwner] = None,
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

    def on(self, event_name: str, callback: Optional[F] = None, *, owner: Optional[CleanupOwner] = None,
           priority: int = 100) -> Any:
        """``subscribe`` usable as a decorator when ``callback`` is omitted;
        returns ``callback`` (as SPECTER does), so ``on`` can also be stacked
        with other decorators. Use :meth:`subscribe` for an unsubscribe function."""
        if callback is None:
            return self.handler(event_name, owner=owner, priority=priority)
        self.subscribe(event_name, callback, owner=owner, priority=priority)
        return callback

    def handler(self, event_name: str, *, owner: Optional[CleanupOwner] = None, priority: int = 100) -> Callable[[F], F]:
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

    def subscribe_error_default(self, callback: Callable[..., Any], *, owner: Optional[CleanupOwner] = None,
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

    def on_error_default(self, callback: Optional[F] = None, *, owner: Optional[CleanupOwner] = None, priority: int = 100) -> Any:
        """``subscribe_error_default`` usable as a decorator; returns ``callback``."""
        if callback is None:
            def decorator(fn: F) -> F:
                self.subscribe_error_default(fn, owner=owner, priority=priority)
                return fn
            return decorator
        self.subscribe_error_default(callback, owner=owner, priority=priority)
        return callback

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
    def _check_owner(owner: object) -> None:
        if owner is not None and not (isinstance(owner, CleanupOwner) and callable(owner.add_cleanup)):
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
        """Call every subscriber, in priority order, even when one raises;
        return the last non-None result. Each exception is reported (logged)
        and does not stop the others, as in SPECTER."""
        return self._fan_out(event_name, args, kwargs)[0]

    def _fan_out(self, event_name: str, args: Tuple[Any, ...],
                 kwargs: Mapping[str, Any]) -> Tuple[Any, Optional[Exception]]:
        """(last non-None result, first exception) of running every subscriber."""
        result = None
        failure: Optional[Exception] = None
        for record in list(self._subscribers.get(event_name, ())):
            try:
                value = record[2](*args, **kwargs)
            except Exception as exc:
                self._report(event_name, record[2], exc)
                if failure is None:
                    failure = exc
                continue
            if value is not None:
                result = value
        return result, failure

    def _report(self, event_name: str, callback: Callable[..., Any], exc: Exception) -> None:
        from ..contracts.schema import SchemaError
        from .http import HTTPError

        name = getattr(callback, "__qualname__", None) or repr(callback)
        if isinstance(exc, (SchemaError, HTTPError)):  # the client's mistake, not a crash
            logger.info("socket event %r: subscriber %s refused it: %s", event_name, name, exc)
            return
        logger.error("socket event %r: subscriber %s raised %s: %s (the other subscribers still ran)",
                     event_name, name, type(exc).__name__, exc, exc_info=exc)

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
        if self._guard is None:
            self._install_guard()  # a SocketIO whose server was created after attach()
        scope = self._scope or current_scope()
        # Flask-SocketIO already pushed this app's context for the event: only
        # the scope is set (no second app context per event)
        token = set_current(scope)
        try:
            return self._dispatch_in_scope(event_name, args)
        finally:
            reset_current(token)

    def _dispatch_in_scope(self, event_name: str, args: Tuple[Any, ...]) -> Any:
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
        result, failure = self._fan_out(event_name, args, {})
        if result is None and failure is not None:
            return self._handle_error(event_name, failure)
        return result

    def _check_arguments(self, event_name: str, args: Tuple[Any, ...]) -> Optional[Dict[str, Any]]:
        """The error ack for a number of arguments some subscriber cannot take
        (checked before any runs). The payload size was checked on the raw
        packet, before this greenlet existed (:mod:`.event_guard`)."""
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
            sio_request = cast(_SocketIORequest, request)
            event = sio_request.event
            environ = request.environ
        except (RuntimeError, AttributeError):
            return True  # not dispatched by Flask-SocketIO (a direct call)
        args: Sequence[Any] = event.get("args") or ()
        if event_name == "connect":
            return bool(args) and args[0] is environ
        server = getattr(self._socketio, "server", None)
        manager = getattr(server, "manager", None)
        if manager is None:
            return True
        return not manager.is_connected(sio_request.sid, sio_request.namespace)

    def _handle_error(self, event_name: str, exc: Exception) -> Any:
        """The error ack for ``exc``: the same envelope as a route's
        (:func:`specter_spoc.web.errors.error_body`), without a traceback."""
        body, status = error_body(exc, message="Internal error while handling the event", debug=self._debug())
        body.pop("traceback", None)
        message = str(body.pop("error"))
        return self._fail(event_name, message, body, status=status)

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


def socket_limits(config: Mapping[str, Any]) -> Dict[str, Any]:
    """The per-connection event limits a Flask config (or any mapping) asks
    for, as keyword arguments of :meth:`SocketIngress.configure`:

    - ``SOCKETIO_MAX_IN_FLIGHT``: events one connection may have running at
      once (default :data:`DEFAULT_MAX_IN_FLIGHT`; ``0`` or ``"none"``: unbounded);
    - ``SOCKETIO_RATE_LIMIT``: events per second per connection (default none);
    - ``SOCKETIO_RATE_BURST``: events at once under the rate (default: the rate);
    - ``SOCKETIO_ON_EXCESS``: ``"refuse"`` (error ack 429) or ``"disconnect"``.

    Strings (from ``.env``) are accepted. Validates everything before
    anything is applied, so an app factory can call it before booting;
    raises ValueError naming the key and what to write instead."""
    def number(key: str, default: Any, kind: Callable[[str], Any]) -> Any:
        value = config.get(key, default)
        if isinstance(value, str):
            text = value.strip().lower()
            if text in ("", "none", "off", "0"):
                return None
            try:
                value = kind(text)
            except ValueError:
                raise ValueError(f"{key} must be a number, got {value!r}.") from None
        if value == 0 and not isinstance(value, bool):
            return None
        return value

    try:
        limits = {
            "max_in_flight": number("SOCKETIO_MAX_IN_FLIGHT", DEFAULT_MAX_IN_FLIGHT, int),
            "rate_limit": number("SOCKETIO_RATE_LIMIT", None, float),
            "rate_burst": number("SOCKETIO_RATE_BURST", None, int),
            "on_excess": str(config.get("SOCKETIO_ON_EXCESS") or "refuse").strip().lower(),
        }
        SocketIngress(name="settings").configure(**limits)  # the same checks, on a throwaway
    except ValueError as exc:
        raise ValueError(f"socket event limits in the settings: {exc} (keys SOCKETIO_MAX_IN_FLIGHT, "
                         "SOCKETIO_RATE_LIMIT, SOCKETIO_RATE_BURST, SOCKETIO_ON_EXCESS)") from None
    return limits
