"""The Runtime: one per Flask app, root owner of everything that runs.

``boot(app, socketio, ...)`` builds it from an app factory (SPECTER's
``ServiceManager`` role; the name stays as an alias). It

1. gives the app its own scope (bus, registry, app context) — two apps in one
   process never share them;
2. starts services and controllers in registration order, honouring
   ``priority`` (lower first, stable), then sets up socket handlers;
3. rolls back on failure: whatever had started is stopped in reverse order,
   then :class:`BootError` names what failed — no half-booted app;
4. installs teardown triggers (atexit, SIGTERM, gunicorn worker exit).

``shutdown()`` drains (routes answer 503, new sockets are refused), sends
connected Socket.IO clients a final event and disconnects them, tears down
handlers and controllers, then services, in reverse start order, all under
one shared deadline.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Dict, Iterable, List, Optional

import gevent
from gevent.event import Event
from flask import jsonify
from werkzeug.exceptions import HTTPException

from .lifecycle.service import Service
from .web.connections import ConnectionTracker
from .web.controller import Controller
from .web.handler import INGRESS_KEY
from .web.http import error_response
from .web.ingress import SocketIngress
from .web.triggers import PRELOAD_MESSAGE, Triggers, gunicorn_role
from .wiring import signals
from .wiring.scope import EXTENSION_KEY, Scope

logger = logging.getLogger("specter_spoc.runtime")

#: event every connected client receives just before the server disconnects it
SHUTDOWN_EVENT = "server_shutdown"
#: seconds shutdown waits for clients to fetch that event (long-polling ones poll for it)
FLUSH_TIMEOUT = 1.0


class BootError(RuntimeError):
    """Boot failed; everything that had started was stopped again."""


class Runtime(Service):
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

    def __init__(self, app: Any = None, socketio: Any = None, *, name: Optional[str] = None,
                 shutdown_timeout: Optional[float] = None) -> None:
        super().__init__(name or (f"runtime:{app.import_name}" if app is not None else "runtime"))
        if app is not None and EXTENSION_KEY in app.extensions:
            raise BootError(f"Flask app {app.import_name!r} already has a runtime "
                            f"(app.extensions[{EXTENSION_KEY!r}]); boot() each app once.")
        if shutdown_timeout is not None:
            self.shutdown_timeout = float(shutdown_timeout)
        self._app = app
        self._socketio = socketio
        self._scope = Scope(self.name, enter=app.app_context if app is not None else None, owner=self)
        self._ingress = SocketIngress(scope=self._scope, gate=self._socket_gate, debug=self._debug)
        self._services: List[Service] = []
        self._handlers: List[Any] = []
        self._started: List[Service] = []
        self._live_handlers: List[Any] = []
        self._booted = False
        self.draining = False
        self._shutdown_done: Optional[Event] = None
        self._triggers = Triggers(self)
        self._child_failures: List[str] = []
        self.project: Any = None
        self._connections: Optional[ConnectionTracker] = None
        if app is not None:
            app.extensions[EXTENSION_KEY] = self
            path = (getattr(socketio, "server_options", None) or {}).get("path", "socket.io")
            self._connections = ConnectionTracker(app.wsgi_app, lambda: self.draining, socketio_path=path)
            app.wsgi_app = self._connections  # type: ignore[method-assign]

    # ------------------------------------------------------------ properties
    def _scope_for_start(self) -> Scope:
        return self._scope  # type: ignore[return-value]

    @property
    def app(self) -> Any:
        return self._app

    @property
    def socketio(self) -> Any:
        return self._socketio

    @property
    def socket_ingress(self) -> SocketIngress:
        return self._ingress

    @property
    def booted(self) -> bool:
        return self._booted

    @property
    def bus(self) -> Any:
        return self._scope.bus  # type: ignore[union-attr]

    @property
    def registry(self) -> Any:
        return self._scope.registry  # type: ignore[union-attr]

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
    def settings(self) -> Any:
        """The project's settings (secrets masked in its repr), or None."""
        return self.project.settings if self.project is not None else None

    def _debug(self) -> bool:
        return bool(self._app is not None and self._app.debug)

    # ---------------------------------------------------------- registration
    def register_service(self, service: Service) -> "Runtime":
        """Add a service; started at boot, or now when already booted."""
        if not isinstance(service, Service) or isinstance(service, Runtime):
            raise TypeError(f"register_service() needs a Service instance, got {type(service).__name__}. "
                            "Instantiate your class: register_service(MyService()).")
        if any(s is service for s in self._services):
            return self
        if any(s.name == service.name for s in self._services):
            raise ValueError(f"a service named {service.name!r} is already registered; give each "
                             "service a unique name.")
        service._owner = self
        self._services.append(service)
        if self._booted:
            with self._scope.activate():  # type: ignore[union-attr]
                self._start_service(service)
        return self

    def register_controller(self, controller: Controller, *, url_prefix: Optional[str] = None) -> "Runtime":
        """Add a controller: its blueprint is registered on the app now, its
        socket events when it starts."""
        if not isinstance(controller, Controller):
            raise TypeError(f"register_controller() needs a Controller instance, got {type(controller).__name__}.")
        controller._runtime = self
        with self._scope.activate():  # type: ignore[union-attr]
            blueprint = controller.build_blueprint(url_prefix)
            if self._app is not None:
                self._check_duplicate_routes(controller)
                self._app.register_blueprint(blueprint)
            if self._socketio is not None:
                controller.build_handler(self._socketio)
        return self.register_service(controller)

    def register_handler(self, handler: Any) -> "Runtime":
        """Add a socket Handler (anything with setup(socketio)/teardown())."""
        if not callable(getattr(handler, "setup", None)) or not callable(getattr(handler, "teardown", None)):
            raise TypeError(f"register_handler() needs a Handler (with setup()/teardown()), "
                            f"got {type(handler).__name__}.")
        self._handlers.append(handler)
        if self._booted and self._socketio is not None:
            with self._scope.activate():  # type: ignore[union-attr]
                handler.setup(self._socketio)
                self._live_handlers.append(handler)
        return self

    def _check_duplicate_routes(self, controller: Controller) -> None:
        """[SPC009] a rule+method the app already serves is a BootError naming
        both owners (variable parts compare by position: <int:id> = <slug>)."""
        router = controller.router
        if router is None or self._app is None:
            return
        from .project.checks import find_duplicate_routes

        served = [(rule.endpoint.split(".", 1)[0], rule.rule, rule.methods)
                  for rule in self._app.url_map.iter_rules()]
        prefix = (router.url_prefix or "").rstrip("/")
        mine = [(controller.name, prefix + spec.rule if prefix else spec.rule or "/", spec.methods)
                for _, spec in router.specs()]
        problems = find_duplicate_routes(served + mine)
        if problems:
            raise BootError(str(problems[0]))

    def _warn_duplicate_events(self) -> None:
        """[SPC010] Two controllers handling one socket event is legal (the
        ingress fans out) but usually an accident: say so once at boot."""
        from .project.checks import find_duplicate_events

        events = [(service.name, event, None) for service in self._services
                  if isinstance(service, Controller) and service._socketio is not None
                  for event in service.create_handler().event_names()]
        for problem in find_duplicate_events(events):
            logger.warning("%s", problem)

    # -------------------------------------------------------------- booting
    def boot(self) -> "Runtime":
        """Start everything in order; on failure roll back and raise BootError."""
        if self._booted:
            return self
        if gunicorn_role() == "master":
            raise BootError(PRELOAD_MESSAGE)
        self._shutdown_done = None
        self.draining = False
        Service.start(self)
        try:
            with self._scope.activate():  # type: ignore[union-attr]
                self.registry.provide("service_manager", self, owner=self, replace=True)
                self.registry.provide("runtime", self, owner=self, replace=True)
                self.registry.provide(INGRESS_KEY, self._ingress, owner=self, replace=True)
                if self._socketio is not None:
                    self._ingress.attach(self._socketio)
                self._warn_duplicate_events()
                self._start_pending()
                if self._socketio is not None:
                    for handler in self._handlers:
                        self._setup_handler(handler)
        except BaseException as exc:
            self._rollback()
            if isinstance(exc, BootError):
                raise
            raise BootError(f"boot failed: {exc}") from exc
        self._booted = True
        signals.runtime_booted.send(self)
        logger.info("runtime %r booted: %d services, %d handlers", self.name, len(self._started),
                    len(self._live_handlers))
        return self

    def _start_pending(self) -> None:
        """Start registered services not started yet, by (priority, registration
        order). Repeats, because starting one (e.g. the project's hooks) may
        register more; those start in the same boot."""
        attempted: set = set()
        while True:
            pending = [(s.priority, i, s) for i, s in enumerate(self._services) if id(s) not in attempted]
            if not pending:
                return
            for _, _, service in sorted(pending, key=lambda t: (t[0], t[1])):
                attempted.add(id(service))
                self._start_service(service)

    def _start_service(self, service: Service) -> None:
        try:
            service.start()
        except Exception as exc:
            if service.optional:
                service._failed = f"failed to start: {type(exc).__name__}: {exc}"
                logger.error("runtime %r: optional service %r failed to start (%s: %s); serving without it",
                             self.name, service.name, type(exc).__name__, exc)
                return
            raise BootError(f"service {service.name!r} ({type(service).__name__}) failed to start: "
                            f"{type(exc).__name__}: {exc}") from exc
        except BaseException as exc:
            raise BootError(f"service {service.name!r} ({type(service).__name__}) failed to start: "
                            f"{type(exc).__name__}: {exc}") from exc
        self._started.append(service)
        self.registry.provide(service.name, service, replace=True)

    def _setup_handler(self, handler: Any) -> None:
        try:
            handler.setup(self._socketio)
        except BaseException as exc:
            raise BootError(f"handler {getattr(handler, 'name', handler)!r} failed to set up: "
                            f"{type(exc).__name__}: {exc}") from exc
        self._live_handlers.append(handler)

    def _rollback(self) -> None:
        logger.error("runtime %r: boot failed; stopping the %d started services in reverse order",
                     self.name, len(self._started))
        deadline = time.monotonic() + self.shutdown_timeout
        with self._scope.activate():  # type: ignore[union-attr]
            self._teardown_parts(deadline)
            Service._stop(self, deadline)

    def install_triggers(self, *, signals: Optional[bool] = None) -> "Runtime":
        """Install atexit and signal triggers (boot() does this)."""
        self._triggers.install(signals=signals)
        return self

    # ------------------------------------------------------------- shutdown
    def shutdown(self, timeout: Optional[float] = None) -> "Runtime":
        """Drain, disconnect clients, stop everything in reverse; idempotent.
        A second caller waits for the shutdown in progress."""
        if self._shutdown_done is not None:
            if not self._shutdown_done.is_set():
                self._shutdown_done.wait(timeout if timeout is not None else self.shutdown_timeout)
            return self
        if not self._booted and not self.running:
            return self
        done = self._shutdown_done = Event()
        deadline = time.monotonic() + (self.shutdown_timeout if timeout is None else float(timeout))
        self.draining = True
        signals.runtime_shutting_down.send(self)
        try:
            with self._scope.activate():  # type: ignore[union-attr]
                self._before_shutdown(deadline)
                self._disconnect_clients(deadline)
                self._stop_socketio_tasks()
                self._teardown_parts(deadline)
                if self._connections is not None:
                    self._connections.close_idle()
                self._after_shutdown(deadline)
                Service._stop(self, deadline)
        finally:
            self._triggers.uninstall()
            self._booted = False
            done.set()
        logger.info("runtime %r shut down", self.name)
        return self

    def stop(self) -> "Runtime":
        return self.shutdown()

    def _before_shutdown(self, deadline: float) -> None:
        """Hook for project plugins (run first at shutdown)."""

    def _after_shutdown(self, deadline: float) -> None:
        """Hook for project layout hooks (run after everything stopped)."""

    def _teardown_parts(self, deadline: float) -> None:
        while self._live_handlers:
            handler = self._live_handlers.pop()
            try:
                handler.teardown()
            except Exception:
                logger.exception("runtime %r: handler %r teardown raised", self.name, handler)
        # controllers (the web edge) first, then the services behind them
        controllers = [s for s in reversed(self._started) if isinstance(s, Controller)]
        others = [s for s in reversed(self._started) if not isinstance(s, Controller)]
        for service in controllers + others:
            try:
                service._stop(deadline)
            except Exception:
                logger.exception("runtime %r: stopping %r raised", self.name, service)
            if self.registry.resolve(service.name) is service:
                self.registry.unregister(service.name)
        self._started.clear()

    def connected_clients(self) -> int:
        """Socket.IO clients connected to this process."""
        server = getattr(self._socketio, "server", None)
        eio = getattr(server, "eio", None)
        return len(getattr(eio, "sockets", {}) or {})

    def _disconnect_clients(self, deadline: float) -> None:
        """Send every local client the final event, then close each session
        without waiting for it to acknowledge: a long-polling client whose
        listener is already closed would never fetch the close packet."""
        server = getattr(self._socketio, "server", None)
        eio = getattr(server, "eio", None)
        if eio is None or not self.connected_clients():
            return
        payload = {"reason": "shutdown", "reconnect": True}
        with gevent.Timeout(max(0.01, deadline - time.monotonic()), False):
            try:
                for namespace in list(server.manager.get_namespaces()):
                    server.emit(SHUTDOWN_EVENT, payload, namespace=namespace, ignore_queue=True)
                # let the final event reach the transports: websocket writers
                # flush at once; a long-polling client fetches it on its next
                # poll (its request passes the draining 503, see ConnectionTracker)
                flush_until = time.monotonic() + min(FLUSH_TIMEOUT, max(0.0, deadline - time.monotonic()) / 2)
                gevent.sleep(0)
                while time.monotonic() < flush_until and any(
                        getattr(session, "queue", None) is not None and session.queue.qsize()
                        for session in list(eio.sockets.values())):
                    gevent.sleep(0.01)
                for sid, session in list(eio.sockets.items()):
                    session.close(wait=False, reason=eio.reason.SERVER_DISCONNECT)
                    eio.sockets.pop(sid, None)
            except Exception:
                logger.exception("runtime %r: disconnecting Socket.IO clients failed", self.name)
        gevent.sleep(0)

    def _stop_socketio_tasks(self) -> None:
        """python-socketio's own shutdown: stops Engine.IO's background service
        task (its docs: call it before the web server stops)."""
        server = getattr(self._socketio, "server", None)
        stop = getattr(server, "shutdown", None)
        if callable(stop):
            try:
                stop()
            except Exception:
                logger.exception("runtime %r: stopping Socket.IO background tasks failed", self.name)

    # --------------------------------------------------------------- gating
    def _socket_gate(self) -> Optional[str]:
        return "the server is shutting down" if self.draining else None

    # -------------------------------------------------------------- health
    def _child_crashed(self, child: Service, exc: BaseException) -> None:
        """A top-level service escalated a crash: record it (the runtime keeps serving)."""
        self._child_failures.append(f"{child.name}: {type(exc).__name__}: {exc}")
        del self._child_failures[:-20]
        self._last_error = self._child_failures[-1]
        self._crashes += 1
        logger.error("runtime %r: service %r escalated %s: %s", self.name, child.name, type(exc).__name__, exc)
        signals.service_crashed.send(self, error=exc, label=f"child {child.name!r}", action="escalate")

    def health(self) -> Dict[str, Any]:
        """Aggregate health: the worst service status wins."""
        services = {s.name: s.health() for s in self._services}
        statuses = [h.get("status", "ok") for h in services.values()]
        if self.draining:
            status = "draining"
        elif not self._booted:
            status = "stopped"
        elif "failed" in statuses or any(h.get("running") is False for h in services.values()):
            status = "degraded"
        elif "degraded" in statuses or self._child_failures:
            status = "degraded"
        else:
            status = "ok"
        report: Dict[str, Any] = {
            "status": status,
            "name": self.name,
            "booted": self._booted,
            "draining": self.draining,
            "services": services,
            "handlers": [getattr(h, "name", repr(h)) for h in self._handlers],
            "clients": self.connected_clients(),
        }
        if self._child_failures:
            report["escalations"] = list(self._child_failures)
        return report

    def public_health(self) -> Dict[str, Any]:
        """What the HTTP health endpoint shows: statuses only, no error text
        (which may carry internals) unless the app runs in debug mode."""
        full = self.health()
        if self._debug():
            return full
        report = {"status": full["status"],
                  "services": {name: {"status": h.get("status"), "restarts": h.get("restarts", 0)}
                               for name, h in full["services"].items()}}
        if self.project is not None and self.project.skipped_apps:
            report["skipped_apps"] = sorted(self.project.skipped_apps)
        return report

    def enable_health_endpoint(self, rule: str = "/_spoc/health") -> "Runtime":
        """Serve :meth:`public_health` as JSON at ``rule`` (503 unless ok)."""
        if self._app is None:
            raise RuntimeError("enable_health_endpoint() needs a Flask app.")

        def spoc_health() -> Any:
            try:
                report = self.public_health()
            except Exception as exc:
                return error_response(exc)
            return jsonify(report), (200 if report["status"] == "ok" else 503)

        self._app.add_url_rule(rule, "spoc_health", spoc_health, methods=["GET"])
        return self

    def tree(self) -> Dict[str, Any]:
        return {"name": self.name, "type": "Runtime", "running": self.running,
                "owned": [s.tree() for s in self._started]}

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


