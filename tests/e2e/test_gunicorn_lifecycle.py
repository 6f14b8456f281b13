"""boot() under a real gunicorn (GeventWebSocketWorker, and -k gevent with the
default install), real websocket-only Socket.IO clients, and SIGTERM."""
from __future__ import annotations

from pathlib import Path

import pytest
import requests
from gevent.event import Event

pytestmark = pytest.mark.e2e


#: PYTHONPATH entry hiding gevent-websocket, as in the default install
DEFAULT_INSTALL = str(Path(__file__).parent / "default_install")


@pytest.mark.parametrize("worker", ["geventwebsocket.gunicorn.workers.GeventWebSocketWorker", "gevent"])
def test_emit_receive_then_sigterm_stops_everything_in_reverse(gunicorn_server, sio_clients, tmp_path: Path,
                                                               worker: str) -> None:
    """Websocket-only clients on both worker classes: gevent-websocket's own
    worker, and ``-k gevent`` with the default install (simple-websocket)."""
    order_file = tmp_path / "order.txt"
    env = {"ORDER_FILE": str(order_file)}
    if worker == "gevent":
        env["PYTHONPATH"] = DEFAULT_INSTALL
    with gunicorn_server("order_app:create_app()", env=env, worker=worker) as server:
        client = sio_clients()
        got_news = Event()
        got_shutdown = Event()
        news: list = []
        client.on("news", lambda data: (news.append(data), got_news.set()))
        client.on("server_shutdown", lambda data: got_shutdown.set())
        client.connect(server.url, transports=["websocket"], wait_timeout=10)
        assert client.transport() == "websocket"
        assert client.call("echo", {"x": 1}, timeout=10) == {"echo": {"x": 1}}
        assert requests.post(f"{server.url}/emit/hello", timeout=5).json() == {"sent": "hello"}
        assert got_news.wait(10) and news == [{"word": "hello"}]
        elapsed = server.terminate()
        assert got_shutdown.wait(5), "clients get a final event before the disconnect\n" + server.log()
        assert elapsed < 10, f"worker took {elapsed:.1f}s to exit (graceful_timeout is 30s)\n{server.log()}"
        lines = order_file.read_text().splitlines()
        assert lines == ["start db", "start indexer", "stop echo", "stop indexer", "stop db"], server.log()
        assert "Traceback" not in server.log(), server.log()


def test_preload_is_refused_with_a_message(tmp_path: Path, free_port: int) -> None:
    import subprocess
    import sys

    cmd = [str(Path(sys.executable).parent / "gunicorn"), "-k", "gevent", "-w", "1", "--preload",
           "-b", f"127.0.0.1:{free_port}", "--chdir", str(Path(__file__).parent / "apps"),
           "order_app:create_app()"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                            env={**__import__("os").environ, "ORDER_FILE": str(tmp_path / "o.txt")})
    assert result.returncode != 0
    assert "refuses to boot in the gunicorn master process (--preload)" in result.stdout + result.stderr
    assert not (tmp_path / "o.txt").exists()


def test_idle_keep_alive_connection_does_not_hold_the_worker(gunicorn_server, tmp_path: Path) -> None:
    """A browser keeps its HTTP connection open after the page loaded; gunicorn
    would wait graceful_timeout (30 s here) for it without the runtime closing it."""
    import http.client

    with gunicorn_server("order_app:create_app()", env={"ORDER_FILE": str(tmp_path / "order.txt")}) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        try:
            conn.request("GET", "/ready", headers={"Connection": "keep-alive"})
            response = conn.getresponse()
            assert response.status == 200 and response.getheader("Connection") != "close"
            response.read()  # idle keep-alive connection from here on
            elapsed = server.terminate()
        finally:
            conn.close()
    assert elapsed < 10, f"worker took {elapsed:.1f}s to exit\n{server.log()}"
    assert (tmp_path / "order.txt").read_text().splitlines()[-1] == "stop db"
