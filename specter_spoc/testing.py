"""pytest plugin: leak checks, fixtures for booted apps, and test helpers.

Installed as a ``pytest11`` entry point, so every project in a venv with
specter_spoc gets it; it costs nothing for tests that do not opt in.

Leak check
----------
On for a test that uses one of the plugin's fixtures (``spoc_app``,
``spoc_client``, ``spoc_socketio_client``, ``spoc_live_server``,
``spoc_app_factory``, ``spoc_scope``, ``spoc_project``, ``free_port``) or is
marked ``@pytest.mark.spoc_leak_check``; on for every test when the ini option
``spoc_leak_check = true``; off with ``@pytest.mark.spoc_allow_leaks``. After
the test's teardown it FAILS the test (the call report, not a teardown error)
when something it started is still running:

- a :class:`~specter_spoc.Service` (tracked through the
  ``service_started``/``service_stopped`` signals, no scan);
- a greenlet (found among the objects created during the test: everything
  older is frozen with :func:`gc.freeze` for the test's duration, so the
  scan costs what the test allocated, not the whole heap);
- a thread, a child process (zombies too), or a listening TCP socket.

Leaked greenlets are killed and leaked services stopped afterwards, so one
leak does not cascade. What a fixture of wider scope (module, session...)
starts during its setup belongs to that fixture: it is neither reported nor
stopped at the end of the test, and is checked when the fixture's scope ends.

ini options (``[tool.pytest.ini_options]``)
-------------------------------------------
- ``spoc_leak_check = true``: check every test (default: only tests that opt in);
- ``spoc_gevent_patch = true``: ``gevent.monkey.patch_all()`` before conftest
  files are imported (gevent needs to be first);
- ``spoc_project``: the project folder ``spoc_app`` boots (default: rootdir);
- ``spoc_mode``: the mode ``spoc_app`` boots in (default ``test``);
- ``spoc_app_scope``: the scope of ``spoc_app`` and its project (default ``function``).

Helpers: :func:`free_port` and :func:`wait_until`.
"""
from __future__ import annotations

import gc
import os
import socket
import stat
import sys
import time
import weakref
from dataclasses import dataclass, field
from typing import (TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Optional, Set, Tuple, TypeVar)

import pytest

if TYPE_CHECKING:  # pragma: no cover
    from flask import Flask
    from flask.testing import FlaskClient

T = TypeVar("T")

#: fixtures whose use turns the leak check on for a test
PLUGIN_FIXTURES = frozenset({"spoc_app", "spoc_client", "spoc_socketio_client", "spoc_live_server",
                             "spoc_app_factory", "spoc_scope", "spoc_project", "free_port"})
_LEAK_HINT = ("Stop services/runtimes, join greenlets and threads, close servers and reap processes in the "
              "test or its fixtures (or mark the test @pytest.mark.spoc_allow_leaks).")


# ------------------------------------------------------------------- helpers
def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now (another process may take it
    before you bind it; bind port 0 yourself when you can)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.01,
               what: str = "condition") -> T:
    """Poll ``predicate`` until it returns something truthy, and return that.

    Raises ``AssertionError`` naming ``what`` after ``timeout`` seconds. Sleeps
    with ``gevent.sleep`` when gevent is loaded, so greenlets (a server in the
    same process) keep running while the test waits.
    """
    sleep = _cooperative_sleep()
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        sleep(interval)


def _cooperative_sleep() -> Callable[[float], None]:
    gevent = sys.modules.get("gevent")
    return gevent.sleep if gevent is not None else time.sleep


