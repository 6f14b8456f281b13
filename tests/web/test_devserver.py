"""specter_spoc.web.devserver: the `flask run` mismatch check, the listening
socket, and the pytest plugin's live server built from them."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import click
import pytest
from flask import Flask
from flask.cli import run_command
from flask_socketio import SocketIO

from specter_spoc.testing import free_port, wait_until
from specter_spoc.web.devserver import PortInUseError, check_server_mode, listen, url_of

FLASK_APP = '''
import os
from flask import Flask
from flask_socketio import SocketIO
from specter_spoc.web.devserver import check_server_mode


def create_app():
    app = Flask("mismatch")
    socketio = SocketIO(app, async_mode=os.environ["ASYNC_MODE"])
    with open(os.environ["RESULT_FILE"], "w") as fh:
        fh.write(repr(check_server_mode(app, socketio)))
    return app
'''


@pytest.mark.e2e
@pytest.mark.parametrize("async_mode", ["gevent", "threading"])
def test_flask_run_with_a_gevent_app_on_an_unpatched_werkzeug_is_one_warning(tmp_path: Path, async_mode: str) -> None:
    (tmp_path / "mismatch_app.py").write_text(FLASK_APP)
    result_file = tmp_path / "result.txt"
    env = {**os.environ, "ASYNC_MODE": async_mode, "RESULT_FILE": str(result_file)}
    proc = subprocess.Popen([str(Path(sys.executable).parent / "flask"), "--app", "mismatch_app:create_app", "run",
                             "--port", str(free_port()), "--no-reload"], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        text = wait_until(lambda: result_file.exists() and result_file.read_text(), timeout=30,
                          what="the app factory under flask run")
    finally:
        proc.terminate()
        proc.wait(10)
    if async_mode == "threading":
        assert text == "None"
        return
    warning = eval(text)
    assert "\n" not in warning
    assert warning.startswith("`flask run` serves 'mismatch' on Werkzeug's development server, but Socket.IO runs "
                              "in gevent mode on an unpatched process")
    assert "Run `specter-spoc run --project PATH`" in warning


def test_no_warning_outside_flask_run_or_when_patched() -> None:
    app = Flask("quiet")
    socketio = SocketIO(app, async_mode="gevent")
    assert check_server_mode(app, socketio) is None  # not under `flask run`
    with click.Context(run_command):
        # this test process is monkey-patched (spoc_gevent_patch), so gevent works under Werkzeug
        assert check_server_mode(app, socketio) is None


def test_a_taken_port_is_a_port_in_use_error_naming_the_fix() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PortInUseError, match=f"port {port} on 127.0.0.1 is already in use: .*--port 0"):
            listen("127.0.0.1", port)
    sock = listen("127.0.0.1", 0)
    try:
        assert url_of(sock) == f"http://127.0.0.1:{sock.getsockname()[1]}"
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        sock.close()


@pytest.mark.e2e
def test_live_server_fixture_serves_http_and_websocket_only_clients(spoc_app_factory, sio_clients) -> None:
    """The plugin's LiveServer, built on make_server, with a websocket-only client."""
    from specter_spoc import Handler
    from specter_spoc.testing import LiveServer
    from specter_spoc.web.devserver import make_server
    import requests

    class Echo(Handler):
        name = "echo"
        events = {"echo": "on_echo"}

        def on_echo(self, data):
            return {"echo": data}

    app, socketio, runtime = spoc_app_factory(handlers=[Echo()])
    # Engine.IO's per-connection ping greenlet sleeps ping_interval before it
    # notices the closed socket; keep that short so the leak check sees it end
    socketio.server.eio.ping_interval = 0.2
    app.add_url_rule("/ping", "ping", lambda: {"pong": True})
    server = make_server(listen("127.0.0.1", 0), app)
    server.start()
    live = LiveServer(app, server)
    try:
        assert requests.get(f"{live.url}/ping", timeout=5).json() == {"pong": True}
        client = sio_clients()
        client.connect(live.url, transports=["websocket"], wait_timeout=10)
        assert client.transport() == "websocket"
        assert client.call("echo", {"x": 1}, timeout=10) == {"echo": {"x": 1}}
    finally:
        live.stop()
    assert not runtime.booted
