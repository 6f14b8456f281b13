"""Settings discovery, spoc.toml validation, modes and the apps cascade."""
from __future__ import annotations

import pytest

from specter_spoc.project import DiagnosticError
from specter_spoc.project.config import apps_for_mode, find_settings, parse_spoc_toml

from spoc_fixtures import blog_platform, minimal

APPS = {name: {"__init__.py": ""} for name in ("core", "prod_app", "stage_app", "dev_app", "test_app")}
CASCADE_TOML = '''
[spoc]
mode = "development"

[spoc.apps]
production = ["prod_app"]
staging = ["stage_app", "prod_app"]
development = ["dev_app"]
test = ["test_app"]
'''


@pytest.mark.parametrize("mode, expected", [   # SPOC's order: the mode's own list, then the modes above
    ("production", ["core", "prod_app"]),
    ("staging", ["core", "stage_app", "prod_app"]),
    ("development", ["core", "dev_app", "stage_app", "prod_app"]),
    ("test", ["core", "test_app", "dev_app", "stage_app", "prod_app"]),
])
def test_apps_cascade_per_mode(projects, mode, expected):
    tree = {"apps": APPS, "config": {"settings.py": 'INSTALLED_APPS = ["core"]\nSECRET_KEY = "k" * 32\n',
                                      "spoc.toml": CASCADE_TOML}}
    project = projects.load(tree, mode=mode)
    assert project.mode == mode
    assert project.installed_apps == expected


def test_settings_apps_come_first_and_duplicates_are_dropped(projects):
    tree = {"apps": APPS, "config": {"settings.py": 'INSTALLED_APPS = ["dev_app", "core", "core"]\n',
                                      "spoc.toml": CASCADE_TOML}}
    project = projects.load(tree)
    assert project.installed_apps == ["dev_app", "core", "stage_app", "prod_app"]


def test_apps_for_mode_unit():
    apps = {"production": ["a"], "staging": ["b", "a"], "development": ["c"]}
    assert apps_for_mode(apps, "production") == ["a"]
    assert apps_for_mode(apps, "staging") == ["b", "a"]
    assert apps_for_mode(apps, "development") == ["c", "b", "a"]


@pytest.mark.parametrize("where", ["config", "conf", "."])
@pytest.mark.parametrize("name", ["settings", "config", "configuration"])
def test_settings_discovery_locations(write, where, name):
    if where == "." and name == "config":
        name = "configuration"  # a root config.py would be shadowed by the config/ folder convention
    tree = {f"{name}.py": "X = 1\n"} if where == "." else {where: {f"{name}.py": "X = 1\n"}}
    path = write(tree)
    file, module = find_settings(path)
    assert file.name == f"{name}.py"
    assert module == (name if where == "." else f"{where}.{name}")


def test_settings_search_order_config_before_conf_before_root(write):
    path = write({"settings.py": "", "conf": {"settings.py": ""}, "config": {"configuration.py": ""}})
    assert find_settings(path)[1] == "config.configuration"
    path = write({"settings.py": "", "conf": {"settings.py": ""}})
    assert find_settings(path)[1] == "conf.settings"


def test_settings_package_is_found_and_loaded(projects):
    tree = {"config": {"settings": {"__init__.py": "from .base import *\n", "base.py": "INSTALLED_APPS = []\nFOO = 1\n"}}}
    project = projects.load(tree)
    assert project.settings.FOO == 1
    assert project.settings_file.name == "__init__.py"


def test_root_settings_and_no_config_folder(projects):
    project = projects.load(minimal({"settings.py": "INSTALLED_APPS = []\nDEBUG = False\n"}))
    assert project.installed_apps == [] and project.debug is False


def test_mode_precedence_argument_env_toml_default(projects):
    toml = '[spoc]\nmode = "staging"\n'
    assert projects.peek("mode", minimal()) == "development"
    assert projects.peek("mode", minimal({"spoc.toml": toml})) == "staging"
    assert projects.peek("mode", minimal({"spoc.toml": toml}), env={"SPOC_MODE": "test"}) == "test"
    assert projects.peek("mode", minimal({"spoc.toml": toml, ".env": "SPOC_MODE=test\n"})) == "test"
    assert projects.peek("mode", minimal({"spoc.toml": toml}), env={"SPOC_MODE": "test"}, mode="staging") == "staging"


