from __future__ import annotations

from typing import List

import gevent
import pytest
from flask import Flask, current_app
from flask_socketio import SocketIO

from specter_spoc import BootError, Controller, Handler, Service, ServiceManager, boot, bus, registry
from specter_spoc.runtime import Runtime
from specter_spoc.lifecycle.teardown import gunicorn_role
from specter_spoc.testing import wait_until


class Recorder(Service):
    def __init__(self, name: str, log: List[str], priority: int = 100, fail: bool = False) -> None:
        super().__init__(name)
        self.log = log
        self.priority = priority
        self.fail = fail

    def on_start(self) -> None:
        if self.fail:
            raise RuntimeError(f"{self.name} cannot reach the database")
        self.log.append(f"start {self.name}")

    def on_stop(self) -> None:
        self.log.append(f"stop {self.name}")


def test_start_in_priority_then_registration_order_and_stop_in_reverse(spoc_app_factory) -> None:
    log: List[str] = []
    _, _, runtime = spoc_app_factory(services=[Recorder("a", log), Recorder("b", log, priority=10),
                                       Recorder("c", log), Recorder("d", log, priority=10)])
    assert log == ["start b", "start d", "start a", "start c"]
    runtime.shutdown()
    assert log[4:] == ["stop c", "stop a", "stop d", "stop b"]
    assert not runtime.booted and not runtime.running


def test_failed_start_rolls_back_in_reverse_and_names_the_service() -> None:
    log: List[str] = []
    app = Flask("rollback")
    with pytest.raises(BootError, match="'broken'.*cannot reach the database"):
        boot(app, SocketIO(app, async_mode="gevent"), install_signals=False,
             services=[Recorder("a", log), Recorder("b", log), Recorder("broken", log, fail=True),
                       Recorder("never", log)])
    assert log == ["start a", "start b", "stop b", "stop a"]
    assert "specter_spoc" not in app.extensions


def test_two_apps_have_separate_runtimes_buses_and_registries(spoc_app_factory) -> None:
    heard: List[str] = []

    class Listener(Service):
        def on_start(self) -> None:
            self.listen("ping", lambda data: heard.append(f"{self.name}:{data}"))
            registry.provide("me", self.name)

    app1, _, rt1 = spoc_app_factory(services=[Listener("one")])
    app2, _, rt2 = spoc_app_factory(services=[Listener("two")])
    assert rt1.scope is not rt2.scope and rt1.bus is not rt2.bus
    with app1.app_context():
        bus.emit("ping", "x")
        assert registry.require("me") == "one"
    with app2.app_context():
        assert registry.require("me") == "two"
    assert heard == ["one:x"]
    assert app1.extensions["specter_spoc"] is rt1 and app2.extensions["specter_spoc"] is rt2


def test_owned_greenlets_run_inside_the_app_context(spoc_app_factory) -> None:
    seen: List[str] = []

    class UsesApp(Service):
        def on_start(self) -> None:
            self.spawn(lambda: seen.append(current_app.name))
            self.interval(lambda: seen.append(current_app.config["MARK"]), 0.001)

    app = Flask("ctx_app")
    app.config["MARK"] = "marked"
    runtime = boot(app, SocketIO(app, async_mode="gevent"), services=[UsesApp("uses")], install_signals=False)
    try:
        wait_until(lambda: len(seen) >= 2, timeout=5, what="the greenlet and the interval to run")
    finally:
        runtime.shutdown()
    assert seen[0] == "ctx_app" and "marked" in seen


def test_register_after_boot_starts_immediately(spoc_app_factory) -> None:
    log: List[str] = []
    _, _, runtime = spoc_app_factory()
    runtime.register_service(Recorder("late", log))
    assert log == ["start late"] and runtime.registry.require("late").running


def test_registry_holds_runtime_ingress_and_services(spoc_app_factory) -> None:
    log: List[str] = []
    _, _, runtime = spoc_app_factory(services=[Recorder("svc", log)])
    assert runtime.registry.require("service_manager") is runtime
    assert runtime.registry.require("socket_ingress") is runtime.socket_ingress
    assert runtime.registry.require("svc").name == "svc"
    runtime.shutdown()
    assert runtime.registry.list() == []


def test_shutdown_is_idempotent_and_context_manager_shuts_down() -> None:
    log: List[str] = []
    app = Flask("cm")
    with boot(app, SocketIO(app, async_mode="gevent"), services=[Recorder("x", log)],
              install_signals=False) as runtime:
        assert runtime.booted
    assert log == ["start x", "stop x"]
    runtime.shutdown()
    assert log == ["start x", "stop x"]
    assert ServiceManager is Runtime


