"""Helpers for the blog platform example tests (a uniquely named module, so
test files can import it whatever other ``conftest`` modules are loaded)."""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_DIR = ROOT / "examples" / "blog_platform"
VENV_BIN = Path(sys.executable).parent
#: cheap password hashes in tests (the cost is stored with each hash)
TEST_SCRYPT_N = 2 ** 10
PASSWORD = "correct horse battery"


def _load_e2e_helpers() -> Any:
    spec = importlib.util.spec_from_file_location("spoc_e2e_helpers", ROOT / "tests" / "e2e" / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


e2e = _load_e2e_helpers()
from specter_spoc.testing import free_port  # noqa: E402
Server = e2e.Server


def app_config(database: Union[str, Path], **overrides: Any) -> Dict[str, Any]:
    """Settings overrides for an in-process app: its database (a URL, or a
    folder for an SQLite file; migrated at boot), fast hashes, a fixed key,
    both workers on."""
    config: Dict[str, Any] = {
        "DATABASE_URL": database if isinstance(database, str) else f"sqlite:///{database / 'blog.db'}",
        "DATABASE_AUTO_MIGRATE": True,
        "SECRET_KEY": "test-secret-key",
        "PASSWORD_SCRYPT_N": TEST_SCRYPT_N,
        "WORKERS": {"email_notifications": {"enabled": True, "interval": 60},
                    "content_indexer": {"enabled": True, "interval": 300}},
    }
    config.update(overrides)
    return config


class InAppContext:
    """Calls the methods of ``target`` inside an app context of ``app``;
    setting an attribute sets it on ``target`` (so monkeypatch reaches it)."""

    def __init__(self, app: Any, target: Any) -> None:
        object.__setattr__(self, "_app", app)
        object.__setattr__(self, "_target", target)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._target, name, value)

    def __delattr__(self, name: str) -> None:
        delattr(self._target, name)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._app.app_context():
                return value(*args, **kwargs)
        return call


class BlogClient:
    """Flask test client with the example's API flows as one-liners."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.http = app.test_client()
        self.runtime = app.extensions["specter_spoc"]
        self.socketio = app.extensions["socketio"]

    def service(self, name: str) -> Any:
        """A running component by its registry name (``"users.UserService"``);
        its methods are called in an app context, as in a request (the
        services use Flask-SQLAlchemy's per-context session)."""
        return InAppContext(self.app, self.runtime.registry.require(name))

    def sql(self, statement: str) -> List[Any]:
        """Rows of a raw SQL query on the app's database."""
        from sqlalchemy import text

        with self.app.app_context():
            db = self.app.extensions["sqlalchemy"]
            with db.engine.connect() as connection:
                return list(connection.execute(text(statement)))

    # raw requests returning (status, json)
    def call(self, method: str, path: str, token: Optional[str] = None, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}) or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        response = self.http.open(path, method=method, headers=headers, **kwargs)
        assert response.status_code < 500, (response.status_code, response.get_data(as_text=True))
        assert response.is_json, (response.status_code, response.content_type, response.get_data(as_text=True))
        return response.status_code, response.get_json()

    # flows
    def register(self, username: str, **extra: Any) -> Dict[str, Any]:
        body = {"username": username, "email": f"{username}@example.com", "password": PASSWORD, **extra}
        status, data = self.call("POST", "/api/users", json=body)
        assert status == 201, data
        return data["user"]

    def login(self, username: str, password: str = PASSWORD) -> str:
        status, data = self.call("POST", "/api/login", json={"username": username, "password": password})
        assert status == 200, data
        return data["token"]

    def user(self, username: str) -> Dict[str, Any]:
        """Register and log in: the user dict with its ``token``."""
        user = self.register(username)
        return {**user, "token": self.login(username)}

    def post(self, token: str, title: str = "Hello world", content: str = "First post body",
             publish: bool = False) -> Dict[str, Any]:
        status, data = self.call("POST", "/api/posts", token, json={"title": title, "content": content,
                                                                     "publish": publish})
        assert status == 201, data
        return data["post"]

    def comment(self, token: str, post_id: int, text: str = "Nice post") -> Dict[str, Any]:
        status, data = self.call("POST", f"/api/posts/{post_id}/comments", token, json={"text": text})
        assert status == 201, data
        return data["comment"]

    def wait_workers(self, timeout: float = 10) -> None:
        """Wait until the e-mail worker and the indexer have nothing queued or in flight."""
        for name in ("users.EmailNotificationWorker", "blog.ContentIndexer"):
            assert self.service(name).queue.join(timeout=timeout), f"{name} still busy after {timeout}s"


def server_env(tmp_path: Path, **extra: str) -> Dict[str, str]:
    """Environment for a served example: its own database and a fixed key
    (so login tokens survive a restart)."""
    return {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'served.db'}",
        "SECRET_KEY": "e2e-secret-key",
        "PASSWORD_SCRYPT_N": str(TEST_SCRYPT_N),
        "SPOC_MODE": "test",
        "ENABLE_EMAIL_WORKER": "true",
        "ENABLE_INDEXER_WORKER": "true",
        **extra,
    }


# ----------------------------------------------------------------- PostgreSQL
def postgres_bin() -> Optional[Path]:
    """The newest ``/usr/lib/postgresql/<version>/bin`` holding initdb and pg_ctl."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
                   key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    return found[-1].parent if found else None


class PostgresServer:
    """A throw-away PostgreSQL cluster on 127.0.0.1:<free port>, trust auth.

    Started with ``pg_ctl start`` (postgres then runs detached, not as a child
    of the test process) and stopped with ``pg_ctl stop -m immediate``. As root
    (CI) the server runs as the ``postgres`` system user, since PostgreSQL
    refuses to run as root. :meth:`new_database` gives each test its own
    empty database.
    """

    USER = "blog"

    def __init__(self, bindir: Path) -> None:
        import tempfile

        self.bindir = bindir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="blog-pg-"))
        self.data = self.root / "data"
        self.os_user = "postgres" if os.geteuid() == 0 else None
        self._count = 0

    def _run(self, *args: str, timeout: float = 60) -> None:
        result = subprocess.run([str(self.bindir / args[0]), *args[1:]], user=self.os_user, capture_output=True,
                                text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")

    def start(self) -> "PostgresServer":
        if self.os_user:
            shutil.chown(self.root, self.os_user)
        self._run("initdb", "-D", str(self.data), "-U", self.USER, "--auth=trust", "-E", "UTF8", "--no-sync",
                  "--no-instructions")
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=off -c full_page_writes=off " \
                  "-c synchronous_commit=off -c max_connections=100"
        self._run("pg_ctl", "start", "-D", str(self.data), "-w", "-t", "60", "-l", str(self.root / "log"),
                  "-o", options)
        return self

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w", "-t", "30")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.USER}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        import psycopg

        self._count += 1
        name = f"blog_{os.getpid()}_{self._count}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user={self.USER} dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)
