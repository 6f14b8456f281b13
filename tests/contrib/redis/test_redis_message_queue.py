"""The Socket.IO message queue under the runtime (real redis-server): its
listener runs from boot (an emit from another process right after boot
arrives), it is part of health, and a dead Redis is 'degraded'."""
from __future__ import annotations

import time
from typing import Any, List

import gevent
import pytest
import socketio as python_socketio
from flask import Flask
from flask_socketio import SocketIO
from gevent.event import Event
from gevent.pywsgi import WSGIServer

from specter_spoc import boot

from redis_helpers import free_port, wait_until

pytestmark = pytest.mark.e2e


def test_listener_starts_at_boot_and_health_follows_redis(redis_server: Any) -> None:
    app = Flask("mq")
    app.config["SECRET_KEY"] = "mq"
    socketio = SocketIO(app, async_mode="gevent", message_queue=redis_server.url)
    runtime = boot(app, socketio, install_signals=False)
    port = free_port()
    server = WSGIServer(("127.0.0.1", port), app, log=None)
    server.start()
    client = python_socketio.Client(reconnection=False)
    got: List[Any] = []
    arrived = Event()
    client.on("news", lambda data: (got.append(data), arrived.set()))
    try:
        monitor = runtime.get_service("socketio.message_queue")
        assert monitor is not None and monitor.running
        assert socketio.server.manager_initialized  # listening before any client connected
        assert runtime.health()["services"]["socketio.message_queue"]["status"] == "ok"
        client.connect(f"http://127.0.0.1:{port}", transports=["polling"], wait_timeout=5)
        wait_until(lambda: runtime.connected_clients() == 1, what="client connected")
        external = SocketIO(message_queue=redis_server.url)  # another process's emitter
        external.emit("news", {"from": "outside"})
        assert arrived.wait(5) and got == [{"from": "outside"}]
        redis_server.stop()
        report = runtime.health()
        assert report["status"] == "degraded"
        assert "unreachable" in report["services"]["socketio.message_queue"]["reason"]
    finally:
        from tests.conftest import close_socketio_client
        close_socketio_client(client)
        runtime.shutdown()
        server.stop(timeout=2)
