"""pytest plugin: leak checks for every test, and fixtures.

Installed as a ``pytest11`` entry point, so any project that installs
specter_spoc gets it. After each test (setup, call *and* teardown) it fails
the test if any of these is left behind:

- a greenlet that was not alive before the test;
- a :class:`~specter_spoc.Service` that was started and not stopped;
- a child process of the test process (including zombies);
- a listening TCP socket opened by the test process.

Leaked greenlets are killed afterwards, so one leak does not cascade.

ini options (``[tool.pytest.ini_options]``):

- ``spoc_leak_check = false`` turns the check off (default on);
- ``spoc_gevent_patch = true`` runs ``gevent.monkey.patch_all()`` before
  conftest files are imported, which gevent needs to be first.

Fixtures: ``spoc_scope`` (a fresh, active :class:`~specter_spoc.Scope`) and
``free_port`` (a free loopback TCP port).
"""
from __future__ import annotations

import gc
import os
import socket
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("spoc_leak_check", "fail tests that leak greenlets, services, processes or listeners",
                  type="bool", default=True)
    parser.addini("spoc_gevent_patch", "gevent.monkey.patch_all() before conftests load",
                  type="bool", default=False)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: List[str]) -> None:
    try:
        patch = early_config.getini("spoc_gevent_patch")
    except ValueError:
        patch = False
    if patch:
        from gevent import monkey
        if not monkey.is_module_patched("socket"):
            monkey.patch_all()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "spoc_allow_leaks: skip the specter_spoc leak check for this test")


# ---------------------------------------------------------------- snapshots
def _live_objects() -> Tuple[Dict[int, Any], Dict[int, Any]]:
    import greenlet
    from gevent.hub import Hub
    from .lifecycle.service import Service

    current = greenlet.getcurrent()
    root = _root(current)
    glets: Dict[int, Any] = {}
    services: Dict[int, Any] = {}
    for obj in gc.get_objects():
        if isinstance(obj, greenlet.greenlet):
            # greenlets of other threads (gevent's threadpool workers) are not the test's
            if (not obj.dead and obj is not current and not isinstance(obj, Hub)
                    and obj.parent is not None and _root(obj) is root):
                glets[id(obj)] = obj
        elif isinstance(obj, Service) and getattr(obj, "_running", False):
            services[id(obj)] = obj
    return glets, services


def _root(glet: Any) -> Any:
    while glet.parent is not None:
        glet = glet.parent
    return glet


def _children() -> Set[int]:
    pids: Set[int] = set()
    try:
        for tid in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{tid}/children") as fh:
                pids.update(int(p) for p in fh.read().split())
    except OSError:
        pass
    return pids


def _listening_inodes() -> Set[str]:
    """Inodes of LISTEN tcp sockets that this process holds open."""
    ours: Set[str] = set()
    try:
        for fd in os.listdir("/proc/self/fd"):
            try:
                target = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                ours.add(target[8:-1])
        listening: Set[str] = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(table) as fh:
                next(fh)
                for line in fh:
                    parts = line.split()
                    if parts[3] == "0A":
                        listening.add(parts[9])
    except OSError:
        return set()
    return ours & listening


def _settle() -> None:
    import gevent
    for _ in range(3):
        gevent.sleep(0)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: Any) -> Iterator[None]:
    enabled = item.config.getini("spoc_leak_check") and item.get_closest_marker("spoc_allow_leaks") is None
    if not enabled:
        yield
        return
    glets_before, services_before = _live_objects()
    children_before = _children()
    listen_before = _listening_inodes()
    item.stash[_leak_key] = (glets_before, services_before, children_before, listen_before)
    yield


_leak_key = pytest.StashKey[Tuple[Dict[int, Any], Dict[int, Any], Set[int], Set[str]]]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: Any) -> Iterator[None]:
    outcome = yield
    before = item.stash.get(_leak_key, None)
    if before is None or outcome.excinfo is not None:
        return
    glets_before, services_before, children_before, listen_before = before
    problems = _find_leaks(glets_before, services_before, children_before, listen_before)
    if problems:
        pytest.fail("specter_spoc leak check: the test left things running:\n  - "
                    + "\n  - ".join(problems)
                    + "\nStop services/runtimes and join greenlets in the test or its fixtures "
                      "(mark with @pytest.mark.spoc_allow_leaks to opt out).", pytrace=False)


def _find_leaks(glets_before: Dict[int, Any], services_before: Dict[int, Any],
                children_before: Set[int], listen_before: Set[str]) -> List[str]:
    problems: List[str] = []
    for attempt in range(20):
        _settle()
        glets, services = _live_objects()
        leaked = [g for k, g in glets.items() if k not in glets_before or glets_before[k] is not g]
        running = [s for k, s in services.items() if k not in services_before]
        children = _children() - children_before
        if not (leaked or running or children):
            break
        import gevent
        gevent.sleep(0.01 * (attempt + 1))
    for service in running:
        problems.append(f"service still running: {service!r}")
    for glet in leaked:
        label = getattr(glet, "spoc_label", None) or repr(glet)
        problems.append(f"greenlet still alive: {label}")
    for pid in sorted(children):
        problems.append(f"child process still present: pid {pid} ({_cmdline(pid)})")
    listening = _listening_inodes() - listen_before
    if listening:
        problems.append(f"{len(listening)} listening socket(s) still open")
    if leaked:
        import gevent
        with gevent.Timeout(1, False):
            gevent.killall(leaked, block=True)
    for service in running:
        try:
            service.stop()
        except Exception:
            pass
    return problems


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace").strip()[:120] or "zombie"
    except OSError:
        return "gone"


# ----------------------------------------------------------------- fixtures
@pytest.fixture(autouse=True)
def _spoc_fresh_default_scope() -> Iterator[None]:
    """Each test starts with an empty default bus and registry."""
    from .wiring.scope import reset_default_scope
    reset_default_scope()
    yield
    reset_default_scope()


@pytest.fixture
def spoc_scope() -> Iterator[Any]:
    """A fresh Scope, active for the test's greenlet."""
    from .wiring.scope import Scope
    scope = Scope("test")
    with scope.activate():
        yield scope


@pytest.fixture
def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def spoc_app() -> Iterator[Any]:
    """Factory building booted Flask apps; every runtime it made is shut down
    after the test (in reverse order).

    ``spoc_app(services=..., controllers=..., handlers=..., debug=False,
    config=None, **boot_kwargs) -> (app, socketio, runtime)``. Signal
    handlers are not installed (``install_signals=False``) unless asked.
    """
    from flask import Flask
    from flask_socketio import SocketIO

    from .app import boot

    runtimes: List[Any] = []

    def factory(*, debug: bool = False, config: Optional[Dict[str, Any]] = None, **boot_kwargs: Any) -> tuple:
        app = Flask(f"spoc_test_app_{len(runtimes)}")
        app.config.update({"SECRET_KEY": "test", "DEBUG": debug, **(config or {})})
        socketio = SocketIO(app, async_mode="gevent")
        boot_kwargs.setdefault("install_signals", False)
        runtime = boot(app, socketio, **boot_kwargs)
        runtimes.append(runtime)
        return app, socketio, runtime

    yield factory
    for runtime in reversed(runtimes):
        runtime.shutdown()
