"""Controller: one feature's routes, socket events and state under one lifecycle.

A Controller is a :class:`~specter_spoc.Service` that also declares HTTP
routes (``build_routes``), Socket.IO events (``build_events``) and payload
schemas. It is the specter_spoc shape of a SPOC app's views.

Lifecycle gating, beyond SPECTER: its routes answer 503 (JSON envelope)
before it has started, after it stopped and while the runtime drains; its
socket events are subscribed when it starts and unsubscribed when it stops,
so a stopped controller never sees an event.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Protocol, Tuple, Union

from ..lifecycle.service import Service
from ..typing import SocketIOLike
from .handler import Handler
from .router import Router

logger: logging.Logger = logging.getLogger("specter_spoc.controller")


if TYPE_CHECKING:
    from flask import Blueprint

    from ..contracts.schema import Schema
    from ..state.model import Model
    from ..state.store import Store


class _Booter(Protocol):
    """What a controller reads of the runtime that registered it (the
    runtime sits above this layer, so it is named by shape, not imported)."""

    @property
    def draining(self) -> bool: ...

    @property
    def socketio(self) -> Optional[SocketIOLike]: ...


class Controller(Service):
    """Feature composition root.

    Example::

        class ItemController(Controller):
            name = "items"
            url_prefix = "/api/items"
            schemas = {"create": Schema("create", {"name": Field(str, required=True)})}

            def build_routes(self, router):
                @router.route("/", methods=["POST"])
                def create():
                    clean = self.schema("create").require(expect_json())
                    return {"ok": True, "name": clean["name"]}, 201

            def build_events(self, handler):
                handler.on("item:ping", lambda data=None: {"pong": True})
    """

    name: str = "controller"
    schemas: Dict[str, Schema] = {}
    url_prefix: Optional[str] = None

    def __init__(self, name: Optional[str] = None) -> None:
        super().__init__(str(name or type(self).name))
        self._blueprint: Optional[Blueprint] = None
        self._router: Optional[Router] = None
        self._handler_instance: Optional[ControllerHandler] = None
        self._socketio: Optional[SocketIOLike] = None
        self._runtime: Optional[_Booter] = None

    # ------------------------------------------------------------ to override
    def build_routes(self, router: Router) -> None:
        """Declare HTTP routes with ``@router.route(...)``. Called once."""

    def build_events(self, handler: "ControllerHandler") -> None:
        """Declare socket events with ``handler.on(event, callback)``. Called once."""

    # ----------------------------------------------------------------- routes
    def _gate(self) -> Optional[str]:
        runtime = self._runtime
        if runtime is not None and runtime.draining:
            return "the server is shutting down"
        if self.lifecycle_state != "running":
            return f"controller {self.name!r} is not running"
        return None

    def build_blueprint(self, url_prefix: Optional[str] = None) -> Blueprint:
        """The Flask Blueprint of this controller's routes (built once)."""
        if self._blueprint is None:
            router = Router(self.name, url_prefix=url_prefix if url_prefix is not None else (self.url_prefix or ""),
                            import_name=type(self).__module__, gate=self._gate)
            self.build_routes(router)
            self._router = router
            self._blueprint = router.blueprint()
        return self._blueprint

    @property
    def router(self) -> Optional[Router]:
        return self._router

    # ----------------------------------------------------------------- events
    def create_handler(self) -> "ControllerHandler":
        """The socket handler built from ``build_events`` (created once)."""
        if self._handler_instance is None:
            handler = ControllerHandler(f"{self.name}_events", self)
            self.build_events(handler)
            self._handler_instance = handler
        return self._handler_instance

    def build_handler(self, socketio: Optional[SocketIOLike] = None) -> "ControllerHandler":
        """Create the handler and, with ``socketio``, bind it now (and on every start)."""
        handler = self.create_handler()
        if socketio is not None:
            self._socketio = socketio
            if self.running:
                self._setup_handler()
        return handler

    def _setup_handler(self) -> None:
        handler = self.create_handler()
        if handler.registered or not handler.has_events():
            return
        handler.setup(self._socketio)

    def _teardown_handler(self) -> None:
        handler = self._handler_instance
        if handler is not None and handler.registered:
            handler.teardown()

    def _after_start(self) -> None:
        """Subscribe the socket events once ``on_start`` succeeded (inside
        start(), so a failure here rolls the start back). Whoever set the
        handler up, it is torn down when the controller stops (SPECTER)."""
        self.add_cleanup(self._teardown_handler)
        if self._socketio is not None:
            self._setup_handler()

    @property
    def socketio(self) -> Optional[SocketIOLike]:
        """The Socket.IO server the handler binds to: the one given to
        :meth:`build_handler`, else the registering runtime's."""
        if self._socketio is not None:
            return self._socketio
        runtime = self._runtime or self.scope.registry.resolve("service_manager")
        return getattr(runtime, "socketio", None)  # a registry entry may be any object

    # ------------------------------------------------------------------ state
    def schema(self, name: str) -> Schema:
        """The schema ``name`` from ``schemas``; KeyError listing the known ones."""
        try:
            return self.schemas[name]
        except KeyError:
            raise KeyError(f"Controller {self.name!r} has no schema {name!r}; "
                           f"known: {sorted(self.schemas) or 'none'}. Add it to {type(self).__name__}.schemas."
                           ) from None

    def create_model(self, name: str, initial_state: Optional[Dict[str, Any]] = None) -> Model:
        """A Model owned by this controller (destroyed when it stops)."""
        from ..state.model import create_model
        return self.own(create_model(name, initial_state))

    def create_store(self, name: str, initial_state: Optional[Dict[str, Any]] = None, **kwargs: Any) -> Store:
        """A Store owned by this controller (destroyed when it stops)."""
        from ..state.store import create_store
        return self.own(create_store(name, initial_state, **kwargs))

    def health(self) -> Dict[str, Any]:
        report = super().health()
        report["has_blueprint"] = self._blueprint is not None
        report["has_handler"] = self._handler_instance is not None and self._handler_instance.registered
        if self.schemas:
            report["schemas"] = sorted(self.schemas)
        return report


