"""Contract test for the one module that reaches below python-socketio's
public API (specter_spoc/web/socketio.py): the Engine.IO internals it uses
exist in the installed versions, and a real client gets the final event."""
from __future__ import annotations

import time
from typing import Any, List

import engineio
import gevent
import pytest
import socketio as python_socketio
from gevent.event import Event
from gevent.pywsgi import WSGIServer

from specter_spoc.web import socketio as sio
from specter_spoc.testing import wait_until

pytestmark = pytest.mark.e2e


def test_the_engineio_major_version_is_one_this_module_supports() -> None:
    major = int(engineio.__version__.split(".")[0]) if hasattr(engineio, "__version__") else None
    if major is None:
        from importlib.metadata import version
        major = int(version("python-engineio").split(".")[0])
    assert major in sio.SUPPORTED_ENGINEIO, (
        f"python-engineio {major}.x: check web/socketio.py's use of server.eio.sockets, session.queue, "
        "session.close(wait=, reason=) and eio.reason.SERVER_DISCONNECT, then add the version")


def test_engineio_internals_used_at_shutdown_exist(spoc_app_factory: Any) -> None:
    _, socketio, _ = spoc_app_factory()
    eio = socketio.server.eio
    assert isinstance(eio.sockets, dict)
    assert hasattr(eio.reason, "SERVER_DISCONNECT")
    from engineio.socket import Socket
    assert "wait" in Socket.close.__code__.co_varnames and "reason" in Socket.close.__code__.co_varnames


def test_disconnect_clients_sends_the_final_event_then_closes(spoc_app_factory: Any, free_port: int) -> None:
    app, socketio, runtime = spoc_app_factory()
    server = WSGIServer(("127.0.0.1", free_port), app, log=None)
    server.start()
    client = python_socketio.Client(reconnection=False)
    got: List[Any] = []
    final = Event()
    client.on("server_shutdown", lambda data: (got.append(data), final.set()))
    try:
        client.connect(f"http://127.0.0.1:{free_port}", transports=["polling"], wait_timeout=5)
        wait_until(lambda: sio.connected_clients(socketio) >= 1, timeout=5, what="the client to be connected")
        assert sio.clients_by_namespace(socketio) == {"/": 1}
        closed = sio.disconnect_clients(socketio, time.monotonic() + 3)
        assert closed == 1 and final.wait(5)
        assert got == [{"reason": "shutdown", "reconnect": True}]
        assert sio.connected_clients(socketio) == 0
    finally:
        from tests.conftest import close_socketio_client
        close_socketio_client(client)
        runtime.shutdown()
        server.stop(timeout=2)
