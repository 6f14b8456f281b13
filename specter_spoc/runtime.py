"""The Runtime: one per Flask app, root owner of everything that runs.

SPECTER calls it ``ServiceManager`` (the name stays as an alias). It is built
and booted by :func:`specter_spoc.boot` from an app factory, and it

1. gives the app its own scope (bus, registry, app context): two apps in one
   process never share them, and with one app booted, plain code resolves to
   it (see :mod:`specter_spoc.wiring.scope`);
2. starts services and controllers by ``priority`` (lower first, then
   registration order), each bounded by a start timeout, then sets up socket
   handlers;
3. rolls back on failure: whatever had started is stopped in reverse order,
   then :class:`BootError` names what failed: no half-booted app;
4. is shut down by the process's teardown triggers (atexit, SIGTERM,
   gunicorn worker exit) or by :meth:`Runtime.shutdown`.

Shutdown, all under one shared deadline: refuse new requests (503) and new
socket events; wait for requests in flight; send Socket.IO clients a final
event and disconnect them; tear down handlers, then controllers, then
services, in reverse start order. Nothing raised by user code escapes it.
"""
from __future__ import annotations

import logging
import time
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Set, TypeVar

import gevent
from gevent import Greenlet, getcurrent
from gevent.event import Event

from ._masking import install_log_masking
from .lifecycle.owner import Owner, format_exc, kill_and_join, label_of, set_label
from .lifecycle.service import Service
from .lifecycle.teardown import PRELOAD_MESSAGE, gunicorn_role, triggers
from .web.conflicts import RouteIndex, event_conflicts
from .web.connections import ConnectionTracker
from .web.controller import Controller
from .web.handler import INGRESS_KEY, Handler
from .web.ingress import SocketIngress
from .web import socketio as sio
from .wiring import signals
from .typing import AnyGreenlet, Cleanup, SocketIOLike
from .wiring.bus import EventBus
from .wiring.registry import Registry
from .wiring.scope import Scope, attach_scope, booted_scopes, detach_scope, peek_scope, set_context_probe

if TYPE_CHECKING:
    from flask import Flask

    from .project.project import Project
    from .project.config import Settings

__all__ = ["Runtime", "ServiceManager", "BootError", "EXTENSION_KEY", "SHUTDOWN_EVENT"]

logger: logging.Logger = logging.getLogger("specter_spoc.runtime")

R = TypeVar("R")

#: key under which a runtime stores itself in ``app.extensions``
EXTENSION_KEY = "specter_spoc"
SHUTDOWN_EVENT = sio.SHUTDOWN_EVENT

# runtime states (health "status" adds ok/degraded while running)
_IDLE, _BOOTING, _RUNNING, _DRAINING, _STOPPED = "idle", "booting", "running", "draining", "stopped"


class BootError(RuntimeError):
    """Boot failed; everything that had started was stopped again."""


def _flask_scope() -> Optional[Scope]:
    """The scope of the runtime whose Flask app context is active (used by
    plain code only when two or more runtimes are booted)."""
    from flask import current_app, has_app_context

    if not has_app_context():
        return None
    runtime = current_app.extensions.get(EXTENSION_KEY)
    return runtime.scope if isinstance(runtime, Runtime) else None