# ------------------------------------------------------------------- options
def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("spoc_leak_check", "check every test for leaked greenlets, services, threads, processes "
                  "and listening sockets (default: only tests using the plugin's fixtures or the "
                  "spoc_leak_check marker)", type="bool", default=False)
    parser.addini("spoc_gevent_patch", "gevent.monkey.patch_all() before conftests load",
                  type="bool", default=False)
    parser.addini("spoc_project", "project folder booted by the spoc_app fixture (default: rootdir)", default="")
    parser.addini("spoc_mode", "mode the spoc_app fixture boots the project in", default="test")
    parser.addini("spoc_app_scope", "scope of the spoc_app fixture", default="function")


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
    config.addinivalue_line("markers", "spoc_leak_check: run the specter_spoc leak check for this test")
    config.addinivalue_line("markers", "spoc_allow_leaks: skip the specter_spoc leak check for this test")
    config.stash[_state_key] = _LeakState(default_on=bool(config.getini("spoc_leak_check")))


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(_state_key, None)
    if state is not None:
        state.services.disconnect()


# ------------------------------------------------------------ what is running
class _ServiceTracker:
    """Running services, from the lifecycle signals (no heap scan). Connected
    once specter_spoc's signals are imported; services started before that
    were not started by a test."""

    def __init__(self) -> None:
        self.running: Dict[int, Any] = {}
        self.owner_of: Dict[int, Any] = {}
        self.current_owner: Optional[Any] = None
        self._signals: Any = None

    def connect(self) -> None:
        signals = sys.modules.get("specter_spoc.wiring.signals")
        if signals is None or signals is self._signals:
            return
        self.disconnect()  # a re-imported package (pytester restores sys.modules) has new signals
        self._signals = signals
        signals.service_started.connect(self._started, weak=False)
        signals.service_stopped.connect(self._stopped, weak=False)

    def disconnect(self) -> None:
        if self._signals is not None:
            self._signals.service_started.disconnect(self._started)
            self._signals.service_stopped.disconnect(self._stopped)
            self._signals = None

    def _started(self, service: Any, **_: Any) -> None:
        self.running[id(service)] = service
        if self.current_owner is not None:
            self.owner_of[id(service)] = self.current_owner

    def _stopped(self, service: Any, **_: Any) -> None:
        self.running.pop(id(service), None)
        self.owner_of.pop(id(service), None)

    def alive(self) -> Dict[int, Any]:
        return {k: s for k, s in self.running.items() if getattr(s, "running", True)}


@dataclass
class _Snapshot:
    services: Dict[int, Any]
    greenlets: Dict[int, Any]
    threads: Dict[int, Any]
    children: Set[int]
    sockets: Set[Tuple[int, int]]


@dataclass
class _Owned:
    """What a wider-scope fixture started during its setup."""
    name: str
    services: Dict[int, Any] = field(default_factory=dict)
    greenlets: "weakref.WeakSet[Any]" = field(default_factory=weakref.WeakSet)
    threads: Dict[int, Any] = field(default_factory=dict)
    children: Set[int] = field(default_factory=set)
    sockets: Set[Tuple[int, int]] = field(default_factory=set)


class _LeakState:
    def __init__(self, default_on: bool) -> None:
        self.default_on = default_on
        self.services = _ServiceTracker()
        self.checking = False
        self.owned: Dict[int, _Owned] = {}  # id(fixturedef) -> what it started
        self.late_problems: List[str] = []  # found when a wide fixture ended during a test

    def enabled(self, item: pytest.Item) -> bool:
        if item.get_closest_marker("spoc_allow_leaks") is not None:
            return False
        if self.default_on or item.get_closest_marker("spoc_leak_check") is not None:
            return True
        return not PLUGIN_FIXTURES.isdisjoint(getattr(item, "fixturenames", ()))

    def snapshot(self) -> _Snapshot:
        return _Snapshot(self.services.alive(), _alive_greenlets(), _alive_threads(), _children(),
                         _socket_inodes())

    def tolerated(self) -> _Owned:
        merged = _Owned("wide fixtures")
        for owned in self.owned.values():
            merged.services.update(owned.services)
            merged.greenlets.update(owned.greenlets)
            merged.threads.update(owned.threads)
            merged.children |= owned.children
            merged.sockets |= owned.sockets
        return merged