#: SPECTER's name for the runtime
ServiceManager = Runtime


def boot(app: Any, socketio: Any, *, services: Optional[Iterable[Service]] = None,
         handlers: Optional[Iterable[Any]] = None, controllers: Optional[Iterable[Controller]] = None,
         project: Any = None, mode: Optional[str] = None, shutdown_timeout: Optional[float] = None,
         health_endpoint: Optional[str] = None, install_signals: Optional[bool] = None) -> Runtime:
    """Build and boot the runtime of ``app`` (call it from the app factory).

    ``project`` (a project directory, settings module, or a loaded Project)
    boots a SPOC-style project: its apps' Services, QueueServices,
    Controllers and Handlers are instantiated and started in app order.
    ``health_endpoint`` serves a JSON health report at that rule.
    """
    runtime = Runtime(app, socketio, shutdown_timeout=shutdown_timeout)
    try:
        if project is not None:
            from .project.runtime_glue import attach_project
            attach_project(runtime, project, mode=mode)
        for service in services or ():
            runtime.register_service(service)
        for controller in controllers or ():
            runtime.register_controller(controller)
        for handler in handlers or ():
            runtime.register_handler(handler)
        if health_endpoint:
            runtime.enable_health_endpoint(health_endpoint)
        runtime.boot()
    except BaseException:
        if app is not None and app.extensions.get(EXTENSION_KEY) is runtime:
            del app.extensions[EXTENSION_KEY]
        if project is not None:
            from .project.runtime_glue import detach_project
            detach_project(runtime)
        raise
    runtime.install_triggers(signals=install_signals)
    return runtime


