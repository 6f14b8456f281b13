"""Controller, Handler, SocketIngress, Router, HTTP helpers, boot() and the
manager (SPECTER guide §5, §9, §10, §16, §17, §23-§24, §30-§32)."""
from __future__ import annotations

import logging

import pytest
from flask import request

from conformance_harness import (ROW_BOOT_ROLLBACK, ROW_CONTROLLER_503, ROW_EXPECT_JSON_415,
                                 ROW_HANDLER_MISSING_METHOD, ROW_JSON_ERRORS, ROW_SOCKET_ERRORS,
                                 ROW_URL_PREFIX)


def _item_controller(impl):
    """SPECTER's README controller."""
    F = impl.mod.Field

    class ItemController(impl.mod.Controller):
        name = "items"
        schemas = {"create": impl.mod.Schema("create", {"name": F(str, required=True),
                                                         "active": F(bool, default=True)})}

        def on_start(self):
            self.state = self.create_model("items.state", {"items": []})

        def build_routes(self, router):
            @router.route("/api/items", methods=["POST"])
            def create():
                clean = self.schema("create").require(request.get_json(silent=True) or {})
                return {"ok": True, "name": clean["name"]}

            @router.route("/api/items/count")
            def count():
                return {"count": len(self.state.get("items", []))}

        def build_events(self, handler):
            handler.on("item_created", self._on_item_created)

        def _on_item_created(self, data=None):
            return {"ok": True, "got": data}

    return ItemController()


# --------------------------------------------------------------- Controller
def test_readme_controller_routes_and_events(impl):
    app, socketio = impl.flask()
    ctrl = _item_controller(impl)
    impl.boot(app, socketio, controllers=[ctrl])
    client = app.test_client()
    assert client.post("/api/items", json={"name": "lamp"}).get_json() == {"ok": True, "name": "lamp"}
    assert client.get("/api/items/count").get_json() == {"count": 0}
    sio = socketio.test_client(app)
    try:
        assert sio.emit("item_created", {"id": 1}, callback=True) == {"ok": True, "got": {"id": 1}}
    finally:
        sio.disconnect()


def test_schema_require_in_a_plain_controller_route(impl):
    app, socketio = impl.flask()
    impl.boot(app, socketio, controllers=[_item_controller(impl)])
    response = app.test_client().post("/api/items", json={})
    if impl.difference(ROW_JSON_ERRORS):
        assert response.status_code == 400
        body = response.get_json()
        assert "name" in body["errors"] and body["error"]
    else:  # the HTTPError escapes the view: Flask's 500
        assert response.status_code == 500


def test_controller_health_schema_and_socketio(impl):
    app, socketio = impl.flask()
    ctrl = _item_controller(impl)
    assert ctrl.name == "items"
    impl.boot(app, socketio, controllers=[ctrl])
    health = ctrl.health()
    assert health["status"] == "ok" and health["name"] == "items"
    assert health["has_blueprint"] is True and health["has_handler"] is True
    assert health["schemas"] == ["create"]
    assert ctrl.socketio is socketio
    with pytest.raises(KeyError):
        ctrl.schema("nope")


def test_controller_name_argument_and_default(impl):
    assert impl.mod.Controller("named").name == "named"

    class Plain(impl.mod.Controller):
        pass

    assert Plain().name == "controller"


def test_controller_stop_tears_down_its_handler(impl):
    ctrl = _item_controller(impl)
    handler = ctrl.build_handler()
    app, socketio = impl.flask()
    ctrl.start()
    handler.setup(socketio)
    assert handler.registered
    ctrl.stop()
    assert handler.registered is False
    assert ctrl.health()["has_handler"] is False


def test_build_blueprint_and_create_handler_are_built_once(impl):
    ctrl = _item_controller(impl)
    bp = ctrl.build_blueprint()
    assert ctrl.build_blueprint() is bp
    assert ctrl.create_handler() is ctrl.create_handler() is ctrl.build_handler()
    assert isinstance(ctrl.create_handler(), impl.mod.Handler)


def test_register_controller_url_prefix_argument(impl):
    app, socketio = impl.flask()
    manager = impl.track(impl.mod.ServiceManager(app, socketio))
    manager.register_controller(_item_controller(impl), url_prefix="/v1")
    manager.boot()
    client = app.test_client()
    assert client.get("/v1/api/items/count").status_code == 200
    assert client.get("/api/items/count").status_code == 404


