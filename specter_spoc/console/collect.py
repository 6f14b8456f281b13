"""A snapshot of one running process, as the console, the CLI and the
metrics see it.

Everything here *reads* the runtime through its public surface
(``tree()``, ``health()``, ``services``, QueueService ``stats()``) plus the
Socket.IO server's room table; it changes nothing. A snapshot is a plain
JSON-able dict::

    {"process": {"id", "pid", "host", "name", "mode", "started"},
     "at": <unix time>, "status": "ok" | "degraded" | ...,
     "tree": {... ownership tree, each service node with state/health ...},
     "queues": [{"name", "pending", "in_flight", "processed_per_s", ...}],
     "sockets": {"/": {"clients": 3, "rooms": {"post:1": 2}}},
     "bus": {"posts:published": 1.5, ...}   # events per second, while watched
     "errors": [{"at", "source", "message"}]}   # the last N, masked

Per-second figures come from the difference between two snapshots of the
same :class:`Collector`; the first snapshot reports 0.
"""
from __future__ import annotations

import logging
import os
import re
import socket
import time
import uuid
from collections import deque
from typing import Any, Callable, Deque, Dict, Iterator, List, Optional, Set, Tuple

from ..project.masking import MASK, mask_text, mask_value
from ..wiring import signals

__all__ = ["Collector", "ErrorLog", "BusRates", "walk_services", "service_state", "process_identity"]

#: errors kept for the console
ERROR_LIMIT = 50
#: the console's own Socket.IO namespace (left out of the client counts)
CONSOLE_NAMESPACE = "/_spoc"


#: ``password=...`` / ``token: ...`` inside free text (error messages)
_TEXT_SECRET = re.compile(r"(?P<head>\b[\w.-]*(?:password|passwd|secret|token|api[_-]?key|credential)[\w.-]*"
                          r"\s*[=:]\s*)(?P<value>[^\s,;&'\")]+)", re.IGNORECASE)


def mask_message(text: str) -> str:
    """``text`` safe to show: URL passwords, secret query parameters and
    ``password=...``-style pairs masked."""
    return _TEXT_SECRET.sub(lambda m: m.group("head") + MASK, mask_text(text))


def process_identity(runtime: Any) -> Dict[str, Any]:
    """Who this process is: unique per process and runtime (pid reuse safe)."""
    host = socket.gethostname()
    return {"id": f"{host}:{os.getpid()}:{uuid.uuid4().hex[:6]}", "pid": os.getpid(), "host": host,
            "name": runtime.name, "mode": runtime.mode or runtime.app.config.get("SPOC_MODE"),
            "started": time.time()}


def _child_services(service: Any) -> List[Any]:
    """Services adopted by ``service`` (or by the runtime). The one place
    that reaches into the ownership core: a public ``children()`` wins."""
    children = getattr(service, "children", None)
    if callable(children):
        return [c for c in children() if callable(getattr(c, "tree", None))]
    life = getattr(service, "_life", None)
    if life is not None and callable(getattr(life, "children", None)):
        return [c for c in life.children() if callable(getattr(c, "health", None))]
    return [item for kind, item in list(getattr(service, "_stack", ())) if kind == "child"]


def walk_services(runtime: Any) -> Iterator[Any]:
    """Every service the runtime owns, depth first (top-level, then adopted children)."""
    seen: Set[int] = set()
    stack = list(reversed(list(runtime.services) + _child_services(runtime)))
    while stack:
        service = stack.pop()
        if id(service) in seen:
            continue
        seen.add(id(service))
        yield service
        stack.extend(reversed(_child_services(service)))


def owns(runtime: Any, sender: Any) -> bool:
    """True when ``sender`` is the runtime or one of the services it owns."""
    return sender is runtime or any(s is sender for s in walk_services(runtime))


def find_service(runtime: Any, name: str) -> Any:
    for service in walk_services(runtime):
        if service.name == name:
            return service
    return None


_STATES = ("starting", "running", "stopping", "stopped", "failed")


def service_state(service: Any, health: Optional[Dict[str, Any]] = None) -> str:
    """starting / running / stopping / stopped / failed."""
    health = health if health is not None else service.health()
    if health.get("status") == "failed":
        return "failed"
    state = getattr(service, "lifecycle_state", None) or health.get("state")
    if state in _STATES:
        return str(state)
    if getattr(service, "_stopping", False):
        return "stopping"
    return "running" if service.running else "stopped"