_state_key = pytest.StashKey[_LeakState]()
#: nested pytest sessions (pytester) share the interpreter's gc: only the
#: outermost checked test unfreezes (inner tests freeze again, which hides
#: from the outer test's scan what it created before running them)
_freeze_depth = [0]


def _alive_greenlets() -> Dict[int, Any]:
    """Started, unfinished greenlets of this thread among the objects the gc
    can see (everything frozen before the test is invisible)."""
    greenlet = sys.modules.get("greenlet")
    if greenlet is None:
        return {}
    hub_module = sys.modules.get("gevent.hub")
    hub_type = hub_module.Hub if hub_module is not None else ()
    current = greenlet.getcurrent()
    root = _root(current)
    found: Dict[int, Any] = {}
    for obj in gc.get_objects():
        if (isinstance(obj, greenlet.greenlet) and obj is not current and obj.parent is not None
                and not isinstance(obj, hub_type) and not obj.dead and bool(obj) and _root(obj) is root):
            found[id(obj)] = obj
    return found


def _root(glet: Any) -> Any:
    while glet.parent is not None:
        glet = glet.parent
    return glet


def _alive_threads() -> Dict[int, Any]:
    threading = sys.modules.get("threading")
    if threading is None:
        return {}
    main = threading.main_thread()
    dummy = getattr(threading, "_DummyThread", ())
    return {id(t): t for t in threading.enumerate() if t is not main and not isinstance(t, dummy) and t.is_alive()}


def _children() -> Set[int]:
    """Child processes (zombies too) of this process's threads."""
    pids: Set[int] = set()
    threading = sys.modules.get("threading")
    tids = {os.getpid()}
    if threading is not None:
        tids.update(t.native_id for t in threading.enumerate() if getattr(t, "native_id", None))
    for tid in tids:
        try:
            with open(f"/proc/self/task/{tid}/children") as fh:
                pids.update(int(p) for p in fh.read().split())
        except OSError:
            continue
    return pids


def _socket_inodes() -> Set[Tuple[int, int]]:
    """``(fd, inode)`` of the sockets this process has open; which of them
    listen is only asked about new ones (``/proc/net/tcp`` is too slow to
    read per test)."""
    found: Set[Tuple[int, int]] = set()
    try:
        fds = os.listdir("/proc/self/fd")
    except OSError:
        return found
    for name in fds:
        fd = int(name)
        try:
            st = os.fstat(fd)
        except OSError:
            continue
        if stat.S_ISSOCK(st.st_mode):
            found.add((fd, st.st_ino))
    return found


def _listening(sockets: Set[Tuple[int, int]]) -> Dict[str, str]:
    """``{inode: "host:port"}`` for those of ``sockets`` that are listening."""
    import _socket  # the C socket: no gevent watcher for a probe

    found: Dict[str, str] = {}
    for fd, inode in sockets:
        try:
            probe = _socket.socket(fileno=os.dup(fd))
        except OSError:
            continue
        try:
            if probe.type == socket.SOCK_STREAM and probe.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
                address = probe.getsockname()
                found[str(inode)] = (f"[{address[0]}]:{address[1]}" if probe.family == socket.AF_INET6
                                     else f"{address[0]}:{address[1]}" if isinstance(address, tuple)
                                     else str(address))
        except OSError:
            pass
        finally:
            probe.close()
    return found


def _settle() -> None:
    gevent = sys.modules.get("gevent")
    if gevent is not None:
        for _ in range(3):
            gevent.sleep(0)


def _label(glet: Any) -> str:
    from .lifecycle.owner import label_of
    return label_of(glet)


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace").strip()[:120] or "zombie"
    except OSError:
        return "gone"


