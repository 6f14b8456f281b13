"""flask_config(project): what reaches app.config, layer by layer, case by case.

Precedence (highest first): environment > .env > settings.py > defaults; in
the environment layers ``SPOC_<NAME>`` (JSON-parsed where it parses) and the
plain names SECRET_KEY, REDIS_URL, DATABASE_URL. ``check`` uses the same
function, so it agrees with what the app gets.
"""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from specter_spoc.cli import cli
from specter_spoc.project.flask_config import config_from_environ, config_sources, flask_config

from spoc_fixtures import minimal, write_tree

DEFAULTS = {"SECRET_KEY": "default", "MAX_CONTENT_LENGTH": 1024}
#: a key production accepts (32 bytes or more, not a placeholder)
STRONG = "from-the-environment-" + "9f" * 8


def _load(projects, *, settings="", dotenv=None, environ=None, mode=None):
    tree = minimal({"settings.py": "INSTALLED_APPS = []\n" + settings})
    if dotenv is not None:
        tree["config"] = {".env": dotenv}
    return projects.load(tree, env=environ or {}, mode=mode)


# (settings.py, config/.env, environment) -> (SECRET_KEY, the layer it comes from)
CASES = [
    ("", None, None, ("default", "defaults")),
    ('SECRET_KEY = "settings"\n', None, None, ("settings", "settings.py")),
    ('SECRET_KEY = "settings"\n', "SECRET_KEY=dotenv\n", None, ("dotenv", ".env")),
    ('SECRET_KEY = "settings"\n', "SECRET_KEY=dotenv\n", {"SECRET_KEY": "env"}, ("env", "environment")),
    ("", "SECRET_KEY=dotenv\n", {"SPOC_SECRET_KEY": "prefixed-env"}, ("prefixed-env", "environment")),
    ("", "SPOC_SECRET_KEY=prefixed\nSECRET_KEY=plain\n", None, ("prefixed", ".env")),
    ('SECRET_KEY = "settings"\n', "SECRET_KEY=\n", None, ("settings", "settings.py")),      # empty = unset
    ('SECRET_KEY = "settings"\n', None, {"SECRET_KEY": ""}, ("settings", "settings.py")),
]


@pytest.mark.parametrize("settings, dotenv, environ, expected", CASES)
def test_secret_key_precedence(projects, settings, dotenv, environ, expected):
    project = _load(projects, settings=settings, dotenv=dotenv, environ=environ)
    assert flask_config(project, DEFAULTS)["SECRET_KEY"] == expected[0]
    assert config_sources(project, DEFAULTS)["SECRET_KEY"] == expected[1]


@pytest.mark.parametrize("name", ["REDIS_URL", "DATABASE_URL"])
def test_plain_documented_names_reach_the_config_as_strings(projects, name):
    project = _load(projects, settings=f'{name} = "from-settings"\n', dotenv=f"{name}=123\n")
    assert flask_config(project)[name] == "123"          # plain names are never JSON-parsed


def test_prefixed_values_are_json_parsed_where_they_parse(projects):
    environ = {"SPOC_DEBUG": "true", "SPOC_MAX_CONTENT_LENGTH": "2048", "SPOC_APP_NAME": "blog",
               "SPOC_CORS_ALLOWED_ORIGINS": '["https://a.example"]', "SPOC_DB__HOST": "db.local",
               "SPOC_DB__PORT": "5433"}
    project = _load(projects, settings='DB = {"HOST": "localhost", "NAME": "blog"}\n', environ=environ)
    config = flask_config(project)
    assert config["DEBUG"] is True and config["MAX_CONTENT_LENGTH"] == 2048 and config["APP_NAME"] == "blog"
    assert config["CORS_ALLOWED_ORIGINS"] == ["https://a.example"]
    assert config["DB"] == {"HOST": "db.local", "NAME": "blog", "PORT": 5433}   # merged into the settings dict


def test_other_variables_and_loader_variables_stay_out(projects):
    project = _load(projects, dotenv="DB_NAME=blog.db\nSPOC_MODE=test\nDEBUG=true\n",
                    environ={"SPOC_STRICT": "false", "HOME_PAGE": "x"})
    config = flask_config(project)
    assert project.mode == "test"
    assert not {"DB_NAME", "MODE", "STRICT", "HOME_PAGE", "DEBUG"} & set(config)


