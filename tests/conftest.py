"""Shared fixtures. gevent is monkey-patched by the specter_spoc pytest plugin
(``spoc_gevent_patch = true`` in pyproject.toml) before this file is imported."""
from __future__ import annotations

import logging
import os
from typing import Any

import pytest
from hypothesis import settings
from hypothesis.database import DirectoryBasedExampleDatabase

# Property tests: in CI (CI=true, as .ci/run runs) the same cases every run,
# so a red build is reproducible; locally, failures are saved in
# .hypothesis/examples and replayed first on the next run.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True, deadline=None)
settings.register_profile("dev", database=DirectoryBasedExampleDatabase(".hypothesis/examples"), deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


#: fixtures that start a real server (gunicorn, redis-server, PostgreSQL, the dev server):
#: every test using one is marked ``e2e``; tests starting one inline carry the mark themselves
SERVER_FIXTURES = frozenset({"gunicorn_server", "redis_server", "redis_server_with_password", "redis_with_password",
                             "cluster", "worker_processes", "blog_server", "spoc_live_server", "postgres"})
#: parametrized fixtures whose given parameter starts a server (``any_database_url``
#: asks for ``postgres`` at run time, which item.fixturenames cannot show)
SERVER_PARAMS = {"any_database_url": "postgresql"}


def _starts_a_server(item: pytest.Item) -> bool:
    if not SERVER_FIXTURES.isdisjoint(getattr(item, "fixturenames", ())):
        return True
    params = getattr(getattr(item, "callspec", None), "params", {})
    return any(params.get(name) == value for name, value in SERVER_PARAMS.items())


def pytest_collection_modifyitems(items: list) -> None:
    for item in items:
        if item.get_closest_marker("e2e") is None and _starts_a_server(item):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture
def caplog_errors(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """caplog capturing ERROR and up from specter_spoc."""
    caplog.set_level(logging.WARNING, logger="specter_spoc")
    return caplog


def close_socketio_client(client: Any, timeout: float = 5) -> None:
    """Disconnect a python-socketio client and join its background loops, so
    the leak check sees nothing of it left (the server may already have
    closed the connection, in which case disconnect() alone returns early)."""
    try:
        client.disconnect()
    except Exception:
        pass
    eio = client.eio
    for attr in ("write_loop_task", "read_loop_task", "ping_loop_task"):
        task = getattr(eio, attr, None)
        if task is not None and task.is_alive():
            try:
                eio.queue.put(None)
            except Exception:
                pass
            if getattr(eio, "ws", None) is not None:
                try:
                    eio.ws.close()
                except Exception:
                    pass
            task.join(timeout)


@pytest.fixture
def sio_clients():
    """Factory for real python-socketio clients, all closed and joined after the test."""
    import socketio

    made: list = []

    def make(**kwargs):
        kwargs.setdefault("reconnection", False)
        client = socketio.Client(**kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        close_socketio_client(client)
