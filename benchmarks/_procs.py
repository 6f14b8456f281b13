"""Subprocess plumbing for the benchmarks: loopback ports, child processes
that are always stopped and reaped, JSON-line pipes with timeouts, RSS.

Every helper here assumes gevent is monkey-patched (the runner and every
``python -m benchmarks.bench_x`` entry point patch first), so waiting on a
pipe or a port never blocks the hub.
"""
from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import gevent

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
WS_WORKER = "geventwebsocket.gunicorn.workers.GeventWebSocketWorker"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_bytes(pid: int) -> int:
    """Resident set size of ``pid`` (VmRSS from /proc/<pid>/status), in bytes."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/{pid}/status has no VmRSS line (is {pid} a zombie?)")


def pid_running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (works for grandchildren)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


class Child:
    """A subprocess in its own session (so its own children share its
    process group); :meth:`stop` ends the whole group and reaps it."""

    def __init__(self, cmd: List[str], *, env: Optional[Dict[str, str]] = None, log_path: Optional[Path] = None,
                 pipes: bool = False, cwd: Path = REPO, name: Optional[str] = None) -> None:
        self.cmd = cmd
        self.name = name or " ".join(Path(part).name for part in cmd[:3])
        self.log_path = log_path
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), full_env.get("PYTHONPATH")]))
        log = open(log_path, "wb") if log_path else subprocess.DEVNULL
        try:
            self.proc = subprocess.Popen(
                cmd, cwd=str(cwd), env=full_env, start_new_session=True,
                stdin=subprocess.PIPE if pipes else subprocess.DEVNULL,
                stdout=subprocess.PIPE if pipes else log, stderr=log,
                text=pipes)
        finally:
            if log_path:
                log.close()  # type: ignore[union-attr]

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self, tail: int = 3000) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-tail:]

    def send(self, line: str) -> None:
        if self.proc.stdin is None:
            raise RuntimeError(f"{self.name} was started without pipes=True; it takes no commands")
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def read_json(self, timeout: float) -> Dict[str, Any]:
        """The next JSON line the child prints, or RuntimeError after ``timeout``."""
        if self.proc.stdout is None:
            raise RuntimeError(f"{self.name} was started without pipes=True; it prints no answers")
        with gevent.Timeout(timeout, False):
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"{self.name} exited ({self.proc.poll()}) without answering:\n{self.log()}")
            return json.loads(line)
        raise RuntimeError(f"{self.name} did not answer within {timeout}s:\n{self.log()}")

    def ask(self, line: str, timeout: float = 30) -> Dict[str, Any]:
        self.send(line)
        return self.read_json(timeout)

    def stop(self, timeout: float = 5) -> None:
        """SIGTERM the group, SIGKILL it after ``timeout``, reap the child."""
        proc = self.proc
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except Exception:
                    pass
        if proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        self._signal_group(signal.SIGKILL)  # stragglers of the group (e.g. a gunicorn worker)
        if proc.poll() is None:
            proc.wait(10)

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def http_json(port: int, method: str, path: str, timeout: float = 5) -> Dict[str, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=b"" if method == "POST" else None)
        response = conn.getresponse()
        body = response.read()
        if response.status >= 400:
            raise RuntimeError(f"{method} {path} answered {response.status}: {body[:200]!r}")
        return json.loads(body)
    finally:
        conn.close()


def wait_ready(child: Child, port: int, path: str = "/ready", timeout: float = 30) -> Dict[str, Any]:
    """Poll ``GET path`` until it answers; the child exiting first is an error."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.proc.poll() is not None:
            raise RuntimeError(f"server exited with {child.proc.returncode} before it was ready:\n{child.log()}")
        try:
            return http_json(port, "GET", path, timeout=2)
        except (OSError, RuntimeError, ValueError):
            gevent.sleep(0.05)
    raise RuntimeError(f"server not ready on 127.0.0.1:{port} after {timeout}s:\n{child.log()}")


def _gunicorn_extra() -> List[str]:
    try:  # gunicorn >= 23 opens a control socket in ~/.gunicorn; two servers would share it
        from gunicorn.config import KNOWN_SETTINGS
        if any(s.name == "control_socket_disable" for s in KNOWN_SETTINGS):
            return ["--no-control-socket"]
    except ImportError:
        pass
    return []


class Server:
    def __init__(self, child: Child, port: int, info: Dict[str, Any]) -> None:
        self.child = child
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.info = info

    @property
    def worker_pid(self) -> int:
        return int(self.info["pid"])


@contextmanager
def gunicorn(app_spec: str, *, log_dir: Path, env: Optional[Dict[str, str]] = None,
             graceful_timeout: float = 10, ready_timeout: float = 30,
             worker_connections: Optional[int] = None) -> Iterator[Server]:
    """One gunicorn GeventWebSocketWorker (``-w 1``) on a free loopback port.
    ``worker_connections``: gunicorn's per-worker connection pool (default
    1,000: every open websocket holds one, so more clients need more)."""
    port = free_port()
    extra = ["--worker-connections", str(worker_connections)] if worker_connections else []
    cmd = [str(VENV_BIN / "gunicorn"), "-k", WS_WORKER, "-w", "1", "-b", f"127.0.0.1:{port}",
           "--graceful-timeout", str(int(graceful_timeout)), "--timeout", "120", *extra, *_gunicorn_extra(),
           app_spec]
    child = Child(cmd, env=env, log_path=log_dir / f"gunicorn-{port}.log")
    try:
        info = wait_ready(child, port, timeout=ready_timeout)
        yield Server(child, port, info)
    finally:
        child.stop()


@contextmanager
def ws_clients(url: str, count: int, *, log_dir: Path, timeout: float = 60,
               max_seconds: float = 600, tag: str = "", concurrency: Optional[int] = None) -> Iterator[Child]:
    """A process of ``count`` Socket.IO websocket clients (benchmarks._ws_clients);
    ``tag`` tells apart the logs of several pools on one server."""
    cmd = [sys.executable, "-m", "benchmarks._ws_clients", "--url", url, "--count", str(count),
           "--max-seconds", str(max_seconds)] + (["--concurrency", str(concurrency)] if concurrency else [])
    child = Child(cmd, log_path=log_dir / f"clients-{url.rsplit(':', 1)[1]}{tag}.log", pipes=True)
    try:
        hello = child.read_json(timeout)
        if hello.get("connected") != count:
            raise RuntimeError(f"only {hello.get('connected')} of {count} clients connected to {url}: "
                               f"{hello.get('errors')}")
        yield child
    finally:
        try:
            if child.proc.poll() is None:
                child.send("quit")
                child.proc.wait(10)
        except Exception:
            pass
        child.stop()
