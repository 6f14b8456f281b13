"""Every diagnostic code, strict vs lenient."""
from __future__ import annotations

import logging
import sys

import pytest

from specter_spoc.project import CODES, Diagnostic, DiagnosticError
from specter_spoc.project.checks import (
    check_secret_key, find_duplicate_events, find_duplicate_routes, find_framework_imports,
)
from specter_spoc.project.config import Settings
from specter_spoc.project.diagnostics import diagnostic

from spoc_fixtures import blog_platform, merge, minimal


def codes(project):
    return [d.code for d in project.diagnostics]


def test_codes_table_is_stable():
    assert list(CODES) == [f"SPC{n:03d}" for n in range(1, 21)]
    assert CODES["SPC005"][0] == "app dependency cycle"
    with pytest.raises(ValueError, match="unknown diagnostic code"):
        Diagnostic("SPC999", "error", "x")
    with pytest.raises(ValueError, match="level"):
        Diagnostic("SPC001", "fatal", "x")


def test_diagnostic_format_and_error_lists_every_error():
    one = diagnostic("SPC001", "app 'a' missing.", "create it", app="a", key="INSTALLED_APPS")
    two = diagnostic("SPC007", "plugin 'x' broken.", "fix it")
    warn = diagnostic("SPC019", "skipped.")
    assert one.format() == "SPC001 error [app a, key INSTALLED_APPS]: app 'a' missing.\n  hint: create it"
    exc = DiagnosticError([one, warn, two])
    assert exc.codes == ["SPC001", "SPC007"]
    assert "2 errors" in str(exc) and "app 'a' missing" in str(exc) and "plugin 'x' broken" in str(exc)
    assert "skipped." not in str(exc)
    assert one.as_dict()["app"] == "a" and one.title == "unknown app"


# ----------------------------------------------------------------- SPC001
def test_spc001_unknown_app_lenient_skips_it_and_boots_the_rest(projects, caplog):
    caplog.set_level(logging.WARNING, logger="specter_spoc.project")
    tree = blog_platform({"config": {"settings.py": blog_platform()["config"]["settings.py"].replace(
        '"blog",\n]', '"blog",\n    "shop",\n]')}})
    project = projects.load(tree)
    assert codes(project) == ["SPC001"]
    diag = project.errors[0]
    assert diag.app == "shop" and "config/settings.py INSTALLED_APPS" in diag.message
    assert "apps/shop/__init__.py" in diag.hint
    assert project.installed_apps == ["users", "blog"]
    assert "not found" in project.skipped_apps["shop"]
    assert any("SPC001" in r.getMessage() for r in caplog.records)


def test_spc001_strict_raises_and_undoes_imports(projects):
    tree = blog_platform({"config": {"settings.py": 'INSTALLED_APPS = ["users", "shop", "ghost"]\n'}})
    with pytest.raises(DiagnosticError) as info:
        projects.load(tree, strict=True)
    assert info.value.codes == ["SPC001", "SPC001"]  # every error listed, not only the first
    assert "users" not in sys.modules and str(projects.tmp_path) not in " ".join(sys.path)


# ----------------------------------------------------------------- SPC002
@pytest.mark.parametrize("where, content, fragment", [
    ("__init__.py", "import not_installed_lib_xyz\n", "not_installed_lib_xyz"),
    ("services.py", "from framework.components import service\nraise RuntimeError('kaputt')\n", "kaputt"),
    ("models.py", "def broken(:\n", "SyntaxError"),
])
def test_spc002_app_not_importable_names_the_failure(projects, where, content, fragment):
    project = projects.load(blog_platform({"apps": {"users": {where: content}}}))
    errors = [d for d in project.diagnostics if d.code == "SPC002"]
    assert len(errors) == 1 and fragment in errors[0].message
    assert errors[0].file and "users" in errors[0].file
    # blog depends on users: skipped too, with the reason
    assert project.installed_apps == []
    assert "SPC019" in codes(project)
    assert "skipped" in project.skipped_apps["blog"] and "users" in project.skipped_apps["blog"]
    assert project.components.services == {}


# ----------------------------------------------------------------- SPC003
def test_spc003_missing_kind_only_in_strict_mode(projects):
    tree = blog_platform({"apps": {"blog": {"workers.py": None}}, "config": {"settings.py": blog_platform()[
        "config"]["settings.py"] + "SECRET_KEY = 'k' * 32\n"}})
    lenient = projects.load(tree)
    assert lenient.diagnostics == [] and "workers" not in lenient.app("blog").modules
    lenient.close()
    with pytest.raises(DiagnosticError) as info:
        projects.load(projects.tmp_path / "proj1", strict=True)
    assert info.value.codes == ["SPC003"]
    assert info.value.errors[0].app == "blog" and info.value.errors[0].key == "workers"


