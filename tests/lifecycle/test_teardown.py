"""Teardown triggers with real processes and real signals: SIGTERM ends a
plain process (socketio.run, serve(), two runtimes) after shutting every
runtime down."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from specter_spoc.testing import free_port, wait_until

pytestmark = pytest.mark.e2e

PRELUDE = """
from gevent import monkey; monkey.patch_all()
import os, sys
from flask import Flask
from flask_socketio import SocketIO
from specter_spoc import Service, boot

class Recorder(Service):
    def on_start(self):
        self.interval(lambda: None, 0.05)
    def on_stop(self):
        print(f"stopped {self.name}", flush=True)

def make(name):
    app = Flask(name)
    socketio = SocketIO(app, async_mode="gevent")
    boot(app, socketio, services=[Recorder(name + "-svc")])
    return app, socketio

PORT = int(os.environ["PORT"])
"""

SCRIPTS = {
    "socketio_run": """
app, socketio = make("one")
print("ready", flush=True)
socketio.run(app, host="127.0.0.1", port=PORT)
print("socketio.run returned", flush=True)
""",
    "serve": """
from specter_spoc import serve
app, socketio = make("one")
print("ready", flush=True)
serve(app, "127.0.0.1", PORT)
print("serve returned", flush=True)
""",
    "two_runtimes": """
app, socketio = make("one")
make("two")
print("ready", flush=True)
socketio.run(app, host="127.0.0.1", port=PORT)
""",
}


def _wait_listening(port: int, proc: subprocess.Popen, timeout: float = 20) -> None:
    def listening() -> bool:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            return False

    wait_until(listening, timeout=timeout, interval=0.05, what=f"the server to listen on port {port}")


@pytest.mark.parametrize("kind", sorted(SCRIPTS))
def test_sigterm_shuts_every_runtime_down_and_exits(kind: str, tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text(textwrap.dedent(PRELUDE) + textwrap.dedent(SCRIPTS[kind]))
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env={**os.environ, "PORT": str(port), "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        _wait_listening(port, proc)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=15)
        elapsed = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert elapsed < 10, out
    assert "stopped one-svc" in out, out
    if kind == "two_runtimes":
        assert "stopped two-svc" in out, out
    assert "Traceback" not in out, out
    assert proc.returncode == 0, out
