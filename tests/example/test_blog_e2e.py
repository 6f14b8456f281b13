"""The example deployed as documented: a real gunicorn GeventWebSocketWorker
(and ``specter-spoc run``, what scripts/serve.sh runs) on a free loopback
port, real Socket.IO clients over WebSocket, SIGTERM, a restart on the same
database, the demo data, and the migrations through ``flask db upgrade``."""
from __future__ import annotations

from typing import Any, Dict, List

import pytest
import requests
from gevent.event import Event

from blog_example_helpers import PASSWORD

pytestmark = pytest.mark.e2e


def _json(response: requests.Response, status: int) -> Dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    return response.json()


def _user(url: str, name: str) -> Dict[str, Any]:
    body = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    user = _json(requests.post(f"{url}/api/users", json=body, timeout=10), 201)["user"]
    token = _json(requests.post(f"{url}/api/login", json={"username": name, "password": PASSWORD}, timeout=10),
                  200)["token"]
    return {**user, "token": token}


def test_gunicorn_websocket_clients_get_post_published_then_sigterm_and_restart(blog_server: Any,
                                                                               sio_clients: Any) -> None:
    with blog_server("gunicorn") as server:
        url = server.url
        received: List[Dict[str, Any]] = []
        got = [Event(), Event()]
        shutdown = [Event(), Event()]
        clients = []
        for index in range(2):
            client = sio_clients()
            client.on("post_published", lambda data, i=index: (received.append({"client": i, **data}), got[i].set()))
            client.on("server_shutdown", lambda data, i=index: shutdown[i].set())
            client.connect(url, transports=["websocket"], wait_timeout=10)
            assert client.transport() == "websocket"
            clients.append(client)
        listed = clients[0].call("posts:list", {"limit": 5}, timeout=10)
        assert listed == {"ok": True, "posts": [], "total": 0}

        alice = _user(url, "alice")
        headers = {"Authorization": f"Bearer {alice['token']}"}
        post = _json(requests.post(f"{url}/api/posts", json={"title": "Served by gunicorn",
                                                               "content": "Live over a WebSocket"},
                                   headers=headers, timeout=10), 201)["post"]
        _json(requests.post(f"{url}/api/posts/{post['id']}/publish", headers=headers, timeout=10), 200)
        assert got[0].wait(10) and got[1].wait(10), server.log()
        assert sorted(r["client"] for r in received) == [0, 1]
        assert all(r["id"] == post["id"] and r["title"] == "Served by gunicorn" for r in received)

        elapsed = server.terminate(timeout=30)
        assert elapsed < 10, f"the worker took {elapsed:.1f}s to exit after SIGTERM\n{server.log()}"
        assert shutdown[0].wait(5) and shutdown[1].wait(5), "clients are told before the disconnect"
        assert server.proc.returncode == 0, server.log()
        assert "Traceback" not in server.log(), server.log()

    with blog_server("gunicorn") as again:  # same database file, new process
        posts = _json(requests.get(f"{again.url}/api/posts", timeout=10), 200)["posts"]
        assert [(p["id"], p["title"], p["published"]) for p in posts] == [(post["id"], "Served by gunicorn", True)]
        me = _json(requests.get(f"{again.url}/api/me", headers=headers, timeout=10), 200)["user"]
        assert me["username"] == "alice"  # the same SECRET_KEY keeps tokens valid
        found = _json(requests.get(f"{again.url}/api/search", params={"q": "websocket"}, timeout=10), 200)
        assert [r["post"]["id"] for r in found["results"]] == [post["id"]]
        assert again.terminate(timeout=30) < 10


def test_gunicorn_gevent_worker_serves_long_polling_clients(blog_server: Any, sio_clients: Any) -> None:
    """``-k gevent``: no WebSockets while gevent-websocket is installed (see
    docs/parts/example.md), but long-polling clients get every broadcast."""
    with blog_server("gunicorn", worker="gevent") as server:
        got = Event()
        received: List[Dict[str, Any]] = []
        client = sio_clients()
        client.on("post_published", lambda data: (received.append(data), got.set()))
        client.connect(server.url, transports=["polling"], wait_timeout=10)
        alice = _user(server.url, "alice")
        _json(requests.post(f"{server.url}/api/posts", json={"title": "Polled", "content": "over HTTP",
                                                               "publish": True},
                            headers={"Authorization": f"Bearer {alice['token']}"}, timeout=10), 201)
        assert got.wait(10) and received[0]["title"] == "Polled", server.log()
        elapsed = server.terminate(timeout=30)
        assert elapsed < 10 and server.proc.returncode == 0, server.log()
        assert "Traceback" not in server.log(), server.log()


def test_specter_spoc_run_with_demo_data_prints_the_url_and_the_credentials(blog_server: Any) -> None:
    with blog_server("run", BLOG_DEMO="true") as server:
        posts = _json(requests.get(f"{server.url}/api/posts", timeout=10), 200)
        assert posts["total"] == 3 and {p["author"]["username"] for p in posts["posts"]} == {"alice", "bob"}
        login = requests.post(f"{server.url}/api/login", json={"username": "bob", "password": "demo-password"},
                              timeout=10)
        assert login.status_code == 200
        page = requests.get(f"{server.url}/", timeout=10).text
        assert "Getting Started with SPOC" in page  # rendered on the server
        elapsed = server.terminate(timeout=30)
        log = server.log()
        assert elapsed < 10 and server.proc.returncode == 0, log
        assert f"on {server.url} " in log, log  # the URL, from the runtime's startup line
        assert "alice or bob, password 'demo-password'" in log, log
        assert "Traceback" not in log, log


def test_flask_db_upgrade_migrates_a_postgresql_database(postgres: Any, tmp_path: Any) -> None:
    """Server databases are not migrated at boot by default: boot refuses an
    unmigrated one and names the command; ``flask db upgrade`` (the
    documented command, a real process) migrates it, and then it boots."""
    import os
    import subprocess

    from sqlalchemy import create_engine, text

    from blog_example_helpers import EXAMPLE_DIR, VENV_BIN, app_config, server_env
    from specter_spoc import BootError, create_app

    url = postgres.new_database()
    config = app_config(url, DATABASE_AUTO_MIGRATE=None)
    with pytest.raises(BootError) as refused:
        create_app(EXAMPLE_DIR, mode="test", config=config)
    assert "flask --app wsgi:create_app db upgrade" in str(refused.value)

    env = {**os.environ, **server_env(tmp_path, DATABASE_URL=url)}
    env.pop("DATABASE_AUTO_MIGRATE", None)
    upgraded = subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi:create_app", "db", "upgrade"],
                              capture_output=True, text=True, timeout=120, env=env, cwd=EXAMPLE_DIR)
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0001_initial"
    finally:
        engine.dispose()
    app = create_app(EXAMPLE_DIR, mode="test", config=config)
    try:
        response = app.test_client().get("/api/posts")
        assert response.status_code == 200 and response.get_json()["total"] == 0
    finally:
        app.extensions["specter_spoc"].shutdown()


def test_specter_spoc_run_reports_a_busy_port_without_a_traceback(tmp_path: Any) -> None:
    import os
    import socket
    import subprocess

    from blog_example_helpers import EXAMPLE_DIR, VENV_BIN, server_env

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([str(VENV_BIN / "specter-spoc"), "run", "--project", str(EXAMPLE_DIR),
                                 "--port", str(port)], capture_output=True, text=True, timeout=120,
                                env={**os.environ, **server_env(tmp_path)})
    assert result.returncode == 2, result.stderr
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr and "--port" in result.stderr
    assert "Traceback" not in result.stderr, result.stderr