def test_draining_answers_503_everywhere(spoc_app_factory) -> None:
    app, _, runtime = spoc_app_factory()

    @app.get("/plain")
    def plain() -> str:
        return "ok"

    client = app.test_client()
    assert client.get("/plain").status_code == 200
    runtime.draining = True
    r = client.get("/plain")
    assert r.status_code == 503 and r.get_json()["detail"] == "the server is shutting down"
    # Engine.IO requests still pass (Engine.IO itself answers, here 400 for an
    # unknown session): a long-polling client must fetch its final event
    r = client.get("/socket.io/?EIO=4&transport=polling&sid=unknown")
    assert r.status_code == 400 and "shutting down" not in r.get_data(as_text=True)
    runtime.draining = False


def test_health_aggregates_and_endpoint_hides_errors(spoc_app_factory) -> None:
    class Crashy(Service):
        def on_start(self) -> None:
            self.spawn(lambda: 1 / 0)

    app, _, runtime = spoc_app_factory(services=[Crashy("crashy")], health_endpoint="/_spoc/health")
    wait_until(lambda: runtime.health()["services"]["crashy"]["crashes"] == 1, timeout=5, what="the crash")
    health = runtime.health()
    assert health["status"] == "ok" and health["services"]["crashy"]["crashes"] == 1
    r = app.test_client().get("/_spoc/health")
    assert r.status_code == 200
    body = r.get_json()
    assert body["services"]["crashy"] == {"status": "ok", "restarts": 0}
    assert "division" not in r.get_data(as_text=True)
    runtime.shutdown()
    assert app.test_client().get("/_spoc/health").status_code == 503


def test_escalation_to_the_runtime_degrades_health(spoc_app_factory) -> None:
    class Escalates(Service):
        supervision = "escalate"

        def on_start(self) -> None:
            self.spawn(lambda: [][0])

    _, _, runtime = spoc_app_factory(services=[Escalates("esc")])
    wait_until(lambda: runtime.health().get("escalations"), timeout=5, what="the escalation to reach the runtime")
    health = runtime.health()
    assert health["status"] == "degraded" and "esc: IndexError" in health["escalations"][0]


def test_bad_registrations_are_clear_type_errors(spoc_app_factory) -> None:
    _, _, runtime = spoc_app_factory()
    with pytest.raises(TypeError, match="Instantiate your class"):
        runtime.register_service(Service)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Controller instance"):
        runtime.register_controller(Service("x"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="setup\\(\\)/teardown\\(\\)"):
        runtime.register_handler(object())
    runtime.register_service(Service("dup"))
    with pytest.raises(ValueError, match="unique name"):
        runtime.register_service(Service("dup"))


def test_booting_the_same_app_twice_is_refused(spoc_app_factory) -> None:
    app, socketio, _ = spoc_app_factory()
    with pytest.raises(BootError, match="already has a runtime"):
        boot(app, socketio)


def test_duplicate_route_across_controllers_is_a_boot_error(spoc_app_factory) -> None:
    class A(Controller):
        name = "a"

        def build_routes(self, router):
            router.route("/api/same")(lambda: {"a": 1})

    class B(Controller):
        name = "b"

        def build_routes(self, router):
            router.route("/api/same")(lambda: {"b": 1})

    app = Flask("dups")
    with pytest.raises(BootError, match="SPC009.*GET /api/same"):
        boot(app, SocketIO(app, async_mode="gevent"), controllers=[A(), B()], install_signals=False)


def test_not_under_gunicorn_means_no_role() -> None:
    assert gunicorn_role() is None


def test_handlers_are_set_up_after_services_and_torn_down_first(spoc_app_factory) -> None:
    log: List[str] = []

    class H(Handler):
        name = "h"
        events = {"hello": "on_hello"}

        def on_hello(self, data=None):
            return {"hi": data}

        def on_setup(self) -> None:
            log.append("handler setup")

        def on_teardown(self) -> None:
            log.append("handler teardown")

    app, socketio, runtime = spoc_app_factory(services=[Recorder("svc", log)], handlers=[H()])
    client = socketio.test_client(app)
    assert client.emit("hello", 1, callback=True) == {"hi": 1}
    client.disconnect()
    runtime.shutdown()
    assert log == ["start svc", "handler setup", "handler teardown", "stop svc"]
