"""A small app served by gunicorn in the end-to-end tests.

ORDER_FILE: where each service appends "start X" / "stop X" lines.
BARE=1: serve the same routes with bare Flask-SocketIO (no specter_spoc),
for comparing shutdown behaviour.
"""
from __future__ import annotations

import os

from flask import Flask
from flask_socketio import SocketIO


def _log(line: str) -> None:
    with open(os.environ["ORDER_FILE"], "a") as fh:
        fh.write(line + "\n")


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "e2e"
    socketio = SocketIO(app, async_mode="gevent")

    @app.get("/ready")
    def ready() -> dict:
        return {"ok": True, "pid": os.getpid()}

    @app.post("/emit/<word>")
    def emit(word: str) -> dict:
        socketio.emit("news", {"word": word})
        return {"sent": word}

    if os.environ.get("BARE") == "1":
        return app

    from specter_spoc import Controller, Service, boot

    class Logged(Service):
        def on_start(self) -> None:
            self.interval(lambda: None, 0.05)
            _log(f"start {self.name}")

        def on_stop(self) -> None:
            _log(f"stop {self.name}")

    class Echo(Controller):
        name = "echo"

        def build_events(self, handler) -> None:
            handler.on("echo", lambda data=None: {"echo": data})

        def on_stop(self) -> None:
            _log("stop echo")

    boot(app, socketio, services=[Logged("db"), Logged("indexer")], controllers=[Echo()])
    return app