def test_default_layout_kinds_are_optional_in_strict_mode(projects):
    tree = {"apps": {"solo": {"__init__.py": "", "models.py": ""}},
            "config": {"settings.py": 'INSTALLED_APPS = ["solo"]\nSECRET_KEY = "k" * 32\n'}}
    project = projects.load(tree, mode="production")
    assert project.strict and project.diagnostics == [] and project.installed_apps == ["solo"]


# ----------------------------------------------------------------- SPC004
def test_spc004_duplicate_component_name(projects):
    dup = '''
        from framework.components import model

        @model
        class User:
            pass
    '''
    project = projects.load(blog_platform({"apps": {"users": {"views.py": dup}}}))
    errors = [d for d in project.diagnostics if d.code == "SPC004"]
    assert len(errors) == 1
    assert "'users.User'" in errors[0].message and "users.models" in errors[0].message
    assert "users.views" in errors[0].message
    assert "users" in project.skipped_apps
    assert not any(name.startswith("users.") for name in project.components.models)


def test_same_object_reexported_is_not_a_duplicate(projects):
    reexport = "from users.models import User\n"
    project = projects.load(blog_platform({"apps": {"users": {"views.py": reexport}}}))
    assert project.diagnostics == []


# ----------------------------------------------------------------- SPC005
def test_spc005_app_cycle_names_the_cycle(projects):
    tree = blog_platform({"apps": {"users": {"__init__.py": 'DEPENDS_ON = ["blog"]\n'},
                                   "extra": {"__init__.py": 'DEPENDS_ON = ["blog"]\n'},
                                   "free": {"__init__.py": ""}},
                          "config": {"settings.py": 'INSTALLED_APPS = ["blog", "users", "extra", "free"]\n'
                                                    'SPOC_LAYOUT = "framework.layout.LAYOUT"\n'}})
    project = projects.load(tree)
    cycle = [d for d in project.diagnostics if d.code == "SPC005"]
    assert cycle and "blog -> users -> blog" in cycle[0].message
    assert project.installed_apps == ["free"]
    assert project.skipped_apps["blog"] == "dependency cycle blog -> users -> blog"
    assert "extra" in project.skipped_apps and "SPC019" in codes(project)
    with pytest.raises(DiagnosticError, match="blog -> users -> blog"):
        project.close()
        projects.load(projects.tmp_path / "proj1", mode="production")


def test_apps_start_in_dependency_order_stably(projects):
    tree = {"apps": {"a": {"__init__.py": 'DEPENDS_ON = ["c"]\n'}, "b": {"__init__.py": ""},
                     "c": {"__init__.py": 'DEPENDS_ON = ["b"]\n'}, "d": {"__init__.py": ""}},
            "config": {"settings.py": 'INSTALLED_APPS = ["a", "b", "c", "d"]\n'}}
    assert projects.load(tree).installed_apps == ["b", "c", "a", "d"]


# ----------------------------------------------------------------- SPC006
def test_spc006_layout_cycle_and_unknown_kind(projects):
    from specter_spoc.project import Layout
    with pytest.raises(DiagnosticError, match="models -> services -> models") as info:
        Layout(modules=["models", "services"], dependencies={"models": ["services"], "services": ["models"]})
    assert info.value.codes == ["SPC006"]
    with pytest.raises(DiagnosticError, match="'views'") as info:
        Layout(modules=["models"], hooks={"views": {"startup": print}})
    assert info.value.codes == ["SPC006"]
    bad = '''
        from specter_spoc.project import Layout
        LAYOUT = Layout(modules=["a", "b"], dependencies={"a": ["b"], "b": ["a"]})
    '''
    with pytest.raises(DiagnosticError) as info:
        projects.load(blog_platform({"framework": {"layout.py": bad}}))
    assert info.value.codes == ["SPC006"]


# ----------------------------------------------------------------- SPC007
def test_spc007_plugin_not_importable_names_uri_and_failing_import(projects):
    tree = blog_platform({
        "framework": {"plugins.py": "import jwt_not_installed_xyz\n"},
        "config": {"spoc.toml": '[spoc.plugins]\nmiddleware = ["framework.plugins.auth", "framework.nothing.x"]\n'}})
    project = projects.load(tree)
    errors = [d for d in project.diagnostics if d.code == "SPC007"]
    assert len(errors) == 2
    assert "'framework.plugins.auth'" in errors[0].message and "jwt_not_installed_xyz" in errors[0].message
    assert errors[0].file == "config/spoc.toml [spoc.plugins] middleware"
    assert "'framework.nothing.x'" in errors[1].message
    assert project.plugins["middleware"] == {}
    assert project.installed_apps == ["users", "blog"]  # lenient: apps unaffected


