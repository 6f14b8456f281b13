"""What the console may change: restart a service, requeue or purge dead letters.

Each action acts on *this* process (the one that served the request) and
returns a JSON-able result; a bad request raises :class:`ActionError` with a
message for the person who asked (answered 400/404, never 500).
"""
from __future__ import annotations

import logging
from typing import Any, Dict, Iterable, List, Optional

from .collect import find_service, mask_message, walk_services
from .deadletters import dead_letters_for

__all__ = ["ActionError", "restart_service", "queue_names", "dead_letters", "requeue", "purge"]

logger: logging.Logger = logging.getLogger("specter_spoc.console")


class ActionError(Exception):
    """A console action the request cannot have; ``status`` is the HTTP code."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _service(runtime: Any, name: str) -> Any:
    service = find_service(runtime, name)
    if service is None:
        known = ", ".join(sorted(s.name for s in walk_services(runtime))) or "none"
        raise ActionError(f"no service named {name!r} in this process (services: {known})", 404)
    return service


def _queue(runtime: Any, name: str) -> Any:
    service = _service(runtime, name)
    if not callable(getattr(service, "enqueue", None)) or not callable(getattr(service, "stats", None)):
        raise ActionError(f"service {name!r} is a {type(service).__name__}, not a QueueService", 400)
    return service


def restart_service(runtime: Any, name: str) -> Dict[str, Any]:
    """Stop (if still running) and start the service named ``name``, inside
    the runtime's scope. A service that fails to start again is reported,
    not raised."""
    service = _service(runtime, name)
    if runtime.draining:
        raise ActionError("the server is shutting down; nothing can be restarted now", 409)
    logger.warning("console: restarting service %r on request", name)
    with runtime.scope.activate():
        service.stop()
        try:
            service.start()
        except Exception as exc:  # Service.start() logged it and released what on_start acquired
            return {"service": name, "restarted": False, "error": mask_message(f"{type(exc).__name__}: {exc}")}
    return {"service": name, "restarted": True, "status": service.health().get("status")}


def queue_names(runtime: Any) -> List[str]:
    return [s.name for s in walk_services(runtime)
            if callable(getattr(s, "stats", None)) and callable(getattr(s, "enqueue", None))]


def _ids(ids: Any) -> Optional[List[str]]:
    if ids is None:
        return None
    if isinstance(ids, (str, int)) or not isinstance(ids, Iterable):
        ids = [ids]
    out = [str(i) for i in ids]
    if not out:
        raise ActionError('"ids" is empty: give the dead-letter ids to act on, or leave "ids" out for all')
    return out


def dead_letters(runtime: Any, name: str, count: int = 100) -> List[Dict[str, Any]]:
    return dead_letters_for(_queue(runtime, name)).list(count)


def requeue(runtime: Any, name: str, ids: Any = None) -> Dict[str, Any]:
    source = dead_letters_for(_queue(runtime, name))
    return {"queue": name, "requeued": source.requeue(_ids(ids))}


def purge(runtime: Any, name: str, ids: Any = None) -> Dict[str, Any]:
    source = dead_letters_for(_queue(runtime, name))
    return {"queue": name, "purged": source.purge(_ids(ids))}