def test_controller_url_prefix_class_attribute(impl):
    ctrl = _item_controller(impl)
    ctrl.url_prefix = "/cast"
    app, socketio = impl.flask()
    impl.boot(app, socketio, controllers=[ctrl])
    client = app.test_client()
    if impl.difference(ROW_URL_PREFIX):
        assert client.get("/cast/api/items/count").status_code == 200
        assert client.get("/api/items/count").status_code == 404
    else:  # declared, ignored
        assert client.get("/api/items/count").status_code == 200
        assert client.get("/cast/api/items/count").status_code == 404


def test_controller_routes_after_the_controller_stopped(impl):
    app, socketio = impl.flask()
    ctrl = _item_controller(impl)
    impl.boot(app, socketio, controllers=[ctrl])
    client = app.test_client()
    assert client.get("/api/items/count").status_code == 200
    ctrl.stop()
    response = client.get("/api/items/count")
    if impl.difference(ROW_CONTROLLER_503):
        assert response.status_code == 503 and response.get_json()["error"]
    else:  # the view still runs, on the destroyed state
        assert response.status_code == 200


# ------------------------------------------------------------------ Handler
def _presence(impl, log):
    class PresenceHandler(impl.mod.Handler):
        name = "presence"
        events = {"heartbeat": "handle_heartbeat"}

        def on_setup(self):
            log.append("setup")

        def on_teardown(self):
            log.append("teardown")

        def handle_heartbeat(self, data=None):
            return {"ok": True, "manager": self.resolve("service_manager") is not None}

    return PresenceHandler()


def test_handler_class_events_setup_teardown(impl):
    log = []
    handler = _presence(impl, log)
    assert handler.registered is False and handler.socketio is None
    app, socketio = impl.flask()
    impl.boot(app, socketio, handlers=[handler])
    assert handler.registered is True and handler.socketio is socketio
    sio = socketio.test_client(app)
    try:
        assert sio.emit("heartbeat", {}, callback=True) == {"ok": True, "manager": True}
    finally:
        sio.disconnect()
    assert log == ["setup"]


def test_handler_setup_idempotent_teardown_runs_cleanups_lifo(impl):
    log = []
    handler = _presence(impl, log)
    app, socketio = impl.flask()
    assert handler.setup(socketio) is handler
    handler.setup(socketio)
    handler.add_cleanup(lambda: log.append("c1"))

    class Res:
        def stop(self):
            log.append("res")

    assert handler.own(Res()) is not None
    assert handler.teardown() is handler
    handler.teardown()
    assert log == ["setup", "teardown", "res", "c1"]
    assert handler.registered is False


def test_handler_teardown_resets_socketio(impl):
    handler = _presence(impl, [])
    app, socketio = impl.flask()
    handler.setup(socketio)
    handler.stop()  # alias of teardown
    assert handler.socketio is None and handler.registered is False


def test_handler_require_and_resolve_use_the_registry(impl):
    handler = _presence(impl, [])
    assert handler.resolve("missing-key") is None
    with pytest.raises(KeyError):
        handler.require("missing-key")


def test_handler_event_priorities_order_ingress_subscribers(impl):
    order = []

    class First(impl.mod.Handler):
        name = "first"
        events = {"ping": "on_ping"}
        event_priorities = {"ping": 200}

        def on_ping(self, data=None):
            order.append("first")
            return "first"

    class Second(impl.mod.Handler):
        name = "second"
        events = {"ping": "on_ping"}
        event_priorities = {"ping": 10}

        def on_ping(self, data=None):
            order.append("second")
            return "second"

    app, socketio = impl.flask()
    impl.boot(app, socketio, handlers=[First(), Second()])
    sio = socketio.test_client(app)
    try:
        assert sio.emit("ping", {}, callback=True) == "first"  # the last non-None result
    finally:
        sio.disconnect()
    assert order == ["second", "first"]


# ------------------------------------------------------------- SocketIngress
def test_ingress_priority_ties_and_last_result(impl):
    ingress = impl.mod.SocketIngress()
    order = []
    ingress.subscribe("e", lambda data=None: order.append("late") or "late", priority=200)
    ingress.subscribe("e", lambda data=None: order.append("a"))
    ingress.subscribe("e", lambda data=None: order.append("b") or "b")
    ingress.subscribe("e", lambda data=None: order.append("early"), priority=1)
    assert ingress.dispatch("e", {}) == "late"
    assert order == ["early", "a", "b", "late"]
    assert ingress.dispatch("unknown") is None


