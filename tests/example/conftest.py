"""Fixtures for the blog platform example (examples/blog_platform).

- ``blog`` / ``make_blog``: the example booted in-process by
  ``specter_spoc.runtime.create_app`` in mode "test" on the database of
  ``database_url`` (an SQLite file in ``tmp_path``; the API test modules
  override it with ``any_database_url``: SQLite *and* PostgreSQL), with a
  small JSON client (:class:`BlogClient`); shut down after the test.
- ``postgres``: one PostgreSQL cluster for the session (initdb in a temporary
  folder, a free loopback port), stopped at the end; each test that uses it
  gets its own database.
- ``blog_server``: the example served by a real process on a free loopback
  port: gunicorn's GeventWebSocketWorker (the deployment command) or
  ``specter-spoc run`` (what scripts/serve.sh runs); killed and reaped after
  the test. It reuses the ``Server`` helper of tests/e2e/conftest.py,
  imported by path.
"""
from __future__ import annotations

import os
import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import pytest

from blog_example_helpers import (
    EXAMPLE_DIR, ROOT, VENV_BIN, BlogClient, PostgresServer, Server, app_config, e2e, free_port, postgres_bin,
    server_env,
)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    bindir = postgres_bin()
    if bindir is None:
        pytest.fail("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/pg_ctl): "
                    "apt-get install -y postgresql (scripts/test.sh does it as root).")
    server = PostgresServer(bindir).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """The database of ``make_blog``: an SQLite file of the test."""
    return f"sqlite:///{tmp_path / 'blog.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def any_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLite, then a fresh PostgreSQL database: modules that override
    ``database_url`` with this run every test on both."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'blog.db'}"
    return request.getfixturevalue("postgres").new_database()


@pytest.fixture
def make_blog(database_url: str) -> Iterator[Callable[..., BlogClient]]:
    """Factory: ``make_blog(**config_overrides)`` boots the example in-process;
    every app made is shut down after the test (last first)."""
    from specter_spoc import create_app

    made: List[Any] = []

    def make(**overrides: Any) -> BlogClient:
        app = create_app(EXAMPLE_DIR, mode="test", config=app_config(database_url, **overrides))
        made.append(app)
        return BlogClient(app)

    yield make
    for app in reversed(made):
        app.extensions["specter_spoc"].shutdown()


@pytest.fixture
def blog(make_blog: Callable[..., BlogClient]) -> BlogClient:
    return make_blog()


@contextmanager
def _specter_spoc_run(tmp_path: Path, env: Dict[str, str], port: int = 0) -> Iterator[Any]:
    port = port or free_port()
    log_path = tmp_path / f"run-{port}.log"
    cmd = [str(VENV_BIN / "specter-spoc"), "run", "--project", str(EXAMPLE_DIR), "--host", "127.0.0.1",
           "--port", str(port)]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONUNBUFFERED": "1", **env}, cwd=str(ROOT))
    server = Server(proc, port, log_path)
    try:
        server.wait_ready("/api/posts")
        yield server
    finally:
        server.kill()


@pytest.fixture
def blog_server(tmp_path: Path) -> Callable[..., Any]:
    """``blog_server(kind="gunicorn" | "run", worker=..., port=0, **env)``: a
    context manager serving the example on a loopback port (a free one by
    default; ``run`` only: a given one), yielding a ``Server``. gunicorn's
    worker class defaults to the GeventWebSocketWorker."""
    def start(kind: str = "gunicorn", *, worker: str = e2e.WS_WORKER, port: int = 0, **extra_env: str) -> Any:
        env = server_env(tmp_path, **extra_env)
        if kind == "run":
            return _specter_spoc_run(tmp_path, env, port)
        return e2e.gunicorn("wsgi:create_app()", env=env, worker=worker, chdir=EXAMPLE_DIR, tmp_path=tmp_path)
    return start
