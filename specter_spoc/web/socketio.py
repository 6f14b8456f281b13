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
from typing import Any, Callable, Dict, List, Optional, Tuple

import gevent

from .._masking import mask_text, mask_url
from ..lifecycle.service import Service
from ..typing import SocketIOLike, SocketIOServerLike

__all__ = ["SHUTDOWN_EVENT", "FLUSH_TIMEOUT", "SUPPORTED_ENGINEIO", "connected_clients", "disconnect_clients",
           "stop_background_tasks", "own_background_tasks", "MessageQueueMonitor", "message_queue_monitor"]

logger: logging.Logger = logging.getLogger("specter_spoc.socketio")

#: event every connected client receives just before the server disconnects it
SHUTDOWN_EVENT = "server_shutdown"
#: seconds shutdown waits for clients to fetch that event (long-polling ones poll for it)
FLUSH_TIMEOUT = 1.0
#: python-engineio major versions whose session internals this module uses
SUPPORTED_ENGINEIO = (4,)


def _server(socketio: Optional[SocketIOLike]) -> Optional[SocketIOServerLike]:
    """The python-socketio server (None without Flask-SocketIO or before its init_app)."""
    return socketio.server if socketio is not None else None


def _engineio(socketio: Optional[SocketIOLike]) -> Any:
    server = _server(socketio)
    return server.eio if server is not None else None


def connected_clients(socketio: Optional[SocketIOLike]) -> int:
    """Socket.IO clients (Engine.IO sessions) connected to this process."""
    eio = _engineio(socketio)
    return len(getattr(eio, "sockets", None) or {})


def clients_by_namespace(socketio: Optional[SocketIOLike]) -> Dict[str, int]:
    """Connected clients per Socket.IO namespace (for the console and metrics)."""
    server = _server(socketio)
    manager = server.manager if server is not None else None
    out: Dict[str, int] = {}
    if manager is None:
        return out
    for namespace in list(manager.get_namespaces()):
        out[namespace] = sum(1 for _ in manager.get_participants(namespace, None))
    return out


def _pending(sessions: List[Any]) -> bool:
    return any(getattr(s, "queue", None) is not None and s.queue.qsize() for s in sessions)


def disconnect_clients(socketio: Optional[SocketIOLike], deadline: float, *, payload: Any = None) -> int:
    """Send every local client :data:`SHUTDOWN_EVENT`, let the transports
    flush it (bounded by :data:`FLUSH_TIMEOUT` and ``deadline``), then close
    each session without waiting for its acknowledgement. Returns how many
    clients were disconnected. Never raises."""
    server = _server(socketio)
    eio = _engineio(socketio)
    if server is None or eio is None or not connected_clients(socketio):
        return 0
    body = payload if payload is not None else {"reason": "shutdown", "reconnect": True}
    count = 0
    # exception=False: the timeout ends the block silently (gevent documents it; its stubs omit it)
    with gevent.Timeout(max(0.01, deadline - time.monotonic()), False):  # type: ignore[arg-type]
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


def own_background_tasks(socketio: Optional[SocketIOLike], adopt: Callable[[Any], Any]) -> Callable[[], None]:
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


def stop_background_tasks(socketio: Optional[SocketIOLike]) -> None:
    """python-socketio's own ``shutdown()``: stops Engine.IO's service task
    (its docs: call it before the web server stops). Never raises."""
    stop = getattr(_server(socketio), "shutdown", None)  # python-socketio >= 5.9
    if callable(stop):
        try:
            stop()
        except Exception:
            logger.exception("stopping Socket.IO background tasks failed")


class MessageQueueMonitor(Service):
    """The Socket.IO message queue (``REDIS_URL`` / ``message_queue=``) as a
    part of the runtime: its pub/sub listener is started at boot, not lazily
    on the first client connect (an emit from another process right after
    boot would otherwise be lost), and ``health()`` says ``degraded`` while
    the queue's server does not answer.
    """

    #: seconds one health probe may take
    probe_timeout: float = 1.0
    #: starts before the app's own services, so their first emits travel
    priority = -500

    def __init__(self, socketio: SocketIOLike) -> None:
        super().__init__("socketio.message_queue")
        self._socketio = socketio

    def _manager(self) -> Tuple[Any, Optional[SocketIOServerLike]]:
        server = _server(self._socketio)
        return (server.manager if server is not None else None), server

    def on_start(self) -> None:
        if not _patched():
            logger.warning("the Socket.IO message queue is configured but this process is not monkey-patched "
                           "(gevent.monkey.patch_all()): its listener would block the whole process, so it "
                           "is not started; emits from other processes will not reach this one's clients. "
                           "Patch first (specter-spoc run, gunicorn -k gevent and the pytest plugin do).")
            return
        manager, server = self._manager()
        if server is not None and manager is not None and not getattr(server, "manager_initialized", True):
            setattr(server, "manager_initialized", True)  # python-socketio's lazy-init flag
            manager.initialize()  # starts the listener (an Engine.IO background task the runtime owns)

    def _probe(self) -> Optional[str]:
        """None when the queue's server answers, else why not."""
        if not _patched():  # a blocking socket would freeze the process on a dead server
            return "this process is not monkey-patched, so the listener is not running"
        manager, _ = self._manager()
        if manager is None:
            return "no message queue manager"
        ping = getattr(getattr(manager, "redis", None), "ping", None)
        if ping is None:
            connect = getattr(manager, "_redis_connect", None)
            if not callable(connect):
                return None  # a manager without a ping (kombu, zmq): trust its own retries
            try:
                connect()
            except Exception as exc:
                return mask_text(f"{type(exc).__name__}: {exc}")
            ping = getattr(getattr(manager, "redis", None), "ping", None)
            if ping is None:
                return None
        try:
            with gevent.Timeout(self.probe_timeout):
                ping()
        except BaseException as exc:  # noqa: B036 - a Timeout is an answer too
            return mask_text(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        return None

    def health(self) -> Dict[str, Any]:
        report = super().health()
        manager, _ = self._manager()
        report["url"] = mask_url(getattr(manager, "redis_url", None) or getattr(manager, "url", "") or "")
        if report["status"] == "ok":
            problem = self._probe()
            if problem is not None:
                report["status"] = "degraded"
                report["reason"] = f"message queue unreachable: {problem}"
        return report


def _patched() -> bool:
    from gevent import monkey
    return bool(monkey.is_module_patched("socket"))


def message_queue_monitor(socketio: Optional[SocketIOLike]) -> Optional[MessageQueueMonitor]:
    """A monitor when ``socketio`` publishes through a message queue, else None."""
    from socketio.pubsub_manager import PubSubManager

    server = _server(socketio)
    if socketio is None or server is None or not isinstance(server.manager, PubSubManager):
        return None
    return MessageQueueMonitor(socketio)
