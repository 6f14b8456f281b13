"""Handler: a class-based group of Socket.IO events with a lifecycle.

Declare ``events = {"event": "method_name"}``; :meth:`Handler.setup`
subscribes each method through the runtime's :class:`SocketIngress` (so many
handlers can share an event), and :meth:`Handler.teardown` unsubscribes them
and runs the handler's cleanups, last added first.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar, overload

import time

from ..lifecycle.owner import Owner
from ..typing import SocketIOLike
from ..wiring.scope import Scope, current_scope

R = TypeVar("R")
logger: logging.Logger = logging.getLogger("specter_spoc.handler")

#: registry key under which a runtime provides its SocketIngress
INGRESS_KEY = "socket_ingress"


class Handler:
    """Socket.IO events bound under one lifecycle.

    Example::

        class Chat(Handler):
            name = "chat"
            events = {"say": "on_say"}

            def on_say(self, data):
                self.socketio.emit("said", data)
    """

    name = "unnamed_handler"
    events: Dict[str, str] = {}
    #: optional per-event priorities, e.g. {"say": 10}
    event_priorities: Dict[str, int] = {}

    def __init__(self) -> None:
        self._socketio: Optional[SocketIOLike] = None
        self._registered = False
        self._registered_handlers: List[Tuple[str, Callable[..., Any]]] = []
        self._life = Owner(f"Handler {type(self).name!r}", logger)
        self._scope: Optional[Scope] = None

    # hooks
    def on_setup(self) -> None:
        """Called after the events are subscribed."""

    def on_teardown(self) -> None:
        """Called before the events are unsubscribed and cleanups run."""

    @property
    def registered(self) -> bool:
        return self._registered

    @property
    def socketio(self) -> Optional[SocketIOLike]:
        """The Socket.IO server given to :meth:`setup` (None before and after teardown)."""
        return self._socketio

    def _bindings(self) -> List[Tuple[str, Callable[..., Any], int]]:
        bindings = []
        for event, method_name in self.events.items():
            method = getattr(self, method_name, None)
            if not callable(method):
                raise TypeError(
                    f"Handler {self.name!r}: events maps {event!r} to {method_name!r}, which is "
                    f"{'missing' if method is None else 'not callable'}. Define "
                    f"def {method_name}(self, data): ... on {type(self).__name__}.")
            bindings.append((event, method, self.event_priorities.get(event, 100)))
        return bindings

    def setup(self, socketio: Optional[SocketIOLike]) -> "Handler":
        """Subscribe every declared event; idempotent. A failing ``on_setup``
        undoes the subscriptions and re-raises."""
        if self._registered:
            return self
        self._socketio = socketio
        self._scope = current_scope()
        ingress = self._scope.registry.resolve(INGRESS_KEY)
        for event, callback, priority in self._bindings():
            if ingress is not None:
                ingress.subscribe(event, callback, owner=self, priority=priority)
            elif socketio is not None:
                socketio.on_event(event, callback)
            else:
                raise RuntimeError(
                    f"Handler {self.name!r}: setup() got no Socket.IO server and no runtime is booted "
                    f"to route {event!r}; pass the SocketIO (handler.setup(socketio)) or boot() the app first.")
            self._registered_handlers.append((event, callback))
        self._registered = True
        try:
            self.on_setup()
        except Exception:
            self.teardown()
            raise
        return self

    def teardown(self) -> "Handler":
        """Unsubscribe and run cleanups (LIFO); idempotent."""
        if not self._registered and not self._life.releases():
            return self
        try:
            if self._registered:
                self.on_teardown()
        except BaseException as exc:  # noqa: B036 - teardown must go on
            self._life.report_error(f"on_teardown raised {type(exc).__name__}: {exc}", exc)
        finally:
            self._life.unwind(time.monotonic() + 5.0)
            self._registered_handlers.clear()
            self._registered = False
            self._socketio = None  # SPECTER: a torn-down handler is detached
        return self

    def stop(self) -> "Handler":
        return self.teardown()

    def add_cleanup(self, fn: Callable[[], Any]) -> "Handler":
        if not callable(fn):
            raise TypeError(f"Handler {self.name!r}: add_cleanup() needs a callable, got {fn!r}.")
        self._life.push(fn)
        return self

    @overload
    def own(self, resource: None, stop_method: Optional[str] = None) -> None: ...
    @overload
    def own(self, resource: R, stop_method: Optional[str] = None) -> R: ...

    def own(self, resource: Optional[R], stop_method: Optional[str] = None) -> Optional[R]:
        """Release ``resource`` when this handler is torn down; returns it."""
        if resource is not None:
            self._life.own(resource, stop_method)
        return resource

    def require(self, key: str) -> Any:
        return (self._scope or current_scope()).registry.require(key)

    def resolve(self, key: str) -> Any:
        return (self._scope or current_scope()).registry.resolve(key)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {'set up' if self._registered else 'idle'}>"