@dataclass
class _Found:
    """Things still running that should not be."""
    services: List[Any] = field(default_factory=list)
    greenlets: List[Any] = field(default_factory=list)
    threads: List[Any] = field(default_factory=list)
    children: Set[int] = field(default_factory=set)
    listening: Dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.services or self.greenlets or self.threads or self.children or self.listening)

    def problems(self) -> List[str]:
        return ([f"service still running: {s!r}" for s in self.services]
                + [f"greenlet still alive: {_label(g)}" for g in self.greenlets]
                + [f"thread still alive: {t!r}" for t in self.threads]
                + [f"child process still present: pid {pid} ({_cmdline(pid)})" for pid in sorted(self.children)]
                + [f"listening socket still open: {addr}" for addr in sorted(self.listening.values())])

    def clean_up(self) -> None:
        """Kill leaked greenlets and stop leaked services so one leak does
        not fail the next tests too (threads, processes and sockets belong
        to objects the plugin cannot safely close)."""
        gevent = sys.modules.get("gevent")
        if gevent is not None:
            killable = [g for g in self.greenlets if isinstance(g, gevent.Greenlet)]
            if killable:
                gevent.killall(killable, block=True, timeout=1)
        for service in self.services:
            try:
                service.stop()
            except Exception:
                pass


#: pauses between looks at what is still running (~0.5 s in all)
_POLL_DELAYS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.1, 0.1, 0.1)


def _poll(find: Callable[[], _Found]) -> _Found:
    """``find()`` until it finds nothing, for up to ~1 s: a greenlet or
    service that is just finishing gets the chance to."""
    found = _Found()
    for delay in _POLL_DELAYS:
        _settle()
        found = find()
        if not found:
            return found
        _cooperative_sleep()(delay)
    return found


def _new_since(state: _LeakState, before: _Snapshot, tolerated: _Owned) -> Callable[[], _Found]:
    def find() -> _Found:
        now = state.snapshot()
        new_sockets = now.sockets - before.sockets - tolerated.sockets
        return _Found(
            services=[s for k, s in now.services.items() if k not in before.services and k not in tolerated.services],
            greenlets=[g for k, g in now.greenlets.items()
                       if before.greenlets.get(k) is not g and g not in tolerated.greenlets],
            threads=[t for k, t in now.threads.items() if k not in before.threads and k not in tolerated.threads],
            children=now.children - before.children - tolerated.children,
            listening=_listening(new_sockets) if new_sockets else {})
    return find


def _still_alive(state: _LeakState, owned: _Owned) -> Callable[[], _Found]:
    def find() -> _Found:
        running = state.services.alive()
        return _Found(services=[s for k, s in owned.services.items() if k in running],
                      greenlets=[g for g in owned.greenlets if bool(g) and not g.dead],
                      threads=[t for t in owned.threads.values() if t.is_alive()],
                      children=owned.children & _children(),
                      listening=_listening(owned.sockets & _socket_inodes()))
    return find


# --------------------------------------------------------------------- hooks
@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: Optional[pytest.Item]) -> Iterator[None]:
    """Each test starts and ends with an empty default bus and registry."""
    _reset_default_scope()
    try:
        return (yield)
    finally:
        _reset_default_scope()


def _reset_default_scope() -> None:
    scope = sys.modules.get("specter_spoc.wiring.scope")
    if scope is not None:
        scope.reset_default_scope()


