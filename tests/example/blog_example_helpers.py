"""Helpers for the blog platform example tests (a uniquely named module, so
test files can import it whatever other ``conftest`` modules are loaded)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any, Dict, Optional

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


def app_config(tmp_path: Path, **overrides: Any) -> Dict[str, Any]:
    """Settings overrides for an in-process app: its own database, fast hashes,
    a fixed key, both workers on."""
    config: Dict[str, Any] = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'blog.db'}",
        "SECRET_KEY": "test-secret-key",
        "PASSWORD_SCRYPT_N": TEST_SCRYPT_N,
        "WORKERS": {"email_notifications": {"enabled": True, "interval": 60},
                    "content_indexer": {"enabled": True, "interval": 300}},
    }
    config.update(overrides)
    return config


class BlogClient:
    """Flask test client with the example's API flows as one-liners."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.http = app.test_client()
        self.runtime = app.extensions["specter_spoc"]
        self.socketio = app.extensions["socketio"]

    def service(self, name: str) -> Any:
        return self.runtime.registry.require(name)

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