# ---------------------------------------------------------------- app factory
#: request body limit (Flask MAX_CONTENT_LENGTH) when the settings give none
DEFAULT_MAX_CONTENT_LENGTH = 1 * 1024 * 1024
#: Socket.IO message size limit (engine.io max_http_buffer_size) by default
DEFAULT_SOCKET_MAX_PAYLOAD = 1 * 1024 * 1024


def create_app(project: Any = None, *, mode: Optional[str] = None, config: Optional[Dict[str, Any]] = None,
               **socketio_options: Any) -> Any:
    """Build, configure and boot the Flask app of a SPOC-style project.

    Settings become Flask config (upper-case names). Secure defaults:

    - production mode without ``SECRET_KEY`` refuses to boot ([SPC011]);
      development and test get a random per-process key and a warning;
    - Socket.IO accepts same-origin connections only unless
      ``CORS_ALLOWED_ORIGINS`` lists origins (``"*"`` is honoured but warned
      about in production);
    - request bodies are limited to ``MAX_CONTENT_LENGTH`` (1 MiB) and socket
      messages to ``SOCKETIO_MAX_PAYLOAD`` (1 MiB);
    - ``REDIS_URL`` / ``SOCKETIO_MESSAGE_QUEUE`` wire Socket.IO's message
      queue so emits reach clients of every worker;
    - ``BUS_SHARED_EVENTS`` (with ``REDIS_URL``) shares those bus events with
      every process, ``QUEUE_BACKEND = "redis"`` keeps QueueService items in
      Redis Streams (see :mod:`specter_spoc.contrib.redis.settings`).

    Returns the app; ``app.extensions["specter_spoc"]`` is the runtime and
    ``app.extensions["socketio"]`` the SocketIO. A project loaded here is
    closed (its sys.path entries and modules removed) after shutdown.
    """
    from .project.loader import load_project

    loaded_here = not hasattr(project, "installed_apps")
    proj = load_project(project, mode=mode) if loaded_here else project
    try:
        app = _configured_app(proj, config, socketio_options)
    except BaseException:
        if loaded_here:
            proj.close()
        raise
    if loaded_here:
        app.extensions[EXTENSION_KEY].add_cleanup(proj.close)  # closed after shutdown
    return app


