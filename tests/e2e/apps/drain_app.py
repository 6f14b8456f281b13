"""Requests in flight racing SIGTERM: each /work request waits, then uses a
service that refuses work once stopped (as a database pool or a process pool
does). With the drain they get their answer or 503, never a 500."""
from __future__ import annotations

import os

import gevent
from flask import Flask, jsonify
from flask_socketio import SocketIO

from specter_spoc import HTTPError, Service, boot, registry


class Pool(Service):
    def use(self) -> str:
        if self.lifecycle_state != "running":
            raise RuntimeError(f"{self.name} is not running")  # what a closed pool raises
        return "done"


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "e2e"
    socketio = SocketIO(app, async_mode="gevent")

    @app.get("/ready")
    def ready() -> dict:
        return {"ok": True}

    @app.get("/inflight")
    def inflight() -> dict:
        return {"in_flight": runtime.health().get("requests_in_flight", 0)}

    @app.get("/work")
    def work() -> object:
        gevent.sleep(float(os.environ.get("WORK_SECONDS", "0.5")))
        try:
            return jsonify(result=registry.require("pool").use())
        except RuntimeError as exc:
            raise HTTPError(str(exc), 500) from None

    runtime = boot(app, socketio, services=[Pool("pool")])
    return app