@pytest.hookimpl(tryfirst=True, specname="pytest_runtest_protocol")  # a second impl of the hook
def pytest_runtest_protocol_leak_checked(item: pytest.Item, nextitem: Optional[pytest.Item]) -> Optional[bool]:
    """Runs the test's setup, call and teardown, then the leak check, and only
    then reports, so a leak fails the test itself. Tests without the check
    go through pytest's own protocol untouched."""
    state = item.config.stash.get(_state_key, None)
    if state is None or state.checking or not state.enabled(item):
        return None
    from _pytest.runner import runtestprotocol

    state.services.connect()
    ihook = item.ihook
    ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    gc.freeze()  # what exists now is not this test's: hide it from the scans
    _freeze_depth[0] += 1
    state.checking = True
    try:
        before = state.snapshot()
        reports = runtestprotocol(item, nextitem=nextitem, log=False)
        found = _poll(_new_since(state, before, state.tolerated()))
        problems = state.late_problems + found.problems()
        state.late_problems = []
        found.clean_up()
    finally:
        state.checking = False
        _freeze_depth[0] -= 1
        if _freeze_depth[0] == 0:
            gc.unfreeze()
    if problems:
        _fail(reports, problems)
    for report in reports:
        ihook.pytest_runtest_logreport(report=report)
    ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True


def _fail(reports: List[pytest.TestReport], problems: List[str]) -> None:
    message = ("specter_spoc leak check: the test left things running:\n  - " + "\n  - ".join(problems)
               + "\n" + _LEAK_HINT)
    call = next((r for r in reports if r.when == "call"), None)
    if call is not None and call.passed:
        call.outcome = "failed"
        call.longrepr = message
    elif call is not None:
        call.sections.append(("specter_spoc leak check", message))
    elif reports[0].failed:  # setup failed: its error report carries it too
        reports[0].sections.append(("specter_spoc leak check", message))
    else:  # setup skipped: the teardown report carries it
        teardown = reports[-1]
        teardown.outcome = "failed"
        teardown.longrepr = message


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Iterator[Any]:
    """What a module/session/... fixture starts belongs to it, not to the test
    that happened to set it up."""
    state = request.config.stash.get(_state_key, None)
    if state is None or not state.checking or fixturedef.scope == "function":
        return (yield)
    before = state.snapshot()
    outer = state.services.current_owner
    owned = _Owned(f"{fixturedef.argname} ({fixturedef.scope}-scoped fixture)")
    state.services.current_owner = owned
    try:
        return (yield)
    finally:
        state.services.current_owner = outer
        after = state.snapshot()
        owned.services = {k: s for k, s in after.services.items() if k not in before.services}
        owned.greenlets.update(g for k, g in after.greenlets.items() if before.greenlets.get(k) is not g)
        owned.threads = {k: t for k, t in after.threads.items() if k not in before.threads}
        owned.children = after.children - before.children
        owned.sockets = after.sockets - before.sockets
        state.owned[id(fixturedef)] = owned


@pytest.hookimpl(wrapper=True)
def pytest_fixture_post_finalizer(fixturedef: pytest.FixtureDef[Any],
                                  request: pytest.FixtureRequest) -> Iterator[None]:
    """A wide fixture ended: what it started must be gone now."""
    try:
        return (yield)
    finally:
        state = request.config.stash.get(_state_key, None)
        owned = state.owned.pop(id(fixturedef), None) if state is not None else None
        if state is not None and owned is not None and state.checking:
            found = _poll(_still_alive(state, owned))
            state.late_problems += [f"{p} (started by {owned.name})" for p in found.problems()]
            found.clean_up()


# ------------------------------------------------------------------ fixtures
def _app_scope(fixture_name: str, config: pytest.Config) -> Any:
    scope = str(config.getini("spoc_app_scope") or "function")
    if scope not in ("function", "class", "module", "package", "session"):
        raise pytest.UsageError(f"spoc_app_scope = {scope!r} in the pytest ini options is not a fixture "
                                f"scope; use function, class, module, package or session")
    return scope


@pytest.fixture
def spoc_scope() -> Iterator[Any]:
    """A fresh Scope, active for the test's greenlet."""
    from .wiring.scope import Scope
    scope = Scope("test")
    with scope.activate():
        yield scope


@pytest.fixture(name="free_port")
def _free_port_fixture() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    return free_port()