def _configured_app(proj: Any, config: Optional[Dict[str, Any]], socketio_options: Dict[str, Any]) -> Any:
    import secrets

    from flask import Flask
    from flask_socketio import SocketIO

    settings = proj.settings
    app = Flask(str(getattr(settings, "APP_NAME", None) or "specter_spoc_app"), root_path=str(proj.base_dir))
    for key in dir(settings):
        if key.isupper():
            app.config[key] = getattr(settings, key)
    app.config.update(config or {})
    if app.config.get("MAX_CONTENT_LENGTH") is None:  # Flask's default config holds None
        app.config["MAX_CONTENT_LENGTH"] = DEFAULT_MAX_CONTENT_LENGTH
    app.config["SPOC_MODE"] = proj.mode
    # DEBUG from settings.py/config wins over spoc.toml's [spoc] debug
    explicit = hasattr(settings, "DEBUG") or "DEBUG" in (config or {})
    wants_debug = app.config.get("DEBUG") if explicit else getattr(proj, "debug", False)
    app.debug = bool(wants_debug) and proj.mode != "production"  # never debug pages in production
    app.register_error_handler(HTTPException, _http_error_as_json)
    if not app.config.get("SECRET_KEY"):
        if proj.mode == "production":
            raise BootError("[SPC011] production mode needs a SECRET_KEY: set the SECRET_KEY environment "
                            "variable (or SECRET_KEY in settings.py / .env), e.g. "
                            "SECRET_KEY=$(python -c 'import secrets; print(secrets.token_hex(32))').")
        logger.warning("no SECRET_KEY configured; using a random key for this %s process "
                       "(sessions will not survive a restart)", proj.mode)
        app.config["SECRET_KEY"] = secrets.token_hex(32)
    origins = app.config.get("CORS_ALLOWED_ORIGINS")
    if origins == "*" and proj.mode == "production":
        logger.warning("CORS_ALLOWED_ORIGINS='*': any web page may open Socket.IO connections to this app")
    payload_limit = int(app.config.get("SOCKETIO_MAX_PAYLOAD") or DEFAULT_SOCKET_MAX_PAYLOAD)
    options: Dict[str, Any] = {
        "async_mode": "gevent",
        "cors_allowed_origins": origins if origins else None,
        "max_http_buffer_size": payload_limit,
    }
    queue_url = app.config.get("SOCKETIO_MESSAGE_QUEUE") or app.config.get("REDIS_URL")
    if queue_url:
        options["message_queue"] = queue_url
    options.update(socketio_options)
    socketio = SocketIO(app, **options)
    health = app.config.get("HEALTH_ENDPOINT")
    if health is None and proj.mode != "production":
        health = "/_spoc/health"
    services: List[Service] = []
    if app.config.get("BUS_SHARED_EVENTS") or app.config.get("QUEUE_BACKEND"):
        # Redis bus bridge / durable queue backend (specter_spoc.contrib.redis.settings)
        from .contrib.redis.settings import redis_services
        services = redis_services(app.config, app.name)
    runtime = boot(app, socketio, project=proj, services=services, health_endpoint=health or None,
                   shutdown_timeout=app.config.get("SHUTDOWN_TIMEOUT"))
    # one setting, two limits: the ingress answers an error ack just below the
    # size at which Engine.IO drops the connection (its packet framing counts too)
    runtime.socket_ingress.max_payload_bytes = int(payload_limit * 0.95)
    return app