def test_ingress_decorators_unsubscribe_owner_and_clear(impl):
    ingress = impl.mod.SocketIngress(name="custom")
    assert ingress.name == "custom" and ingress.socketio is None
    seen = []

    @ingress.on("e")
    def one(data=None):
        seen.append("one")

    @ingress.handler("e", priority=5)
    def two(data=None):
        seen.append("two")

    assert callable(one) and callable(two)
    ingress.dispatch("e")
    assert seen == ["two", "one"]
    assert ingress.unsubscribe("e", one) is True
    assert ingress.unsubscribe("e", one) is False
    owner = impl.mod.Service("owner").start()
    unsub = ingress.subscribe("f", lambda data=None: seen.append("f"), owner=owner)
    assert callable(unsub)
    owner.stop()
    ingress.dispatch("f")
    assert "f" not in seen
    with pytest.raises(TypeError):
        ingress.subscribe("g", lambda: None, owner=object())
    with pytest.raises(TypeError):
        ingress.subscribe("", lambda: None)
    with pytest.raises(TypeError):
        ingress.subscribe("g", "not callable")
    ingress.clear()
    seen.clear()
    ingress.dispatch("e")
    assert seen == []


def test_ingress_on_with_callback_returns_the_callback(impl):
    ingress = impl.mod.SocketIngress()

    def cb(data=None):
        return "x"

    assert ingress.on("e", cb) is cb
    assert ingress.dispatch("e") == "x"


def test_ingress_on_error_default_with_callback_returns_the_callback(impl):
    ingress = impl.mod.SocketIngress()

    def cb(exc=None):
        return "handled"

    assert ingress.on_error_default(cb) is cb


def test_ingress_default_error_fanout(impl):
    ingress = impl.mod.SocketIngress()
    seen = []

    @ingress.on_error_default(priority=5)
    def first(exc):
        seen.append(("first", str(exc)))

    unsub = ingress.subscribe_error_default(lambda exc: seen.append(("second", str(exc))) or "done")
    assert ingress.dispatch_default_error(ValueError("x")) == "done"
    assert seen == [("first", "x"), ("second", "x")]
    assert unsub() is True and ingress.unsubscribe_error_default(first) is True


def test_ingress_dispatch_continues_when_a_subscriber_raises(impl):
    ingress = impl.mod.SocketIngress()
    seen = []

    def bad(data=None):
        raise RuntimeError("subscriber bug")

    ingress.subscribe("e", bad, priority=1)
    ingress.subscribe("e", lambda data=None: seen.append(data) or "ok")
    assert ingress.dispatch("e", 1) == "ok"
    assert seen == [1]


def test_ingress_fanout_over_socketio_continues_past_a_raising_subscriber(impl):
    seen = []
    app, socketio = impl.flask()
    manager = impl.boot(app, socketio)
    ingress = manager.socket_ingress

    def bad(data=None):
        raise RuntimeError("subscriber bug")

    ingress.subscribe("save", bad, priority=1)
    ingress.subscribe("save", lambda data=None: seen.append(data) or {"saved": True})
    sio = socketio.test_client(app)
    try:
        ack = sio.emit("save", {"id": 1}, callback=True)
    finally:
        sio.disconnect()
    assert seen == [{"id": 1}]
    assert ack == {"saved": True}


def test_ingress_attach_binds_dispatchers_for_known_events(impl):
    app, socketio = impl.flask()
    ingress = impl.mod.SocketIngress()
    ingress.subscribe("hello", lambda data=None: {"hi": data})
    assert ingress.attach(socketio) is ingress and ingress.socketio is socketio
    sio = socketio.test_client(app)
    try:
        assert sio.emit("hello", "bob", callback=True) == {"hi": "bob"}
    finally:
        sio.disconnect()