class Runtime:
    """Root owner of one Flask app's services, controllers and handlers.

    Example::

        def create_app():
            app = Flask(__name__)
            socketio = SocketIO(app)
            boot(app, socketio, services=[Indexer()], controllers=[ItemController()])
            return app

        with boot(app, socketio, services=[...]) as runtime:
            ...   # shut down on exit
    """

    #: seconds the whole shutdown may take (one deadline shared by everything)
    shutdown_timeout: float = 10.0
    #: seconds one service's ``on_start`` may take unless it sets ``start_timeout``
    start_timeout: float = 30.0

    def __init__(self, app: Optional[Flask] = None, socketio: Optional[SocketIOLike] = None, *, name: Optional[str] = None,
                 shutdown_timeout: Optional[float] = None, start_timeout: Optional[float] = None) -> None:
        self.name: str = name or (f"runtime:{app.import_name}" if app is not None else "runtime")
        if app is not None and EXTENSION_KEY in app.extensions:
            raise BootError(f"Flask app {app.import_name!r} already has a runtime "
                            f"(app.extensions[{EXTENSION_KEY!r}]); boot() each app once.")
        if shutdown_timeout is not None:
            self.shutdown_timeout = float(shutdown_timeout)
        if start_timeout is not None:
            self.start_timeout = float(start_timeout)
        self._app = app
        self._socketio = socketio
        self._life = Owner(f"runtime {self.name!r}", logger)
        self._scope = Scope(self.name, enter=app.app_context if app is not None else None, owner=self)
        self._ingress = SocketIngress(scope=self._scope, gate=self._socket_gate, debug=self._debug)
        self._services: List[Service] = []
        self._by_name: Dict[str, Service] = {}
        self._handlers: List[Handler] = []
        self._started: List[Service] = []
        self._live_handlers: List[Handler] = []
        self._state = _IDLE
        self._draining = False
        self._shutdown_done: Optional[Event] = None
        self._install_signals: Optional[bool] = None
        self._escalations: List[str] = []
        self._connections: Optional[ConnectionTracker] = None
        self._wrapped_wsgi: Optional[Callable[..., Any]] = None
        self._routes = RouteIndex()
        self._rules_indexed = 0
        #: the SPOC-style project booted with this runtime, if any
        self.project: Optional[Project] = None
        if app is not None:
            app.extensions[EXTENSION_KEY] = self

    # ------------------------------------------------------------ properties
    @property
    def app(self) -> Optional[Flask]:
        return self._app

    @property
    def socketio(self) -> Optional[SocketIOLike]:
        return self._socketio

    @property
    def socket_ingress(self) -> SocketIngress:
        return self._ingress

    @property
    def scope(self) -> Scope:
        """This runtime's scope: its bus, registry and app context."""
        return self._scope

    @property
    def booted(self) -> bool:
        return self._state in (_RUNNING, _DRAINING)

    @property
    def running(self) -> bool:
        return self.booted

    @property
    def draining(self) -> bool:
        """True from the start of shutdown on: new requests get 503 and new
        socket events and connections are refused (also after shutdown)."""
        return self._draining

    @draining.setter
    def draining(self, value: bool) -> None:
        self._draining = bool(value)

    @property
    def bus(self) -> EventBus:
        return self._scope.bus

    @property
    def registry(self) -> Registry:
        return self._scope.registry

    @property
    def services(self) -> List[Service]:
        return list(self._services)

    @property
    def installed_apps(self) -> List[str]:
        """The project's apps in boot order (empty without a project)."""
        return list(self.project.installed_apps) if self.project is not None else []

    @property
    def mode(self) -> Optional[str]:
        """The project's mode (development, staging, production, test), or None."""
        return self.project.mode if self.project is not None else None

    @property
    def settings(self) -> Optional[Settings]:
        """The project's settings (secrets masked in its repr), or None."""
        return self.project.settings if self.project is not None else None

    @property
    def components(self) -> Any:
        """SPOC's ``framework.components``: ``runtime.components.services``
        (or ``.service``, any case) is ``{"app.Name": obj}``; None without a project."""
        return self.project.components if self.project is not None else None

    @property
    def plugins(self) -> Mapping[str, Mapping[str, Any]]:
        """SPOC's ``framework.plugins``: ``runtime.plugins[group][uri]`` is the
        loaded plugin object (read-only; empty without a project)."""
        if self.project is None:
            return MappingProxyType({})
        return MappingProxyType({group: MappingProxyType(dict(items))
                                 for group, items in self.project.plugins.items()})

    def _debug(self) -> bool:
        return bool(self._app is not None and self._app.debug)

    # ----------------------------------------------------- owner (SPECTER's
    # ServiceManager is a Service; these keep its owner surface)
    def add_cleanup(self, fn: Cleanup) -> "Runtime":
        """Run ``fn()`` at the very end of shutdown (LIFO)."""
        if not callable(fn):
            raise TypeError(f"Runtime {self.name!r}: add_cleanup() needs a callable, got {fn!r}.")
        self._life.push(fn)
        return self

    def own(self, resource: R, stop_method: Optional[str] = None) -> R:
        """Release ``resource`` at the end of shutdown; returns it."""
        if isinstance(resource, Service) and stop_method is None:
            self.register_service(resource)
            return resource
        return self._life.own(resource, stop_method)

    def adopt(self, child: Optional[Service], start: bool = True) -> "Runtime":
        """Own ``child`` directly (started now unless ``start=False``): it is
        stopped at the very end of shutdown, after every registered service,
        so what a boot hook adopts (a database, a pool) outlives its users."""
        if child is None:
            return self
        if not isinstance(child, Service):
            raise TypeError(f"Runtime {self.name!r}: adopt() takes a Service, got {type(child).__name__}. "
                            "Use own(resource) for other things that need stopping.")
        if child._owner not in (None, self):
            raise RuntimeError(f"Runtime {self.name!r}: cannot adopt {child.name!r}, already owned by "
                               f"{child._owner!r}.")
        if child._owner is None:
            child._owner = self
            child._default_start_timeout = self.start_timeout
            self._life.push(child._stop_by, f"child {child.name!r}", takes_deadline=True, child=child)
        if start and not child.running:
            with self._scope.activate():
                child.start()
        return self

    def _adopt_task(self, task: Any) -> None:
        if isinstance(task, Greenlet):
            set_label(task, f"{self.name}:engineio:{getattr(task, '_run', task)!r}"[:120])
            self._life.adopt_greenlet(task)

    def spawn(self, callback: Callable[..., Any], *args: Any, label: Optional[str] = None,
              **kwargs: Any) -> AnyGreenlet:
        """Run ``callback`` in a greenlet owned by the runtime (killed and
        joined at shutdown, after the services)."""
        if not self.booted and self._state != _BOOTING:
            raise RuntimeError(f"Runtime {self.name!r} is not running: spawn() would start work nobody owns.")
        glet = Greenlet(self._scope.wrap(callback), *args, **kwargs)
        set_label(glet, f"{self.name}:{label or getattr(callback, '__name__', 'task')}")
        self._life.adopt_greenlet(glet).start()
        return glet

    def start(self) -> "Runtime":
        """SPECTER's ServiceManager.start(): :meth:`boot`."""
        return self.boot()

    def stop(self) -> "Runtime":
        """SPECTER's ServiceManager.stop(): :meth:`shutdown`."""
        return self.shutdown()

    # ---------------------------------------------------------- registration
    def register_service(self, service: Service) -> "Runtime":
        """Add a service; started at boot, or now when already booted."""
        if not isinstance(service, Service):
            raise TypeError(f"register_service() needs a Service instance, got {type(service).__name__}. "
                            "Instantiate your class: register_service(MyService()).")
        known = self._by_name.get(service.name)
        if known is service:
            return self
        if known is not None:
            raise ValueError(f"a service named {service.name!r} is already registered; give each "
                             "service a unique name.")
        service._owner = self
        service._default_start_timeout = self.start_timeout
        self._services.append(service)
        self._by_name[service.name] = service
        if self.booted:
            with self._scope.activate():
                self._start_service(service)
        return self

    def get_service(self, name: str) -> Optional[Service]:
        """The registered service named ``name``, or None."""
        return self._by_name.get(name)

    def register_controller(self, controller: Controller, *, url_prefix: Optional[str] = None) -> "Runtime":
        """Add a controller: its blueprint is registered on the app now, its
        socket events when it starts."""
        if not isinstance(controller, Controller):
            raise TypeError(f"register_controller() needs a Controller instance, got {type(controller).__name__}.")
        controller._runtime = self
        with self._scope.activate():
            blueprint = controller.build_blueprint(url_prefix)
            if self._app is not None:
                self._check_duplicate_routes(controller)
                self._app.register_blueprint(blueprint)
            if self._socketio is not None:
                controller.build_handler(self._socketio)
        return self.register_service(controller)

    def register_handler(self, handler: Handler) -> "Runtime":
        """Add a socket Handler (anything with setup(socketio)/teardown())."""
        if not callable(getattr(handler, "setup", None)) or not callable(getattr(handler, "teardown", None)):
            raise TypeError(f"register_handler() needs a Handler (with setup()/teardown()), "
                            f"got {type(handler).__name__}.")
        self._handlers.append(handler)
        if self.booted and self._socketio is not None:
            with self._scope.activate():
                self._setup_handler(handler)
        return self

    def _check_duplicate_routes(self, controller: Controller) -> None:
        """A rule+method the app already serves is a BootError naming both
        owners (variable parts compare by position: <int:id> = <slug>).
        Rules the app gained since the last check (from any blueprint or
        ``@app.route``) are indexed first; each check costs only the new rules."""
        router = controller.router
        if router is None or self._app is None:
            return
        rules = list(self._app.url_map.iter_rules())
        for rule in rules[self._rules_indexed:]:
            self._routes.add(rule.endpoint.split(".", 1)[0], rule.rule, rule.methods)
        self._rules_indexed = len(rules)
        prefix = (router.url_prefix or "").rstrip("/")
        for _, spec in router.specs():
            path = prefix + spec.rule if prefix else spec.rule or "/"
            conflicts = self._routes.add(controller.name, path, spec.methods)
            if conflicts:
                raise BootError(f"[SPC009] {conflicts[0].describe()}")

    def _warn_duplicate_events(self) -> None:
        """Two controllers handling one socket event is legal (the ingress
        fans out) but usually an accident: say so once at boot."""
        events = [(service.name, event, None) for service in self._services
                  if isinstance(service, Controller) and service._socketio is not None
                  for event in service.create_handler().event_names()]
        for conflict in event_conflicts(events):
            logger.warning("[SPC010] %s", conflict.describe())

    # -------------------------------------------------------------- booting
    def boot(self) -> "Runtime":
        """Start everything in order; on failure roll back and raise BootError."""
        if self.booted or self._state == _BOOTING:
            return self
        if gunicorn_role() == "master":
            raise BootError(PRELOAD_MESSAGE)
        self._state = _BOOTING
        self._draining = False
        self._shutdown_done = None
        self._life = Owner(f"runtime {self.name!r}", logger) if self._life.state != "idle" else self._life
        self._life.begin_start()
        self._wrap_wsgi()
        if not booted_scopes():
            set_context_probe(_flask_scope)
        attach_scope(self._scope)
        try:
            with self._scope.activate():
                self.registry.provide("service_manager", self, owner=self, replace=True)
                self.registry.provide("runtime", self, owner=self, replace=True)
                self.registry.provide(INGRESS_KEY, self._ingress, owner=self, replace=True)
                # secrets (passwords in URLs) never reach a log line while this app runs
                self._life.push(install_log_masking(), "log masking")
                if self._socketio is not None:
                    self._ingress.attach(self._socketio)
                    self._life.push(sio.own_background_tasks(self._socketio, self._adopt_task),
                                    "Engine.IO background tasks")
                    monitor = sio.message_queue_monitor(self._socketio)
                    if monitor is not None and self.get_service(monitor.name) is None:
                        self.register_service(monitor)
                self._warn_duplicate_events()
                self._start_pending()
                if self._socketio is not None:
                    for handler in self._handlers:
                        self._setup_handler(handler)
        except BaseException as exc:  # noqa: B036 - roll back on anything, then report
            self._rollback()
            if isinstance(exc, BootError):
                raise
            raise BootError(f"boot failed: {format_exc(exc)}") from exc
        self._life.started()
        self._state = _RUNNING
        triggers.add(self, signals=self._install_signals)
        signals.runtime_booted.send(self)
        logger.info("runtime %r booted: %d services, %d handlers", self.name, len(self._started),
                    len(self._live_handlers))
        return self

    def _start_pending(self) -> None:
        """Start registered services not started yet, by (priority, registration
        order). Repeats, because starting one (e.g. the project's hooks) may
        register more; those start in the same boot."""
        attempted: Set[int] = set()
        while True:
            pending = [(s.priority, i, s) for i, s in enumerate(self._services) if id(s) not in attempted]
            if not pending:
                return
            pending.sort(key=lambda t: (t[0], t[1]))
            for _, _, service in pending:
                attempted.add(id(service))
                if not self._started or service not in self._started[-1:]:
                    self._start_service(service)

    def _start_service(self, service: Service) -> None:
        # SPECTER order: a service is in the registry before its own on_start runs
        self.registry.provide(service.name, service, replace=True)
        try:
            service.start()
        except BaseException as exc:  # noqa: B036
            if self.registry.resolve(service.name) is service:
                self.registry.unregister(service.name)
            what = f"service {service.name!r} ({type(service).__name__}) failed to start: {format_exc(exc)}"
            if service.optional and isinstance(exc, Exception):
                service._failed = f"failed to start: {format_exc(exc)}"
                logger.error("runtime %r: optional %s; serving without it", self.name, what)
                return
            raise BootError(what) from exc
        self._started.append(service)

    def _setup_handler(self, handler: Handler) -> None:
        try:
            handler.setup(self._socketio)
        except BaseException as exc:  # noqa: B036
            raise BootError(f"handler {getattr(handler, 'name', handler)!r} failed to set up: "
                            f"{format_exc(exc)}") from exc
        self._live_handlers.append(handler)

    def _rollback(self) -> None:
        logger.error("runtime %r: boot failed; stopping the %d started services in reverse order",
                     self.name, len(self._started))
        deadline = time.monotonic() + self.shutdown_timeout
        with self._scope.activate():
            self._stop_parts(deadline)
            self._life.begin_stop()
            self._life.close(deadline)
            self._life.finish_stop()
        detach_scope(self._scope)
        self._unwrap_wsgi()
        self._state = _STOPPED

    def install_triggers(self, *, signals: Optional[bool] = None) -> "Runtime":
        """Choose whether SIGTERM shuts this runtime down (boot() installs the
        triggers; None: when SIGTERM has its default action or under gunicorn)."""
        self._install_signals = signals
        if self.booted:
            triggers.remove(self)
            triggers.add(self, signals=signals)
        return self

    # ------------------------------------------------------------- the edge
    def _wrap_wsgi(self) -> None:
        if self._app is None or self._connections is not None:
            return
        path = (getattr(self._socketio, "server_options", None) or {}).get("path", "socket.io")
        self._wrapped_wsgi = self._app.wsgi_app
        self._connections = ConnectionTracker(self._app.wsgi_app, lambda: self.draining,
                                              socketio_path=path, scope=self._scope)
        # Flask's documented way to add WSGI middleware (its stubs declare wsgi_app a method)
        self._app.wsgi_app = self._connections  # type: ignore[method-assign]

    def _unwrap_wsgi(self) -> None:
        if self._app is not None and self._connections is not None and self._app.wsgi_app is self._connections:
            self._app.wsgi_app = self._wrapped_wsgi  # type: ignore[method-assign, assignment]
        self._connections = None

    def _socket_gate(self) -> Optional[str]:
        return "the server is shutting down" if self.draining else None

    # ------------------------------------------------------------- shutdown
    def _called_from_inside(self) -> bool:
        """True when the caller is work this runtime will stop or wait for
        (a service greenlet, a request, a socket handler)."""
        current = getcurrent()
        return peek_scope() is self._scope and current.parent is not None and isinstance(current, Greenlet)

    def shutdown(self, timeout: Optional[float] = None) -> "Runtime":
        """Drain, disconnect clients, stop everything in reverse; idempotent.

        A second caller waits for the shutdown in progress. Called from work
        the runtime owns (a route, a socket handler, a QueueService worker),
        it starts the shutdown in its own greenlet and returns at once: the
        caller finishes what it is doing (its request is answered, its item
        counted) and is then stopped with the rest.
        """
        seconds = self.shutdown_timeout if timeout is None else float(timeout)
        if self._shutdown_done is not None:
            if not self._shutdown_done.is_set() and not self._called_from_inside():
                self._shutdown_done.wait(seconds)
            return self
        if not self.booted:
            return self
        done = self._shutdown_done = Event()
        self._state = _DRAINING
        self._draining = True
        deadline = time.monotonic() + seconds
        if self._called_from_inside():
            gevent.spawn(self._shutdown, deadline, done)
            return self
        self._shutdown(deadline, done)
        return self

    def _shutdown(self, deadline: float, done: Event) -> None:
        try:
            self._step("runtime_shutting_down receivers", lambda: signals.runtime_shutting_down.send(self))
            with self._scope.activate():
                if self._connections is not None:
                    connections = self._connections
                    self._step("waiting for requests in flight", lambda: self._wait_in_flight(connections, deadline))
                self._step("waiting for socket events in flight", lambda: self._wait_events(deadline))
                self._step("disconnecting Socket.IO clients", lambda: sio.disconnect_clients(self._socketio, deadline))
                self._step("stopping Socket.IO background tasks", lambda: sio.stop_background_tasks(self._socketio))
                self._stop_parts(deadline)
                if self._connections is not None:
                    self._step("closing idle connections", self._connections.close_idle)
                self._life.begin_stop()
                self._life.close(deadline)
                self._life.finish_stop()
        finally:
            triggers.remove(self)
            detach_scope(self._scope)
            self._state = _STOPPED
            done.set()
        logger.info("runtime %r shut down", self.name)

    def _wait_events(self, deadline: float) -> None:
        """Socket handlers already running finish before anything stops
        (new events are refused meanwhile by the draining gate)."""
        while self._ingress.in_flight() > 0:
            if time.monotonic() >= deadline:
                self._life.report_straggler(f"{self._ingress.in_flight()} socket event(s) still running "
                                            "at the deadline")
                return
            gevent.sleep(0.005)

    def _wait_in_flight(self, connections: ConnectionTracker, deadline: float) -> None:
        if not connections.wait_idle(deadline):
            self._life.report_straggler(f"{connections.in_flight} request(s) still in flight at the deadline")

    def _step(self, what: str, fn: Callable[[], Any]) -> None:
        """One shutdown step; whatever it raises is reported, the next runs."""
        try:
            fn()
        except BaseException as exc:  # noqa: B036 - shutdown must reach every part
            self._life.report_error(f"{what} raised {format_exc(exc)}", exc)

    def _stop_parts(self, deadline: float) -> None:
        """Handlers, then controllers (the web edge), then the services behind
        them, each group in reverse start order."""
        while self._live_handlers:
            handler = self._live_handlers.pop()
            self._step(f"tearing down handler {getattr(handler, 'name', handler)!r}", handler.teardown)
        controllers = [s for s in reversed(self._started) if isinstance(s, Controller)]
        others = [s for s in reversed(self._started) if not isinstance(s, Controller)]
        self._stop_services(controllers + others, deadline)
        self._started.clear()

    def _stop_services(self, services: List[Service], deadline: float) -> None:
        """Stop ``services`` in the given order. Consecutive services without
        stop hooks are stopped as one batch: their greenlets are killed and
        joined together (one hub round trip), then their releases unwind in
        order. A service with hooks is stopped on its own, between batches."""
        batch: List[Service] = []
        for service in services:
            if service._plain_stop and service.lifecycle_state in ("running", "starting"):
                batch.append(service)
                continue
            self._stop_batch(batch, deadline)
            batch = []
            self._step(f"stopping service {service.name!r}", lambda s=service: s._stop_by(deadline))  # type: ignore[misc]
            self._forget(service)
        self._stop_batch(batch, deadline)

    def _stop_batch(self, batch: List[Service], deadline: float) -> None:
        if not batch:
            return
        current = getcurrent()
        for service in batch:
            service._cancel_supervisor()
            service._begin_stop(current)
        greenlets = [g for service in batch for g in service._life.live_greenlets() if g is not current]
        stuck = set(kill_and_join(greenlets, deadline))
        for service in batch:
            for glet in service._life.live_greenlets():
                if glet in stuck:
                    service._life.report_straggler(f"greenlet {service._label(glet)} ignored kill; "
                                                   "still alive at the deadline")
            try:
                service._life.unwind(deadline)
            finally:
                service._finish_stop(current)
            self._forget(service)

    def _forget(self, service: Service) -> None:
        if self.registry.resolve(service.name) is service:
            self.registry.unregister(service.name)

    # -------------------------------------------------------------- health
    def _child_crashed(self, child: Service, exc: BaseException) -> None:
        """A top-level service escalated a crash: record it (the runtime keeps serving)."""
        self._escalations.append(f"{child.name}: {format_exc(exc)}")
        del self._escalations[:-20]
        logger.error("runtime %r: service %r escalated %s", self.name, child.name, format_exc(exc))
        signals.service_crashed.send(self, error=exc, label=f"child {child.name!r}", action="escalate")

    def connected_clients(self) -> int:
        """Socket.IO clients connected to this process."""
        return sio.connected_clients(self._socketio)

    def health(self) -> Dict[str, Any]:
        """Aggregate health: the worst service status wins. A service whose
        ``health()`` raises is reported as ``{"status": "error", ...}``."""
        services: Dict[str, Dict[str, Any]] = {}
        for service in self._services:
            try:
                services[service.name] = service.health()
            except Exception as exc:
                services[service.name] = {"status": "error", "error": str(exc)}
        statuses = {h.get("status", "ok") for h in services.values()}
        if self._state == _DRAINING:
            status = "draining"
        elif self._state != _RUNNING:
            status = "stopped"
        elif statuses & {"failed", "error", "degraded", "stopped", "stopping"} or self._escalations \
                or self._life.stragglers:
            status = "degraded"
        else:
            status = "ok"
        report: Dict[str, Any] = {
            "status": status,
            "name": self.name,
            "booted": self.booted,
            "draining": self._state == _DRAINING,
            "services": services,
            "handlers": {getattr(h, "name", repr(h)): {"registered": bool(getattr(h, "registered", False))}
                         for h in self._handlers},
            "clients": self.connected_clients(),
        }
        if self._connections is not None:
            report["requests_in_flight"] = self._connections.in_flight
        if self._escalations:
            report["escalations"] = list(self._escalations)
        if self._life.stragglers:
            report["stragglers"] = list(self._life.stragglers)
        if self._life.errors:
            report["teardown_errors"] = list(self._life.errors)
        return report

    def ready(self) -> bool:
        """Readiness: booted and not draining (a load balancer may send traffic)."""
        return self._state == _RUNNING

    def public_health(self) -> Dict[str, Any]:
        """What the HTTP health endpoint shows: statuses only, no error text
        (which may carry internals) unless the app runs in debug mode."""
        full = self.health()
        if self._debug():
            return full
        report = {"status": full["status"],
                  "services": {name: {"status": h.get("status"), "restarts": h.get("restarts", 0)}
                               for name, h in full["services"].items()}}
        skipped = self.project.skipped_apps if self.project is not None else None
        if skipped:
            report["skipped_apps"] = sorted(skipped)
        return report

    def enable_health_endpoint(self, rule: str = "/_spoc/health") -> "Runtime":
        """Serve :meth:`public_health` as JSON at ``rule`` (503 unless ok),
        plus Kubernetes-style probes: ``<rule>/live`` (200 while the process
        serves) and ``<rule>/ready`` (200 only when booted and not draining)."""
        if self._app is None:
            raise RuntimeError("enable_health_endpoint() needs a Flask app.")
        from flask import jsonify

        from .web.http import error_response

        def spoc_health() -> Any:
            try:
                report = self.public_health()
            except Exception as exc:
                return error_response(exc)
            return jsonify(report), (200 if report["status"] == "ok" else 503)

        def spoc_live() -> Any:
            return jsonify({"status": "alive"}), 200

        def spoc_ready() -> Any:
            ready = self.ready()
            return jsonify({"status": "ready" if ready else self._state}), (200 if ready else 503)

        base = rule.rstrip("/")
        self._app.add_url_rule(rule, "spoc_health", spoc_health, methods=["GET"])
        self._app.add_url_rule(f"{base}/live", "spoc_health_live", spoc_live, methods=["GET"])
        self._app.add_url_rule(f"{base}/ready", "spoc_health_ready", spoc_ready, methods=["GET"])
        return self

    def tree(self) -> Dict[str, Any]:
        """The ownership tree: runtime -> services/controllers -> what they own."""
        adopted = [c.tree() for c in self._life.children() if isinstance(c, Service)]
        return {"name": self.name, "type": "Runtime", "state": self._state, "running": self.booted,
                "greenlets": sorted(label_of(g) for g in self._life.live_greenlets()),
                "owned": [s.tree() for s in self._services] + adopted}

    def get_component(self, type_name: str, name: str) -> Any:
        """SPOC's lookup: the component registered as ``name`` under ``type_name``
        (None when absent, or when the runtime has no project)."""
        if self.project is None:
            return None
        return self.project.get_component(type_name, name)

    def __enter__(self) -> "Runtime":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        return f"<Runtime {self.name!r} {self._state}>"


ServiceManager = Runtime
"""SPECTER's name for :class:`Runtime`, kept so code written for SPECTER
runs unchanged; new code should say ``Runtime``."""
