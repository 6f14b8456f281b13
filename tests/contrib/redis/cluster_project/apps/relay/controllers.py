"""HTTP routes the cluster tests drive."""
from __future__ import annotations

import os

import flask  # not "from flask import current_app": the project loader chokes on the proxy (reported)

from specter_spoc import Controller, bus, expect_json, registry
from specter_spoc.project import controller


@controller
class RelayController(Controller):
    name = "relay"

    def build_routes(self, router):
        @router.route("/ready")
        def ready():
            return {"pid": os.getpid()}

        @router.route("/emit/<word>", methods=["POST"])
        def emit(word):
            flask.current_app.extensions["socketio"].emit("news", {"word": word, "pid": os.getpid()})
            return {"emitted": word}

        @router.route("/bus/<event>", methods=["POST"])
        def publish(event):
            bus.emit(event, expect_json())
            return {"published": event}

        @router.route("/seen")
        def seen():
            return {"events": registry.require("relay.seen").state["events"], "pid": os.getpid()}

        @router.route("/jobs", methods=["POST"])
        def enqueue():
            return {"accepted": registry.require("relay.jobs").enqueue(expect_json())}
