"""Plugins: SPOC's merge order, loading, the middleware and hooks contracts."""
from __future__ import annotations

import sys
from collections import OrderedDict

import pytest
from flask import Flask, g

from specter_spoc.project import PluginHooks, apply_middleware, merge_plugin_uris

from spoc_fixtures import blog_platform

PLUGINS_PY = '''
from flask import g
from framework.events import EVENTS


class Outer:
    """WSGI middleware: adds a header."""
    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        EVENTS.append("outer")
        def start(status, headers, exc_info=None):
            return start_response(status, headers + [("X-Order", "outer")], exc_info)
        return self.wsgi_app(environ, start)


class Inner:
    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        EVENTS.append("inner")
        return self.wsgi_app(environ, start_response)


def stamp():
    EVENTS.append("before")
    g.stamped = True


def add_header(response):
    EVENTS.append("after")
    response.headers["X-Stamped"] = "yes"
    return response


class RequestHooks:
    def before_request(self):
        EVENTS.append("hooks.before")

    def after_request(self, response):
        EVENTS.append("hooks.after")
        return response


def function_hook(runtime):
    EVENTS.append(("fn", runtime))


class ClassHook:
    def startup(self, runtime):
        EVENTS.append(("class.start", runtime))

    def shutdown(self, runtime):
        EVENTS.append(("class.stop", runtime))


class _Obj:
    def __init__(self, label):
        self.label = label

    def startup(self, runtime):
        EVENTS.append((self.label + ".start", runtime))

    def shutdown(self, runtime):
        EVENTS.append((self.label + ".stop", runtime))


object_hook = _Obj("obj")
'''


def test_merge_is_toml_first_then_settings_deduplicated_in_order():
    merged = merge_plugin_uris(
        {"middleware": ["myapp.middleware.cors"], "hooks": ["myapp.hooks.startup"]},
        {"middleware": ["myapp.middleware.auth", "myapp.middleware.cors"], "database": ["db.backends.postgres"]},
    )
    assert merged == {  # seed 002's "Resulting merged plugins"
        "middleware": ["myapp.middleware.cors", "myapp.middleware.auth"],
        "hooks": ["myapp.hooks.startup"],
        "database": ["db.backends.postgres"],
    }


def _plugin_project(projects, toml_plugins, settings_plugins):
    settings = blog_platform()["config"]["settings.py"].replace(
        'PLUGINS: dict = {\n    "middleware": [],\n    "hooks": [],\n}', f"PLUGINS: dict = {settings_plugins!r}")
    toml = "[spoc.plugins]\n" + "".join(f"{group} = {uris!r}\n".replace("'", '"')
                                        for group, uris in toml_plugins.items())
    tree = blog_platform({"framework": {"plugins.py": PLUGINS_PY},
                          "config": {"settings.py": settings, "spoc.toml": toml}})
    return projects.load(tree)


def test_project_plugins_loaded_in_merged_order(projects):
    project = _plugin_project(
        projects,
        {"middleware": ["framework.plugins.Outer"], "custom": ["framework.database.db"]},
        {"middleware": ["framework.plugins.Inner", "framework.plugins.Outer"], "hooks": ["framework.plugins.function_hook"]},
    )
    assert project.diagnostics == []
    assert isinstance(project.plugins["middleware"], OrderedDict)
    assert list(project.plugins["middleware"]) == ["framework.plugins.Outer", "framework.plugins.Inner"]
    assert project.plugins["middleware"]["framework.plugins.Outer"].__name__ == "Outer"
    assert project.plugins["custom"]["framework.database.db"] is sys.modules["framework.database"].db
    assert list(project.plugins["hooks"]) == ["framework.plugins.function_hook"]


def test_apply_middleware_to_a_real_flask_app(projects):
    project = _plugin_project(projects, {"middleware": [
        "framework.plugins.Outer", "framework.plugins.stamp", "framework.plugins.Inner",
        "framework.plugins.add_header", "framework.plugins.RequestHooks"]}, {})
    events = sys.modules["framework.events"].EVENTS
    app = Flask("plugins_test")

    @app.route("/")
    def index():
        events.append("view")
        return {"stamped": g.get("stamped", False)}

    applied = apply_middleware(app, project.plugins)
    assert applied == list(project.plugins["middleware"])
    response = app.test_client().get("/")
    assert response.json == {"stamped": True}
    assert response.headers["X-Order"] == "outer" and response.headers["X-Stamped"] == "yes"
    # first listed is outermost / sees the request first; after_request runs in reverse (Flask)
    assert events == ["outer", "inner", "before", "hooks.before", "view", "hooks.after", "after"]


def test_apply_middleware_without_group_is_a_no_op():
    app = Flask("empty")
    wsgi = app.wsgi_app
    assert apply_middleware(app, {}) == [] and app.wsgi_app == wsgi


def test_plugin_hooks_startup_in_order_shutdown_reversed(projects):
    project = _plugin_project(projects, {"hooks": ["framework.plugins.function_hook", "framework.plugins.ClassHook"]},
                              {"hooks": ["framework.plugins.object_hook"]})
    events = sys.modules["framework.events"].EVENTS
    runtime = object()
    project.run_plugin_hooks_startup(runtime)
    assert events == [("fn", runtime), ("class.start", runtime), ("obj.start", runtime)]
    del events[:]
    assert project.run_plugin_hooks_shutdown(runtime) == []
    assert events == [("obj.stop", runtime), ("class.stop", runtime)]
    assert project.run_plugin_hooks_shutdown(runtime) == []  # nothing left to stop
    assert events == [("obj.stop", runtime), ("class.stop", runtime)]


def test_failing_hook_startup_undoes_started_hooks():
    log = []

    class Good:
        def startup(self, rt):
            log.append("good.start")

        def shutdown(self, rt):
            log.append("good.stop")

    def bad(rt):
        raise RuntimeError("no metrics backend")

    hooks = PluginHooks({"good": Good, "bad": bad, "never": lambda rt: log.append("never")})
    with pytest.raises(RuntimeError, match="metrics"):
        hooks.startup("rt")
    assert log == ["good.start", "good.stop"] and hooks.started == []


def test_failing_hook_shutdown_is_reported_and_the_rest_still_stop():
    log = []

    class A:
        def startup(self, rt):
            pass

        def shutdown(self, rt):
            log.append("a.stop")

    class B:
        def shutdown(self, rt):
            raise ValueError("flaky")

    hooks = PluginHooks({"a": A, "b": B})
    hooks.startup(None)
    errors = hooks.shutdown(None)
    assert [(uri, type(exc)) for uri, exc in errors] == [("b", ValueError)] and log == ["a.stop"]
