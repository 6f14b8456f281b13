"""The console in one process: it costs nothing while nobody watches (no
per-request hook, no bus tap, no greenlet; the first console client brings
the tap and the pusher, the last one leaving takes them away, shutdown joins
everything), refuses to run unguarded in production, and keeps working when
its Redis is unreachable."""
from __future__ import annotations

import gc
import os
from typing import Any, Iterator, Tuple

import gevent
import pytest
from flask import Flask
from flask_socketio import SocketIO, join_room
from gevent.pywsgi import WSGIServer
from geventwebsocket.handler import WebSocketHandler

from specter_spoc import QueueService, boot
from specter_spoc.console import ConsoleConfigError, install_console
from tests.contrib.redis.redis_helpers import free_port, wait_until


class Jobs(QueueService):
    def handle_item(self, item: Any) -> None:
        pass


@pytest.fixture
def served() -> Iterator[Tuple[Any, Any, str]]:
    app = Flask("cost_app")
    # a short ping interval: Engine.IO's per-connection ping greenlet ends soon after the client left
    socketio = SocketIO(app, async_mode="gevent", ping_interval=0.2)
    runtime = boot(app, socketio, services=[Jobs("jobs")], install_signals=False)
    socketio.on_event("join", lambda room: join_room(room))
    console = install_console(runtime, interval=0.05)
    server = WSGIServer(("127.0.0.1", 0), app, handler_class=WebSocketHandler, log=None)
    server.start()
    try:
        yield runtime, console, f"http://127.0.0.1:{server.server_port}"
    finally:
        runtime.shutdown()
        server.stop(timeout=2)
        # Engine.IO's ping greenlet of a closed session exits at its next tick (ping_interval)
        pings = [g for g in gc.get_objects() if isinstance(g, gevent.Greenlet) and not g.dead
                 and getattr(getattr(g, "_run", None), "__name__", "") == "_send_ping"]
        gevent.joinall(pings, timeout=5)


@pytest.mark.e2e
def test_nothing_runs_until_a_console_client_connects(served: Any, sio_clients: Any) -> None:
    runtime, console, url = served
    app = runtime.app
    assert not app.before_request_funcs and not app.after_request_funcs.get(None)
    assert console.live_greenlets() == [] and not console.bus_rates.tapped

    snapshots: list = []
    client = sio_clients()
    client.on("snapshot", snapshots.append, namespace="/_spoc")
    client.connect(url, namespaces=["/_spoc"], transports=["websocket"], wait_timeout=5)
    wait_until(lambda: len(snapshots) >= 2, timeout=5, what="two pushed snapshots")
    assert console.bus_rates.tapped and [g.spoc_label for g in console.live_greenlets()] == ["spoc-console:pusher"]
    runtime.bus.emit("orders:placed", {})
    wait_until(lambda: "orders:placed" in snapshots[-1]["processes"][0]["bus"], timeout=5, what="bus rate shown")

    # app clients per namespace and room (the console's own namespace left out)
    reader = sio_clients()
    reader.connect(url, transports=["websocket"], wait_timeout=5)
    reader.call("join", "post:1", timeout=5)
    wait_until(lambda: snapshots[-1]["processes"][0]["sockets"] == {"/": {"clients": 1, "rooms": {"post:1": 1}}},
               timeout=5, what="the app's client and its room in the snapshot")
    reader.disconnect()

    client.disconnect()
    wait_until(lambda: not console.live_greenlets() and not console.bus_rates.tapped, timeout=5,
               what="pusher and tap gone after the last client left")
    eio = runtime.socketio.server.eio
    wait_until(lambda: not eio.sockets, timeout=5, what="the Engine.IO session closed")


def test_production_console_needs_credentials() -> None:
    app = Flask("prod_app")
    app.config["SPOC_MODE"] = "production"
    runtime = boot(app, SocketIO(app, async_mode="gevent"), install_signals=False)
    try:
        with pytest.raises(ConsoleConfigError, match="CONSOLE_TOKEN"):
            install_console(runtime)
        with pytest.raises(ConsoleConfigError, match="at least 8 characters"):
            install_console(runtime, token="short")
        console = install_console(runtime, auth=lambda request: request.headers.get("X-Admin") == "yes")
        assert not console.actions_enabled and not console.auth.open
        with app.test_client() as http:
            assert http.get("/_spoc/console/api/tree").status_code == 401
            assert http.get("/_spoc/console/api/tree", headers={"X-Admin": "yes"}).status_code == 200
            assert http.get("/_spoc/console").status_code == 200  # the page itself holds no data
        with pytest.raises(ConsoleConfigError, match="already installed"):
            install_console(runtime, token="another-token-123")
    finally:
        runtime.shutdown()


def test_unreachable_redis_leaves_the_console_showing_this_process(caplog: Any) -> None:
    app = Flask("no_redis_app")
    runtime = boot(app, SocketIO(app, async_mode="gevent"), install_signals=False)
    try:
        url = f"redis://:s3cret-pw@127.0.0.1:{free_port()}/0"  # nothing listens there
        install_console(runtime, redis_url=url, interval=0.05)
        with app.test_client() as http:
            for _ in range(3):
                view = http.get("/_spoc/console/api/snapshot").get_json()
                assert [p["process"]["pid"] for p in view["processes"]] == [os.getpid()]
        warnings = [r.getMessage() for r in caplog.records if "unreachable" in r.getMessage()]
        assert len(warnings) == 1 and "s3cret-pw" not in warnings[0] and "********" in warnings[0]
    finally:
        runtime.shutdown()
