"""Building and serving an app: ``boot()``, ``create_app()``, ``serve()``.

- :func:`boot` is what an app factory calls: it builds the app's
  :class:`~specter_spoc.runtime.Runtime`, attaches a SPOC-style project when
  given one, registers services, controllers and handlers, and boots it.
- :func:`create_app` is the app factory of a SPOC-style project: settings
  become Flask config, with secure defaults (a strong SECRET_KEY in
  production, same-origin Socket.IO, body and message limits, Redis wiring).
- :func:`serve` serves a booted app on gevent's WSGI server until SIGTERM or
  SIGINT (what ``specter-spoc run`` uses).

This module sits above the runtime and the project layer and joins them;
neither of those imports it.
"""
from __future__ import annotations

import logging
import secrets
import os
import socket
from types import ModuleType
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Union, cast

import gevent
from gevent.event import Event

from .lifecycle.service import Service
from .lifecycle.teardown import triggers
from .runtime import EXTENSION_KEY, BootError, Runtime
from .console import ConsoleConfigError, console_settings_from_config
from .typing import SocketIOLike
from .web.controller import Controller
from .web.handler import Handler
from .web.ingress import socket_limits
from .web.security import GENERATE_KEY_HINT, secret_key_problem

if TYPE_CHECKING:
    from flask import Flask

    from .project.project import Project

ProjectSource = Union[str, "os.PathLike[str]", ModuleType, "Project"]
"""What ``project=`` accepts: a project directory, a settings module (or its
path), or an already loaded :class:`~specter_spoc.project.Project`."""

__all__ = ["boot", "create_app", "serve", "DEFAULT_MAX_CONTENT_LENGTH", "DEFAULT_SOCKET_MAX_PAYLOAD"]

logger: logging.Logger = logging.getLogger("specter_spoc.runtime")

#: request body limit (Flask MAX_CONTENT_LENGTH) when the settings give none
DEFAULT_MAX_CONTENT_LENGTH = 1 * 1024 * 1024
#: Socket.IO message size limit (engine.io max_http_buffer_size) by default
DEFAULT_SOCKET_MAX_PAYLOAD = 1 * 1024 * 1024


def boot(app: Flask, socketio: Optional[SocketIOLike], *, services: Optional[Iterable[Service]] = None,
         handlers: Optional[Iterable[Handler]] = None, controllers: Optional[Iterable[Controller]] = None,
         project: Optional[ProjectSource] = None, mode: Optional[str] = None, layout: Any = None, echo: bool = False,
         shutdown_timeout: Optional[float] = None, start_timeout: Optional[float] = None,
         health_endpoint: Optional[str] = None, install_signals: Optional[bool] = None) -> Runtime:
    """Build and boot the runtime of ``app`` (call it from the app factory).

    ``project`` (a project directory, settings module, or a loaded Project)
    boots a SPOC-style project: its apps' Services, QueueServices,
    Controllers and Handlers are instantiated and started in app order;
    ``layout`` overrides the project's module layout (SPOC's schema) and
    ``echo`` prints the boot steps. ``health_endpoint`` serves a JSON health
    report at that rule (with ``/live`` and ``/ready`` probes below it).
    ``start_timeout`` bounds each service's ``on_start`` (default 30 s).
    """
    runtime = Runtime(app, socketio, shutdown_timeout=shutdown_timeout, start_timeout=start_timeout)
    try:
        if project is not None:
            from .project.runtime_glue import attach_project
            attach_project(runtime, project, mode=mode, **_glue_options(layout, echo))
        for service in services or ():
            runtime.register_service(service)
        for controller in controllers or ():
            runtime.register_controller(controller)
        for handler in handlers or ():
            runtime.register_handler(handler)
        if health_endpoint:
            runtime.enable_health_endpoint(health_endpoint)
        _warn_dev_server_mismatch(app, socketio)
        runtime.install_triggers(signals=install_signals)
        runtime.boot()
    except BaseException:
        if app is not None and app.extensions.get(EXTENSION_KEY) is runtime:
            del app.extensions[EXTENSION_KEY]
        if project is not None:
            from .project.runtime_glue import detach_project
            detach_project(runtime)
        raise
    return runtime