def test_strict_defaults_and_overrides(projects):
    secret = minimal({"settings.py": 'INSTALLED_APPS = []\nSECRET_KEY = "x" * 32\n'})
    assert projects.peek("strict", secret, mode="production") is True
    assert projects.peek("strict", secret, mode="staging") is False
    assert projects.peek("strict", secret, mode="production", strict=False) is False
    assert projects.peek("strict", minimal({"spoc.toml": "[spoc]\nstrict = true\n"})) is True
    assert projects.peek("strict", minimal({"settings.py": "INSTALLED_APPS = []\nSPOC_STRICT = True\n"})) is True
    assert projects.peek("strict", minimal({"spoc.toml": "[spoc]\nstrict = true\n"}), env={"SPOC_STRICT": "no"}) is False


@pytest.mark.parametrize("text, key, expected", [
    ("[spoc]\nmode = 3\n", "spoc.mode", "must be a string, got integer 3"),
    ('[spoc]\nmode = "prod"\n', "spoc.mode", "'prod', which is not a known mode"),
    ('[spoc]\ndebug = "yes"\n', "spoc.debug", "must be a boolean"),
    ('[spoc.apps]\nproduction = "x"\n', "spoc.apps.production", "must be an array of strings, got string 'x'"),
    ("[spoc.apps]\nstaging = [1]\n", "spoc.apps.staging", "only non-empty strings"),
    ('[spoc.apps]\nqa = ["x"]\n', "spoc.apps.qa", "not a known mode"),
    ('[spoc]\napps = "all"\n', "spoc.apps", "must be a table"),
    ('[spoc.plugins]\nmiddleware = "a.b"\n', "spoc.plugins.middleware", "must be an array of strings"),
    ('spoc = 1\n', "spoc", "must be a table"),
    ('[spoc\nmode = "x"\n', "", "not valid TOML"),
])
def test_invalid_spoc_toml_names_file_key_and_expectation(projects, text, key, expected):
    with pytest.raises(DiagnosticError) as info:
        projects.load(blog_platform({"config": {"spoc.toml": text}}))
    diag = info.value.errors[0]
    assert diag.code == "SPC012"
    assert diag.file == "config/spoc.toml" and diag.key == key
    assert expected in diag.message and "config/spoc.toml" in diag.message
    assert diag.hint


def test_invalid_toml_is_fatal_even_in_lenient_mode_and_undoes_everything(projects):
    import sys
    with pytest.raises(DiagnosticError):
        projects.load(blog_platform({"config": {"spoc.toml": "[spoc]\nmode = 3\n"}}), strict=False)
    assert "users" not in sys.modules and "config.settings" not in sys.modules


def test_unknown_toml_key_is_a_warning(projects):
    project = projects.load(minimal({"spoc.toml": '[spoc]\ncustom_mode = "x"\n'}))
    assert [(d.code, d.level, d.key) for d in project.diagnostics] == [("SPC012", "warning", "spoc.custom_mode")]
    assert project.toml.extra == {"custom_mode": "x"}


def test_parse_spoc_toml_full_document():
    toml, problems = parse_spoc_toml(
        '[spoc]\nmode = "staging"\ndebug = false\nstrict = true\n[spoc.apps]\nproduction = [" a "]\n'
        '[spoc.plugins]\nhooks = ["x.y"]\n[tool.other]\nz = 1\n')
    assert problems == []
    assert (toml.mode, toml.debug, toml.strict) == ("staging", False, True)
    assert toml.apps == {"production": ["a"]} and toml.plugins == {"hooks": ["x.y"]}


@pytest.mark.parametrize("settings, key", [
    ('INSTALLED_APPS = "users"\n', "INSTALLED_APPS"),
    ("INSTALLED_APPS = [1]\n", "INSTALLED_APPS"),
    ('INSTALLED_APPS = ["bad-name"]\n', "INSTALLED_APPS"),
    ('INSTALLED_APPS = []\nPLUGINS = ["a"]\n', "PLUGINS"),
    ('INSTALLED_APPS = []\nPLUGINS = {"hooks": "a.b"}\n', "PLUGINS['hooks']"),
    ('INSTALLED_APPS = []\nSPOC_STRICT = "yes"\n', "SPOC_STRICT"),
    ("INSTALLED_APPS = []\nSECRET_KEY = 42\n", "SECRET_KEY"),
    ('INSTALLED_APPS = []\nSPOC_LAYOUT = 3\n', "SPOC_LAYOUT"),
    ('INSTALLED_APPS = []\nSPOC_VIEW_ROUTES = "no"\n', "SPOC_VIEW_ROUTES"),
    ('INSTALLED_APPS = []\nSPOC_APPLY_PLUGINS = ["database"]\n', "SPOC_APPLY_PLUGINS"),
])
def test_invalid_settings_values_are_fatal_spc013(projects, settings, key):
    with pytest.raises(DiagnosticError) as info:
        projects.load({"config": {"settings.py": settings}}, strict=False)
    diag = info.value.errors[0]
    assert (diag.code, diag.key, diag.file) == ("SPC013", key, "config/settings.py")
    assert "config/settings.py" in str(info.value)


