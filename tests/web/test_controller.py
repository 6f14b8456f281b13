from __future__ import annotations

import logging
from typing import Any, List

import pytest
from flask import request

from specter_spoc import Controller, Field, Schema


class Items(Controller):
    name = "items"
    url_prefix = "/api/items"
    schemas = {"create": Schema("create", {"name": Field(str, required=True), "qty": Field(int, default=1)})}

    def on_start(self) -> None:
        self.store = self.create_store("items", {"items": []})

    def build_routes(self, router) -> None:
        @router.route("", methods=["POST"])
        def create() -> Any:
            clean = self.schema("create").require(request.get_json(silent=True) or {})
            self.store.set({"items": self.store.get("items") + [clean]})
            return clean, 201

        @router.route("")
        def list_items() -> Any:
            return {"items": self.store.get("items")}

    def build_events(self, handler) -> None:
        handler.on("items:add", self.add, schema="create")
        handler.on("items:count", lambda data=None: {"count": len(self.store.get("items"))})
        handler.on("items:crash", self.crash)

    def add(self, clean: dict) -> dict:
        self.store.set({"items": self.store.get("items") + [clean]})
        return {"ok": True, "item": clean}

    def crash(self, data: Any = None) -> None:
        raise RuntimeError("internal detail 0xdeadbeef")


def test_specter_style_controller_serves_routes_and_events(make_app) -> None:
    app, socketio, runtime = make_app(controllers=[Items()])
    client = app.test_client()
    r = client.post("/api/items", json={"name": "pen", "qty": "2"})
    assert r.status_code == 201 and r.get_json() == {"name": "pen", "qty": 2}
    sio = socketio.test_client(app)
    assert sio.emit("items:add", {"name": "cup"}, callback=True) == {"ok": True, "item": {"name": "cup", "qty": 1}}
    assert sio.emit("items:count", callback=True) == {"count": 2}
    assert [i["name"] for i in client.get("/api/items").get_json()["items"]] == ["pen", "cup"]
    sio.disconnect()


def test_bad_socket_payload_gets_error_ack_and_connection_survives(make_app, caplog) -> None:
    app, socketio, _ = make_app(controllers=[Items()])
    sio = socketio.test_client(app)
    with caplog.at_level(logging.ERROR):
        ack = sio.emit("items:add", {"qty": "lots"}, callback=True)
    assert ack["ok"] is False and ack["status"] == 400 and set(ack["errors"]) == {"name", "qty"}
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []  # a bad payload is not a crash
    received = sio.get_received()
    assert received[-1]["name"] == "specter_error" and received[-1]["args"][0]["event"] == "items:add"
    assert sio.is_connected()
    assert sio.emit("items:count", callback=True) == {"count": 0}
    sio.disconnect()


def test_raising_socket_handler_is_logged_and_acked_without_internals(make_app, caplog) -> None:
    app, socketio, _ = make_app(controllers=[Items()])
    sio = socketio.test_client(app)
    other = socketio.test_client(app)
    with caplog.at_level(logging.ERROR):
        ack = sio.emit("items:crash", {}, callback=True)
    assert ack["ok"] is False and ack["status"] == 500 and "deadbeef" not in str(ack)
    assert "deadbeef" in caplog.text
    assert sio.is_connected() and other.is_connected()
    assert other.emit("items:count", callback=True) == {"count": 0}
    sio.disconnect()
    other.disconnect()


def test_routes_answer_503_when_the_controller_is_stopped(make_app) -> None:
    controller = Items()
    app, socketio, runtime = make_app(controllers=[controller])
    sio = socketio.test_client(app)
    controller.stop()
    r = app.test_client().get("/api/items")
    assert r.status_code == 503 and "not running" in r.get_json()["detail"]
    assert not sio.emit("items:count", callback=True)  # not dispatched to a stopped controller
    controller.start()
    assert app.test_client().get("/api/items").status_code == 200
    assert sio.emit("items:count", callback=True) == {"count": 0}
    sio.disconnect()


def test_controller_store_is_owned_and_schema_lookup_errors_are_clear(make_app) -> None:
    controller = Items()
    make_app(controllers=[controller])
    assert controller.health()["has_blueprint"] and controller.health()["has_handler"]
    with pytest.raises(KeyError, match="known: \\['create'\\]"):
        controller.schema("update")


def test_socket_priority_fan_out_last_result_wins(make_app, caplog) -> None:
    order: List[str] = []

    class A(Controller):
        name = "a"

        def build_events(self, handler) -> None:
            handler.on("shared", lambda data=None: order.append("a") or "from a", priority=50)

    class B(Controller):
        name = "b"

        def build_events(self, handler) -> None:
            handler.on("shared", lambda data=None: order.append("b") or "from b", priority=10)

    with caplog.at_level(logging.WARNING, logger="specter_spoc.runtime"):
        app, socketio, runtime = make_app(controllers=[A(), B()])
    assert "[SPC010] socket event 'shared' in namespace '/' is handled by both 'a' and 'b'" in caplog.text
    sio = socketio.test_client(app)
    assert sio.emit("shared", callback=True) == "from a"
    assert order == ["b", "a"]
    assert runtime.socket_ingress.events()["shared"] == 2
    sio.disconnect()


def test_draining_refuses_new_socket_connections(make_app) -> None:
    app, socketio, runtime = make_app(controllers=[Items()])
    runtime.draining = True
    sio = socketio.test_client(app)
    assert not sio.is_connected()
    runtime.draining = False