def _glue_options(layout: Any, echo: bool) -> Dict[str, Any]:
    options: Dict[str, Any] = {}
    if layout is not None:
        options["layout"] = layout
    if echo:
        options["echo"] = echo
    return options


def _warn_dev_server_mismatch(app: Flask, socketio: Optional[SocketIOLike]) -> None:
    """``flask run`` serves on Werkzeug's threaded server; an app booted in
    gevent mode there half-works (polling connects, acks never come)."""
    try:
        from .web.devserver import check_server_mode
    except ImportError:  # pragma: no cover - optional module
        return
    warning = check_server_mode(app, socketio)
    if warning:
        logger.warning("%s", warning)


# ---------------------------------------------------------------- app factory
def create_app(project: Optional[ProjectSource] = None, *, mode: Optional[str] = None,
               config: Optional[Dict[str, Any]] = None, **socketio_options: Any) -> Flask:
    """Build, configure and boot the Flask app of a SPOC-style project.

    Configuration comes from the project (environment > .env > settings.py >
    defaults) and ``config`` (highest). Secure defaults:

    - production mode refuses to boot ([SPC011], :class:`BootError`) without
      a strong ``SECRET_KEY`` (at least 32 bytes, not a placeholder);
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
    from .project.loader import Source, load_project

    loaded_here = not hasattr(project, "installed_apps")
    # a key given in code counts for the project's own production check too
    env = {"SECRET_KEY": str(config["SECRET_KEY"])} if config and config.get("SECRET_KEY") else None
    proj = load_project(cast(Source, project), mode=mode, env=env) if loaded_here else cast("Project", project)
    try:
        app = _configured_app(proj, config, socketio_options)
    except BaseException:
        if loaded_here:
            proj.close()
        raise
    if loaded_here:
        app.extensions[EXTENSION_KEY].add_cleanup(proj.close)  # closed after shutdown
    return app


def _project_config(proj: Any) -> Dict[str, Any]:
    """The project's merged configuration (environment > .env > settings.py)."""
    merged = getattr(proj, "flask_config", None)
    if callable(merged):
        return dict(merged())
    settings = proj.settings
    return {key: getattr(settings, key) for key in dir(settings) if key.isupper()}