def test_config_py_in_the_project_root_is_the_settings_module(projects):
    """SPOC's own fixture layout: config.py next to spoc.toml, no config/ package."""
    project = projects.load({"config.py": 'INSTALLED_APPS = []\nMARKER = "root-config"\n',
                             "spoc.toml": '[spoc]\nmode = "staging"\n'})
    assert project.settings.MARKER == "root-config" and project.settings_file.name == "config.py"
    assert project.mode == "staging"


def test_unknown_mode_in_environment_is_spc013(projects):
    with pytest.raises(DiagnosticError) as info:
        projects.load(minimal(), env={"SPOC_MODE": "prod"})
    assert info.value.codes == ["SPC013"] and "SPOC_MODE" in str(info.value)
    assert "the process environment" in str(info.value)


def test_unknown_mode_from_a_dotenv_file_names_the_file(projects):
    with pytest.raises(DiagnosticError) as info:
        projects.load(minimal({"config": {".env": "SPOC_MODE=prod\n"}}))
    diag = info.value.errors[0]
    assert (diag.code, diag.key, diag.file) == ("SPC013", "SPOC_MODE", "config/.env")
    assert "config/.env" in diag.message and "'prod'" in diag.message


def test_spoc_env_folder_gives_the_environment_of_the_mode(projects):
    """SPOC 0.3.9 reads config/.env/<mode>.toml's [env] table (default.toml as fallback)."""
    env = {"development.toml": '[env]\nAPI_KEY = "dev"\nPOOL = 5\nON = true\n',
           "default.toml": '[env]\nAPI_KEY = "default"\nURL = "db://default"\n'}
    project = projects.load(minimal({"config": {".env": env}}))
    assert project.environment == {"API_KEY": "dev", "POOL": "5", "ON": "true"}
    assert project.getenv("API_KEY") == "dev" and str(project.env_file).endswith("development.toml")
    project.close()
    staging = projects.load(minimal({"config": {".env": env}}), mode="staging")
    assert staging.environment == {"API_KEY": "default", "URL": "db://default"}


def test_spoc_env_folder_with_a_bad_value_names_file_and_key(projects):
    with pytest.raises(DiagnosticError) as info:
        projects.load(minimal({"config": {".env": {"development.toml": "[env]\nHOSTS = [1, 2]\n"}}}))
    diag = info.value.errors[0]
    assert (diag.code, diag.key, diag.file) == ("SPC013", "env.HOSTS", "config/.env/development.toml")


@pytest.mark.parametrize("tree, fragment", [
    ({"README": "no settings here"}, "no settings module"),
    ({"config": {"settings.py": "raise ValueError('broken settings')\n"}}, "broken settings"),
    ({"config": {"settings.py": "import not_a_real_module_xyz\n"}}, "not_a_real_module_xyz"),
])
def test_missing_or_broken_settings_is_spc014(projects, tree, fragment):
    with pytest.raises(DiagnosticError) as info:
        projects.load(tree)
    assert info.value.codes == ["SPC014"] and fragment in str(info.value)


def test_nonexistent_path_and_unknown_module_are_spc014(projects, tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    for source in (str(tmp_path / "nope"), "no_such_settings_module_xyz", tmp_path / "notes.txt"):
        with pytest.raises(DiagnosticError) as info:
            projects.load(source)
        assert info.value.codes == ["SPC014"]


def test_debug_resolution(projects):
    assert projects.peek("debug", minimal()) is True  # development default
    assert projects.peek("debug", minimal({"spoc.toml": "[spoc]\ndebug = false\n"})) is False
    assert projects.load(minimal({"settings.py": "INSTALLED_APPS = []\nDEBUG = True\n",
                                  "spoc.toml": "[spoc]\ndebug = false\n"})).debug is True


def test_settings_rules_messages_name_expectation_value_and_example():
    from specter_spoc.project.settings_rules import settings_problems

    problems = list(settings_problems({"INSTALLED_APPS": "users", "PLUGINS": {"hooks": "a.b", "ok": ["x.y"]},
                                       "UNRELATED": object()}))
    assert [p.key for p in problems] == ["INSTALLED_APPS", "PLUGINS['hooks']"]
    assert problems[0].message == "INSTALLED_APPS must be a list of importable package names, got str 'users'."
    assert problems[0].hint == 'write INSTALLED_APPS = ["users", "blog"].'
    assert list(settings_problems({})) == [] and list(settings_problems({"SECRET_KEY": None})) == []
