"""A project booted by the runtime: order, hooks, health, ownership."""
from __future__ import annotations

import sys

import pytest
from flask import Flask
from flask_socketio import SocketIO

from specter_spoc import Controller, Service, boot
from specter_spoc.project.runtime_glue import instantiate_component

from spoc_fixtures import blog_platform

RECORDER = '''
from specter_spoc import Service
from framework.events import EVENTS


class Recorded(Service):
    def on_start(self):
        EVENTS.append(("start", self.name))

    def on_stop(self):
        EVENTS.append(("stop", self.name))


def plugin_hook(runtime):
    EVENTS.append(("plugin.start", type(runtime).__name__))


class PluginLifecycle:
    def startup(self, runtime):
        EVENTS.append(("plugin2.start", runtime.booted))

    def shutdown(self, runtime):
        EVENTS.append(("plugin2.stop", runtime.draining))


def failing_hook(runtime):
    raise RuntimeError("hook refused")
'''

WORKER = '''
from framework.components import worker
from framework.recorder import Recorded


@worker
class {name}(Recorded):
    def __init__(self):
        super().__init__("{name}")
'''

CONTROLLER = '''
from specter_spoc import Controller
from specter_spoc.project import controller


@controller
class PostController(Controller):
    url_prefix = "/posts"

    def build_routes(self, router):
        @router.route("/", methods=["GET"])
        def index():
            return {"ok": True}
'''

LAYOUT = '''
from specter_spoc.project import Hook, Layout
from framework.events import EVENTS

LAYOUT = Layout(
    modules=["models", "services", "workers", "controllers"],
    dependencies={"services": ["models"], "workers": ["services"], "controllers": ["services"]},
    required=(),
    hooks={"models": Hook(startup=lambda m: EVENTS.append(("hook.start", m.__name__)),
                          shutdown=lambda m: EVENTS.append(("hook.stop", m.__name__)))},
)
'''


def _tree(hooks='["framework.recorder.plugin_hook", "framework.recorder.PluginLifecycle"]'):
    return blog_platform({
        "framework": {"recorder.py": RECORDER, "layout.py": LAYOUT},
        "apps": {"users": {"workers.py": WORKER.format(name="EmailNotificationWorker")},
                 "blog": {"workers.py": WORKER.format(name="ContentIndexerWorker"),
                          "controllers.py": CONTROLLER}},
        "config": {"spoc.toml": f"[spoc.plugins]\nhooks = {hooks}\n",
                   "settings.py": blog_platform()["config"]["settings.py"] + "\nSPOC_APPLY_PLUGINS = True\n"},
    })


def _app():
    app = Flask("glue_test")
    return app, SocketIO(app, async_mode="gevent")


def test_boot_with_project_path_orders_everything_and_owns_the_project(write):
    path = write(_tree())
    app, socketio = _app()
    runtime = boot(app, socketio, project=path, install_signals=False)
    project = runtime.project
    events = sys.modules["framework.events"].EVENTS
    try:
        assert [s.name for s in runtime.services] == ["spoc.project", "EmailNotificationWorker",
                                                      "ContentIndexerWorker", "blog_PostController"]
        assert events == [
            ("hook.start", "users.models"), ("hook.start", "blog.models"),
            ("plugin.start", "Runtime"), ("plugin2.start", False),
            ("start", "EmailNotificationWorker"), ("start", "ContentIndexerWorker"),
        ]
        assert app.test_client().get("/blog/posts/").json == {"ok": True}  # app url_prefix + controller's
        assert runtime.get_component("services", "users.UserService").__name__ == "UserService"
        health = runtime.health()["services"]["spoc.project"]
        assert health["installed_apps"] == ["users", "blog"] and health["skipped_apps"] == {}
        assert health["status"] == "ok"
        del events[:]
    finally:
        runtime.shutdown()
    assert events == [
        ("stop", "ContentIndexerWorker"), ("stop", "EmailNotificationWorker"),
        ("plugin2.stop", True), ("hook.stop", "blog.models"), ("hook.stop", "users.models"),
    ]
    assert project.closed and "users" not in sys.modules  # loaded by boot, so closed by it