# ----------------------------------------------------------------- SPC008
def test_spc008_framework_code_importing_an_app(projects):
    tree = blog_platform({"framework": {"helpers.py": "def f():\n    from blog.services import PostService\n"}})
    project = projects.load(tree)
    errors = [d for d in project.diagnostics if d.code == "SPC008"]
    assert len(errors) == 1
    assert errors[0].app == "blog" and errors[0].file == "framework/helpers.py:2"


def test_spc008_configured_packages_and_specter_spoc_itself_is_clean(projects):
    import specter_spoc
    from pathlib import Path
    package_dir = Path(specter_spoc.__file__).parent
    assert find_framework_imports([package_dir], {"users": "users", "blog": "blog"}) == []
    tree = blog_platform({"shared": {"x.py": "import users\n"},
                          "config": {"settings.py": blog_platform()["config"]["settings.py"]
                                     + 'SPOC_FRAMEWORK_PACKAGES = ["shared"]\n'}})
    project = projects.load(tree)
    assert [(d.code, d.file) for d in project.diagnostics] == [("SPC008", "shared/x.py:1")]


# ------------------------------------------------------- SPC009 / SPC010
def test_spc009_duplicate_routes():
    diags = find_duplicate_routes([
        ("users.Api", "/items/<int:id>", ["GET", "POST"]),
        ("blog.Api", "/items/<slug>", ["GET"]),
        ("blog.Api", "/other", None),
        ("shop.Api", "/items/<x>", ["DELETE"]),
    ])
    assert [d.code for d in diags] == ["SPC009"]
    assert "'users.Api'" in diags[0].message and "'blog.Api'" in diags[0].message
    assert find_duplicate_routes([("a", "/x", ["GET"]), ("a", "/x", ["GET"])]) == []


def test_spc010_duplicate_socket_events():
    diags = find_duplicate_events([("chat.Ctl", "message", None), ("news.Ctl", "message", "/"),
                                   ("admin.Ctl", "message", "/admin")])
    assert [d.code for d in diags] == ["SPC010"]
    assert "'message'" in diags[0].message and "'/'" in diags[0].message


# ----------------------------------------------------------------- SPC011
def test_spc011_production_without_secret_key(projects):
    tree = minimal()
    with pytest.raises(DiagnosticError) as info:
        projects.load(tree, mode="production")
    assert info.value.codes == ["SPC011"] and "SECRET_KEY" in info.value.errors[0].hint
    assert projects.peek("diagnostics", projects.tmp_path / "proj1", mode="production",
                         env={"SECRET_KEY": "from-env-" * 4}) == []
    assert projects.peek("diagnostics", projects.tmp_path / "proj1", mode="production",
                         env={"SPOC_SECRET_KEY": "prefixed-" * 4}) == []
    assert check_secret_key("development", {}) == []
    assert [d.code for d in check_secret_key("production", {"SECRET_KEY": ""})] == ["SPC011"]
    assert [d.code for d in check_secret_key("production", {"SECRET_KEY": "changeme"})] == ["SPC011"]


# ----------------------------------------------------------------- SPC015
def test_spc015_depends_on_missing_app(projects):
    tree = {"apps": {"blog": {"__init__.py": 'DEPENDS_ON = ["users"]\n'}, "other": {"__init__.py": ""}},
            "config": {"settings.py": 'INSTALLED_APPS = ["blog", "other"]\n'}}
    project = projects.load(tree)
    assert codes(project) == ["SPC015"]
    assert "'users'" in project.errors[0].message and project.installed_apps == ["other"]


# ----------------------------------------------------------------- SPC016
@pytest.mark.parametrize("init, key", [
    ('DEPENDS_ON = "users"\n', "DEPENDS_ON"),
    ('URL_PREFIX = "blog"\n', "URL_PREFIX"),
    ("NAME = 'not an identifier'\n", "NAME"),
])
def test_spc016_invalid_app_metadata(projects, init, key):
    tree = {"apps": {"blog": {"__init__.py": init}}, "config": {"settings.py": 'INSTALLED_APPS = ["blog"]\n'}}
    project = projects.load(tree)
    assert codes(project) == ["SPC016"] and project.errors[0].key == key
    assert project.installed_apps == []


def test_appconfig_rejects_bad_values_at_construction():
    from specter_spoc.project import AppConfig
    with pytest.raises(TypeError, match="depends_on"):
        AppConfig(depends_on="users")
    assert AppConfig(name="x", depends_on=["a"]).depends_on == ("a",)


