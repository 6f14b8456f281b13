"""The seed 001 blog_platform project loads, registers, hooks and unloads."""
from __future__ import annotations

import os
import sys
import textwrap

import pytest

from specter_spoc import Service
from specter_spoc.project import Project, load_project

from spoc_fixtures import blog_platform


def test_blog_platform_installed_apps_and_metadata(projects):
    project = projects.load(blog_platform())
    assert project.mode == "development"
    assert project.strict is False
    assert project.debug is True
    assert project.installed_apps == ["users", "blog"]
    assert project.diagnostics == []
    users, blog = project.apps
    assert (users.name, users.url_prefix, users.config.description) == ("users", "/users", "user management")
    assert (blog.name, blog.depends_on, blog.url_prefix) == ("blog", ("users",), "/blog")
    assert list(blog.modules) == ["models", "views", "services", "workers"]
    assert blog.path == project.base_dir / "apps" / "blog"
    assert project.app("blog") is blog


def test_components_listed_as_in_the_seed_output(projects):
    project = projects.load(blog_platform())
    comps = project.components
    assert list(comps.models) == ["users.User", "users.UserProfile", "blog.Post", "blog.Comment"]
    assert list(comps.views) == ["users.register_user", "users.login_user", "users.get_profile",
                                 "blog.list_posts", "blog.create_post"]
    assert list(comps.services) == ["users.UserService", "blog.PostService", "blog.CommentService"]
    assert list(comps.workers) == ["users.EmailNotificationWorker", "blog.ContentIndexerWorker"]
    # singular (as registered by the seed) and plural (as read by main.py) are one type
    user_service = project.get_component("services", "users.UserService")
    assert user_service is project.get_component("service", "users.UserService")
    assert user_service.__module__ == "users.services"
    assert project.get_component("services", "users.Missing") is None
    assert project.get_component("gadgets", "users.UserService") is None
    # the seed's main.py flow works on the registered classes
    post_service = project.get_component("services", "blog.PostService")()
    author = user_service().create_user("alice", "alice@example.com", "Alice")
    assert post_service.create_post("Getting Started", author) == 1
    info = comps.info("model", "blog.Post")
    assert (info.app, info.module, info.type) == ("blog", "blog.models", "models")


def test_lifecycle_components_are_services_in_app_then_kind_order(projects):
    project = projects.load(blog_platform())
    found = project.lifecycle_components()
    assert [name for name, _ in found] == ["users.EmailNotificationWorker", "blog.ContentIndexerWorker"]
    assert all(issubclass(cls, Service) for _, cls in found)


def test_layout_hooks_startup_in_import_order_shutdown_reversed(projects):
    project = projects.load(blog_platform())
    events = sys.modules["framework.events"].EVENTS
    assert events == []  # loading imports, only startup() runs hooks
    project.startup()
    assert events == [
        ("startup", "models", "users.models"), ("startup", "views", "users.views"),
        ("startup", "services", "users.services"), ("startup", "workers", "users.workers"),
        ("startup", "models", "blog.models"), ("startup", "views", "blog.views"),
        ("startup", "services", "blog.services"), ("startup", "workers", "blog.workers"),
    ]
    del events[:]
    project.startup()  # idempotent
    assert events == []
    project.shutdown()
    assert events == [
        ("shutdown", "workers", "blog.workers"), ("shutdown", "models", "blog.models"),
        ("shutdown", "workers", "users.workers"), ("shutdown", "models", "users.models"),
    ]


def test_module_level_initialize_and_teardown_run_after_the_hooks_teardown_reversed(projects):
    """SPOC's importer calls an app module's own initialize() at startup and teardown() at shutdown."""
    lifecycle = (
        "from framework.events import EVENTS\n"
        "from os.path import join as teardown  # imported, not this module's own: never called\n\n"
        "def initialize():\n    EVENTS.append(('initialize', __name__))\n"
    )
    owned = lifecycle.replace("from os.path import join as teardown  # imported, not this module's own: never called\n",
                              "") + "\ndef teardown():\n    EVENTS.append(('teardown', __name__))\n"
    tree = blog_platform()
    tree["apps"]["users"]["services.py"] = textwrap.dedent(tree["apps"]["users"]["services.py"]) + "\n" + owned
    tree["apps"]["blog"]["models.py"] = textwrap.dedent(tree["apps"]["blog"]["models.py"]) + "\n" + lifecycle
    project = projects.load(tree)
    events = sys.modules["framework.events"].EVENTS
    project.startup()
    assert [e for e in events if e[0] == "initialize"] == [("initialize", "users.services"),
                                                           ("initialize", "blog.models")]
    assert events.index(("startup", "models", "blog.models")) < events.index(("initialize", "blog.models"))
    del events[:]
    project.shutdown()
    assert ("teardown", "users.services") in events and not [e for e in events if e == ("teardown", "blog.models")]
    assert events.index(("shutdown", "models", "blog.models")) < events.index(("teardown", "users.services"))


