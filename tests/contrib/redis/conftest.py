"""Fixtures for the Redis tests (helpers live in redis_helpers.py).

Each test gets its own ``redis-server`` on a free loopback port (never the
system Redis on 6379), with persistence off; the fixture stops and reaps it,
so the leak check sees no child process left.
"""
from __future__ import annotations

import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

from redis_helpers import HERE, RedisServer, ServerProcess, clean_env, gunicorn_servers

from specter_spoc.testing import free_port


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A fresh, empty redis-server for this test."""
    server = RedisServer(free_port()).start()
    try:
        yield server
    finally:
        server.close_clients()
        server.stop()


@pytest.fixture
def redis_server_with_password() -> Iterator[RedisServer]:
    """A fresh redis-server that requires the password ``s3cret-pw``."""
    server = RedisServer(free_port(), password="s3cret-pw").start()
    try:
        yield server
    finally:
        server.close_clients()
        server.stop()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator:
    """start(count, env) -> list of ``count`` gunicorn ServerProcesses of the
    cluster project, terminated (SIGTERM, then reaped) at teardown. Request
    it *before* ``sio_clients`` so the clients close first: a client still
    holding its connection would make a worker wait out graceful_timeout."""
    stack = ExitStack()

    def start(count: int, env: Dict[str, str]) -> List[ServerProcess]:
        return stack.enter_context(gunicorn_servers(count, env, tmp_path))

    with stack:
        yield start


@pytest.fixture
def worker_processes(tmp_path: Path) -> Iterator:
    """start(*args) -> ServerProcess running tests/contrib/redis/durable_worker.py
    (stdout piped); every one is killed and reaped after the test."""
    made: List[ServerProcess] = []

    def start(*args: str) -> ServerProcess:
        log_path = tmp_path / f"worker-{len(made) + 1}.log"
        err = open(log_path, "wb")
        try:
            proc = subprocess.Popen([sys.executable, str(HERE / "durable_worker.py"), *args],
                                    stdout=subprocess.PIPE, stderr=err, env=clean_env({}), text=True)
        finally:
            err.close()
        server = ServerProcess(proc, None, log_path)
        made.append(server)
        return server

    yield start
    for server in made:
        server.kill()
        if server.proc.stdout is not None:
            server.proc.stdout.close()
