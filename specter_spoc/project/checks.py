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
import re
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Set, Tuple

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


_VARIABLE = re.compile(r"<[^>]*>")
_IMPLICIT = {"HEAD", "OPTIONS"}


def find_duplicate_routes(routes: Iterable[Tuple[str, str, Optional[Iterable[str]]]]) -> List[Diagnostic]:
    """SPC009 for each URL rule claimed by two owners for an overlapping method.

    ``routes`` yields ``(owner, rule, methods)``; ``methods`` ``None`` means
    GET. Variable parts are compared by position (``<int:id>`` = ``<slug>``).
    """
    claimed: Dict[Tuple[str, str], Tuple[str, str]] = {}
    problems: List[Diagnostic] = []
    reported: Set[Tuple[str, str, str]] = set()
    for owner, rule, methods in routes:
        shape = _VARIABLE.sub("<>", rule.rstrip("/") or "/")
        for method in sorted({m.upper() for m in (methods or ["GET"])} - _IMPLICIT):
            first = claimed.setdefault((shape, method), (owner, rule))
            if first[0] != owner and (first[0], owner, shape) not in reported:
                reported.add((first[0], owner, shape))
                problems.append(diagnostic(
                    "SPC009", f"route {method} {rule} is declared by both {first[0]!r} and {owner!r}"
                    + (f" (as {first[1]})" if first[1] != rule else "") + ".",
                    "give one of the controllers a different url_prefix (app metadata or the controller's "
                    "url_prefix) or rename the rule.", key=rule))
    return problems


def find_duplicate_events(events: Iterable[Tuple[str, str, Optional[str]]]) -> List[Diagnostic]:
    """SPC010 for each Socket.IO event handled by two owners in one namespace.

    ``events`` yields ``(owner, event, namespace)``; ``None`` namespace is ``"/"``.
    """
    claimed: Dict[Tuple[str, str], str] = {}
    problems: List[Diagnostic] = []
    for owner, event, namespace in events:
        ns = namespace or "/"
        first = claimed.setdefault((event, ns), owner)
        if first != owner:
            problems.append(diagnostic(
                "SPC010", f"socket event {event!r} in namespace {ns!r} is handled by both {first!r} and {owner!r}; "
                "both run, in priority order.",
                "rename the event in one controller (e.g. prefix it with the app name) or move it to its own namespace.",
                key=event))
    return problems


def check_secret_key(mode: str, config: Mapping[str, Any]) -> List[Diagnostic]:
    """SPC011 when ``mode`` is production and the app's merged config
    (:func:`~.flask_config.flask_config`: environment, .env, settings) has no
    non-empty SECRET_KEY, the same value the app factory reads."""
    if mode != "production" or config.get("SECRET_KEY"):
        return []
    return [diagnostic(
        "SPC011", "production mode without a SECRET_KEY: sessions and signed cookies would be forgeable.",
        "set SECRET_KEY (or SPOC_SECRET_KEY) in the environment or config/.env, or SECRET_KEY in settings.py.",
        key="SECRET_KEY")]
