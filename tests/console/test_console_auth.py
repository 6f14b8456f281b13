"""Who may use the console: open in development, token-only in production,
never cross-origin; the settings that decide whether it is installed."""
from __future__ import annotations

from typing import Any

import pytest
import requests
import socketio

from specter_spoc.console import ConsoleConfigError, console_settings_from_config

TOKEN = "console-test-token-123"


def _refused(client: Any, url: str, **kwargs: Any) -> str:
    """Connect to the console namespace, expecting a refusal; its reason."""
    reasons: list = []
    client.on("connect_error", reasons.append, namespace="/_spoc")
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(url, namespaces=["/_spoc"], transports=["websocket"], wait_timeout=5, **kwargs)
    return str(reasons)


@pytest.mark.e2e
def test_production_console_refuses_clients_without_the_token(console_server: Any, sio_clients: Any) -> None:
    with console_server(SPOC_MODE="production", CONSOLE_TOKEN=TOKEN, METRICS="0", CORS="*") as server:
        for auth in (None, {"token": "wrong-token-0000"}):
            assert "unauthorized" in _refused(sio_clients(), server.url, auth=auth)
        # a cross-origin page is refused even with the token (and although the app allows any origin)
        assert "unauthorized" in _refused(sio_clients(), server.url, auth={"token": TOKEN},
                                          headers={"Origin": "http://evil.example"})

        snapshots: list = []
        client = sio_clients()
        client.on("snapshot", snapshots.append, namespace="/_spoc")
        client.connect(server.url, namespaces=["/_spoc"], transports=["websocket"], auth={"token": TOKEN},
                       wait_timeout=5)
        reply = client.call("action", {"action": "restart", "service": "flaky"}, namespace="/_spoc", timeout=5)
        assert reply == {"ok": False, "status": 403, "error": reply["error"]}
        assert "CONSOLE_ACTIONS" in reply["error"]  # actions are off in production unless enabled
        client.disconnect()
        assert snapshots and snapshots[0]["processes"][0]["process"]["mode"] == "production"

        # the HTTP API: 401 without the token, 403 cross-origin, 200 with it
        assert server.api("/snapshot").status_code == 401
        assert server.api("/snapshot", token="wrong-token-0000").status_code == 401
        assert server.api("/snapshot", token=TOKEN, headers={"Origin": "http://evil.example"}).status_code == 403
        ok = server.api("/snapshot", token=TOKEN)
        assert ok.status_code == 200 and "Access-Control-Allow-Origin" not in ok.headers
        assert server.api("/services/flaky/restart", token=TOKEN, method="POST").status_code == 403


@pytest.mark.e2e
def test_development_console_is_open_and_answers_bad_requests_with_4xx(console_server: Any) -> None:
    with console_server(METRICS="0") as server:
        assert server.api("/snapshot").status_code == 200
        index = requests.get(server.url + "/_spoc/console", headers={"Accept": "application/json"}, timeout=5)
        assert index.json()["api"]["snapshot"] == "/_spoc/console/api/snapshot"
        page = requests.get(server.url + "/_spoc/console", headers={"Accept": "text/html"}, timeout=5)
        assert page.headers["Content-Type"].startswith("text/html") and "frame-ancestors 'none'" in \
            page.headers["Content-Security-Policy"]
        missing = requests.get(server.url + "/_spoc/console/static/../auth.py", timeout=5)
        assert missing.status_code == 404
        assert requests.get(server.url + "/_spoc/console/static/nope.js", timeout=5).json()["error"].startswith(
            "no console file")
        missing = server.api("/services/nope/restart", method="POST")
        assert missing.status_code == 404 and "flaky" in missing.json()["error"]
        assert server.api("/queues/flaky/purge", method="POST").status_code == 400  # not a QueueService
        bad = server.api("/queues/jobs/purge", method="POST", data="not json",
                         headers={"Content-Type": "application/json"})
        assert bad.status_code == 400 and "JSON" in bad.json()["error"]
        assert server.api("/queues/jobs/dead?count=abc").status_code == 400
        # an unhandled error in one of the app's views is among the last errors, masked
        assert requests.get(server.url + "/boom", timeout=5).status_code == 500
        errors = server.api("/snapshot").json()["processes"][0]["errors"]
        assert [e["source"] for e in errors] == ["console_app"]
        assert "Exception on /boom" in errors[0]["message"] and "hunter2" not in str(errors)
        assert "RuntimeError: the database said no (password=********)" in errors[0]["message"]


def test_settings_decide_what_is_installed() -> None:
    dev = console_settings_from_config({}, "development")
    assert dev.console and not dev.metrics and dev.rule == "/_spoc/console"
    assert not console_settings_from_config({}, "production").console  # off unless configured
    assert not console_settings_from_config({}, "test").console  # test suites get no console unless asked
    assert console_settings_from_config({"CONSOLE_ENABLED": True}, "test").token is None  # open in test mode
    with pytest.raises(ConsoleConfigError, match="staging mode but CONSOLE_TOKEN"):
        console_settings_from_config({"CONSOLE_ENABLED": "1"}, "staging")
    with pytest.raises(ConsoleConfigError, match="CONSOLE_TOKEN"):
        console_settings_from_config({"CONSOLE_ENABLED": True}, "production")
    prod = console_settings_from_config({"CONSOLE_ENABLED": "true", "CONSOLE_TOKEN": TOKEN,
                                         "CONSOLE_RULE": "/ops/console/", "METRICS_ENABLED": "1"}, "production")
    assert prod.console and prod.token == TOKEN and prod.rule == "/ops/console" and prod.metrics
    assert prod.actions is None  # the default: off in production
    assert prod.urls("http://h:1") == {"console": "http://h:1/ops/console", "metrics": "http://h:1/_spoc/metrics"}
    with pytest.raises(ConsoleConfigError, match="CONSOLE_ENABLED must be true or false"):
        console_settings_from_config({"CONSOLE_ENABLED": "maybe"}, "development")
    with pytest.raises(ConsoleConfigError, match="CONSOLE_RULE"):
        console_settings_from_config({"CONSOLE_RULE": "console"}, "development")
