"""The console's live side: a Service owning everything the console runs,
and the ``/_spoc`` Socket.IO namespace it pushes snapshots on.

Cost model (why it is shaped like this): with no console client connected
nothing runs per request or per bus event; the error log only acts on
ERROR records and crashes, the dead-letter store only on dead letters.
The first authenticated client installs the bus tap and spawns the pusher
greenlet; the last one leaving removes both. The pusher is spawned by
:class:`ConsoleService`, which the runtime owns, so ``shutdown()`` joins it.

With a Redis URL (several worker processes) one extra owned greenlet checks
once per ``interval`` whether any process has a console open, and publishes
this process's snapshot only then (see :mod:`.cluster`).
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Protocol, Set, cast

from gevent.event import Event

from ..lifecycle.service import Service
from ..typing import AnyGreenlet
from ..wiring import signals
from .actions import ActionError, dead_letters, purge, queue_names, requeue, restart_service
from .auth import ConsoleAuth
from .collect import CONSOLE_NAMESPACE, BusRates, Collector, ErrorLog, owns, process_identity, walk_services
from .deadletters import MemoryDeadLetters, redis_backend_of

__all__ = ["ConsoleService", "CONSOLE_NAMESPACE", "SNAPSHOT_EVENT"]

logger: logging.Logger = logging.getLogger("specter_spoc.console")

#: event carrying ``{"processes": [...], "self": id, "actions": bool}`` to console clients
SNAPSHOT_EVENT = "snapshot"
#: event a console client sends to act: ``{"action": "restart", "service": name}`` etc.
ACTION_EVENT = "action"


class ConsoleService(Service):
    """Owns the console's work in one process (registered on the runtime)."""

    priority = -1000  # up first, down last: it watches the others stop
    #: the page's URL path (set by install_console)
    rule: str = "/_spoc/console"

    def __init__(self, runtime: Any, auth: ConsoleAuth, *, actions: bool, interval: float = 1.0,
                 redis_url: Optional[str] = None, name: str = "spoc-console") -> None:
        super().__init__(name)
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval <= 0:
            raise ValueError(f"install_console(interval=...) must be seconds > 0, got {interval!r}.")
        self.runtime = runtime
        self.auth = auth
        self.actions_enabled: bool = bool(actions)
        self.period: float = float(interval)
        self.redis_url = redis_url
        self.identity: Dict[str, Any] = process_identity(runtime)
        # crashes of this runtime's services; ERROR records of specter_spoc and of the app's logger
        self.errors: ErrorLog = ErrorLog(loggers=("specter_spoc", runtime.app.logger.name),
                               accept=lambda sender: owns(runtime, sender))
        self.bus_rates: BusRates = BusRates(runtime.bus)
        self.collector: Collector = Collector(runtime, errors=self.errors, bus_rates=self.bus_rates, identity=self.identity)
        self.room: str = f"console:{self.identity['id']}"
        self.watchers: Set[str] = set()
        self.directory: Any = None
        self._pusher: Optional[AnyGreenlet] = None
        self._wake = Event()

    # ------------------------------------------------------------ lifecycle
    def on_start(self) -> None:
        self.errors.start()
        self.add_cleanup(self.errors.stop)
        for service in walk_services(self.runtime):
            self._keep_dead_letters(service)
        signals.service_started.connect(self._on_service_started, weak=False)
        self.add_cleanup(lambda: signals.service_started.disconnect(self._on_service_started))
        self.add_cleanup(self._stop_watching)
        if self.redis_url:
            from .cluster import ProcessDirectory

            self.directory = ProcessDirectory(self.redis_url, self.runtime.app.name, self.identity["id"],
                                              interval=self.period)
            self.add_cleanup(self.directory.close)
            self.add_cleanup(lambda: self.directory.withdraw(self.identity))
            self.spawn(self._presence_loop, label="presence")

    def _on_service_started(self, sender: Any, **_: Any) -> None:
        self._keep_dead_letters(sender)
        self._wake.set()

    def _keep_dead_letters(self, service: Any) -> None:
        if callable(getattr(service, "enqueue", None)) and callable(getattr(service, "stats", None)) \
                and redis_backend_of(service) is None:
            MemoryDeadLetters.attach(service)

    # -------------------------------------------------------------- watchers
    def client_connected(self, sid: str) -> None:
        first = not self.watchers
        self.watchers.add(sid)
        if first and self.running:
            self.bus_rates.start()
            for signal in (signals.service_stopped, signals.service_crashed):
                signal.connect(self._on_change, weak=False)
            self._pusher = self.spawn(self._push_loop, label="pusher")
        self._wake.set()

    def client_gone(self, sid: str) -> None:
        self.watchers.discard(sid)
        if not self.watchers:
            self._stop_watching()

    def _stop_watching(self) -> None:
        self.watchers.clear()
        pusher, self._pusher = self._pusher, None
        if pusher is not None:
            self.cancel_greenlet(pusher)
        for signal in (signals.service_stopped, signals.service_crashed):
            signal.disconnect(self._on_change)
        self.bus_rates.stop()

    def _on_change(self, sender: Any, **_: Any) -> None:
        self._wake.set()

    # ---------------------------------------------------------------- views
    def view(self) -> Dict[str, Any]:
        """Every process's snapshot (this one first, fresh)."""
        own = self.collector.snapshot()
        processes: List[Dict[str, Any]] = [own]
        if self.directory is not None:
            self.directory.mark_watching()  # someone looks (page, API, CLI): every process reports
            self.directory.publish(own)
            processes = self.directory.processes(own)
        return {"self": self.identity["id"], "actions": self.actions_enabled,
                "interval": self.period, "processes": processes}

    def _push_loop(self) -> None:
        socketio = self.runtime.socketio
        while True:
            self._wake.clear()
            try:
                socketio.emit(SNAPSHOT_EVENT, self.view(), namespace=CONSOLE_NAMESPACE, to=self.room)
            except Exception:
                logger.exception("console: building or sending a snapshot failed; retrying in %.1fs",
                                 self.period)
            self._wake.wait(self.period)
            if self._wake.is_set():  # a burst of changes: one snapshot for all of them
                self._wake.wait(0.05)

    def _presence_loop(self) -> None:
        """Publish this process's snapshot (with bus rates: the tap is on
        meanwhile) while another process has a console open."""
        import gevent

        last_problem = ""
        while True:
            try:
                if not self.watchers:
                    if self.directory.someone_watching():
                        self.bus_rates.start()
                        self.directory.publish(self.collector.snapshot())
                    else:
                        self.bus_rates.stop()
            except Exception as exc:  # e.g. Redis refusing a command: say it once, keep reporting
                problem = f"{type(exc).__name__}: {exc}"
                if problem != last_problem:
                    logger.exception("console: publishing this process's snapshot to Redis failed")
                    last_problem = problem
            gevent.sleep(self.period)

    # -------------------------------------------------------------- actions
    def act(self, request: Dict[str, Any]) -> Dict[str, Any]:
        """Run one action (socket or HTTP); raises ActionError for bad requests."""
        if not isinstance(request, dict):
            raise ActionError('an action is an object like {"action": "restart", "service": "mailer"}')
        action = request.get("action")
        if action == "queues":
            return {"queues": queue_names(self.runtime)}
        if action == "dead":
            return {"queue": request.get("queue"),
                    "dead": dead_letters(self.runtime, str(request.get("queue")), int(request.get("count", 100)))}
        if action not in ("restart", "requeue", "purge"):
            raise ActionError(f"unknown action {action!r}; use restart, requeue, purge, dead or queues")
        if not self.actions_enabled:
            raise ActionError("console actions are disabled: set CONSOLE_ACTIONS = True (or "
                              "install_console(actions=True)) to allow restart/requeue/purge", 403)
        if action == "restart":
            result = restart_service(self.runtime, str(request.get("service")))
        elif action == "requeue":
            result = requeue(self.runtime, str(request.get("queue")), request.get("ids"))
        else:
            result = purge(self.runtime, str(request.get("queue")), request.get("ids"))
        self._wake.set()
        return result


