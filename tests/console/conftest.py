"""Fixtures for the console tests: the test app (tests/console/apps/console_app.py)
served by a real process, headless Chromium, a real redis-server."""
from __future__ import annotations

import os
import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Set

import pytest
from specter_spoc.testing import wait_until
import requests

from tests.contrib.redis.redis_helpers import VENV_BIN, WS_WORKER, RedisServer, ServerProcess, clean_env, free_port

APPS = Path(__file__).parent / "apps"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


class ConsoleServer(ServerProcess):
    """A served console_app plus helpers to drive it."""

    def post(self, path: str, json: object = None) -> dict:
        response = requests.post(self.url + path, json=json, timeout=5)
        response.raise_for_status()
        return response.json()

    def api(self, path: str, token: Optional[str] = None, method: str = "GET", **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, self.url + "/_spoc/console/api" + path, headers=headers, timeout=5,
                                **kwargs)


@contextmanager
def _serve(cmd: List[str], env: Dict[str, str], tmp_path: Path, port: int) -> Iterator[ConsoleServer]:
    log_path = tmp_path / f"server-{port}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=APPS, stdout=log, stderr=subprocess.STDOUT, env=clean_env(env),
                                start_new_session=True)
    server = ConsoleServer(proc, port, log_path)
    try:
        server.wait_ready("/ready")
        yield server
    finally:
        server.terminate()


@pytest.fixture
def console_server(tmp_path: Path):
    """console_server(**env) -> context manager: console_app.py on gevent's
    WSGI server (one process)."""
    def start(**env: str):
        port = free_port()
        return _serve([str(VENV_BIN / "python"), "console_app.py", str(port)], env, tmp_path, port)
    return start


@pytest.fixture
def gunicorn_console(tmp_path: Path):
    """gunicorn_console(workers, **env) -> context manager: console_app under
    gunicorn's GeventWebSocketWorker with ``workers`` processes."""
    def start(workers: int, **env: str):
        port = free_port()
        cmd = [str(VENV_BIN / "gunicorn"), "-k", WS_WORKER, "-w", str(workers), "-b", f"127.0.0.1:{port}",
               "--graceful-timeout", "10", "--timeout", "60", "console_app:create_app()"]
        return _serve(cmd, env, tmp_path, port)
    return start


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer(free_port()).start()
    try:
        yield server
    finally:
        server.close_clients()
        server.stop()


def _chromium_pids() -> Set[int]:
    pids = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmdline = fh.read()
            with open(f"/proc/{entry}/stat") as fh:
                state = fh.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if b"chromium" in cmdline and state != "Z":
            pids.add(int(entry))
    return pids


@pytest.fixture
def chromium_page() -> Iterator[Any]:
    """A page in headless Chromium (Debian's package, driven by Playwright);
    no Chromium process of this test is left afterwards."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium).")
    from playwright.sync_api import sync_playwright

    before = _chromium_pids()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=30_000)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(10_000)
            yield page
        finally:
            browser.close()
    wait_until(lambda: not _chromium_pids() - before, timeout=10, interval=0.1,
               what="Chromium processes to exit after the test")