def test_health_shows_skipped_apps(write):
    tree = _tree()
    tree["apps"]["blog"]["models.py"] = "raise ImportError('no driver')\n"
    app, socketio = _app()
    runtime = boot(app, socketio, project=write(tree), install_signals=False)
    try:
        health = runtime.health()["services"]["spoc.project"]
        assert health["status"] == "degraded"
        assert "no driver" in health["skipped_apps"]["blog"]
        assert [s.name for s in runtime.services] == ["spoc.project", "EmailNotificationWorker"]
    finally:
        runtime.shutdown()


def test_failing_plugin_hook_fails_boot_and_undoes_the_layout_hooks(write, projects):
    path = write(_tree('["framework.recorder.PluginLifecycle", "framework.recorder.failing_hook"]'))
    project = projects.load(path)
    events = sys.modules["framework.events"].EVENTS
    app, socketio = _app()
    with pytest.raises(Exception, match="hook refused"):
        boot(app, socketio, project=project, install_signals=False)
    assert events == [
        ("hook.start", "users.models"), ("hook.start", "blog.models"), ("plugin2.start", False),
        ("plugin2.stop", False), ("hook.stop", "blog.models"), ("hook.stop", "users.models"),
    ]
    assert not project.started and not project.closed  # the caller's project stays loaded


def test_loaded_project_mode_mismatch_is_refused(write, projects):
    project = projects.load(write(_tree()))
    app, socketio = _app()
    with pytest.raises(ValueError, match="loaded in mode 'development'"):
        boot(app, socketio, project=project, mode="production", install_signals=False)


def test_instantiate_component_rules():
    class Named(Service):
        def __init__(self):
            super().__init__("named")

    class Plain(Service):
        pass

    class Anonymous(Controller):
        pass

    class Titled(Controller):
        name = "titled"

    class NeedsTwo(Service):
        def __init__(self, a, b):
            super().__init__(a)

    assert instantiate_component(Named, "app.Named").name == "named"
    assert instantiate_component(Plain, "app.Plain").name == "app.Plain"
    assert instantiate_component(Anonymous, "app.Anonymous").name == "app_Anonymous"
    assert instantiate_component(Titled, "app.Titled").name == "titled"
    with pytest.raises(TypeError, match="needs arguments"):
        instantiate_component(NeedsTwo, "app.NeedsTwo")


def test_create_app_turns_settings_into_flask_config(write, projects):
    from specter_spoc import create_app

    project = projects.load(write(_tree('[]')), env={"SECRET_KEY": "from-env-key"})
    app = create_app(project)
    try:
        assert app.config["SECRET_KEY"] == "from-env-key"
        assert app.config["WORKERS"]["content_indexer"]["interval"] == 300
        assert app.config["SPOC_MODE"] == "development"
    finally:
        app.extensions["specter_spoc"].shutdown()


def test_attach_project_takes_a_layout_defined_in_code_and_echoes_its_steps(write, capsys):
    """What boot(..., layout=..., echo=...) passes through."""
    from specter_spoc.project import Hook, Layout
    from specter_spoc.project.runtime_glue import attach_project
    from specter_spoc.runtime import Runtime

    seen = []
    layout = Layout(modules=["models", "services"], dependencies={"services": ["models"]},
                    hooks={"models": Hook(startup=lambda m: seen.append(m.__name__))})
    runtime = Runtime(None, None)
    project = attach_project(runtime, write(_tree()), layout=layout, echo=True)
    try:
        assert project.layout is layout and "views" not in project.components.types
        runtime.boot()
        assert seen == ["users.models", "blog.models"]
        out = capsys.readouterr().out
        assert "[specter-spoc] loading project" in out and "apps ['users', 'blog']" in out
        assert "plugin groups applied: ['middleware', 'hooks']" in out
    finally:
        runtime.shutdown()
