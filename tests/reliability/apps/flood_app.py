"""The app the socket flood tests serve under gunicorn (tests/reliability/test_socket_flood.py).

``GET /ping`` answers at once (the other clients' requests whose latency the
test measures); ``GET /stats`` reports the worker pid, the most ``work``
handlers ever running at once and how many ran. The socket event ``work``
does what a real handler does per event: a little CPU and a cooperative wait
(a database round trip). The per-connection event limits come from the
environment, through the same ``SocketIngress.configure_from`` that
``create_app()`` uses for the settings.

Serve it with::

    gunicorn -k geventwebsocket.gunicorn.workers.GeventWebSocketWorker -w 1 'flood_app:create_app()'
"""
from __future__ import annotations

import hashlib
import os
from typing import Any, Dict

import gevent
from flask import Flask
from flask_socketio import SocketIO

from specter_spoc import boot

_counts = {"running": 0, "most": 0, "done": 0}


def _work(data: Any = None) -> Dict[str, Any]:
    _counts["running"] += 1
    _counts["most"] = max(_counts["most"], _counts["running"])
    try:
        digest = b"x"
        for _ in range(200):  # ~0.2 ms of CPU
            digest = hashlib.sha256(digest).digest()
        gevent.sleep(0.002)  # a database round trip
        return {"ok": True}
    finally:
        _counts["running"] -= 1
        _counts["done"] += 1


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "flood-test-key-0123456789abcdef0123456789"
    app.config.update({key: value for key, value in os.environ.items() if key.startswith("SOCKETIO_")})
    socketio = SocketIO(app, async_mode="gevent")

    @app.get("/ping")
    def ping() -> Dict[str, Any]:
        return {"ok": True}

    @app.get("/stats")
    def stats() -> Dict[str, Any]:
        guard = runtime.socket_ingress.guard
        return {"pid": os.getpid(), **_counts, "connections": guard.connections() if guard else None,
                "in_flight": guard.in_flight() if guard else None}

    runtime = boot(app, socketio)
    runtime.socket_ingress.configure_from(app.config)
    runtime.socket_ingress.subscribe("work", _work)
    return app
