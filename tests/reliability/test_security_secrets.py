"""Secret-looking settings never appear in CLI listings, boot logs or
runtime reports.

Protection checked: specter_spoc.project.masking (``mask_settings`` /
``mask_text``) as used by the CLI (``settings``, ``check``, ``apps``,
``components``, ``routes``), the Settings repr, ``Project.describe()``, the
runtime's ``health()`` / ``public_health()`` / ``tree()``, the health
endpoint and every log record of a full boot and shutdown. The project has
its secrets in ``config/.env`` (SECRET_KEY, DB_PASSWORD, API_TOKEN, a
DATABASE_URL and a REDIS_URL with passwords, a nested ``api_key``), and its
REDIS_URL points at a real redis-server that requires the password, so the
Socket.IO message queue really connects with it.
"""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Dict, List

import pytest

from specter_spoc import create_app

VENV_BIN = Path(sys.executable).parent

SECRETS = {
    "SECRET_KEY": "sk-SECRET-0a9f3c7e",
    "DB_PASSWORD": "dbpw-SECRET-77b1",
    "API_TOKEN": "tok-SECRET-c4d2",
    "PAYMENT_KEY": "pay-SECRET-91aa",
    "url_password": "urlpw-SECRET-3b3b",
}

SETTINGS = """
    import os

    INSTALLED_APPS = ["shop"]
    SECRET_KEY = os.environ.get("SECRET_KEY", "")
    DB_PASSWORD = os.environ.get("DB_PASSWORD", "")
    API_TOKEN = os.environ.get("API_TOKEN", "")
    DATABASE_URL = os.environ.get("DATABASE_URL", "")
    REDIS_URL = os.environ.get("REDIS_URL", "")
    DATABASE = {"engine": "postgresql", "user": "shop", "password": DB_PASSWORD}
    PAYMENT = {"provider": "acme", "api_key": os.environ.get("PAYMENT_KEY", "")}
"""

CONTROLLER = """
    from specter_spoc import Controller, Service
    from specter_spoc.project import controller, service


    @service
    class Orders(Service):
        name = "orders"


    @controller
    class OrdersApi(Controller):
        name = "orders_api"
        url_prefix = "/api/orders"

        def build_routes(self, router):
            @router.route("")
            def index():
                return {"orders": []}

        def build_events(self, handler):
            handler.on("orders:list", lambda data=None: {"ok": True})
"""


@pytest.fixture
def secret_project(tmp_path: Path, redis_with_password: str) -> Path:
    root = tmp_path / "shopproj"
    (root / "config").mkdir(parents=True)
    (root / "apps" / "shop").mkdir(parents=True)
    (root / "config" / "settings.py").write_text(textwrap.dedent(SETTINGS))
    (root / "config" / "__init__.py").write_text("")
    (root / "apps" / "shop" / "__init__.py").write_text("")
    (root / "apps" / "shop" / "controllers.py").write_text(textwrap.dedent(CONTROLLER))
    dotenv = {
        "SECRET_KEY": SECRETS["SECRET_KEY"],
        "DB_PASSWORD": SECRETS["DB_PASSWORD"],
        "API_TOKEN": SECRETS["API_TOKEN"],
        "PAYMENT_KEY": SECRETS["PAYMENT_KEY"],
        "DATABASE_URL": f"postgresql://shop:{SECRETS['url_password']}@db.internal:5432/shop",
        "REDIS_URL": redis_with_password,
    }
    (root / "config" / ".env").write_text("".join(f"{k}={v}\n" for k, v in dotenv.items()))
    return root


def _secret_values(redis_url: str) -> List[str]:
    redis_password = redis_url.split("://:", 1)[1].split("@", 1)[0]
    return [*SECRETS.values(), redis_password]


def _leaks(text: str, secrets: List[str]) -> List[str]:
    return [secret for secret in secrets if secret in text]


def _clean_env() -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("SECRET_KEY", "DB_PASSWORD", "API_TOKEN", "PAYMENT_KEY", "DATABASE_URL", "REDIS_URL",
                        "SPOC_MODE")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


CLI_COMMANDS = [
    ["settings"], ["settings", "--env"], ["settings", "--json"], ["settings", "--env", "--json"],
    ["check"], ["check", "--boot"], ["apps"], ["apps", "--json"], ["components"], ["routes"],
]