def test_spoc_env_folder_values_are_the_dotenv_layer(projects):
    tree = minimal({"settings.py": 'INSTALLED_APPS = []\nSECRET_KEY = "settings"\n',
                    "config": {".env": {"development.toml": '[env]\nSECRET_KEY = "toml"\nSPOC_WORKERS = 4\n'}}})
    project = projects.load(tree)
    assert flask_config(project)["SECRET_KEY"] == "toml" and flask_config(project)["WORKERS"] == 4
    assert config_sources(project)["SECRET_KEY"] == ".env"


def test_config_from_environ_unit():
    assert config_from_environ({"SPOC_A": "1", "SPOC_B": "x y", "SPOC_": "bad", "SECRET_KEY": "s",
                                "SPOC_N__M": "null"}) == {"A": 1, "B": "x y", "SECRET_KEY": "s", "N": {"M": None}}


@pytest.mark.parametrize("where", ["dotenv", "environ"])
def test_check_agrees_a_secret_key_outside_settings_satisfies_production(tmp_path, monkeypatch, where):
    tree = minimal({"settings.py": "INSTALLED_APPS = []\n", "spoc.toml": '[spoc]\nmode = "production"\n'})
    if where == "dotenv":
        tree["config"] = {".env": f"SPOC_SECRET_KEY={STRONG}\n"}
    else:
        monkeypatch.setenv("SECRET_KEY", STRONG)
    result = CliRunner().invoke(cli, ["check", "--project", str(write_tree(tmp_path / "p", tree))])
    assert result.exit_code == 0, result.output
    assert "SPC011" not in result.output


def test_check_reports_spc011_when_no_layer_has_one(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    tree = minimal({"settings.py": "INSTALLED_APPS = []\n", "spoc.toml": '[spoc]\nmode = "production"\n',
                    "config": {".env": "SECRET_KEY=\n"}})
    result = CliRunner().invoke(cli, ["check", "--project", str(write_tree(tmp_path / "p", tree))])
    assert result.exit_code == 1 and "SPC011" in result.output


def test_project_settings_see_the_environment_layers(projects):
    project = _load(projects, settings='SECRET_KEY = "settings"\nDB = {"HOST": "localhost"}\n',
                    dotenv="SPOC_DB__PORT=5433\nSPOC_INSTALLED_APPS=[\"ghost\"]\n", environ={"SECRET_KEY": "env"})
    assert project.settings.SECRET_KEY == "env" and project.settings.DB == {"HOST": "localhost", "PORT": 5433}
    assert project.settings.INSTALLED_APPS == [] and project.installed_apps == []   # structure: settings.py only
    assert project.settings.module.SECRET_KEY == "settings"


@pytest.mark.parametrize("where", ["dotenv", "environ"])
def test_create_app_and_check_boot_agree_with_check(tmp_path, monkeypatch, where):
    """Production with SECRET_KEY only outside settings.py: check, check --boot and create_app all accept it."""
    from specter_spoc import create_app

    monkeypatch.delenv("SECRET_KEY", raising=False)
    tree = minimal({"settings.py": 'INSTALLED_APPS = []\nSECRET_KEY = "from-settings"\n',
                    "spoc.toml": '[spoc]\nmode = "production"\n'})
    if where == "dotenv":
        tree["config"] = {".env": f"SPOC_SECRET_KEY={STRONG}\nSPOC_MAX_CONTENT_LENGTH=2048\n"}
    else:
        monkeypatch.setenv("SPOC_SECRET_KEY", STRONG)
        monkeypatch.setenv("SPOC_MAX_CONTENT_LENGTH", "2048")
    path = write_tree(tmp_path / "p", tree)
    for args in (["check"], ["check", "--boot"]):
        result = CliRunner().invoke(cli, [*args, "--project", str(path)])
        assert result.exit_code == 0, (args, result.output)
    app = create_app(str(path))
    try:
        assert app.config["SECRET_KEY"] == STRONG and app.config["MAX_CONTENT_LENGTH"] == 2048
    finally:
        app.extensions["specter_spoc"].shutdown()


def test_create_app_and_check_boot_agree_when_no_layer_has_a_key(tmp_path, monkeypatch):
    from specter_spoc import BootError, create_app
    from specter_spoc.project import DiagnosticError

    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("SPOC_SECRET_KEY", raising=False)
    path = write_tree(tmp_path / "p", minimal({"settings.py": "INSTALLED_APPS = []\n",
                                               "spoc.toml": '[spoc]\nmode = "production"\n'}))
    for args in (["check"], ["check", "--boot"]):
        result = CliRunner().invoke(cli, [*args, "--project", str(path)])
        assert result.exit_code in (1, 2) and "SPC011" in result.output, (args, result.output)
    with pytest.raises((BootError, DiagnosticError), match="SPC011"):
        create_app(str(path))