def _configured_app(proj: Project, config: Optional[Dict[str, Any]], socketio_options: Dict[str, Any]) -> Flask:
    from flask import Flask
    from flask_socketio import SocketIO
    from werkzeug.exceptions import HTTPException

    settings = proj.settings
    app = Flask(str(getattr(settings, "APP_NAME", None) or "specter_spoc_app"), root_path=str(proj.base_dir))
    app.config.update(_project_config(proj))
    app.config.update(config or {})
    if app.config.get("MAX_CONTENT_LENGTH") is None:  # Flask's default config holds None
        app.config["MAX_CONTENT_LENGTH"] = DEFAULT_MAX_CONTENT_LENGTH
    app.config["SPOC_MODE"] = proj.mode
    # DEBUG from settings.py/config wins over spoc.toml's [spoc] debug
    explicit = hasattr(settings, "DEBUG") or "DEBUG" in (config or {})
    wants_debug = app.config.get("DEBUG") if explicit else proj.debug
    app.debug = bool(wants_debug) and proj.mode != "production"  # never debug pages in production
    app.register_error_handler(HTTPException, _http_error_as_json)
    if proj.mode == "production":
        problem = secret_key_problem(app.config.get("SECRET_KEY"))
        if problem:
            raise BootError(f"[SPC011] {problem}: {GENERATE_KEY_HINT}")
    if not app.config.get("SECRET_KEY"):
        logger.warning("no SECRET_KEY configured; using a random key for this %s process "
                       "(sessions will not survive a restart)", proj.mode)
        app.config["SECRET_KEY"] = secrets.token_hex(32)
    origins = app.config.get("CORS_ALLOWED_ORIGINS")
    if origins == "*" and proj.mode == "production":
        logger.warning("CORS_ALLOWED_ORIGINS='*': any web page may open Socket.IO connections to this app")
    payload_limit = int(app.config.get("SOCKETIO_MAX_PAYLOAD") or DEFAULT_SOCKET_MAX_PAYLOAD)
    try:
        limits = socket_limits(app.config)
    except ValueError as exc:
        raise BootError(str(exc)) from None
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
    try:  # the console and metrics settings, checked before anything starts
        console = console_settings_from_config(app.config, proj.mode)
    except ConsoleConfigError as exc:
        raise BootError(str(exc)) from None
    services: List[Service] = []
    if app.config.get("BUS_SHARED_EVENTS") or app.config.get("QUEUE_BACKEND"):
        # Redis bus bridge / durable queue backend (specter_spoc.contrib.redis.settings)
        from .contrib.redis.settings import redis_services
        services = redis_services(app.config, app.name)
    runtime = boot(app, socketio, project=proj, services=services, health_endpoint=health or None,
                   shutdown_timeout=app.config.get("SHUTDOWN_TIMEOUT"),
                   start_timeout=app.config.get("START_TIMEOUT"))
    # one setting, two limits: the ingress answers an error ack just below the
    # size at which Engine.IO drops the connection (its packet framing counts too)
    runtime.socket_ingress.max_payload_bytes = int(payload_limit * 0.95)
    runtime.socket_ingress.configure(**limits)
    try:
        console.install(runtime)  # the live console (development default) and /metrics
    except BaseException:
        runtime.shutdown()
        raise
    return app


def _http_error_as_json(exc: Any) -> Any:
    """Routing errors (unknown URL, wrong method, body too large) as the JSON
    envelope, except for clients that prefer HTML (a browser's page load)."""
    from flask import jsonify, request

    from .web.errors import error_body

    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    if best == "text/html" and not request.path.startswith("/api"):
        return exc
    body, status = error_body(exc)
    response = jsonify(body)
    response.status_code = status
    for key, value in exc.get_headers():
        if key.lower() == "allow":
            response.headers[key] = value
    return response


# ---------------------------------------------------------------- serving
def serve(app: Flask, host: str = "127.0.0.1", port: int = 5000, *, ready: Optional[Event] = None,
          listener: Optional[socket.socket] = None, log: Optional[logging.Logger] = None) -> None:
    """Serve a booted app on gevent's WSGI server (websockets through
    simple-websocket, or gevent-websocket when installed) until SIGTERM or
    SIGINT, then shut the runtime down (clients get the final event) and
    stop the server.

    Call ``gevent.monkey.patch_all()`` first, as ``specter-spoc run`` does.
    ``ready`` (an Event) is set once the server listens; ``listener`` is an
    already bound socket (host and port are then unused); ``log`` a logger
    for the access log (none by default).
    """
    import signal

    from .web.devserver import listen, make_server

    runtime: Runtime = app.extensions[EXTENSION_KEY]
    server = make_server(listener if listener is not None else listen(host, port), app, log=log)
    stop = Event()
    resume = triggers.suspend_signals()  # this loop handles SIGTERM/SIGINT while it runs
    watchers = [gevent.signal_handler(sig, stop.set) for sig in (signal.SIGTERM, signal.SIGINT)]
    try:
        server.start()
        logger.info("serving %s on http://%s:%d (mode %s)", runtime.name, server.server_host,
                    server.server_port, app.config.get("SPOC_MODE", "?"))
        if ready is not None:
            ready.set()
        stop.wait()
    finally:
        for watcher in watchers:
            watcher.cancel()
        resume()
        server.close()  # stop accepting
        runtime.shutdown()
        server.stop(timeout=2)