def _http_error_as_json(exc: Any) -> Any:
    """Routing errors (unknown URL, wrong method, body too large) as the JSON
    envelope, except for clients that prefer HTML (a browser's page load)."""
    from flask import request
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    if best == "text/html" and not request.path.startswith("/api"):
        return exc
    response = jsonify({"error": exc.description or exc.name})
    response.status_code = exc.code or 500
    for key, value in exc.get_headers():
        if key.lower() == "allow":
            response.headers[key] = value
    return response


def serve(app: Any, host: str = "127.0.0.1", port: int = 5000, *, ready: Optional[Any] = None,
          listener: Optional[Any] = None, log: Optional[Any] = None) -> None:
    """Serve a booted app on gevent's WSGI server (websockets through
    simple-websocket, or gevent-websocket when installed) until SIGTERM or
    SIGINT, then shut the runtime down (clients get the final event) and
    stop the server.

    Call ``gevent.monkey.patch_all()`` first, as the ``specter-spoc run``
    command does. ``ready`` (an Event) is set once the server listens;
    ``listener`` is an already bound socket (then host/port are unused);
    ``log`` a logger for the access log (none by default).
    """
    import signal

    from .web.devserver import listen, make_server

    runtime: Runtime = app.extensions[EXTENSION_KEY]
    server = make_server(listener if listener is not None else listen(host, port), app, log=log)
    stop = Event()
    runtime._triggers.uninstall()  # this loop owns the signals now
    watchers = [gevent.signal_handler(sig, stop.set) for sig in (signal.SIGTERM, signal.SIGINT)]
    try:
        server.start()
        logger.info("serving %s on http://%s:%d (mode %s)", runtime.name, server.server_host, server.server_port,
                       app.config.get("SPOC_MODE", "?"))
        if ready is not None:
            ready.set()
        stop.wait()
    finally:
        for watcher in watchers:
            watcher.cancel()
        server.close()  # stop accepting
        runtime.shutdown()
        server.stop(timeout=2)