class _SocketIORequest(Protocol):
    """What Flask-SocketIO sets on ``flask.request`` while it dispatches a
    Socket.IO event (Flask's own type does not declare it)."""

    sid: str


def register_namespace(console: ConsoleService) -> None:
    """The ``/_spoc`` handlers: refuse unauthenticated or cross-origin
    clients, track watchers, answer actions with an ack."""
    from flask import request
    from flask_socketio import join_room
    from socketio.exceptions import ConnectionRefusedError

    socketio = console.runtime.socketio

    def on_connect(auth: Any = None) -> Any:
        if not console.running or console.runtime.draining:
            raise ConnectionRefusedError("the runtime console is not running")
        if not console.auth.allows(request, auth):
            logger.warning("console: refused a Socket.IO client from %s (no valid credentials or cross-origin)",
                           request.remote_addr)
            raise ConnectionRefusedError("unauthorized: the runtime console needs its token "
                                         '(Socket.IO auth {"token": ...}) and the same origin')
        join_room(console.room)
        console.client_connected(cast(_SocketIORequest, request).sid)
        return True

    def on_disconnect(*_: Any) -> None:
        console.client_gone(cast(_SocketIORequest, request).sid)

    def on_action(data: Any = None) -> Dict[str, Any]:
        try:
            return {"ok": True, "result": console.act(data)}
        except ActionError as exc:
            return {"ok": False, "error": str(exc), "status": exc.status}
        except (TypeError, ValueError) as exc:
            return {"ok": False, "error": f"bad action request: {exc}", "status": 400}

    socketio.on_event("connect", on_connect, namespace=CONSOLE_NAMESPACE)
    socketio.on_event("disconnect", on_disconnect, namespace=CONSOLE_NAMESPACE)
    socketio.on_event(ACTION_EVENT, on_action, namespace=CONSOLE_NAMESPACE)
