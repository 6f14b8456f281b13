"""SPECTER 0.1.2's README examples run with only the import changed."""
from __future__ import annotations

import gevent
from flask import Flask, request
from flask_socketio import SocketIO

from specter_spoc import Controller, Field, Schema, Service, boot, bus, registry


class PollingService(Service):
    def __init__(self) -> None:
        super().__init__("polling", {"tick_count": 0})

    def on_start(self) -> None:
        self.interval(self._tick, 0.001)

    def _tick(self) -> None:
        self.set_state({"tick_count": self.state.get("tick_count", 0) + 1})


class ItemController(Controller):
    name = "items"

    schemas = {
        "create": Schema("create", {
            "name": Field(str, required=True),
            "active": Field(bool, default=True),
        })
    }

    def on_start(self) -> None:
        self.state = self.create_model("items.state", {"items": []})

    def build_routes(self, router) -> None:
        @router.route("/api/items", methods=["POST"])
        def create():
            clean = self.schema("create").require(request.get_json(silent=True) or {})
            return {"ok": True, "name": clean["name"]}

    def build_events(self, handler) -> None:
        handler.on("item_created", self._on_item_created)

    def _on_item_created(self, data=None):
        return {"ok": True}


def test_readme_service_example() -> None:
    service = PollingService().start()
    for _ in range(200):
        if service.state["tick_count"] >= 3:
            break
        gevent.sleep(0.002)
    service.stop()
    assert service.state["tick_count"] >= 3
    assert service.live_greenlets() == []


def test_readme_controller_and_boot_example() -> None:
    app = Flask(__name__)
    socketio = SocketIO(app, async_mode="gevent")
    manager = boot(app, socketio, services=[PollingService()], controllers=[ItemController()],
                   install_signals=False)
    try:
        r = app.test_client().post("/api/items", json={"name": "lamp"})
        assert r.get_json() == {"ok": True, "name": "lamp"}
        assert app.test_client().post("/api/items", json={}).status_code == 400
        client = socketio.test_client(app)
        assert client.emit("item_created", {}, callback=True) == {"ok": True}
        client.disconnect()
        assert registry.resolve("service_manager") is manager  # one runtime booted: plain code sees it, as in SPECTER
        with app.app_context():
            assert registry.require("service_manager") is manager
            assert registry.require("polling").name == "polling"
            heard = []
            bus.on("x", heard.append)
            bus.emit("x", 1)
            assert heard == [1]
    finally:
        manager.shutdown()
    assert not manager.booted