def test_a_raising_socket_handler_is_logged(impl, caplog):
    class Bad(impl.mod.Handler):
        name = "bad"
        events = {"boom": "on_boom"}

        def on_boom(self, data=None):
            raise RuntimeError("handler bug")

    app, socketio = impl.flask()
    impl.boot(app, socketio, handlers=[Bad()])
    sio = socketio.test_client(app)
    try:
        with caplog.at_level(logging.ERROR):
            ack = sio.emit("boom", {}, callback=True)
        received = sio.get_received()
    finally:
        sio.disconnect()
    assert "handler bug" in caplog.text
    if impl.difference(ROW_SOCKET_ERRORS):
        assert ack["error"] and any(m["name"] == "specter_error" for m in received)
    else:
        assert not ack and received == []  # no acknowledgement payload, no event


# ------------------------------------------------------- boot / ServiceManager
def test_boot_starts_in_order_shuts_down_in_reverse_and_is_idempotent(impl):
    log = []

    class Svc(impl.mod.Service):
        def on_start(self):
            log.append(("start", self.name))

        def on_stop(self):
            log.append(("stop", self.name))

    handler = _presence(impl, log)
    app, socketio = impl.flask()
    manager = impl.boot(app, socketio, services=[Svc("a"), Svc("b")], handlers=[handler])
    assert isinstance(manager, impl.mod.ServiceManager)
    assert manager.booted and manager.app is app and manager.socketio is socketio
    assert manager.boot() is manager
    assert manager.shutdown() is manager
    assert manager.shutdown() is manager
    assert not manager.booted
    assert log == [("start", "a"), ("start", "b"), "setup", "teardown", ("stop", "b"), ("stop", "a")]


def test_register_service_after_boot_starts_it(impl):
    manager = impl.boot()
    late = impl.mod.Service("late")
    assert manager.register_service(late) is manager
    assert late.running
    with pytest.raises(TypeError):
        manager.register_service(object())
    with pytest.raises(TypeError):
        manager.register_handler(object())
    with pytest.raises(TypeError):
        manager.register_controller(impl.mod.Service("not-a-controller"))


def test_service_manager_by_hand(impl):
    app, socketio = impl.flask()
    manager = impl.track(impl.mod.ServiceManager(app, socketio))
    svc = impl.mod.Service("svc")
    manager.register_service(svc).register_handler(_presence(impl, []))
    assert not manager.booted and not svc.running
    manager.boot()
    assert svc.running and manager.booted
    assert isinstance(manager.socket_ingress, impl.mod.SocketIngress)


def test_registry_has_manager_and_ingress_inside_services(impl):
    seen = {}

    class Svc(impl.mod.Service):
        def on_start(self):
            self.spawn(self.look)

        def look(self):
            seen["manager"] = impl.mod.registry.resolve("service_manager")
            seen["ingress"] = impl.mod.registry.resolve("socket_ingress")
            seen["self"] = impl.mod.registry.resolve("svc")

    svc = Svc("svc")
    manager = impl.boot(services=[svc])
    from conformance_harness import wait_until
    wait_until(lambda: seen, message="the service greenlet")
    assert seen == {"manager": manager, "ingress": manager.socket_ingress, "self": svc}


def test_a_failing_service_at_boot(impl):
    class Broken(impl.mod.Service):
        def on_start(self):
            raise RuntimeError("no database")

    ok = impl.mod.Service("ok")
    after = impl.mod.Service("after")
    app, socketio = impl.flask()
    if impl.difference(ROW_BOOT_ROLLBACK):
        with pytest.raises(impl.mod.BootError, match="no database"):
            impl.boot(app, socketio, services=[ok, Broken("broken"), after])
        assert not ok.running and not after.running  # rolled back
    else:
        manager = impl.boot(app, socketio, services=[ok, Broken("broken"), after])
        assert manager.booted and ok.running and after.running
        assert impl.mod.registry.resolve("broken") is None


def test_an_optional_failing_service_is_skipped_on_ours(impl):
    """The migration step of the row above: ``optional = True`` restores
    SPECTER's log-and-continue."""
    class Broken(impl.mod.Service):
        optional = True

        def on_start(self):
            raise RuntimeError("no database")

    ok = impl.mod.Service("ok")
    manager = impl.boot(services=[Broken("broken"), ok])
    assert manager.booted and ok.running


def test_manager_health_shape(impl):
    handler = _presence(impl, [])
    svc = impl.mod.Service("svc")
    manager = impl.boot(services=[svc], handlers=[handler])
    health = manager.health()
    assert health["status"] == "ok"
    assert health["services"]["svc"] == svc.health()
    assert health["handlers"] == {"presence": {"registered": True}}


