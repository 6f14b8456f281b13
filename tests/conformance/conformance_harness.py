"""The conformance harness: one test body, two implementations.

Every test in this directory takes the ``impl`` fixture and runs twice: once
against SPECTER 0.1.2 (``specter``, from the dev extra) and once against
``specter_spoc``. A test body is written once, from SPECTER's guide and
docstrings; it must pass on both.

Two markers bend that rule, and only for ``specter_spoc``:

- ``@pytest.mark.ours_xfail("core: <item>")`` — a known gap in our
  implementation that is being fixed elsewhere (strict: the test must start
  passing, and then the mark must go);
- :meth:`Impl.difference` — a row of the "Migrating from SPECTER" table in
  specter.md: the test asserts SPECTER's documented behaviour on ``specter``
  and ours on ``specter_spoc``. The row must exist in the docs.
"""
from __future__ import annotations

import importlib
import itertools
import os
from types import ModuleType
from typing import Any, Callable, List, Tuple

MIGRATION_DOC = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "parts", "90_migration.md")

#: the kept differences, by the words their row in the migration table starts with
ROW_BOOT_ROLLBACK = "A failing service at boot"
ROW_CONTROLLER_503 = "Controller routes while not running"
ROW_JSON_ERRORS = "`route(json_errors=...)` default"
ROW_TEARDOWN_LIFO = "Teardown order"
ROW_STRICT_COERCION = "Schema coercion"
ROW_URL_PREFIX = "`Controller.url_prefix`"
ROW_EXPECT_JSON_415 = "`expect_json` content type"
ROW_SOCKET_ERRORS = "Socket handler exceptions"
ROW_QUEUE_DRAIN = "`QueueService.stop()`"
ROW_QUEUE_COALESCED = "`QueueService` `queue_size` notifications"
ROW_PROCESS_PID = "`ManagedProcess.pid`"
ROW_CACHE_NONE = "`Cache` and `None`"
ROW_CACHE_TTL = "`Cache` `ttl` values"
ROW_HANDLER_MISSING_METHOD = "A handler's `events` naming a missing method"
ROW_OPERATION_500 = "`Operation.run` on an unexpected exception"
ROW_MODEL_SET_THROUGH = "`Model.set` through a non-dict"

_app_names = itertools.count(1)


def migration_rows() -> List[str]:
    """First cells of the table rows of the "From SPECTER" section."""
    with open(MIGRATION_DOC, encoding="utf-8") as fh:
        text = fh.read()
    section = text.split("## From SPECTER", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        if line.startswith("| ") and not line.startswith("| ---") and not line.startswith("|---"):
            rows.append(line.split("|")[1].strip())
    return rows


class Impl:
    """One implementation under test, plus helpers that are not part of the
    behaviour being compared (making a Flask app, shutting down after the test)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.mod: ModuleType = importlib.import_module(name)
        self.ours = name == "specter_spoc"
        self._managers: List[Any] = []

    def __repr__(self) -> str:
        return f"<impl {self.name}>"

    # ------------------------------------------------------------- helpers
    def flask(self) -> Tuple[Any, Any]:
        """A fresh Flask app and its gevent Flask-SocketIO server object."""
        from flask import Flask
        from flask_socketio import SocketIO

        app = Flask(f"conformance_{self.name}_{next(_app_names)}")
        app.config["SECRET_KEY"] = "conformance"
        return app, SocketIO(app, async_mode="gevent")

    def boot(self, app: Any = None, socketio: Any = None, **parts: Any) -> Any:
        """``boot(app, socketio, **parts)`` as SPECTER code calls it; the
        manager is shut down after the test."""
        if app is None:
            app, socketio = self.flask()
        manager = self.mod.boot(app, socketio, **parts)
        self._managers.append(manager)
        return manager

    def track(self, manager: Any) -> Any:
        """Shut ``manager`` down after the test (for managers built by hand)."""
        self._managers.append(manager)
        return manager

    def difference(self, row: str) -> bool:
        """True on specter_spoc for a kept difference: ``row`` must be a row of
        the migration table (the test then asserts each side's behaviour)."""
        assert any(r.startswith(row) for r in migration_rows()), (
            f"the migration table in {MIGRATION_DOC} has no row starting {row!r}; "
            "a difference that is not documented is a bug")
        return self.ours

    def close(self) -> None:
        for manager in reversed(self._managers):
            manager.shutdown()
        self._managers.clear()


def reset_globals(mod: ModuleType) -> None:
    """SPECTER's bus and registry are process singletons: empty them."""
    if mod.__name__ == "specter":
        mod.bus.clear()
        mod.registry.clear()


class _NoAtexit:
    """Stands in for the ``atexit`` module inside SPECTER's manager during the
    suite: every manager registers a process-exit shutdown that nothing can
    unregister, keeping each test's app alive until exit (and slowing every
    later test's leak check). The harness shuts each manager down itself."""

    @staticmethod
    def register(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[..., Any]:
        return fn


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0, message: str = "condition") -> Any:
    """Poll ``predicate`` cooperatively until it is truthy; fail after ``timeout``
    (:func:`specter_spoc.testing.wait_until`, usable with either implementation)."""
    from specter_spoc.testing import wait_until as _wait_until

    return _wait_until(predicate, timeout=timeout, interval=0.005, what=message)


def periods_elapse(period: float, count: int) -> None:
    """Return once ``count`` timer periods of ``period`` seconds have passed on
    the hub, witnessed by a timer of our own. gevent fires timers in deadline
    order, so every timer due before the witness's last one has fired too:
    "the interval did not tick again" is then a fact, not a guess about
    how long to sleep. Works for both implementations (SPECTER has no
    injectable clock)."""
    import gevent

    ticks = []

    def witness() -> None:
        for _ in range(count):
            gevent.sleep(period)
            ticks.append(1)

    glet = gevent.spawn(witness)
    try:
        wait_until(lambda: len(ticks) >= count, message=f"{count} witness periods of {period}s")
    finally:
        glet.kill()
