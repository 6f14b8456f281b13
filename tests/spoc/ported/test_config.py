"""Configuration loaders, after SPOC 0.3.9's tests/test_config_loader.py (rewritten)."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import target, write_files

loader = target("core.config_loader")
ConfigurationError = target("core.exceptions").ConfigurationError

SPOC_TOML = '''[spoc]
mode = "development"
debug = true

[spoc.apps]
production = ["core"]
staging = ["admin"]
development = ["demo", "test"]

[spoc.plugins]
database = ["db.backends.sqlite3", "db.backends.mysql"]
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_files(tmp_path, {
        "spoc.toml": SPOC_TOML,
        "config.py": 'DATABASE = {"driver": "sqlite3", "name": "test.db"}\nDEBUG = True\nSECRET_KEY = "k-1"\n',
        ".env/development.toml": '[env]\nNAME = "env-app"\nDEBUG = "true"\nAPI_KEY = "dev-key"\n',
        ".env/production.toml": '[env]\nURL = "postgresql://localhost/envdb"\nAPI_KEY = "prod-key"\n',
        ".env/default.toml": '[env]\nNAME = "default-app"\n',
        ".env/empty.toml": "[env]\n",
    })


def test_spoc_toml_is_read_as_written(project):
    config = loader.load_spoc_toml(project)
    assert config["spoc"]["mode"] == "development" and config["spoc"]["debug"] is True
    assert config["spoc"]["apps"]["development"] == ["demo", "test"]
    assert config["spoc"]["plugins"]["database"] == ["db.backends.sqlite3", "db.backends.mysql"]


def test_missing_spoc_toml_gives_the_defaults(tmp_path):
    assert loader.load_spoc_toml(tmp_path) == {
        "spoc": {"mode": "development", "debug": False, "apps": {}, "plugins": {}}}


def test_invalid_spoc_toml_is_a_configuration_error(tmp_path):
    write_files(tmp_path, {"spoc.toml": '[spoc\nmode = "development"\n'})
    with pytest.raises(ConfigurationError):
        loader.load_spoc_toml(tmp_path)


def test_config_py_in_the_root_is_the_settings_module(project):
    settings = loader.load_configuration(project)
    assert settings.DATABASE == {"driver": "sqlite3", "name": "test.db"}
    assert settings.DEBUG is True and settings.SECRET_KEY == "k-1"
    with pytest.raises(AttributeError):
        settings.NOT_A_SETTING


def test_missing_or_broken_settings_are_configuration_errors(tmp_path):
    with pytest.raises(ConfigurationError):
        loader.load_configuration(tmp_path)
    write_files(tmp_path, {"config.py": "if True\n    pass\n"})
    with pytest.raises(ConfigurationError):
        loader.load_configuration(tmp_path)


@pytest.mark.parametrize("mode, key, value", [
    ("development", "API_KEY", "dev-key"), ("development", "NAME", "env-app"),
    ("production", "API_KEY", "prod-key"), ("production", "URL", "postgresql://localhost/envdb"),
])
def test_environment_of_each_mode(project, mode, key, value):
    assert loader.load_environment(project, mode)[key] == value


def test_empty_environment_file(project):
    assert loader.load_environment(project, "empty") == {}


def test_no_environment_folder(tmp_path):
    assert loader.load_environment(tmp_path, "development") == {}


@pytest.mark.differs_from_spoc("default.toml is used as fallback only when echo=True")
def test_default_toml_is_the_fallback_for_a_mode_without_a_file(project):
    assert loader.load_environment(project, "staging") == {"NAME": "default-app"}
