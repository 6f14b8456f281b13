"""specter_spoc.spoc.Framework on seed 001's project, in process: the SPOC API
(installed_apps, components by either spelling, get_component, plugins,
config, idempotent startup/shutdown) backed by the real loader and runtime,
and the app's views served as routes when a Flask app is given."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from flask import Flask
from flask_socketio import SocketIO

from specter_spoc.spoc import Config, Framework, Hook, Schema

PROJECT = Path(__file__).parent / "blog_platform"


def _schema(events):
    return Schema(
        modules=["models", "views", "services", "workers"],
        dependencies={"views": ["models"], "services": ["models"], "workers": ["models", "services"]},
        hooks={"models": Hook(startup=lambda m: events.append(("up", m.__name__)),
                              shutdown=lambda m: events.append(("down", m.__name__))),
               "services": {"startup": lambda m: events.append(("up", m.__name__))}},
    )


@pytest.fixture
def framework():
    events: list = []
    fw = Framework(base_dir=PROJECT, schema=_schema(events), mode="strict")
    fw.events = events
    yield fw
    fw.close()
    assert not [m for m in sys.modules if m.split(".")[0] in ("users", "blog", "framework", "config")]


def test_hooks_receive_modules_in_import_order(framework):
    assert framework.events == [("up", "users.models"), ("up", "users.services"),
                                ("up", "blog.models"), ("up", "blog.services")]
    framework.startup()                       # idempotent
    assert len(framework.events) == 4
    framework.shutdown()
    assert framework.events[4:] == [("down", "blog.models"), ("down", "users.models")]
    framework.startup()                       # boots again after a shutdown
    assert framework.runtime.booted and framework.events[6:] == framework.events[:4]


def test_components_by_plural_and_singular_names(framework):
    assert framework.installed_apps == ["users", "blog"]
    assert list(framework.components.models) == ["users.User", "users.UserProfile", "blog.Post", "blog.Comment"]
    assert framework.components.model == framework.components.models
    assert framework.get_component("services", "users.UserService").__name__ == "UserService"
    assert framework.get_component("service", "blog.PostService") is framework.components.services["blog.PostService"]
    assert framework.get_component("services", "nobody.Nothing") is None


def test_config_and_plugins(framework):
    assert isinstance(framework.config, Config)
    assert framework.config.settings.INSTALLED_APPS == ["users", "blog"]
    assert framework.config.project["mode"] == "development" and framework.config.project["debug"] is True
    assert framework.config.environment["DB_NAME"] == "blog_platform.db"     # config/.env
    assert dict(framework.plugins) == {"middleware": {}, "hooks": {}}
    with pytest.raises(TypeError):
        framework.plugins["middleware"]["x"] = 1                             # read-only view


def test_strict_mode_requires_every_schema_module(tmp_path):
    from specter_spoc.project import DiagnosticError

    with pytest.raises(DiagnosticError) as info:
        Framework(base_dir=PROJECT, schema=Schema(modules=["models", "forms"]), mode="strict")
    assert set(info.value.codes) == {"SPC003"} and "forms" in str(info.value)
    loose = Framework(base_dir=PROJECT, schema=Schema(modules=["models", "forms"]), mode="loose")
    try:
        assert loose.installed_apps == ["users", "blog"]
    finally:
        loose.close()


def test_views_are_served_as_routes_when_an_app_is_given():
    app = Flask("seed_views")
    fw = Framework(base_dir=PROJECT, schema=_schema([]), app=app, socketio=SocketIO(app, async_mode="gevent"))
    try:
        client = app.test_client()
        profile = client.get("/users/get_profile/7")
        assert profile.status_code == 200
        assert profile.get_json() == {"action": "get_profile", "status": "success", "user_id": 7}
        created = client.post("/users/register_user", json={"username": "alice"})
        assert created.get_json() == {"action": "register_user", "status": "success", "data": {"username": "alice"}}
        assert client.get("/blog/list_posts").get_json()["action"] == "list_posts"
        assert client.get("/users/get_profile/seven").status_code == 404          # the int converter
        bad = client.post("/users/register_user", data="x", content_type="text/plain")
        assert bad.status_code == 415 and "application/json" in bad.get_json()["error"]
        assert client.get("/users/register_user").status_code == 405
        fw.shutdown()
        with pytest.raises(RuntimeError, match="create a new Flask app and Framework"):
            fw.startup()
    finally:
        fw.close()
    assert not fw.runtime.running
