from __future__ import annotations

import pytest
from flask import Flask

from specter_spoc import Router, Service, route


class Api(Router):
    name = "api"

    @route("/ping")
    def ping(self) -> dict:
        return {"pong": True, "router": self.name}

    @route("/echo/<int:n>", methods=["GET", "POST"], endpoint="echo_n")
    def echo(self, n: int) -> tuple:
        return {"n": n}, 202

    @route("/raw", json_errors=False)
    def raw(self) -> str:
        return "plain text"


def test_class_routes_and_dynamic_routes_become_a_blueprint() -> None:
    app = Flask(__name__)
    router = Api(url_prefix="/v1")

    @router.route("/dyn", methods=["POST"])
    def dyn() -> dict:
        return {"dyn": True}

    router.register(app)
    client = app.test_client()
    assert client.get("/v1/ping").get_json() == {"pong": True, "router": "api"}
    r = client.post("/v1/echo/7")
    assert r.status_code == 202 and r.get_json() == {"n": 7}
    assert client.post("/v1/dyn").get_json() == {"dyn": True}
    assert client.get("/v1/raw").get_data(as_text=True) == "plain text"
    assert {spec.rule for _, spec in router.specs()} == {"/ping", "/echo/<int:n>", "/raw", "/dyn"}
    assert "api.echo_n" in app.view_functions


def test_gate_answers_503_with_the_envelope() -> None:
    app = Flask(__name__)
    closed = {"reason": "warming up"}
    router = Api(gate=lambda: closed["reason"])
    router.register(app)
    r = app.test_client().get("/ping")
    assert r.status_code == 503 and r.get_json()["detail"] == "warming up"
    closed["reason"] = None
    assert app.test_client().get("/ping").status_code == 200


def test_teardown_runs_cleanups_lifo_and_owns_services() -> None:
    order: list[str] = []
    router = Api()
    svc = Service("owned").start()
    router.own(svc)
    router.add_cleanup(lambda: order.append("last added"))
    router.teardown()
    assert order == ["last added"] and not svc.running


def test_bad_rules_are_rejected_clearly() -> None:
    with pytest.raises(ValueError, match="starting with '/'"):
        route("ping")
    with pytest.raises(TypeError, match="methods must be a list"):
        Router("r").route("/x", methods="POST")
