"""What this process saw on its bus, and a durable queue whose items are
announced to every Socket.IO client (through the message queue)."""
from __future__ import annotations

import os

import flask  # not "from flask import current_app": the project loader chokes on the proxy (reported)

from specter_spoc import QueueService, Service
from specter_spoc.project import service, worker


@service
class Seen(Service):
    def __init__(self) -> None:
        super().__init__("relay.seen", {"events": []})

    def on_start(self) -> None:
        for event in ("shared:ping", "local:ping"):
            self.listen(event, lambda data, event=event: self.state["events"].append([event, data]))


@worker
class Jobs(QueueService):
    def __init__(self) -> None:
        super().__init__("relay.jobs", worker_count=2)

    def handle_item(self, item) -> None:
        flask.current_app.extensions["socketio"].emit("job_done", {"item": item, "pid": os.getpid()})
