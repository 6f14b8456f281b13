"""``specter-spoc new``: render the project and app templates shipped in
``specter_spoc/templates`` (``string.Template`` files ending in ``.tmpl``;
``dot-`` names become dot files, so packaging tools do not drop them).

The generated code only uses the public API, and the generated tests pass:
the scaffold is the starting point the guide recommends copying.
"""
from __future__ import annotations

import keyword
import string
from importlib import resources
from pathlib import Path
from typing import Dict, List

TEMPLATE_SUFFIX = ".tmpl"


class ScaffoldError(ValueError):
    """A name or a target folder the scaffold cannot use; says which and why."""


def _check_name(kind: str, name: str, example: str) -> None:
    if not name.isidentifier() or not name.islower() or keyword.iskeyword(name):
        raise ScaffoldError(f"{kind} name {name!r} must be a lower-case Python identifier, e.g. {example!r}.")


def _variables(project: str, app: str) -> Dict[str, str]:
    return {"project": project, "app": app, "App": "".join(p.capitalize() for p in app.split("_")),
            "title": app.replace("_", " ").capitalize()}


def _render(template_dir: str, target: Path, variables: Dict[str, str],
            renames: Dict[str, str] | None = None) -> List[Path]:
    root = resources.files("specter_spoc").joinpath("templates", template_dir)
    written: List[Path] = []

    def walk(node: resources.abc.Traversable, rel: Path) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            if child.is_dir():
                walk(child, rel / child.name)
                continue
            if not child.name.endswith(TEMPLATE_SUFFIX):
                continue
            name = child.name[: -len(TEMPLATE_SUFFIX)]
            name = (renames or {}).get(name, name)
            if name.startswith("dot-"):
                name = "." + name[4:]
            path = target / rel / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(string.Template(child.read_text(encoding="utf-8")).substitute(variables),
                            encoding="utf-8")
            written.append(path)

    walk(root, Path())
    return written


def new_project(parent: Path, name: str, *, app_name: str = "core") -> Path:
    """Create ``parent/name`` with settings, spoc.toml, .env.example,
    wsgi.py, pyproject.toml (pytest configured), one app and its tests."""
    _check_name("project", name, "shop")
    _check_name("app", app_name, "orders")
    if not parent.is_dir():
        raise ScaffoldError(f"folder {str(parent)!r} does not exist; create it or pass --into PATH.")
    target = parent / name
    if target.exists():
        raise ScaffoldError(f"{target} already exists; choose another name or remove it.")
    variables = _variables(name, app_name)
    _render("project", target, variables)
    _render_app(target, variables)
    return target


def new_app(project: Path, name: str) -> List[Path]:
    """Create ``apps/NAME`` in an existing project, plus ``tests/test_NAME.py``."""
    _check_name("app", name, "orders")
    if not project.is_dir():
        raise ScaffoldError(f"project folder {str(project)!r} does not exist; pass --project PATH.")
    target = project / "apps" / name
    if target.exists():
        raise ScaffoldError(f"{target} already exists; choose another name or remove it.")
    test_file = project / "tests" / f"test_{name}.py"
    if test_file.exists():
        raise ScaffoldError(f"{test_file} already exists; choose another name or remove it.")
    return _render_app(project, _variables(project.resolve().name, name))


def _render_app(project: Path, variables: Dict[str, str]) -> List[Path]:
    app = variables["app"]
    written = _render("app", project / "apps" / app, variables)
    test_file = next(p for p in written if p.name == "test_app.py")
    destination = project / "tests" / f"test_{app}.py"
    destination.parent.mkdir(parents=True, exist_ok=True)
    test_file.replace(destination)
    return [project / "apps" / app, destination]