def test_manager_health_reports_a_raising_service_health(impl):
    class Sick(impl.mod.Service):
        def health(self):
            raise RuntimeError("probe failed")

    manager = impl.boot(services=[Sick("sick")])
    assert manager.health()["services"]["sick"] == {"status": "error", "error": "probe failed"}


def test_manager_health_after_shutdown_is_stopped(impl):
    manager = impl.boot(services=[impl.mod.Service("svc")])
    manager.shutdown()
    assert manager.health()["status"] == "stopped"


# ------------------------------------------------------------ HTTP helpers
def _http_app(impl):
    from flask import Flask

    app = Flask(f"http_{impl.name}")
    m = impl.mod

    @app.route("/plain")
    @m.json_endpoint
    def plain():
        return {"ok": True}

    @app.route("/created", methods=["POST"])
    @m.json_endpoint("Failed to create item")
    def created():
        payload = m.expect_json(required=["name"])
        return {"ok": True, "name": payload["name"]}, 201

    @app.route("/list")
    @m.json_endpoint
    def listing():
        return [1, 2]

    @app.route("/http-error")
    @m.json_endpoint
    def http_error():
        raise m.HTTPError("slow down", status=429, payload={"retry_after": 3}, log_message="throttled")

    @app.route("/crash")
    @m.json_endpoint("Failed to crash")
    def crash():
        raise RuntimeError("internal detail")

    @app.route("/empty-ok", methods=["POST"])
    @m.json_endpoint
    def empty_ok():
        return m.expect_json(allow_empty=True)

    return app


def test_json_endpoint_envelopes(impl, caplog):
    client = _http_app(impl).test_client()
    assert client.get("/plain").get_json() == {"ok": True}
    assert client.get("/list").get_json() == [1, 2]
    r = client.post("/created", json={"name": "lamp"})
    assert r.status_code == 201 and r.get_json() == {"ok": True, "name": "lamp"}
    with caplog.at_level(logging.WARNING):
        r = client.get("/http-error")
    assert r.status_code == 429 and r.get_json() == {"error": "slow down", "retry_after": 3}
    assert "throttled" in caplog.text
    r = client.get("/crash")
    assert r.status_code == 500 and r.get_json() == {"error": "Failed to crash"}
    assert "internal detail" not in r.get_data(as_text=True)


def test_expect_json_rules(impl):
    client = _http_app(impl).test_client()
    r = client.post("/created")
    assert r.status_code == 400 and r.get_json()["error"] == "Request body is required"
    assert client.post("/created", json={}).status_code == 400
    r = client.post("/created", json=[1])
    assert r.status_code == 400 and r.get_json()["error"]
    r = client.post("/created", json={"name": "  "})
    assert r.status_code == 400 and r.get_json()["missing"] == ["name"]
    assert client.post("/empty-ok", json={}).get_json() == {}


def test_expect_json_without_a_json_content_type(impl):
    r = _http_app(impl).test_client().post("/created", data='{"name": "lamp"}',
                                           content_type="text/plain")
    if impl.difference(ROW_EXPECT_JSON_415):
        assert r.status_code == 415
    else:  # read as a missing body
        assert r.status_code == 400


def test_require_fields(impl):
    m = impl.mod
    payload = {"a": 1, "b": None, "c": " ", "d": "x"}
    assert m.require_fields(payload, ["a", "d"]) is payload
    with pytest.raises(m.HTTPError) as caught:
        m.require_fields(payload, ["a", "b", "c", "e"])
    assert caught.value.status_code == 400
    assert caught.value.payload == {"missing": ["b", "c", "e"]}
    assert "b, c, e" in caught.value.message
    assert m.require_fields(payload, ["c"], blank_is_missing=False) is payload
    with pytest.raises(m.HTTPError, match="custom"):
        m.require_fields({}, ["x"], error="custom")


def test_http_error_fields_and_response(impl):
    from flask import Flask

    exc = impl.mod.HTTPError("gone", 410, payload={"id": 3}, log_level=logging.INFO)
    assert (exc.message, exc.status_code, exc.payload, exc.log_message, exc.log_level) == \
        ("gone", 410, {"id": 3}, None, logging.INFO)
    assert str(exc) == "gone"
    assert impl.mod.HTTPError("x").status_code == 400
    assert impl.mod.HTTPError("x", 400, status=404).status_code == 404
    with Flask("r").app_context():
        response, status = exc.to_response()
    assert status == 410 and response.get_json() == {"error": "gone", "id": 3}


