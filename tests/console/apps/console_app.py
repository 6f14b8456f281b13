"""A small app with a console, for the console tests: a QueueService whose
workers wait until released (so pending counts can be watched), a service
that can be made to fail, and routes to drive both.

Configured by environment variables so it runs the same under
``python console_app.py PORT`` and gunicorn (``console_app:create_app()``):
SPOC_MODE, CONSOLE_TOKEN, REDIS_URL, METRICS (1/0), CORS, METRICS_SAMPLE,
QUEUE_REDIS (a Redis URL: the jobs queue lives in Redis Streams).
"""
from __future__ import annotations

if __name__ == "__main__":  # gunicorn's gevent workers patch before importing this module
    from gevent import monkey

    monkey.patch_all()

import os
import sys
from typing import Any

from gevent.event import Event

from flask import Flask, jsonify, request
from flask_socketio import SocketIO

from specter_spoc import QueueService, Service, boot
from specter_spoc.console import install_console, install_metrics


class Jobs(QueueService):
    """Items wait for ``release`` to be set; a "fail" item always raises."""

    def __init__(self) -> None:
        super().__init__("jobs", worker_count=2, poll_interval=0.1)
        self.release = Event()
        self.release.set()

    def handle_item(self, item: Any) -> None:
        self.release.wait()
        if item == "fail":
            raise ValueError("this item always fails (password=hunter2)")


class Flaky(Service):
    """Gives up on the first crash (no restarts left): health "failed"."""

    supervision = "restart"
    max_restarts = 0

    def on_start(self) -> None:
        self.spawn(self._idle, label="idle")

    def _idle(self) -> None:
        Event().wait()

    def boom(self) -> None:
        raise RuntimeError("flaky broke on purpose")


def create_app() -> Flask:
    app = Flask("console_app")
    app.config["SECRET_KEY"] = "test-only"
    app.config["SPOC_MODE"] = os.environ.get("SPOC_MODE", "development")
    redis_url = os.environ.get("REDIS_URL") or None
    if redis_url:
        app.config["REDIS_URL"] = redis_url
    # CORS=*: the app lets any origin open sockets; the console must still refuse them
    socketio = SocketIO(app, async_mode="gevent", message_queue=redis_url,
                        cors_allowed_origins=os.environ.get("CORS") or None)
    jobs, flaky = Jobs(), Flaky("flaky")
    if os.environ.get("QUEUE_REDIS"):  # jobs on Redis Streams, dead letters in its dead-letter stream
        from specter_spoc.contrib.redis import RedisQueueBackend

        jobs.backend = RedisQueueBackend(os.environ["QUEUE_REDIS"], prefix="console_app:queue")
    runtime = boot(app, socketio, services=[jobs, flaky])
    install_console(runtime, token=os.environ.get("CONSOLE_TOKEN") or None, interval=0.2)
    if os.environ.get("METRICS", "1") == "1":
        install_metrics(runtime, sample_interval=float(os.environ.get("METRICS_SAMPLE", "5")))

    @app.get("/ready")
    def ready() -> Any:
        return {"pid": os.getpid()}

    @app.post("/jobs")
    def enqueue() -> Any:
        data = request.get_json(force=True)
        if data.get("hold"):
            jobs.release.clear()
        accepted = sum(1 for item in data.get("items", []) if jobs.enqueue(item))
        return {"accepted": accepted, "pid": os.getpid()}

    @app.post("/jobs/release")
    def release() -> Any:
        jobs.release.set()
        return {"released": True}

    @app.get("/boom")
    def boom() -> Any:
        raise RuntimeError("the database said no (password=hunter2)")

    @app.post("/crash")
    def crash() -> Any:
        flaky.spawn(flaky.boom, label="boom")
        return {"crashed": True}

    @app.post("/emit/<event>")
    def emit(event: str) -> Any:
        runtime.bus.emit(event, {"n": 1})
        socketio.emit("news", {"n": 1})
        return jsonify({"emitted": event, "pid": os.getpid()})

    return app


if __name__ == "__main__":
    from specter_spoc.app import serve

    serve(create_app(), "127.0.0.1", int(sys.argv[1]))
