"""Fixtures for the blog platform example (examples/blog_platform).

- ``blog`` / ``make_blog``: the example booted in-process by
  ``specter_spoc.runtime.create_app`` in mode "test" on an SQLite file in
  ``tmp_path``, with a small JSON client (:class:`BlogClient`); shut down
  after the test.
- ``blog_server``: the example served by a real process on a free loopback
  port: gunicorn's GeventWebSocketWorker (the deployment command) or
  ``main.py``; killed and reaped after the test. It reuses the ``Server``
  helper of tests/e2e/conftest.py, imported by path.
"""
from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import pytest

from blog_example_helpers import (
    EXAMPLE_DIR, ROOT, BlogClient, Server, app_config, e2e, free_port, server_env,
)


@pytest.fixture
def make_blog(tmp_path: Path) -> Iterator[Callable[..., BlogClient]]:
    """Factory: ``make_blog(**config_overrides)`` boots the example in-process;
    every app made is shut down after the test (last first)."""
    from specter_spoc import create_app

    made: List[Any] = []

    def make(**overrides: Any) -> BlogClient:
        app = create_app(EXAMPLE_DIR, mode="test", config=app_config(tmp_path, **overrides))
        made.append(app)
        return BlogClient(app)

    yield make
    for app in reversed(made):
        app.extensions["specter_spoc"].shutdown()


@pytest.fixture
def blog(make_blog: Callable[..., BlogClient]) -> BlogClient:
    return make_blog()


@contextmanager
def _main_py(tmp_path: Path, env: Dict[str, str], port: int = 0) -> Iterator[Any]:
    port = port or free_port()
    log_path = tmp_path / f"main-{port}.log"
    cmd = [sys.executable, str(EXAMPLE_DIR / "main.py"), "--host", "127.0.0.1", "--port", str(port)]
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
    """``blog_server(kind="gunicorn" | "main", worker=..., port=0, **env)``: a
    context manager serving the example on a loopback port (a free one by
    default; main.py only: a given one), yielding a ``Server``. gunicorn's
    worker class defaults to the GeventWebSocketWorker."""
    def start(kind: str = "gunicorn", *, worker: str = e2e.WS_WORKER, port: int = 0, **extra_env: str) -> Any:
        env = server_env(tmp_path, **extra_env)
        if kind == "main":
            return _main_py(tmp_path, env, port)
        return e2e.gunicorn("wsgi:create_app()", env=env, worker=worker, chdir=EXAMPLE_DIR, tmp_path=tmp_path)
    return start
