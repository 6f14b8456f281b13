"""Fixtures for the reliability and security tests (issue 9).

- ``fuzz_cases``: a session-wide tally of the property-based cases tried,
  printed in the terminal summary ("reliability fuzz cases: ...");
- ``seeded_blog``: the blog platform example booted in-process (mode
  "test", an SQLite file in ``tmp_path``) with two users, a published post,
  a draft and a comment, and a login token (shut down after the test);
- ``blog_server``: the example served by gunicorn's GeventWebSocketWorker
  on a free loopback port (killed and reaped after the test).

The example's own test helpers (tests/example/blog_example_helpers.py) are
reused, loaded by path so this folder does not depend on test collection
order.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import pytest

HERE = Path(__file__).resolve().parent
EXAMPLE_TESTS = HERE.parent / "example"


def _example_helpers() -> Any:
    """tests/example/blog_example_helpers.py, imported once under its own name
    (the name tests/example uses, so both folders share one module)."""
    name = "blog_example_helpers"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, EXAMPLE_TESTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


helpers = _example_helpers()

_CASES = pytest.StashKey[Dict[str, int]]()


@pytest.fixture
def fuzz_cases(request: pytest.FixtureRequest) -> Callable[[str, int], None]:
    """``fuzz_cases(label, n)`` adds ``n`` cases to the session tally."""
    tally = request.config.stash.setdefault(_CASES, {})

    def add(label: str, n: int = 1) -> None:
        tally[label] = tally.get(label, 0) + n

    return add


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    tally = config.stash.get(_CASES, None)
    if tally:
        total = sum(tally.values())
        parts = ", ".join(f"{label} {count}" for label, count in sorted(tally.items()))
        terminalreporter.write_line(f"reliability fuzz cases: {total} ({parts})")


class SeededBlog:
    """The in-process example with some data: ``client`` (BlogClient),
    ``token`` (alice's), ``other_token`` (bob's), ``ids`` (existing ids)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.app = client.app
        alice, bob = client.user("alice"), client.user("bob")
        self.token, self.other_token = alice["token"], bob["token"]
        published = client.post(alice["token"], "Published", "Visible to everyone", publish=True)
        draft = client.post(alice["token"], "Draft", "Only alice sees this")
        comment = client.comment(bob["token"], published["id"], "A comment")
        self.ids: Dict[str, int] = {"user": alice["id"], "other_user": bob["id"], "post": published["id"],
                                    "draft": draft["id"], "comment": comment["id"]}


@pytest.fixture
def make_blog(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """``make_blog(**config)`` boots the example in-process (shut down after
    the test, last first)."""
    from specter_spoc import create_app

    made: List[Any] = []

    def make(**overrides: Any) -> Any:
        app = create_app(helpers.EXAMPLE_DIR, mode="test", config=helpers.app_config(tmp_path, **overrides))
        made.append(app)
        return helpers.BlogClient(app)

    yield make
    for app in reversed(made):
        app.extensions["specter_spoc"].shutdown()


@pytest.fixture
def seeded_blog(make_blog: Callable[..., Any]) -> SeededBlog:
    return SeededBlog(make_blog())


@pytest.fixture
def blog_server(tmp_path: Path) -> Callable[..., Any]:
    """``blog_server(app_spec="wsgi:create_app()", **env)``: a context manager
    serving the example under gunicorn's GeventWebSocketWorker on a free
    loopback port, yielding tests/e2e's ``Server``."""
    def start(app_spec: str = "wsgi:create_app()", **extra_env: str) -> Any:
        env = helpers.server_env(tmp_path, **extra_env)
        return helpers.e2e.gunicorn(app_spec, env=env, chdir=helpers.EXAMPLE_DIR, tmp_path=tmp_path)
    return start


@pytest.fixture
def redis_with_password() -> Iterator[str]:
    """A fresh redis-server on a free loopback port that needs a password;
    yields its URL (with the password). Stopped and reaped after the test."""
    import shutil
    import subprocess

    import redis

    port = helpers.free_port()
    password = "redis-pw-SECRET-5e1f"
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                             "no", "--requirepass", password], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    probe = redis.Redis(host="127.0.0.1", port=port, password=password, socket_timeout=1,
                        socket_connect_timeout=0.2)
    try:
        import time
        deadline = time.monotonic() + 10
        while True:
            try:
                if probe.ping():
                    break
            except redis.RedisError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {port}") from None
                time.sleep(0.05)
        probe.close()
        yield f"redis://:{password}@127.0.0.1:{port}/0"
    finally:
        probe.close()
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
