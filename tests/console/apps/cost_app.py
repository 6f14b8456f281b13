"""Served by tests/console/cost_measure.py: one tiny route, with the console
(and metrics) installed or not. ``python cost_app.py PORT none|console|metrics``."""
from __future__ import annotations

if __name__ == "__main__":
    from gevent import monkey

    monkey.patch_all()

import sys

from flask import Flask
from flask_socketio import SocketIO

from specter_spoc import QueueService, boot
from specter_spoc.app import serve


class Jobs(QueueService):
    def handle_item(self, item: object) -> None:
        pass


def create_app(variant: str) -> Flask:
    app = Flask("cost_app")
    socketio = SocketIO(app, async_mode="gevent")
    runtime = boot(app, socketio, services=[Jobs("jobs", worker_count=4)])
    if variant in ("console", "metrics"):
        from specter_spoc.console import install_console, install_metrics

        install_console(runtime)
        if variant == "metrics":
            install_metrics(runtime)

    @app.get("/ping")
    def ping() -> dict:
        runtime.bus.emit("ping", None)
        return {"ok": True}

    return app


if __name__ == "__main__":
    serve(create_app(sys.argv[2]), "127.0.0.1", int(sys.argv[1]))