class ControllerHandler(Handler):
    """The socket handler a Controller builds from ``build_events``."""

    def __init__(self, name: str, controller: Controller) -> None:
        super().__init__()
        self.name = name
        self.controller = controller
        self._events: List[Tuple[str, Callable[..., Any], int]] = []

    def on(self, event: str, callback: Callable[..., Any], priority: int = 100,
           schema: Union[str, Any, None] = None) -> "ControllerHandler":
        """Handle ``event`` with ``callback``. With ``schema`` (a Schema or the
        name of one in the controller's ``schemas``), the payload is validated
        first and ``callback`` receives the clean dict; a bad payload gets an
        error acknowledgement listing every bad field."""
        if not isinstance(event, str) or not event:
            raise TypeError(f"Controller {self.controller.name!r}: handler.on() needs an event name, got {event!r}.")
        if not callable(callback):
            raise TypeError(f"Controller {self.controller.name!r}: handler.on({event!r}) needs a callable, "
                            f"got {callback!r}.")
        if schema is not None:
            callback = _validated(self.controller, schema, callback)
        self._events.append((event, callback, priority))
        return self

    def has_events(self) -> bool:
        return bool(self._events) or bool(self.events)

    def event_names(self) -> List[str]:
        return [event for event, _, _ in self._events] + list(self.events)

    def _bindings(self) -> List[Tuple[str, Callable[..., Any], int]]:
        return list(self._events) + super()._bindings()


def _validated(controller: Controller, schema: Any, callback: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap ``callback`` so it gets the schema-clean payload. The wrapper takes
    exactly one optional argument (the payload), which is what the ingress
    checks a client's arguments against: not ``functools.wraps``, whose
    ``__wrapped__`` would make the callback's own signature the one checked."""
    def validated(data: Any = None) -> Any:
        resolved = controller.schema(schema) if isinstance(schema, str) else schema
        return callback(resolved.require(data if data is not None else {}))
    validated.__name__ = getattr(callback, "__name__", "validated")
    validated.__qualname__ = getattr(callback, "__qualname__", validated.__name__)
    validated.__doc__ = getattr(callback, "__doc__", None)
    return validated
