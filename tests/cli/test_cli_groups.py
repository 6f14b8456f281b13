"""Shared options on the group, `flask spoc` as an AppGroup on the --app app,
and `new project` producing a project whose own tests pass."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo

from specter_spoc.cli import cli, flask_group
from specter_spoc import create_app
from specter_spoc.scaffold import new_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return new_project(tmp_path, "shop")


@pytest.fixture(autouse=True)
def _no_spoc_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SPOC_MODE", "SPOC_STRICT", "SECRET_KEY", "SPECTER_SPOC_PROJECT"):
        monkeypatch.delenv(name, raising=False)


def test_shared_options_work_on_the_group_and_after_the_command(project: Path) -> None:
    runner = CliRunner()
    before = runner.invoke(cli, ["--project", str(project), "--mode", "test", "apps", "--json"])
    after = runner.invoke(cli, ["apps", "--project", str(project), "--mode", "test", "--json"])
    assert before.exit_code == after.exit_code == 0, before.output + after.output
    assert json.loads(before.output) == json.loads(after.output)
    assert json.loads(before.output)["mode"] == "test"
    # the command's option wins over the group's
    overridden = runner.invoke(cli, ["--mode", "test", "apps", "--project", str(project), "--mode", "staging", "--json"])
    assert json.loads(overridden.output)["mode"] == "staging"


def test_flask_group_uses_the_loaded_app_and_its_project(project: Path) -> None:
    app = create_app(project, mode="test")
    try:
        info = ScriptInfo(create_app=lambda: app)
        result = CliRunner().invoke(flask_group, ["components", "--type", "services", "--json"], obj=info)
        assert result.exit_code == 0, result.output
        names = [row["name"] for row in json.loads(result.output)["services"]]
        assert names == ["core.CoreStore", "core.CoreWorker"]
        routes = CliRunner().invoke(flask_group, ["routes", "--json"], obj=info)
        assert {"rule": "/core/", "methods": ["GET"], "endpoint": "core.index"} in json.loads(routes.output)["routes"]
    finally:
        app.extensions["specter_spoc"].shutdown()
    assert not app.extensions["specter_spoc"].booted


def test_flask_group_refuses_an_app_without_a_runtime() -> None:
    info = ScriptInfo(create_app=lambda: Flask("plain"))
    result = CliRunner().invoke(flask_group, ["apps"], obj=info)
    assert result.exit_code == 2
    assert "the Flask app 'plain' (--app / FLASK_APP) has no specter_spoc runtime" in result.output


def test_new_project_refuses_bad_names_and_existing_folders(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["new", "project", "Bad-Name", "--into", str(tmp_path)]).exit_code == 2
    assert runner.invoke(cli, ["new", "project", "shop", "--into", str(tmp_path), "--app", "class"]).exit_code == 2
    assert runner.invoke(cli, ["new", "project", "shop", "--into", str(tmp_path)]).exit_code == 0
    again = runner.invoke(cli, ["new", "project", "shop", "--into", str(tmp_path)])
    assert again.exit_code == 2 and "already exists" in again.output


@pytest.mark.e2e
def test_new_project_check_passes_and_its_generated_tests_pass(tmp_path: Path) -> None:
    """The scaffold as a user gets it: the console script creates it, adds a
    second app, and pytest runs the generated tests in a fresh process."""
    bin_dir = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOC_", "PYTEST_", "SECRET_KEY"))}
    created = subprocess.run([str(bin_dir / "specter-spoc"), "new", "project", "shop"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=60)
    assert created.returncode == 0, created.stderr
    root = tmp_path / "shop"
    assert sorted(p.name for p in root.iterdir()) == [".env.example", ".gitignore", "README.md", "apps", "config",
                                                      "pyproject.toml", "tests", "wsgi.py"]
    added = subprocess.run([str(bin_dir / "specter-spoc"), "new", "app", "orders"], cwd=root, env=env,
                           capture_output=True, text=True, timeout=60)
    assert added.returncode == 0 and (root / "tests" / "test_orders.py").is_file()
    settings = root / "config" / "settings.py"
    settings.write_text(settings.read_text().replace('    "core",\n', '    "core",\n    "orders",\n'))
    check = subprocess.run([str(bin_dir / "specter-spoc"), "check"], cwd=root, env=env, capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 0 and "No problems found" in check.stdout and "2 apps" in check.stdout, check.stdout
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=root, env=env,
                           capture_output=True, text=True, timeout=180)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "6 passed" in tests.stdout, tests.stdout
