"""Framework: apps, components, plugins and schema hooks, on a small project.

SPOC 0.3.9 has no tests of its Framework; these follow its documented
behaviour (README, seeds 000-002). Each test uses fresh app names, because
SPOC's importer is a process-wide singleton that never unloads modules.
"""
from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest

from conftest import REAL_SPOC, target, write_files

spoc = target()

MODELS = """
from {registry} import components

@components.register("models")
class Thing:
    pass
"""
REGISTRY = """
from {target}.components import Components

components = Components("models", "services")
"""


def _project(tmp_path: Path, apps: list, toml_apps: str = "", plugins: str = "{}") -> Path:
    files = {
        "config/__init__.py": "",
        "config/settings.py": f"INSTALLED_APPS = {apps!r}\nPLUGINS = {plugins}\n",
        "config/spoc.toml": f'[spoc]\nmode = "development"\ndebug = false\n\n[spoc.apps]\n{toml_apps}\n'
                            '\n[spoc.plugins]\n',
    }
    registry = f"registry_{uuid.uuid4().hex[:6]}"
    files[f"{registry}.py"] = REGISTRY.format(target=spoc.__name__)
    for app in apps + [a.strip(' "') for line in toml_apps.splitlines() if "=" in line
                       for a in line.split("=", 1)[1].strip(" []").split(",") if a.strip(' "')]:
        files[f"apps/{app}/__init__.py"] = ""
        files[f"apps/{app}/models.py"] = MODELS.format(registry=registry)
        files[f"apps/{app}/services.py"] = "def helper():\n    return 'ok'\n"
    sys.path.insert(0, str(tmp_path))
    return write_files(tmp_path, files)


@pytest.fixture
def names(tmp_path):
    tag = uuid.uuid4().hex[:6]
    yield [f"{n}_{tag}" for n in ("core", "extra", "dev", "stage", "prod")]
    while str(tmp_path) in sys.path:
        sys.path.remove(str(tmp_path))
    for mod in [m for m in sys.modules if m.split(".")[0].endswith(tag) or m.startswith("registry_")]:
        del sys.modules[mod]


def _framework(base: Path, events: list) -> object:
    schema = spoc.Schema(
        modules=["models", "services"], dependencies={"services": ["models"]},
        hooks={"models": {"startup": lambda m: events.append(("up", m)),
                          "shutdown": lambda m: events.append(("down", m))}})
    return spoc.Framework(base_dir=base, schema=schema, mode="strict")


def _app_of(hook_argument) -> str:
    """The app a hook was called for: from the module (here) or from the set of
    component objects SPOC 0.3.9 passes instead."""
    if isinstance(hook_argument, (set, frozenset)):
        return next((obj.__module__.split(".")[0] for obj in hook_argument), "")
    return hook_argument.__name__.split(".")[0]


def _close(fw) -> None:
    fw.shutdown()
    if hasattr(fw, "close"):
        fw.close()


def test_apps_components_and_lookup(tmp_path, names):
    core, extra = names[:2]
    fw = _framework(_project(tmp_path, [core, extra]), [])
    try:
        assert fw.installed_apps == [core, extra]
        assert sorted(fw.components.models) == [f"{core}.Thing", f"{extra}.Thing"]
        assert fw.get_component("models", f"{extra}.Thing").__name__ == "Thing"
        assert fw.get_component("models", "nobody.Thing") is None
    finally:
        _close(fw)


def test_mode_cascade_order(tmp_path, names):
    core, _, dev, stage, prod = names
    toml = f'production = ["{prod}"]\nstaging = ["{stage}"]\ndevelopment = ["{dev}"]\n'
    fw = _framework(_project(tmp_path, [core], toml), [])
    try:
        assert fw.installed_apps == [core, dev, stage, prod]
    finally:
        _close(fw)


def test_plugins_are_loaded_by_group_and_uri(tmp_path, names):
    core = names[0]
    base = _project(tmp_path, [core], plugins=f'{{"tools": ["{core}.services.helper"]}}')
    fw = _framework(base, [])
    try:
        assert fw.plugins["tools"][f"{core}.services.helper"]() == "ok"
    finally:
        _close(fw)


def test_hooks_run_once_per_app_module_and_shutdown_hooks_at_shutdown(tmp_path, names):
    core, extra = names[:2]
    events: list = []
    fw = _framework(_project(tmp_path, [core, extra]), events)

    def mine():  # SPOC's singleton importer also re-runs the hooks of earlier tests' modules
        return [kind for kind, arg in events if _app_of(arg) in (core, extra)]

    assert mine() == ["up", "up"]
    fw.shutdown()
    assert mine() == ["up", "up", "down", "down"]
    if hasattr(fw, "close"):
        fw.close()


@pytest.mark.differs_from_spoc("hooks receive a set of the module's components instead of the module")
def test_hooks_receive_the_module_and_shut_down_in_reverse(tmp_path, names):
    core, extra = names[:2]
    events: list = []
    fw = _framework(_project(tmp_path, [core, extra]), events)
    fw.shutdown()
    assert [(kind, m.__name__) for kind, m in events] == [
        ("up", f"{core}.models"), ("up", f"{extra}.models"), ("down", f"{extra}.models"), ("down", f"{core}.models")]
    if hasattr(fw, "close"):
        fw.close()


@pytest.mark.differs_from_spoc("a singular type name (register('model')) registers nothing")
def test_singular_type_names_register(tmp_path, names):
    core = names[0]
    base = _project(tmp_path, [core])
    registry = next(p for p in base.glob("registry_*.py"))
    registry.write_text(REGISTRY.format(target=spoc.__name__).replace('"models", "services"', '"model"'))
    (base / "apps" / core / "models.py").write_text(
        (base / "apps" / core / "models.py").read_text().replace('register("models")', 'register("model")'))
    fw = _framework(base, [])
    try:
        assert list(fw.components.models) == [f"{core}.Thing"]
    finally:
        _close(fw)


@pytest.mark.differs_from_spoc("components are listed in the order its dependency graph happens to give")
def test_components_are_listed_in_app_order(tmp_path, names):
    core, extra = names[:2]
    fw = _framework(_project(tmp_path, [extra, core]), [])
    try:
        assert list(fw.components.models) == [f"{extra}.Thing", f"{core}.Thing"]
    finally:
        _close(fw)
