"""Real servers for end-to-end tests: each starts on a free loopback port and
is stopped (and reaped) by the fixture."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import pytest
import requests

from specter_spoc.testing import free_port, wait_until

HERE = Path(__file__).parent
VENV_BIN = Path(sys.executable).parent
WS_WORKER = "geventwebsocket.gunicorn.workers.GeventWebSocketWorker"


def gunicorn_extra_args() -> List[str]:
    """``--no-control-socket`` where gunicorn has it: two gunicorns would
    otherwise share ~/.gunicorn/gunicorn.ctl."""
    from gunicorn.config import KNOWN_SETTINGS
    return ["--no-control-socket"] if any(s.name == "control_socket_disable" for s in KNOWN_SETTINGS) else []


class Server:
    def __init__(self, proc: subprocess.Popen, port: int, log_path: Path) -> None:
        self.proc = proc
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, path: str = "/ready", timeout: float = 30) -> None:
        def ready() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                return requests.get(self.url + path, timeout=1).status_code < 500
            except requests.RequestException:
                return False

        try:
            wait_until(ready, timeout=timeout, interval=0.1, what=f"the server to answer {path}")
        except AssertionError as exc:
            raise RuntimeError(f"{exc}:\n{self.log()}") from None

    def terminate(self, timeout: float = 60) -> float:
        """SIGTERM; seconds until the process exited."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout)
        return time.monotonic() - started

    def kill(self) -> None:
        """Stop the master and its workers (the whole process group): SIGTERM,
        then SIGKILL after 10 s. Killing only the master would orphan workers."""
        try:
            pgid = os.getpgid(self.proc.pid)
        except ProcessLookupError:
            pgid = None
        if pgid != self.proc.pid:  # not its own group (started without start_new_session)
            pgid = None
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
        if self.proc.poll() is None and pgid is not None:
            os.killpg(pgid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        if pgid is not None:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(10)


@contextmanager
def gunicorn(app_spec: str, *, env: Optional[Dict[str, str]] = None, worker: str = WS_WORKER,
             chdir: Path = HERE / "apps", extra: Optional[List[str]] = None,
             tmp_path: Path) -> Iterator[Server]:
    port = free_port()
    log_path = tmp_path / f"gunicorn-{port}.log"
    cmd = [str(VENV_BIN / "gunicorn"), "-k", worker, "-w", "1", "-b", f"127.0.0.1:{port}",
           "--chdir", str(chdir), "--graceful-timeout", "30", "--timeout", "60", *gunicorn_extra_args(), *(extra or []), app_spec]
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=full_env,
                                start_new_session=True)  # own process group: kill() reaches workers
    server = Server(proc, port, log_path)
    try:
        server.wait_ready()
        yield server
    finally:
        server.kill()


@pytest.fixture
def gunicorn_server(tmp_path: Path):
    """gunicorn_server(app_spec, env=...) -> context manager yielding a Server."""
    def start(app_spec: str, **kwargs):
        return gunicorn(app_spec, tmp_path=tmp_path, **kwargs)
    return start
