"""The Socket.IO app the socket benchmarks serve under gunicorn.

Two variants of the same app, so the benchmark compares like with like:

- ``BARE=1``: plain Flask + Flask-SocketIO, nothing else;
- otherwise the same routes booted with specter_spoc: two Services with an
  interval each and a Controller that owns the emit route and one socket
  event (the shape of a small real app).

Routes: ``GET /ready`` (the worker's pid, for RSS readings) and
``POST /emit/<seq>``, which records ``time.monotonic()`` (system-wide on
Linux, so comparable across processes) just before broadcasting
``news {"seq", "t0"}`` to every client, and answers with it.

``STOP_FILE``: each ``on_stop`` hook appends one line to it, so the SIGTERM
benchmark can check that every hook ran before the worker exited.

Serve it with::

    gunicorn -k geventwebsocket.gunicorn.workers.GeventWebSocketWorker -w 1 \\
        'benchmarks.apps.socket_app:create_app()'
"""
from __future__ import annotations

import os
import time
from typing import Any, Dict

from flask import Flask
from flask_socketio import SocketIO

#: the on_stop lines the booted variant writes (in reverse start order)
EXPECTED_STOPS = ("stop news", "stop indexer", "stop db")


def _log_stop(line: str) -> None:
    path = os.environ.get("STOP_FILE")
    if path:
        with open(path, "a") as fh:
            fh.write(line + "\n")


def _broadcast(socketio: SocketIO, seq: int) -> Dict[str, Any]:
    t0 = time.monotonic()
    socketio.emit("news", {"seq": seq, "t0": t0})
    return {"seq": seq, "t0": t0}


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "bench"
    socketio = SocketIO(app, async_mode="gevent")

    @app.get("/ready")
    def ready() -> Dict[str, Any]:
        return {"ok": True, "pid": os.getpid(), "bare": os.environ.get("BARE") == "1"}

    if os.environ.get("BARE") == "1":
        @app.post("/emit/<int:seq>")
        def emit(seq: int) -> Dict[str, Any]:
            return _broadcast(socketio, seq)

        return app

    from specter_spoc import Controller, Service, boot

    class Ticking(Service):
        def on_start(self) -> None:
            self.interval(lambda: None, 0.5)

        def on_stop(self) -> None:
            _log_stop(f"stop {self.name}")

    class News(Controller):
        name = "news"

        def build_routes(self, router: Any) -> None:
            @router.route("/emit/<int:seq>", methods=["POST"])
            def emit(seq: int) -> Dict[str, Any]:
                return _broadcast(socketio, seq)

        def build_events(self, handler: Any) -> None:
            handler.on("echo", lambda data=None: {"echo": data})

        def on_stop(self) -> None:
            _log_stop("stop news")

    boot(app, socketio, services=[Ticking("db"), Ticking("indexer")], controllers=[News()])
    return app