# ------------------------------------------------------------------ Router
def _router(impl, log):
    m = impl.mod

    class Api(m.Router):
        name = "api"
        url_prefix = "/api"

        @m.route("/hello")
        def hello(self):
            return {"hello": "world"}

        @m.route("/outcome")
        def outcome(self):
            return m.Outcome.failure("Not found", status=404)

        @m.route("/guarded", json_errors="Guarded failed")
        def guarded(self):
            raise RuntimeError("boom")

        @m.route("/post", methods=["POST"], endpoint="posted")
        def post(self):
            return {"posted": True}

        def on_mount(self):
            log.append("mount")

        def on_unmount(self):
            log.append("unmount")

    return Api()


def test_router_class_routes_outcome_json_errors_and_prefix(impl):
    from flask import Flask

    log = []
    app = Flask(f"router_{impl.name}")
    router = _router(impl, log)

    @router.route("/dynamic")
    def dynamic():
        return {"dynamic": True}

    assert router.register(app) is router
    client = app.test_client()
    assert client.get("/api/hello").get_json() == {"hello": "world"}
    assert client.get("/api/dynamic").get_json() == {"dynamic": True}
    r = client.get("/api/outcome")
    assert r.status_code == 404 and r.get_json() == {"ok": False, "status": 404, "error": "Not found",
                                                      "value": None}
    r = client.get("/api/guarded")
    assert r.status_code == 500 and r.get_json() == {"error": "Guarded failed"}
    assert client.post("/api/post").get_json() == {"posted": True}
    assert log == ["mount"]
    assert router.blueprint() is router.mount()


def test_router_teardown_runs_unmount_then_cleanups_lifo(impl):
    log = []
    router = _router(impl, log)
    router.add_cleanup(lambda: log.append("c1"))

    class Res:
        def close(self):
            log.append("res")

    router.own(Res())
    assert router.teardown() is router
    assert log == ["unmount", "res", "c1"]
    assert router.resolve("missing") is None
    with pytest.raises(KeyError):
        router.require("missing")


def test_router_route_without_json_errors(impl):
    from flask import Flask

    m = impl.mod

    class Api(m.Router):
        @m.route("/crash")
        def crash(self):
            raise RuntimeError("boom")

    app = Flask(f"router_plain_{impl.name}")
    Api().register(app)
    r = app.test_client().get("/crash")
    assert r.status_code == 500
    if impl.difference(ROW_JSON_ERRORS):
        assert r.is_json and r.get_json()["error"]
    else:  # Flask's HTML error page
        assert not r.is_json


def test_handler_set_up_without_a_manager_binds_directly(impl):
    handler = _presence(impl, [])
    app, socketio = impl.flask()
    handler.setup(socketio)
    sio = socketio.test_client(app)
    try:
        assert sio.emit("heartbeat", {}, callback=True) == {"ok": True, "manager": False}
    finally:
        sio.disconnect()
        handler.teardown()


def test_register_handler_after_boot_sets_it_up(impl):
    app, socketio = impl.flask()
    manager = impl.boot(app, socketio)
    handler = _presence(impl, [])
    assert manager.register_handler(handler) is manager
    assert handler.registered
    sio = socketio.test_client(app)
    try:
        assert sio.emit("heartbeat", {}, callback=True) == {"ok": True, "manager": True}
    finally:
        sio.disconnect()


def test_handler_events_naming_a_missing_method(impl):
    class Typo(impl.mod.Handler):
        name = "typo"
        events = {"ping": "on_pnig", "pong": "on_pong"}

        def on_pong(self, data=None):
            return "pong"

    app, socketio = impl.flask()
    if impl.difference(ROW_HANDLER_MISSING_METHOD):
        with pytest.raises(impl.mod.BootError, match="on_pnig"):
            impl.boot(app, socketio, handlers=[Typo()])
    else:
        handler = Typo()
        impl.boot(app, socketio, handlers=[handler])
        assert handler.registered
        sio = socketio.test_client(app)
        try:
            assert sio.emit("pong", {}, callback=True) == "pong"
        finally:
            sio.disconnect()
