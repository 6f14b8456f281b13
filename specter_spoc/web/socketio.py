"""What the runtime needs from a Flask-SocketIO server at shutdown.

python-socketio has no public "say goodbye to every client of this process"
call, so this module is the one place that reaches below its public API
(``server.eio.sockets``, each session's ``queue`` and ``close()``). The
python-engineio versions it is written for are pinned by a contract test
(tests/web/test_socketio.py); a new major version that changes these
internals fails that test, not a production shutdown.

Why not ``socketio.stop()``? It stops the *web server* too (and only when
the server was started by ``socketio.run``); under gunicorn the worker owns
the server. Why not ``server.disconnect(sid)`` per client? It waits for each
client's acknowledgement, and a long-polling client whose next poll never
comes (the listener is closing) would hold shutdown.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, Dict, List

import gevent

__all__ = ["SHUTDOWN_EVENT", "FLUSH_TIMEOUT", "SUPPORTED_ENGINEIO", "connected_clients", "disconnect_clients",
           "stop_background_tasks", "own_background_tasks"]

logger = logging.getLogger("specter_spoc.socketio")

#: event every connected client receives just before the server disconnects it
SHUTDOWN_EVENT = "server_shutdown"
#: seconds shutdown waits for clients to fetch that event (long-polling ones poll for it)
FLUSH_TIMEOUT = 1.0
#: python-engineio major versions whose session internals this module uses
SUPPORTED_ENGINEIO = (4,)


def _engineio(socketio: Any) -> Any:
    server = getattr(socketio, "server", None)
    return getattr(server, "eio", None)


def connected_clients(socketio: Any) -> int:
    """Socket.IO clients (Engine.IO sessions) connected to this process."""
    eio = _engineio(socketio)
    return len(getattr(eio, "sockets", None) or {})


def clients_by_namespace(socketio: Any) -> Dict[str, int]:
    """Connected clients per Socket.IO namespace (for the console and metrics)."""
    server = getattr(socketio, "server", None)
    manager = getattr(server, "manager", None)
    out: Dict[str, int] = {}
    if manager is None:
        return out
    for namespace in list(manager.get_namespaces()):
        out[namespace] = sum(1 for _ in manager.get_participants(namespace, None))
    return out


def _pending(sessions: List[Any]) -> bool:
    return any(getattr(s, "queue", None) is not None and s.queue.qsize() for s in sessions)


def disconnect_clients(socketio: Any, deadline: float, *, payload: Any = None) -> int:
    """Send every local client :data:`SHUTDOWN_EVENT`, let the transports
    flush it (bounded by :data:`FLUSH_TIMEOUT` and ``deadline``), then close
    each session without waiting for its acknowledgement. Returns how many
    clients were disconnected. Never raises."""
    server = getattr(socketio, "server", None)
    eio = _engineio(socketio)
    if server is None or eio is None or not connected_clients(socketio):
        return 0
    body = payload if payload is not None else {"reason": "shutdown", "reconnect": True}
    count = 0
    with gevent.Timeout(max(0.01, deadline - time.monotonic()), False):
        try:
            for namespace in list(server.manager.get_namespaces()):
                server.emit(SHUTDOWN_EVENT, body, namespace=namespace, ignore_queue=True)
            # websocket writers flush at once; a long-polling client fetches the
            # event on its next poll (its request passes the draining 503)
            flush_until = time.monotonic() + min(FLUSH_TIMEOUT, max(0.0, deadline - time.monotonic()) / 2)
            gevent.sleep(0)
            while time.monotonic() < flush_until and _pending(list(eio.sockets.values())):
                gevent.sleep(0.01)
            for sid, session in list(eio.sockets.items()):
                session.close(wait=False, reason=eio.reason.SERVER_DISCONNECT)
                eio.sockets.pop(sid, None)
                count += 1
        except Exception:
            logger.exception("disconnecting Socket.IO clients failed")
    gevent.sleep(0)
    return count


def own_background_tasks(socketio: Any, adopt: Callable[[Any], Any]) -> Callable[[], None]:
    """Hand every background task Engine.IO starts from now on (per-session
    ping and writer greenlets, its service task) to ``adopt``, so the
    runtime that owns the server kills and joins them at shutdown: a
    session's ping greenlet otherwise sleeps on for ``ping_interval``
    (25 s) after its session closed. Returns the function that undoes it."""
    eio = _engineio(socketio)
    if eio is None or not callable(getattr(eio, "start_background_task", None)):
        return lambda: None
    original = eio.start_background_task

    def start_background_task(target: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        task = original(target, *args, **kwargs)
        adopt(task)
        return task

    eio.start_background_task = start_background_task

    def restore() -> None:
        if eio.__dict__.get("start_background_task") is start_background_task:
            del eio.start_background_task
    return restore


def stop_background_tasks(socketio: Any) -> None:
    """python-socketio's own ``shutdown()``: stops Engine.IO's service task
    (its docs: call it before the web server stops). Never raises."""
    server = getattr(socketio, "server", None)
    stop = getattr(server, "shutdown", None)
    if callable(stop):
        try:
            stop()
        except Exception:
            logger.exception("stopping Socket.IO background tasks failed")
