"""The pytest plugin's leak check, run on inner test files with pytester."""
from __future__ import annotations

import sys

import pytest

import specter_spoc.wiring.signals  # noqa: F401  (kept loaded across pytester runs, which unload new modules)

pytest_plugins = ["pytester"]

SERVICE = '''
from specter_spoc import Service

class Worker(Service):
    def __init__(self, name="worker"):
        super().__init__(name, {})
'''


def outcomes(result: pytest.RunResult) -> dict:
    return {k: v for k, v in result.parseoutcomes().items() if k not in ("seconds", "second")}


def test_leaked_greenlet_fails_the_test_itself(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner='''
        import gevent, pytest

        @pytest.mark.spoc_leak_check
        def test_leaks():
            gevent.spawn(gevent.sleep, 30)
    ''')
    result = pytester.runpytest("-W", "error::pytest.PytestWarning")
    assert outcomes(result) == {"failed": 1}
    result.stdout.fnmatch_lines(["*greenlet still alive: <Greenlet*sleep(30)>*",
                                 "FAILED test_inner.py::test_leaks - specter_spoc leak check*"])
    result.stdout.no_fnmatch_line("*ERROR at teardown*")
    result.stdout.no_fnmatch_line("*PluggyTeardownRaisedWarning*")


def test_leaked_service_is_reported_and_stopped(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(svc=SERVICE)
    pytester.makepyfile(test_inner='''
        import pytest, svc

        @pytest.mark.spoc_leak_check
        def test_leaks():
            svc.LEAKED = svc.Worker("leaky").start()

        def test_the_plugin_stopped_it():
            assert not svc.LEAKED.running
    ''')
    result = pytester.runpytest()
    assert outcomes(result) == {"failed": 1, "passed": 1}
    result.stdout.fnmatch_lines(["*service still running: *leaky*"])


def test_leaked_thread_is_reported(pytester: pytest.Pytester) -> None:
    """A real OS thread, so in a fresh interpreter without monkey-patching."""
    pytester.makepyfile(test_inner='''
        import threading, pytest

        @pytest.mark.spoc_leak_check
        def test_leaks():
            threading.Thread(target=threading.Event().wait, name="stuck-thread", daemon=True).start()
    ''')
    result = pytester.runpytest_subprocess()
    assert outcomes(result) == {"failed": 1}
    result.stdout.fnmatch_lines(["*thread still alive: <Thread(stuck-thread*"])


def test_leaked_listening_socket_is_reported_with_its_address(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner='''
        import socket, sys, pytest

        @pytest.mark.spoc_leak_check
        def test_leaks():
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sock.listen()
            sys._spoc_leak = sock
    ''')
    try:
        result = pytester.runpytest()
    finally:
        sock = sys.__dict__.pop("_spoc_leak", None)
        port = sock.getsockname()[1] if sock is not None else None
        if sock is not None:
            sock.close()
    assert outcomes(result) == {"failed": 1}
    result.stdout.fnmatch_lines([f"*listening socket still open: 127.0.0.1:{port}*"])


def test_leaked_child_process_is_reported(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner='''
        import subprocess, sys, pytest

        @pytest.mark.spoc_leak_check
        def test_leaks():
            sys._spoc_leak = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    ''')
    try:
        result = pytester.runpytest()
    finally:
        proc = sys.__dict__.pop("_spoc_leak", None)
        if proc is not None:
            proc.kill()
            proc.wait(5)
    assert outcomes(result) == {"failed": 1}
    result.stdout.fnmatch_lines(["*child process still present: pid * (*time.sleep(30)*)*"])


def test_clean_tests_pass_and_a_failing_test_keeps_its_own_failure(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(svc=SERVICE)
    pytester.makepyfile(test_inner='''
        import gevent, pytest, svc

        pytestmark = pytest.mark.spoc_leak_check

        def test_joins_its_greenlet():
            glet = gevent.spawn(gevent.sleep, 0.01)
            glet.join()

        def test_stops_its_service():
            svc.Worker().start().stop()

        def test_fails_and_leaks():
            gevent.spawn(gevent.sleep, 30)
            assert 1 == 2
    ''')
    result = pytester.runpytest()
    assert outcomes(result) == {"passed": 2, "failed": 1}
    result.stdout.fnmatch_lines(["*assert 1 == 2*", "*- specter_spoc leak check -*",
                                 "*greenlet still alive: <Greenlet*sleep(30)>*"])


def test_off_by_default_on_with_fixture_ini_or_marker_off_with_allow_leaks(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('''
        import gevent, pytest

        SPAWNED = []

        @pytest.fixture(scope="session", autouse=True)
        def kill_what_unchecked_tests_leaked():
            yield
            gevent.killall(SPAWNED)
    ''')
    pytester.makepyfile(test_inner='''
        import gevent, pytest
        from conftest import SPAWNED

        def leak():
            SPAWNED.append(gevent.spawn(gevent.sleep, 30))

        def test_plain():
            leak()

        def test_with_a_plugin_fixture(free_port):
            leak()

        @pytest.mark.spoc_leak_check
        def test_marked():
            leak()

        @pytest.mark.spoc_allow_leaks
        def test_allowed(free_port):
            leak()
    ''')
    result = pytester.runpytest("-v")
    assert outcomes(result) == {"passed": 2, "failed": 2}
    result.stdout.fnmatch_lines(["*test_plain PASSED*", "*test_with_a_plugin_fixture FAILED*",
                                 "*test_marked FAILED*", "*test_allowed PASSED*"])
    pytester.makeini("[pytest]\nspoc_leak_check = true\n")
    result = pytester.runpytest("-v")
    assert outcomes(result) == {"passed": 1, "failed": 3}


def test_session_fixture_is_neither_reported_nor_stopped_and_checked_when_its_scope_ends(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile(svc=SERVICE)
    pytester.makeconftest('''
        import gevent, pytest, svc

        @pytest.fixture(scope="session")
        def shared():
            worker = svc.Worker("shared").start()
            ticker = gevent.spawn(gevent.sleep, 60)
            yield worker
            worker.stop()
            ticker.kill()

        @pytest.fixture(scope="module")
        def sloppy():
            yield svc.Worker("sloppy").start()   # never stopped
    ''')
    pytester.makepyfile(test_a='''
        import pytest
        pytestmark = pytest.mark.spoc_leak_check

        def test_one(shared):
            assert shared.running

        def test_two(shared):
            assert shared.running, "the plugin must not stop a session fixture's service"
    ''')
    pytester.makepyfile(test_b='''
        import pytest
        pytestmark = pytest.mark.spoc_leak_check

        def test_uses_sloppy(sloppy):
            assert sloppy.running

        def test_after(sloppy):
            assert sloppy.running
    ''')
    result = pytester.runpytest("-v", "-p", "no:randomly")
    assert outcomes(result) == {"passed": 3, "failed": 1}
    result.stdout.fnmatch_lines(["*test_a.py::test_one PASSED*", "*test_a.py::test_two PASSED*",
                                 "*test_b.py::test_uses_sloppy PASSED*", "*test_b.py::test_after FAILED*",
                                 "*service still running: *sloppy* (started by sloppy (module-scoped fixture))*"])


def write_project(pytester: pytest.Pytester, app: str) -> None:
    """A one-app project in ``proj/`` (each test its own app name: modules of
    earlier inline pytester runs share this interpreter)."""
    pytester.mkdir("proj")
    pytester.path.joinpath("proj", "config").mkdir()
    pytester.path.joinpath("proj", "config", "settings.py").write_text(
        f'INSTALLED_APPS = ["{app}"]\nSECRET_KEY = "x"\n')
    app_dir = pytester.path / "proj" / "apps" / app
    app_dir.mkdir(parents=True)
    app_dir.joinpath("__init__.py").write_text(
        f'from specter_spoc.project import AppConfig\napp = AppConfig(name="{app}", url_prefix="/hello")\n')
    app_dir.joinpath("controllers.py").write_text('''
from specter_spoc import Controller
from specter_spoc.project import controller

@controller
class Hello(Controller):
    name = "hello"

    def build_routes(self, router):
        @router.route("/", methods=["GET"])
        def index():
            return {"hello": "world"}

    def build_events(self, handler):
        handler.on("hello:ping", lambda data=None: {"pong": data})
''')


@pytest.mark.e2e  # its inner test_live_server serves the project on a loopback port
def test_the_app_fixtures_boot_a_project(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nspoc_project = proj\n")
    write_project(pytester, "hello")
    pytester.makepyfile(test_inner='''
        def test_client(spoc_app, spoc_client):
            assert spoc_app.config["TESTING"] is True
            assert spoc_app.config["SPOC_MODE"] == "test"
            assert spoc_client.get("/hello/").get_json() == {"hello": "world"}

        def test_socketio(spoc_socketio_client):
            assert spoc_socketio_client.emit("hello:ping", 7, callback=True) == {"pong": 7}

        def test_live_server(spoc_live_server):
            import requests
            assert spoc_live_server.url == f"http://127.0.0.1:{spoc_live_server.port}"
            assert requests.get(spoc_live_server.url + "/hello/", timeout=5).json() == {"hello": "world"}
    ''')
    result = pytester.runpytest("-v")
    assert outcomes(result) == {"passed": 3}, result.stdout.str()


def test_a_session_scoped_app_is_shared_not_stopped_and_not_reported(pytester: pytest.Pytester) -> None:
    """The issue's case: the plugin used to stop a session app after the first test (503 next)."""
    pytester.makeini("[pytest]\nspoc_project = proj\nspoc_app_scope = session\nspoc_leak_check = true\n"
                     "spoc_gevent_patch = true\n")
    write_project(pytester, "greet")
    pytester.makepyfile(test_inner='''
        SEEN = []

        def test_first(spoc_app, spoc_client):
            SEEN.append(spoc_app)
            assert spoc_client.get("/hello/").status_code == 200

        def test_second(spoc_app, spoc_client):
            assert spoc_app is SEEN[0]
            assert spoc_client.get("/hello/").status_code == 200, "the plugin must not stop a session app"
            assert spoc_app.extensions["specter_spoc"].booted
    ''')
    result = pytester.runpytest_subprocess("-v", "-p", "no:randomly")
    assert outcomes(result) == {"passed": 2}, result.stdout.str()
