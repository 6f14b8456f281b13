"""Packaging: one metadata source (PEP 621 in pyproject.toml), the licence
the README names, the templates and py.typed in the wheel, and an editable
install that type checkers can follow."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parents[1]


def test_metadata_lives_in_pyproject_only() -> None:
    # setup.cfg (top level, for tools that do not read pyproject.toml) holds no packaging metadata
    import configparser

    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    assert not [s for s in cfg.sections() if s == "metadata" or s.startswith("options")], cfg.sections()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "specter-spoc"
    assert project["license"] == {"text": "Apache-2.0"}
    assert "gevent-websocket" not in " ".join(project["dependencies"]), "optional: the geventwebsocket extra"
    assert any(dep.startswith("simple-websocket") for dep in project["dependencies"])
    assert project["entry-points"]["pytest11"] == {"specter_spoc": "specter_spoc.testing"}
    assert "Apache License" in (ROOT / "LICENSE").read_text() and "Version 2.0" in (ROOT / "LICENSE").read_text()
    assert metadata.metadata("specter-spoc")["Name"] == "specter-spoc"


def test_editable_install_is_a_plain_path_type_checkers_follow() -> None:
    # the installed dist-info (the checkout may also hold a build's egg-info, which has no direct_url.json)
    installed = [d for d in metadata.distributions(name="specter-spoc") if d.read_text("direct_url.json")]
    assert len(installed) == 1, installed
    dist = installed[0]
    direct_url = json.loads(dist.read_text("direct_url.json") or "{}")
    assert direct_url.get("dir_info", {}).get("editable"), "the test venv installs the checkout with pip install -e"
    pth_files = [f for f in dist.files or [] if str(f).endswith(".pth")]
    assert pth_files, "an editable install writes a .pth file"
    contents = [Path(str(f.locate())).read_text().strip() for f in pth_files]
    # a path line, not an "import ..." finder hook (which mypy and pyright cannot follow)
    assert contents == [str(ROOT)], contents


@pytest.mark.e2e
def test_the_wheel_ships_templates_and_py_typed(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "specter_spoc", source / "specter_spoc",
                    ignore=shutil.ignore_patterns("__pycache__"))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                            "-w", str(tmp_path / "dist"), str(source)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    wheel = next((tmp_path / "dist").glob("specter_spoc-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    templates = {n for n in names if n.startswith("specter_spoc/templates/")}
    shipped = {str(p.relative_to(ROOT)) for p in (ROOT / "specter_spoc" / "templates").rglob("*.tmpl")}
    assert templates == shipped
    assert "specter_spoc/py.typed" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") or n.endswith(".dist-info/LICENSE") for n in names), names