def test_failing_startup_hook_undoes_started_modules(projects):
    layout = '''
        from specter_spoc.project import Hook, Layout
        from framework.events import EVENTS

        def boom(module):
            if module.__name__ == "blog.models":
                raise RuntimeError("database down")
            EVENTS.append(("startup", module.__name__))

        LAYOUT = Layout(modules=["models", "services"], dependencies={"services": ["models"]},
                        hooks={"models": Hook(startup=boom, shutdown=lambda m: EVENTS.append(("shutdown", m.__name__))),
                               "services": Hook(startup=lambda m: EVENTS.append(("startup", m.__name__)))})
    '''
    project = projects.load(blog_platform({"framework": {"layout.py": layout}}))
    from specter_spoc.project import DiagnosticError
    with pytest.raises(DiagnosticError) as info:
        project.startup()
    assert info.value.codes == ["SPC017"]
    assert "database down" in str(info.value) and "blog.models" in str(info.value)
    events = sys.modules["framework.events"].EVENTS
    assert events == [("startup", "users.models"), ("startup", "users.services"), ("shutdown", "users.models")]
    assert project.started is False


def test_dotenv_fills_unset_variables_and_close_removes_them(write, monkeypatch):
    monkeypatch.setenv("DB_PASSWORD", "from-shell")
    project = load_project(write(blog_platform()))
    assert os.environ["DB_NAME"] == "blog_from_dotenv.db"        # set by .env
    assert os.environ["DB_PASSWORD"] == "from-shell"             # never overridden
    assert project.settings.DATABASE["name"] == "blog_from_dotenv.db"
    assert project.getenv("SPOC_FIXTURE_DOTENV") == "yes"
    project.close()
    assert "DB_NAME" not in os.environ and "SPOC_FIXTURE_DOTENV" not in os.environ
    assert os.environ["DB_PASSWORD"] == "from-shell"


def test_env_argument_overrides_and_is_restored(write, monkeypatch):
    monkeypatch.setenv("DB_NAME", "shell.db")
    project = load_project(write(blog_platform()), env={"DB_NAME": "arg.db", "SPOC_MODE": "staging"})
    assert project.mode == "staging"
    assert project.settings.DATABASE["name"] == "arg.db"
    project.close()
    assert os.environ["DB_NAME"] == "shell.db"
    assert "SPOC_MODE" not in os.environ


def test_close_forgets_modules_and_sys_path_so_a_second_project_loads_fresh(projects):
    first = projects.load(blog_platform())
    apps_dir = str(first.base_dir / "apps")
    assert apps_dir in sys.path and "users.models" in sys.modules
    first.close()
    assert apps_dir not in sys.path
    leftovers = [m for m in sys.modules if m.split(".")[0] in ("users", "blog", "framework", "config")]
    assert leftovers == []
    assert first.closed and repr(first).endswith("closed>")
    with pytest.raises(RuntimeError, match="closed"):
        first.startup()
    # same app names, different content
    second_tree = blog_platform({"apps": {"users": {"services.py": '''
        from framework.components import service

        @service
        class AccountService:
            pass
    '''}}})
    second = projects.load(second_tree)
    assert list(second.components.services) == ["users.AccountService", "blog.PostService", "blog.CommentService"]
    assert first.get_component("services", "users.UserService") is not None  # first kept its own registry


def test_context_manager_closes(write):
    path = write(blog_platform())
    with load_project(path) as project:
        assert isinstance(project, Project)
        assert "users" in sys.modules
    assert "users" not in sys.modules


def test_settings_view_is_read_only_and_masked(projects):
    project = projects.load(blog_platform(), env={"SECRET_KEY": "very-secret-key-long-enough-for-production"})
    settings = project.settings
    assert settings.INSTALLED_APPS == ["users", "blog"]
    assert settings.get("MISSING", 7) == 7 and "WORKERS" in settings
    with pytest.raises(AttributeError, match="read-only"):
        settings.DEBUG = True
    with pytest.raises(AttributeError, match="NOPE"):
        settings.NOPE
    text = repr(settings)
    assert "very-secret-key" not in text and "hunter2" not in text
    assert "SECRET_KEY" in text and "redis://cache:********@localhost" in text
    masked = project.masked_dotenv()
    assert masked["DB_PASSWORD"] == "********" and masked["DB_NAME"] == "blog_from_dotenv.db"


def test_settings_dir_lists_module_names_for_flask_config(projects):
    project = projects.load(blog_platform())
    names = dir(project.settings)
    assert "INSTALLED_APPS" in names and "DATABASE" in names and "os" in names
    assert {k for k in names if k.isupper()} == set(project.settings.as_dict())


def test_describe_is_plain_masked_data(projects):
    project = projects.load(blog_platform())
    data = project.describe()
    assert data["installed_apps"] == ["users", "blog"]
    assert data["components"] == {"models": 4, "views": 5, "services": 3, "workers": 2}
    assert data["apps"][1]["depends_on"] == ["users"]
    assert data["layout"] == ["models", "views", "services", "workers"]


def test_settings_module_name_and_module_object_as_source(projects, write):
    path = write(blog_platform())
    sys.path.insert(0, str(path))
    try:
        project = projects.load("config.settings")
        assert project.base_dir == path.resolve() and project.installed_apps == ["users", "blog"]
        module = project.settings.module
        project.close()
        again = projects.load(path / "config" / "settings.py")
        assert again.installed_apps == ["users", "blog"]
        again.close()
        import importlib
        settings_module = importlib.import_module("config.settings")
        assert settings_module is not module
        third = projects.load(settings_module)
        assert third.base_dir == path.resolve() and third.installed_apps == ["users", "blog"]
        third.close()
    finally:
        sys.path.remove(str(path))
        for name in [m for m in sys.modules if m.split(".")[0] == "config"]:
            del sys.modules[name]