@pytest.fixture(scope=_app_scope)
def spoc_project(pytestconfig: pytest.Config) -> Any:
    """The project folder ``spoc_app`` boots: the ini option ``spoc_project``
    (relative to the rootdir), else the rootdir. Override this fixture to
    boot another one."""
    configured = str(pytestconfig.getini("spoc_project") or "")
    return (pytestconfig.rootpath / configured) if configured else pytestconfig.rootpath


@pytest.fixture(scope=_app_scope)
def spoc_config() -> Dict[str, Any]:
    """Flask config overrides for ``spoc_app`` (default ``{"TESTING": True}``);
    override the fixture to change them."""
    return {"TESTING": True}


@pytest.fixture(scope=_app_scope)
def spoc_app(spoc_project: Any, spoc_config: Dict[str, Any], pytestconfig: pytest.Config) -> Iterator["Flask"]:
    """The project's Flask app, booted by :func:`specter_spoc.create_app` in
    the ``spoc_mode`` mode (``test``), shut down after the test (or the
    scope set by ``spoc_app_scope``)."""
    from .app import create_app

    app = create_app(spoc_project, mode=str(pytestconfig.getini("spoc_mode") or "test"), config=spoc_config)
    try:
        yield app
    finally:
        app.extensions["specter_spoc"].shutdown()


@pytest.fixture
def spoc_client(spoc_app: "Flask") -> "FlaskClient":
    """Flask's test client for ``spoc_app``."""
    return spoc_app.test_client()


@pytest.fixture
def spoc_socketio_client(spoc_app: "Flask", spoc_client: "FlaskClient") -> Iterator[Any]:
    """Flask-SocketIO's test client, connected to ``spoc_app`` (sharing
    ``spoc_client``'s cookies); disconnected after the test."""
    socketio = spoc_app.extensions["socketio"]
    client = socketio.test_client(spoc_app, flask_test_client=spoc_client)
    try:
        yield client
    finally:
        if client.is_connected():
            client.disconnect()


class LiveServer:
    """``spoc_app`` served on a free loopback port by gevent's WSGI server
    (HTTP and WebSockets) in this process."""

    def __init__(self, app: "Flask", server: Any) -> None:
        self.app = app
        self.server = server
        self.host: str = server.address[0]
        self.port: int = server.address[1]
        self.url: str = f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        """Stop accepting, shut the runtime down (clients get the final
        event), close the remaining connections."""
        self.server.close()
        self.app.extensions["specter_spoc"].shutdown()
        self.server.stop(timeout=2)


@pytest.fixture
def spoc_live_server(spoc_app: "Flask") -> Iterator[LiveServer]:
    """``spoc_app`` on a free 127.0.0.1 port (``.url``, ``.port``); needs
    ``spoc_gevent_patch = true`` so clients in the test yield to the server."""
    from gevent import monkey

    from .web.devserver import listen, make_server

    if not monkey.is_module_patched("socket"):
        raise pytest.UsageError("spoc_live_server serves in this process and needs gevent monkey-patching: set "
                                "spoc_gevent_patch = true in [tool.pytest.ini_options]")
    server = make_server(listen("127.0.0.1", 0), spoc_app)
    server.start()
    live = LiveServer(spoc_app, server)
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture
def spoc_app_factory() -> Iterator[Callable[..., Tuple[Any, Any, Any]]]:
    """Factory building booted Flask apps from parts; every runtime it made
    is shut down after the test (in reverse order).

    ``spoc_app_factory(services=..., controllers=..., handlers=...,
    debug=False, config=None, **boot_kwargs) -> (app, socketio, runtime)``.
    Signal handlers are not installed (``install_signals=False``) unless asked.
    """
    from flask import Flask
    from flask_socketio import SocketIO

    from .app import boot

    runtimes: List[Any] = []

    def factory(*, debug: bool = False, config: Optional[Dict[str, Any]] = None,
                **boot_kwargs: Any) -> Tuple[Any, Any, Any]:
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
