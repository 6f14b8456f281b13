from __future__ import annotations

from typing import Any, Callable, Iterator, List

import pytest
from flask import Flask
from flask_socketio import SocketIO

from specter_spoc.runtime import Runtime, boot


@pytest.fixture
def make_app() -> Iterator[Callable[..., tuple]]:
    """Factory: (app, socketio, runtime) booted with the given parts; every
    runtime it made is shut down after the test."""
    runtimes: List[Runtime] = []

    def factory(*, debug: bool = False, **boot_kwargs: Any) -> tuple:
        app = Flask(f"test_app_{len(runtimes)}")
        app.config.update(SECRET_KEY="test", DEBUG=debug)
        socketio = SocketIO(app, async_mode="gevent")
        boot_kwargs.setdefault("install_signals", False)
        runtime = boot(app, socketio, **boot_kwargs)
        runtimes.append(runtime)
        return app, socketio, runtime

    yield factory
    for runtime in reversed(runtimes):
        runtime.shutdown()
