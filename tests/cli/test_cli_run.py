"""`specter-spoc run` as a user starts it: a real process serving a scaffolded
project, its log lines, its URL, --port 0, a taken port, --reload."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional

import gevent
import pytest
from click.testing import CliRunner

from specter_spoc.cli import cli
from specter_spoc.scaffold import new_project
from specter_spoc.testing import wait_until

pytestmark = pytest.mark.e2e

SPECTER_SPOC = str(Path(sys.executable).parent / "specter-spoc")
URL = re.compile(r"serving .*?(http://127\.0\.0\.1:(\d+))")


class RunProcess:
    """``specter-spoc run ...`` with its stderr collected line by line."""

    def __init__(self, proc: "subprocess.Popen[str]") -> None:
        self.proc = proc
        self.lines: List[str] = []
        self._reader = gevent.spawn(self._read)

    def _read(self) -> None:
        for line in self.proc.stderr:  # type: ignore[union-attr]
            self.lines.append(line.rstrip("\n"))

    def log(self) -> str:
        return "\n".join(self.lines)

    def wait_for_line(self, pattern: str, timeout: float = 30) -> re.Match:
        regex = re.compile(pattern)

        def found() -> Optional[re.Match]:
            exited = self.proc.poll() is not None and self._reader.dead
            match = next((m for m in map(regex.search, list(self.lines)) if m), None)
            if match is None and exited:
                raise AssertionError(f"run exited with {self.proc.returncode}:\n{self.log()}")
            return match
        return wait_until(found, timeout=timeout, interval=0.05, what=f"{pattern!r} in:\n{self.log()}")

    def url(self) -> str:
        return self.wait_for_line(URL.pattern).group(1)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        finally:
            self.close()

    def close(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)
        self._reader.join(5)
        self.proc.stderr.close()  # type: ignore[union-attr]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return new_project(tmp_path, "shop")


@pytest.fixture
def run_process():
    started: List[RunProcess] = []

    def start(*args: str, cwd: Path, env: Optional[Dict[str, str]] = None) -> RunProcess:
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("SPOC_", "PYTEST_", "SECRET_KEY"))}
        return adopt(subprocess.Popen([SPECTER_SPOC, "run", *args], cwd=cwd, env={**clean, **(env or {})},
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                      start_new_session=True))  # close() reaches a --reload child too

    def adopt(proc: "subprocess.Popen[str]") -> RunProcess:
        started.append(RunProcess(proc))
        return started[-1]
    start.adopt = adopt  # type: ignore[attr-defined]
    yield start
    for process in started:
        process.close()


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def test_port_0_prints_the_real_url_logs_with_timestamps_and_an_access_log(project: Path, run_process) -> None:
    server = run_process("--port", "0", cwd=project)
    url = server.url()
    assert not url.endswith(":0")
    assert get_json(f"{url}/core/") == {"items": []}
    # timestamp, level, logger name; then one access-log line for the request
    server.wait_for_line(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO +specter_spoc\.access: .*GET /core/ HTTP/1\.1.* 200 ")
    assert re.search(r"^\d{4}-\d\d-\d\d .* WARNING +specter_spoc\.runtime: no SECRET_KEY", server.log(), re.M)
    assert server.stop() == 0
    assert "Traceback" not in server.log()


def test_log_level_and_the_logging_setting(project: Path, run_process) -> None:
    settings = project / "config" / "settings.py"
    settings.write_text(settings.read_text() + (
        "\nLOGGING = {'version': 1, 'disable_existing_loggers': False,\n"
        "           'formatters': {'tagged': {'format': 'TAGGED %(levelname)s %(name)s %(message)s'}},\n"
        "           'handlers': {'err': {'class': 'logging.StreamHandler', 'formatter': 'tagged'}},\n"
        "           'root': {'handlers': ['err'], 'level': 'INFO'}}\n"))
    server = run_process("--port", "0", "--log-level", "warning", cwd=project)
    get_json(f"{server.url()}/core/")
    server.wait_for_line(r"^TAGGED WARNING specter_spoc\.runtime no SECRET_KEY")
    assert server.stop() == 0
    assert not any("specter_spoc.access" in line for line in server.lines), "--log-level warning hides INFO lines"


def with_secret_key(project: Path) -> Path:
    settings = project / "config" / "settings.py"
    settings.write_text(settings.read_text() + '\nSECRET_KEY = "' + "k" * 32 + '"\n')
    return project


def test_production_mode_has_no_access_log(project: Path, run_process) -> None:
    server = run_process("--port", "0", "--mode", "production", cwd=with_secret_key(project))
    get_json(f"{server.url()}/core/")
    assert server.stop() == 0
    assert not any("specter_spoc.access" in line for line in server.lines), server.log()


def test_a_taken_port_prints_one_line_and_exits_2(project: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["run", "--project", str(project), "--port", str(port)])
        process = subprocess.run([SPECTER_SPOC, "run", "--port", str(port)], cwd=project, capture_output=True,
                                 text=True, timeout=60)
    assert result.exit_code == 2
    assert result.output.strip() == (f"specter-spoc run: port {port} on 127.0.0.1 is already in use: stop the other "
                                     f"server, choose another --port, or pass --port 0 for a free one")
    assert process.returncode == 2
    assert process.stderr.strip().splitlines() == [result.output.strip()]


def test_reload_restarts_on_a_code_change_on_the_same_url(project: Path, run_process) -> None:
    server = run_process("--port", "0", "--reload", cwd=project)
    url = server.url()
    server.wait_for_line(r"restarting when files under .* change")
    wait_until(lambda: _try_json(f"{url}/core/") == {"items": []}, timeout=30, what="the first server")
    controllers = project / "apps" / "core" / "controllers.py"
    controllers.write_text(controllers.read_text().replace(
        'return {"items": registry.resolve("core.store").items()}', 'return {"items": [], "reloaded": True}'))
    wait_until(lambda: _try_json(f"{url}/core/") == {"items": [], "reloaded": True}, timeout=30,
               interval=0.1, what="the restarted server")
    assert server.wait_for_line(r"controllers\.py changed, restarting")
    assert server.stop() == 0
    assert "Traceback" not in server.log(), server.log()


def test_reload_waits_for_a_fix_after_a_broken_edit(project: Path, run_process) -> None:
    server = run_process("--port", "0", "--reload", cwd=project)
    url = server.url()
    wait_until(lambda: _try_json(f"{url}/core/") == {"items": []}, timeout=30, what="the first server")
    settings = project / "config" / "settings.py"
    good = settings.read_text()
    settings.write_text(good + "\nINSTALLED_APPS = 'core'\n")  # not a list: the project cannot load
    server.wait_for_line(r"INSTALLED_APPS")
    server.wait_for_line(r"server exited with status 2; waiting for a file change to restart")
    settings.write_text(good + "\n# fixed\n")
    wait_until(lambda: _try_json(f"{url}/core/") == {"items": []}, timeout=30, interval=0.1,
               what="the server after the fix")
    assert server.stop() == 0


def test_reload_is_refused_outside_development(project: Path, run_process) -> None:
    server = run_process("--port", "0", "--reload", "--mode", "production", cwd=with_secret_key(project))
    assert server.proc.wait(60) == 2
    server.wait_for_line(r"--reload is for development; the project runs in mode production")


def _try_json(url: str) -> Optional[dict]:
    try:
        return get_json(url)
    except OSError:
        return None


DEFAULT_INSTALL = str(Path(__file__).resolve().parents[1] / "e2e" / "default_install")


@pytest.mark.parametrize("install", ["default", "with gevent-websocket"])
def test_run_serves_websocket_only_clients(project: Path, run_process, sio_clients, install: str) -> None:
    """serve() picks the handler engineio expects: gevent's own with
    simple-websocket (default install), gevent-websocket's when installed."""
    env = {"PYTHONPATH": DEFAULT_INSTALL} if install == "default" else {}
    server = run_process("--port", "0", cwd=project, env=env)
    client = sio_clients()
    added: list = []
    client.on("core:added", added.append)
    client.connect(server.url(), transports=["websocket"], wait_timeout=10)
    assert client.transport() == "websocket"
    ack = client.call("core:add", {"title": "over a websocket"}, timeout=10)
    assert ack["title"] == "over a websocket"
    wait_until(lambda: added == [ack], timeout=5, what="the broadcast")
    assert server.stop() == 0
    assert "Traceback" not in server.log(), server.log()


def test_flask_spoc_run_serves_the_app_named_by_app(project: Path, run_process, tmp_path: Path) -> None:
    """`flask --app wsgi:create_app spoc run` serves that app (same server as specter-spoc run)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SPOC_", "PYTEST_", "SECRET_KEY"))}
    proc = subprocess.Popen([str(Path(sys.executable).parent / "flask"), "--app", f"{project / 'wsgi.py'}:create_app",
                             "spoc", "run", "--port", "0"], cwd=tmp_path, env=clean, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    server = run_process.adopt(proc)
    url = server.url()
    assert get_json(f"{url}/core/") == {"items": []}
    assert server.stop() == 0
    assert "Traceback" not in server.log(), server.log()