def test_cli_listings_mask_every_secret(secret_project: Path, redis_with_password: str) -> None:
    secrets = _secret_values(redis_with_password)
    cli = str(VENV_BIN / "specter-spoc")
    env = _clean_env()
    # all commands at once (each is a fresh interpreter), every one reaped below
    procs = [(cmd, subprocess.Popen([cli, *cmd, "--project", str(secret_project)], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, env=env, cwd=str(secret_project.parent), text=True))
             for cmd in CLI_COMMANDS]
    outputs: Dict[str, str] = {}
    try:
        for cmd, proc in procs:
            out, err = proc.communicate(timeout=60)
            name = " ".join(cmd)
            assert proc.returncode == 0, (name, out, err)
            outputs[name] = out + err
    finally:
        for _, proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    for name, text in outputs.items():
        assert not _leaks(text, secrets), f"`specter-spoc {name}` shows {_leaks(text, secrets)}:\n{text}"
    # the listings did show those settings, masked (so the check above saw them)
    shown = outputs["settings"]
    for key in ("SECRET_KEY", "DB_PASSWORD", "API_TOKEN", "DATABASE_URL", "REDIS_URL", "DATABASE", "PAYMENT"):
        assert f"{key} = " in shown, (key, shown)
    assert "SECRET_KEY = '********'" in shown and "postgresql://shop:********@db.internal" in shown
    as_json = json.loads(outputs["settings --env --json"])
    assert "********" in json.dumps(as_json) and "db.internal" in json.dumps(as_json)
    assert "/api/orders" in outputs["routes"] and "orders:list" in outputs["routes"]


def test_boot_logs_and_runtime_reports_mask_every_secret(secret_project: Path, redis_with_password: str,
                                                         caplog: pytest.LogCaptureFixture,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("SECRET_KEY", "DB_PASSWORD", "API_TOKEN", "PAYMENT_KEY", "DATABASE_URL", "REDIS_URL",
                "SPOC_MODE"):
        monkeypatch.delenv(key, raising=False)
    secrets = _secret_values(redis_with_password)
    caplog.set_level(logging.DEBUG)  # every logger: specter_spoc, socketio, engineio, redis, ...
    app = create_app(secret_project, mode="development", config={"DEBUG": True})
    runtime = app.extensions["specter_spoc"]
    try:
        assert app.config["SECRET_KEY"] == SECRETS["SECRET_KEY"]  # the secrets were really loaded
        assert app.config["REDIS_URL"] == redis_with_password
        client = app.test_client()
        assert client.get("/api/orders").get_json() == {"orders": []}
        app.extensions["socketio"].emit("orders_changed", {"n": 1})  # through the Redis message queue
        reports = {
            "health()": json.dumps(runtime.health(), default=repr),
            "public_health()": json.dumps(runtime.public_health(), default=repr),
            "tree()": json.dumps(runtime.tree(), default=repr),
            "project.describe()": json.dumps(runtime.project.describe(), default=repr),
            "repr(settings)": repr(runtime.settings),
            "repr(project)": repr(runtime.project),
            "GET /_spoc/health (debug)": client.get("/_spoc/health").get_data(as_text=True),
        }
    finally:
        runtime.shutdown()
    logs = "\n".join(f"{r.name} {r.levelname} {r.getMessage()}" for r in caplog.records)
    assert "shut down" in logs  # the whole boot and shutdown was captured
    for name, text in reports.items():
        assert not _leaks(text, secrets), f"{name} shows {_leaks(text, secrets)}: {text[:2000]}"
    assert "********" in reports["project.describe()"] or "********" in reports["repr(settings)"]
    assert not _leaks(logs, secrets), f"the boot/shutdown log shows {_leaks(logs, secrets)}:\n{logs[-4000:]}"


# ---------------------------------------------- secrets in exception text (issue 12 section 5)
def test_the_log_masking_filter_masks_urls_in_messages_arguments_and_tracebacks() -> None:
    """A crash message naming ``redis://:secret@host`` reaches a real handler
    masked: in the %-arguments, the message and the formatted traceback."""
    import io
    import logging

    from specter_spoc._masking import install_log_masking

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    app_logger = logging.getLogger("some_app.worker")  # not ours: masked by the root handler's filter
    ours = logging.getLogger("specter_spoc.lifecycle.test_masking")
    uninstall = install_log_masking()
    try:
        try:
            raise ConnectionError("Error connecting to redis://:hunter2-SECRET@db:6379/0")
        except ConnectionError as exc:
            ours.error("service %r crashed: %s", "indexer", exc, exc_info=True)
            app_logger.warning("retrying postgres://app:pg-SECRET@db/app?password=q-SECRET")
        uninstall()
        app_logger.warning("after uninstall: redis://:visible@db")
    finally:
        root.removeHandler(handler)
        uninstall()
    text = stream.getvalue()
    assert "SECRET" not in text, text
    assert text.count("********") >= 4, text
    assert "Traceback" in text and "ConnectionError" in text and "'indexer' crashed" in text
    assert "redis://:visible@db" in text  # removed again


def test_one_masking_function_serves_every_layer() -> None:
    from specter_spoc import _masking
    from specter_spoc.contrib.redis import connection
    from specter_spoc.project import masking

    assert masking.mask_text is _masking.mask_text and connection.mask_url is _masking.mask_url
    assert _masking.mask_text("ValueError: rediss://user:pw%40x@h:1/0 failed") == \
        "ValueError: rediss://user:********@h:1/0 failed"
    assert _masking.mask_url("user:pw@host:6379") == "********@host:6379"
    assert _masking.mask_text("plain text without urls") == "plain text without urls"