def _is_queue(service: Any) -> bool:
    return callable(getattr(service, "stats", None)) and callable(getattr(service, "pending_count", None))


class ErrorLog:
    """The last ``limit`` errors of the process: crashes of owned greenlets
    (the ``service_crashed`` signal) and ERROR log records of specter_spoc
    and the app. Text is masked (URL passwords, secret query parameters)."""

    def __init__(self, limit: int = ERROR_LIMIT, loggers: Tuple[str, ...] = ("specter_spoc",),
                 accept: Callable[[Any], bool] = lambda sender: True) -> None:
        self.entries: Deque[Dict[str, Any]] = deque(maxlen=limit)
        self._loggers = loggers
        self._accept = accept
        self._handler: Optional[logging.Handler] = None
        self._recent_errors: Deque[int] = deque(maxlen=16)

    def add(self, source: str, message: str) -> None:
        self.entries.append({"at": time.time(), "source": source, "message": mask_message(message)[:2000]})

    def _on_crash(self, sender: Any, error: Any = None, label: str = "", action: str = "", **_: Any) -> None:
        if id(error) in self._recent_errors or not self._accept(sender):
            return  # its log record (which names the service) is already here
        self._recent_errors.append(id(error))
        self.add(getattr(sender, "name", str(sender)),
                 f"{label}: {type(error).__name__}: {error} (supervision: {action})")

    def start(self) -> None:
        log = self

        class _Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                exc = record.exc_info[1] if record.exc_info else None
                if exc is not None:
                    if id(exc) in log._recent_errors:
                        return  # the crash signal recorded it already
                    log._recent_errors.append(id(exc))
                try:
                    text = record.getMessage()
                    if exc is not None and str(exc) not in text:
                        text += f" ({type(exc).__name__}: {exc})"
                    log.add(record.name, text)
                except Exception:  # a bad log format must not break logging
                    pass

        self._handler = _Handler(level=logging.ERROR)
        # a logger below another one listed would report each record twice (propagation)
        self._loggers = tuple(dict.fromkeys(n for n in self._loggers
                                            if not any(n.startswith(m + ".") for m in self._loggers)))
        for name in self._loggers:
            logging.getLogger(name).addHandler(self._handler)
        signals.service_crashed.connect(self._on_crash, weak=False)

    def stop(self) -> None:
        signals.service_crashed.disconnect(self._on_crash)
        if self._handler is not None:
            for name in self._loggers:
                logging.getLogger(name).removeHandler(self._handler)
            self._handler = None

    def list(self) -> List[Dict[str, Any]]:
        return list(self.entries)


class BusRates:
    """Counts bus emits by event name while tapped; :meth:`rates` gives
    events per second over the last ``window`` seconds (an event seen in the
    window stays listed, at 0 once it stops)."""

    def __init__(self, bus: Any, window: float = 5.0) -> None:
        self._bus = bus
        self.window: float = float(window)
        self._counts: Dict[str, int] = {}
        self._history: Deque[Tuple[float, Dict[str, int]]] = deque()
        self._untap: Optional[Callable[[], None]] = None

    def _tap(self, event: str, data: Any) -> None:
        self._counts[event] = self._counts.get(event, 0) + 1

    def start(self) -> None:
        if self._untap is None:
            self._counts = {}
            self._history = deque([(time.monotonic(), {})])
            self._untap = self._bus.tap(self._tap)

    def stop(self) -> None:
        if self._untap is not None:
            self._untap()
            self._untap = None

    @property
    def tapped(self) -> bool:
        return self._untap is not None

    def rates(self) -> Dict[str, float]:
        now = time.monotonic()
        counts = dict(self._counts)
        self._history.append((now, counts))
        while len(self._history) > 2 and now - self._history[1][0] >= self.window:
            self._history.popleft()
        since, before = self._history[0]
        elapsed = max(1e-3, now - since)
        return {event: round((n - before.get(event, 0)) / elapsed, 2) for event, n in sorted(counts.items())}


def socket_clients(socketio: Any) -> Dict[str, Dict[str, Any]]:
    """Connected Socket.IO clients of *this* process per namespace, and per
    named room (a client's own sid room is left out)."""
    manager = getattr(getattr(socketio, "server", None), "manager", None)
    rooms = getattr(manager, "rooms", None) or {}
    out: Dict[str, Dict[str, Any]] = {}
    for namespace, table in list(rooms.items()):
        if namespace == CONSOLE_NAMESPACE:
            continue
        clients = len(table.get(None, ()))
        named = {str(room): len(members) for room, members in list(table.items())
                 if room is not None and not (len(members) == 1 and room in members)}
        out[namespace] = {"clients": clients, "rooms": dict(sorted(named.items()))}
    return out


