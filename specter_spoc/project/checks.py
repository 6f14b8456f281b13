"""Project-wide checks that produce diagnostics (SPC008 - SPC011).

- :func:`find_framework_imports` (SPC008): framework code - the project's
  shared packages (e.g. ``framework/``, ``config/``), anything that is not an
  app - must never import an app. Like simple_module's SM009, the check reads
  the source (``ast``), so it also catches imports inside functions.
- :func:`find_duplicate_routes` (SPC009) and :func:`find_duplicate_events`
  (SPC010): two controllers claiming the same URL rule (for an overlapping
  method) or the same Socket.IO event in the same namespace; Flask and
  Flask-SocketIO would silently let one win. The runtime feeds these with
  what its controllers declare.
- :func:`check_secret_key` (SPC011): production without a ``SECRET_KEY``.

Example::

    diags = find_duplicate_routes([("users.Api", "/users", ["GET"]),
                                   ("blog.Api", "/users", ["GET", "POST"])])
    assert diags[0].code == "SPC009"
"""
from __future__ import annotations

import ast
import os
from pathlib import Path
from typing import Any, Iterable, List, Mapping, Optional, Set, Tuple

from ..web.conflicts import event_conflicts, route_conflicts
from ..web.security import GENERATE_KEY_HINT, secret_key_problem
from .diagnostics import Diagnostic, diagnostic

_SKIP_DIRS = {"__pycache__", "node_modules", "site-packages", "venv", "env", "build", "dist",
              "tests", "test"}


def framework_packages(base_dir: Path, app_modules: Iterable[str], apps_dir: Optional[Path] = None) -> List[Path]:
    """Top-level packages of the project that are not apps (nor tests)."""
    tops = {name.split(".", 1)[0] for name in app_modules}
    found = []
    try:
        entries = sorted(base_dir.iterdir())
    except OSError:
        return []
    for entry in entries:
        if not entry.is_dir() or entry.name.startswith(".") or entry.name in _SKIP_DIRS:
            continue
        if apps_dir is not None and entry.resolve() == apps_dir.resolve():
            continue
        if entry.name in tops or entry.name.startswith("test"):
            continue
        if (entry / "__init__.py").is_file() or entry.name in ("config", "conf"):
            found.append(entry)
    return found


def _python_files(root: Path) -> Iterable[Path]:
    if root.is_file():
        yield root
        return
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS)
        for name in sorted(files):
            if name.endswith(".py"):
                yield Path(folder) / name


def _imported_names(tree: ast.AST) -> Iterable[Tuple[str, int]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module, node.lineno
            for alias in node.names:
                yield f"{node.module}.{alias.name}", node.lineno


def find_framework_imports(paths: Iterable[Path], app_modules: Mapping[str, str],
                           base_dir: Optional[Path] = None) -> List[Diagnostic]:
    """SPC008 for each import of an app (``{import name: app name}``) in ``paths``."""
    problems: List[Diagnostic] = []
    for root in paths:
        for file in _python_files(root):
            try:
                tree = ast.parse(file.read_bytes(), filename=str(file))
            except (SyntaxError, ValueError, OSError):
                continue  # not this check's business: importing it reports the error
            seen: Set[Tuple[str, int]] = set()
            for name, line in _imported_names(tree):
                for module, app in app_modules.items():
                    if (name == module or name.startswith(module + ".")) and (app, line) not in seen:
                        seen.add((app, line))
                        shown = str(file.relative_to(base_dir)) if base_dir and file.is_relative_to(base_dir) else str(file)
                        problems.append(diagnostic(
                            "SPC008", f"framework code {shown}:{line} imports app {app!r} ({name}).",
                            "framework code must not depend on apps: let the app register a callback or a "
                            "component, and look it up with get_component(...) instead.",
                            app=app, file=f"{shown}:{line}"))
    return problems


def find_duplicate_routes(routes: Iterable[Tuple[str, str, Optional[Iterable[str]]]]) -> List[Diagnostic]:
    """SPC009 for each URL rule claimed by two owners for an overlapping method
    (see :func:`specter_spoc.web.conflicts.route_conflicts`)."""
    return [diagnostic("SPC009", c.describe(), c.hint, key=c.rule) for c in route_conflicts(routes)]


def find_duplicate_events(events: Iterable[Tuple[str, str, Optional[str]]]) -> List[Diagnostic]:
    """SPC010 for each Socket.IO event handled by two owners in one namespace
    (see :func:`specter_spoc.web.conflicts.event_conflicts`)."""
    return [diagnostic("SPC010", c.describe(), c.hint, key=c.event) for c in event_conflicts(events)]


def check_secret_key(mode: str, config: Mapping[str, Any]) -> List[Diagnostic]:
    """SPC011 when ``mode`` is production and the app's merged config
    (:func:`~.flask_config.flask_config`: environment, .env, settings; the
    same value the app factory reads) has no SECRET_KEY, or a weak one
    (:func:`specter_spoc.web.security.secret_key_problem`)."""
    if mode != "production":
        return []
    problem = secret_key_problem(config.get("SECRET_KEY"))
    if problem is None:
        return []
    return [diagnostic("SPC011", f"{problem}.", GENERATE_KEY_HINT, key="SECRET_KEY")]