def test_spc016_two_apps_with_the_same_name(projects):
    tree = {"apps": {"users": {"__init__.py": ""},
                     "accounts": {"__init__.py": "from specter_spoc.project import AppConfig\n"
                                                 "app = AppConfig(name='users')\n"}},
            "config": {"settings.py": 'INSTALLED_APPS = ["users", "accounts"]\n'}}
    project = projects.load(tree)
    assert codes(project) == ["SPC016"] and "both named 'users'" in project.errors[0].message
    assert project.installed_apps == ["users"]


# ----------------------------------------------------------------- SPC018
def test_spc018_plugin_breaking_group_contract(projects):
    tree = blog_platform({"framework": {"plugins.py": "NUMBER = 3\ndef two(a, b):\n    pass\n"},
                          "config": {"spoc.toml": '[spoc.plugins]\nhooks = ["framework.plugins.NUMBER"]\n'
                                                  'middleware = ["framework.plugins.two"]\n'}})
    unapplied = projects.load(tree)
    assert codes(unapplied) == [] and unapplied.plugins["hooks"]["framework.plugins.NUMBER"] == 3
    unapplied.close()                                     # loaded, not applied: any object will do
    settings = blog_platform()["config"]["settings.py"] + "\nSPOC_APPLY_PLUGINS = True\n"
    project = projects.load(merge(tree, {"config": {"settings.py": settings}}))
    assert sorted(codes(project)) == ["SPC018", "SPC018"]
    assert project.plugins["hooks"] == {} and project.plugins["middleware"] == {}   # never applied


def test_strict_error_lists_all_problems_at_once(projects):
    tree = blog_platform({
        "apps": {"users": {"__init__.py": 'DEPENDS_ON = ["nobody"]\n'}},
        "config": {"settings.py": 'INSTALLED_APPS = ["users", "blog", "ghost"]\n',
                   "spoc.toml": '[spoc.plugins]\nhooks = ["framework.nope"]\n'}})
    with pytest.raises(DiagnosticError) as info:
        projects.load(tree, strict=True)
    assert sorted(info.value.codes) == ["SPC001", "SPC007", "SPC015"]
    assert [d.code for d in info.value.diagnostics if not d.is_error] == ["SPC019"]


def test_raise_on_error_false_returns_the_project_with_diagnostics(projects):
    tree = blog_platform({"config": {"settings.py": 'INSTALLED_APPS = ["users", "ghost"]\n'}})
    project = projects.load(tree, strict=True, raise_on_error=False)
    assert project.strict and codes(project) == ["SPC001"]


def test_spc002_app_name_already_imported_from_elsewhere(projects, write):
    """A module left imported by a project that was never closed is not reused silently."""
    other = write({"users": {"__init__.py": "ORIGIN = 'other'\n"}}, name="elsewhere")
    sys.path.insert(0, str(other))
    try:
        import users  # noqa: F401  (stays in sys.modules, like a leaked project's app)
    finally:
        sys.path.remove(str(other))
    try:
        project = projects.load({"apps": {"users": {"__init__.py": ""}, "blog": {"__init__.py": ""}},
                                 "config": {"settings.py": 'INSTALLED_APPS = ["users", "blog"]\n'}})
        stale = [d for d in project.diagnostics if d.code == "SPC002"]
        assert len(stale) == 1 and "already imported from" in stale[0].message and str(other) in stale[0].message
        assert project.installed_apps == ["blog"] and sys.modules["users"].ORIGIN == "other"
    finally:
        sys.modules.pop("users", None)


# ----------------------------------------------------------------- SPC020
def test_spc020_undecorated_service_subclass_is_named_with_how_to_register_it(projects):
    services = '''
        from specter_spoc import Service
        from specter_spoc.project import service

        class Mailer(Service):                 # forgotten: never booted
            def __init__(self):
                super().__init__("mailer")

        class BaseWorker(Service):             # extended by a registered one: a base class
            pass

        @service
        class Indexer(BaseWorker):
            def __init__(self):
                super().__init__("indexer")
    '''
    project = projects.load(blog_platform({"apps": {"users": {"services.py": services}}}))
    spc020 = [d for d in project.diagnostics if d.code == "SPC020"]
    assert len(spc020) == 1 and spc020[0].level == "warning" and spc020[0].key == "Mailer"
    assert "users.services.Mailer is a Service subclass" in spc020[0].message
    assert "never boots it" in spc020[0].message and "@service" in spc020[0].hint
    assert spc020[0].file.endswith("services.py") and spc020[0].app == "users"
    assert "users.Indexer" in [name for name, _ in project.lifecycle_components()]