class Collector:
    """Builds snapshots of one runtime (see the module docstring)."""

    def __init__(self, runtime: Any, *, errors: Optional[ErrorLog] = None, bus_rates: Optional[BusRates] = None,
                 identity: Optional[Dict[str, Any]] = None) -> None:
        self.runtime = runtime
        self.errors = errors
        self.bus_rates = bus_rates
        self.identity: Dict[str, Any] = identity or process_identity(runtime)
        self._last_processed: Dict[str, Tuple[float, int]] = {}

    # ------------------------------------------------------------------ tree
    def _annotate(self, node: Any, health: Dict[str, Dict[str, Any]], services: Dict[str, Any]) -> Dict[str, Any]:
        if not isinstance(node, dict):
            return {"name": str(node), "type": "resource"}
        out: Dict[str, Any] = {"name": node.get("name"), "type": node.get("type"),
                               "greenlets": list(node.get("greenlets", ()))}
        name = node.get("name")
        service = services.get(name) if name is not None else None
        if service is not None:
            report = health.get(service.name) or service.health()
            out["state"] = service_state(service, report)
            out["status"] = report.get("status")
            out["restarts"] = report.get("restarts", 0)
            out["crashes"] = report.get("crashes", 0)
            last = report.get("failed") or report.get("last_error")
            out["last_error"] = mask_message(str(last)) if last else None
        out["owned"] = [self._annotate(child, health, services) for child in node.get("owned", ())]
        return out

    def tree(self) -> Dict[str, Any]:
        runtime = self.runtime
        services = {s.name: s for s in walk_services(runtime)}
        health = {name: s.health() for name, s in services.items()}
        root = runtime.tree()
        annotated = self._annotate(root, health, services)
        annotated["state"] = "stopping" if runtime.draining else ("running" if runtime.running else "stopped")
        # services registered but not started (an optional one that failed) are not in tree()
        listed = {child.get("name") for child in annotated["owned"]}
        for service in runtime.services:
            if service.name not in listed:
                annotated["owned"].append(self._annotate(service.tree(), health, services))
        return annotated

    # ---------------------------------------------------------------- queues
    def queues(self) -> List[Dict[str, Any]]:
        now = time.monotonic()
        out = []
        for service in walk_services(self.runtime):
            if not _is_queue(service):
                continue
            stats = service.stats()
            health = service.health()
            previous = self._last_processed.get(service.name)
            rate = 0.0
            if previous is not None and now > previous[0]:
                rate = max(0.0, (stats["processed"] - previous[1]) / (now - previous[0]))
            self._last_processed[service.name] = (now, stats["processed"])
            backend = health.get("backend") or {}
            out.append({"name": service.name, "state": service_state(service, health),
                        "pending": stats["pending"], "in_flight": stats["in_flight"],
                        "processed": stats["processed"], "processed_per_s": round(rate, 2),
                        "retried": stats["retried"], "dead_lettered": stats["dead_lettered"],
                        "rejected": stats["rejected"], "accepted": stats["accepted"],
                        "workers": health.get("worker_count"), "workers_alive": health.get("workers_alive"),
                        "backend": backend.get("kind", "memory")})
        return out

    # -------------------------------------------------------------- snapshot
    def snapshot(self) -> Dict[str, Any]:
        runtime = self.runtime
        health = runtime.health()
        return {
            "process": dict(self.identity),
            "at": time.time(),
            "status": health.get("status"),
            "tree": self.tree(),
            "queues": self.queues(),
            "sockets": socket_clients(runtime.socketio),
            "bus": self.bus_rates.rates() if self.bus_rates is not None and self.bus_rates.tapped else {},
            "errors": self.errors.list() if self.errors is not None else [],
            "escalations": [mask_message(e) for e in health.get("escalations", ())],
            "settings": mask_value("settings", _settings_summary(runtime)),
        }


def _settings_summary(runtime: Any) -> Dict[str, Any]:
    """A few settings worth seeing at a glance, masked by the caller."""
    config = getattr(runtime.app, "config", {}) or {}
    keys = ("SPOC_MODE", "REDIS_URL", "QUEUE_BACKEND", "BUS_SHARED_EVENTS", "DATABASE_URL")
    return {key: config.get(key) for key in keys if config.get(key) is not None}
