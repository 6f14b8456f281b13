"""create_app(): a project's Flask app with secure defaults, closed after shutdown."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from specter_spoc import BootError
from specter_spoc.project import DiagnosticError
from specter_spoc import create_app

from spoc_fixtures import write_tree

APP_TREE = {
    "settings.py": """
        import os
        SECRET_KEY = os.environ.get("SHOP_SECRET_KEY")
        INSTALLED_APPS = ["shop"]
        PLUGINS = {"hooks": ["shop.hooks.register_late"]}
        SPOC_APPLY_PLUGINS = ["hooks"]
    """,
    "apps": {"shop": {
        "__init__.py": "",
        "hooks.py": """
            from specter_spoc import Service

            class Late(Service):
                def on_start(self):
                    self.set_state({"started": True})

            def register_late(runtime):
                runtime.register_service(Late("late"))
        """,
        "controllers.py": """
            from specter_spoc import Controller, expect_json
            from specter_spoc.project import controller

            @controller
            class Orders(Controller):
                name = "orders"
                url_prefix = "/api/orders"

                def build_routes(self, router):
                    @router.route("", methods=["POST"])
                    def create():
                        return {"size": len(expect_json().get("blob", ""))}, 201
        """,
    }},
}


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "shopproj", APP_TREE)


def test_project_app_serves_and_is_closed_after_shutdown(project_dir: Path, monkeypatch) -> None:
    monkeypatch.delenv("SPOC_MODE", raising=False)
    path_before = list(sys.path)
    app = create_app(project_dir, mode="test")
    runtime = app.extensions["specter_spoc"]
    try:
        assert runtime.installed_apps == ["shop"] and runtime.mode == "test"
        assert runtime.settings.INSTALLED_APPS == ["shop"]
        late = runtime.registry.require("late")
        assert late.running and late.state == {"started": True}, "registered during boot, started in boot"
        client = app.test_client()
        r = client.post("/api/orders", json={"blob": "x" * 10})
        assert r.status_code == 201 and r.get_json() == {"size": 10}
        # default 1 MiB body limit: 413 as JSON, the process unaffected
        r = client.post("/api/orders", json={"blob": "x" * (2 * 1024 * 1024)})
        assert r.status_code == 413 and "error" in r.get_json()
        # unknown API URL and wrong method: the JSON envelope, not an HTML page
        r = client.get("/api/nope")
        assert r.status_code == 404 and r.is_json
        r = client.get("/api/orders")
        assert r.status_code == 405 and r.is_json and "POST" in r.headers["Allow"]
        # a browser asking for a page still gets HTML
        assert client.get("/nope", headers={"Accept": "text/html"}).mimetype == "text/html"
        # development/test without SECRET_KEY: a random key
        assert len(app.config["SECRET_KEY"]) == 64
        health = client.get("/_spoc/health").get_json()
        assert health["status"] == "ok" and "late" in health["services"]
    finally:
        runtime.shutdown()
    assert sys.path == path_before
    assert "shop" not in sys.modules


def test_production_without_secret_key_refuses_to_boot(project_dir: Path, monkeypatch) -> None:
    monkeypatch.delenv("SHOP_SECRET_KEY", raising=False)
    path_before = list(sys.path)
    with pytest.raises((BootError, DiagnosticError), match=r"SPC011.*SECRET_KEY"):
        create_app(project_dir, mode="production")
    assert sys.path == path_before and "shop" not in sys.modules


def test_production_with_secret_key_has_no_health_endpoint_and_no_debug(project_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("SHOP_SECRET_KEY", "k" * 32)
    app = create_app(project_dir, mode="production", config={"DEBUG": True})
    try:
        assert app.config["SECRET_KEY"] == "k" * 32
        assert not app.debug, "debug pages are never served in production"
        assert app.test_client().get("/_spoc/health").status_code == 404
    finally:
        app.extensions["specter_spoc"].shutdown()
