"""Seed 002's plugin examples: loaded as SPOC loads them, applied only on request.

SPOC loads plugins and hands them to the application; it never calls them.
Here too by default, so the seed's ``log_request(request)``, a middleware
class with a no-argument constructor and a no-argument ``startup()`` hook
load, boot and serve (no 500). With ``SPOC_APPLY_PLUGINS`` the runtime
applies them, and each one that breaks its group's contract is SPC018 at
load time, naming the plugin, where it is defined and listed, and the fix;
``specter-spoc check`` says the same.
"""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from flask import Flask
from flask_socketio import SocketIO

from specter_spoc import boot
from specter_spoc.cli import cli

from spoc_fixtures import blog_platform, merge, write_tree

SEED_PLUGINS = {
    "myapp": {
        "__init__.py": "",
        "middleware": {
            "__init__.py": "",
            # seed 002, "Simple Function Plugin"
            "logging.py": '''
                """Logging middleware plugin."""

                import logging
                from datetime import datetime

                logger = logging.getLogger(__name__)

                def log_request(request):
                    """Log incoming requests."""
                    timestamp = datetime.now().isoformat()
                    logger.info(f"[{timestamp}] {request.method} {request.path}")
                    return request
            ''',
            "cors.py": '''
                class CorsMiddleware:
                    """SPOC-style middleware object: built with no arguments, called by the app."""

                    def __init__(self):
                        self.origins = ["*"]

                    def __call__(self, request):
                        return request
            ''',
        },
        "hooks.py": '''
            CALLS = []

            def startup():
                CALLS.append("startup")

            def shutdown():
                CALLS.append("shutdown")
        ''',
        "cache": {
            "__init__.py": "",
            # seed 002, "Plugin with Configuration"
            "redis_backend.py": '''
                """Redis cache backend plugin."""

                import redis
                from typing import Any, Optional

                class RedisCacheBackend:
                    """Redis-based cache backend."""

                    def __init__(self, framework=None):
                        self.framework = framework
                        self.client = None
                        if framework:
                            redis_config = framework.config.settings.REDIS_CONFIG
                            self.configure(**redis_config)

                    def configure(self, host="localhost", port=6379, db=0, **kwargs):
                        self.client = redis.Redis(host=host, port=port, db=db, decode_responses=True, **kwargs)

                    def get(self, key: str) -> Optional[str]:
                        return self.client.get(key)
            ''',
        },
        "plugins": {
            "__init__.py": "",
            # seed 002, "Plugin Factory Pattern"
            "validators.py": '''
                """Validator plugins using factory pattern."""

                from typing import Callable
                import re

                def create_email_validator(domain_whitelist=None) -> Callable:
                    email_pattern = re.compile(r'^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\.[a-zA-Z]{2,}$')

                    def validate_email(email: str) -> bool:
                        if not email_pattern.match(email):
                            return False
                        if domain_whitelist:
                            return email.split('@')[1] in domain_whitelist
                        return True

                    return validate_email
            ''',
        },
    },
}

TOML = '''
[spoc]
mode = "development"

[spoc.plugins]
middleware = ["myapp.middleware.logging.log_request", "myapp.middleware.cors.CorsMiddleware"]
hooks = ["myapp.hooks.startup", "myapp.hooks.shutdown"]
cache = ["myapp.cache.redis_backend.RedisCacheBackend"]
validators = ["myapp.plugins.validators.create_email_validator"]
'''


def _tree(apply: bool = False):
    settings = blog_platform()["config"]["settings.py"] + ("\nSPOC_APPLY_PLUGINS = True\n" if apply else "")
    return merge(blog_platform(SEED_PLUGINS), {"config": {"spoc.toml": TOML, "settings.py": settings}})


def _serve_once(project):
    app = Flask("seed_plugins")
    app.add_url_rule("/ping", "ping", lambda: {"ok": True})
    runtime = boot(app, SocketIO(app, async_mode="gevent"), project=project, install_signals=False)
    try:
        return app.test_client().get("/ping")
    finally:
        runtime.shutdown()


def test_seed_plugins_load_and_are_not_applied(projects):
    project = projects.load(_tree())
    assert project.diagnostics == [] and project.applied_plugin_groups == ()
    assert [list(project.plugins[g]) for g in ("middleware", "hooks")] == [
        ["myapp.middleware.logging.log_request", "myapp.middleware.cors.CorsMiddleware"],
        ["myapp.hooks.startup", "myapp.hooks.shutdown"]]
    validator = project.plugins["validators"]["myapp.plugins.validators.create_email_validator"](["company.com"])
    assert validator("user@company.com") and not validator("user@other.com")
    backend = project.plugins["cache"]["myapp.cache.redis_backend.RedisCacheBackend"]()
    assert backend.client is None
    response = _serve_once(project)
    assert response.status_code == 200 and response.get_json() == {"ok": True}
    import myapp.hooks
    assert myapp.hooks.CALLS == []          # hooks are the application's to call, as in SPOC


def test_applying_them_reports_each_broken_contract_at_load_time(projects):
    project = projects.load(_tree(apply=True))
    by_uri = {d.message.split("'")[1]: d for d in project.diagnostics}
    assert sorted(by_uri) == ["myapp.hooks.shutdown", "myapp.hooks.startup",
                              "myapp.middleware.cors.CorsMiddleware", "myapp.middleware.logging.log_request"]
    assert {d.code for d in project.diagnostics} == {"SPC018"}
    log_request = by_uri["myapp.middleware.logging.log_request"]
    assert "receives the response" in log_request.message and "logging.py:8" in log_request.message
    assert log_request.file == "config/spoc.toml [spoc.plugins] middleware"
    assert "flask.request" in log_request.hint and "SPOC_APPLY_PLUGINS" in log_request.hint
    assert "does not take the wrapped WSGI app" in by_uri["myapp.middleware.cors.CorsMiddleware"].message
    assert "cannot be called with the runtime" in by_uri["myapp.hooks.startup"].message
    # lenient mode: the broken plugins are left out, the app boots and serves
    response = _serve_once(project)
    assert response.status_code == 200


def test_strict_mode_refuses_them_before_anything_starts(projects):
    from specter_spoc.project import DiagnosticError

    with pytest.raises(DiagnosticError) as info:
        projects.load(_tree(apply=True), strict=True)
    assert info.value.codes == ["SPC018"] * 4


def test_check_reports_the_same(tmp_path):
    runner = CliRunner()
    clean = runner.invoke(cli, ["check", "--project", str(write_tree(tmp_path / "a", _tree()))])
    assert clean.exit_code == 0 and "No problems found" in clean.output
    broken = runner.invoke(cli, ["check", "--project", str(write_tree(tmp_path / "b", _tree(apply=True)))])
    assert broken.exit_code == 1 and broken.output.count("SPC018 error") == 4
    assert "myapp.middleware.logging.log_request" in broken.output


def test_bad_apply_setting_is_spc013(projects):
    from specter_spoc.project import DiagnosticError

    settings = blog_platform()["config"]["settings.py"] + '\nSPOC_APPLY_PLUGINS = "yes"\n'
    with pytest.raises(DiagnosticError) as info:
        projects.load(merge(blog_platform(), {"config": {"settings.py": settings}}))
    assert info.value.codes == ["SPC013"] and "SPOC_APPLY_PLUGINS" in str(info.value)
