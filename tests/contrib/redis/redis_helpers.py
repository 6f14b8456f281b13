"""Helpers for the Redis tests: real redis-server and server processes.

Each test gets its own ``redis-server`` on a free loopback port (never the
system Redis on 6379), with persistence off; the fixture stops and reaps it,
so the leak check sees no child process left. ``redis_server.restart()``
stops it and starts a fresh one on the same port (an empty Redis, as after a
crash without persistence).
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import redis
import requests

from specter_spoc.testing import free_port, wait_until

HERE = Path(__file__).parent
VENV_BIN = Path(sys.executable).parent
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
WS_WORKER = "geventwebsocket.gunicorn.workers.GeventWebSocketWorker"


class RedisServer:
    """A redis-server child process on 127.0.0.1:<port>."""

    def __init__(self, port: int, password: Optional[str] = None) -> None:
        self.port = port
        self.password = password
        self.proc: Optional[subprocess.Popen] = None
        self._clients: List[redis.Redis] = []

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no"]
        if self.password:
            args += ["--requirepass", self.password]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        probe = redis.Redis(host="127.0.0.1", port=self.port, password=self.password, socket_timeout=1,
                            socket_connect_timeout=0.2)
        try:
            def ready() -> bool:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"redis-server exited with {self.proc.returncode} on port {self.port}")
                try:
                    return bool(probe.ping())
                except redis.RedisError:
                    return False
            wait_until(ready, timeout=10, what=f"redis-server on port {self.port}")
        finally:
            probe.close()
        return self

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            if proc is not None:
                proc.wait()
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:  # pragma: no cover - redis exits promptly
            proc.kill()
            proc.wait(5)

    def restart(self, down_for: float = 0.3) -> None:
        """Stop, stay down ``down_for`` seconds, start empty on the same port."""
        self.stop()
        time.sleep(down_for)
        self.start()

    def client(self) -> redis.Redis:
        """A plain client (decoded strings); closed by the fixture."""
        client = redis.Redis.from_url(self.url, decode_responses=True, socket_timeout=5)
        self._clients.append(client)
        return client

    def close_clients(self) -> None:
        for client in self._clients:
            client.close()
        self._clients.clear()


# ------------------------------------------------------------ server processes
class ServerProcess:
    """A gunicorn (or plain python) child process with its log file."""

    def __init__(self, proc: subprocess.Popen, port: Optional[int], log_path: Path) -> None:
        self.proc = proc
        self.port = port
        self.url = f"http://127.0.0.1:{port}" if port else ""
        self.log_path = log_path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_ready(self, path: str = "/relay/ready", timeout: float = 30) -> None:
        def ready() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                return requests.get(self.url + path, timeout=1).status_code == 200
            except requests.RequestException:
                return False
        wait_until(ready, timeout=timeout, interval=0.05, what=f"{self.url}{path}\n{self.log()}")

    def get(self, path: str) -> dict:
        response = requests.get(self.url + path, timeout=5)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, json: object = None) -> dict:
        response = requests.post(self.url + path, json=json, timeout=5)
        response.raise_for_status()
        return response.json()

    def terminate(self, timeout: float = 20) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


def clean_env(extra: Dict[str, str]) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOC_", "PYTEST_"))}
    env.update({"PYTHONUNBUFFERED": "1", **extra})
    return env


@contextmanager
def gunicorn_servers(count: int, env: Dict[str, str], tmp_path: Path) -> Iterator[List[ServerProcess]]:
    """``count`` single-worker gunicorn GeventWebSocketWorker processes serving
    the cluster test project, started in parallel, killed and reaped at exit."""
    servers: List[ServerProcess] = []
    with ExitStack() as stack:
        for _ in range(count):
            port = free_port()
            log_path = tmp_path / f"gunicorn-{port}.log"
            cmd = [str(VENV_BIN / "gunicorn"), "-k", WS_WORKER, "-w", "1", "-b", f"127.0.0.1:{port}",
                   "--chdir", str(HERE / "cluster_project"), "--graceful-timeout", "10", "--timeout", "60",
                   "relay_wsgi:create_app()"]
            with open(log_path, "wb") as log:
                proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=clean_env(env))
            server = ServerProcess(proc, port, log_path)
            servers.append(server)
            # SIGTERM, not SIGKILL: a killed master would orphan its worker,
            # which then outlives the test (and its Redis)
            stack.callback(server.terminate)
        for server in servers:
            server.wait_ready()
        yield servers


