"""The layer order, written once (specter.md, "Architecture") and checked here.

Every ``import`` of a specter_spoc module, including imports inside
functions, must point to the same package or to a LOWER layer. Lower layers
never know the higher ones: lifecycle knows nothing of Flask, the runtime
nothing of projects, the project layer nothing of a specific app.
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, Set, Tuple

import specter_spoc

PACKAGE = Path(specter_spoc.__file__).parent

#: bottom (0) to top; packages on one level must not import each other
LAYERS: List[Set[str]] = [
    {"_validate", "_masking", "_clock", "typing"},  # argument checks, secret masking, time, protocols
    {"wiring"},                                     # bus, registry, scopes, signals
    {"contracts", "state", "lifecycle"},            # payload contracts, stores, owners and services
    {"web"},                                        # Flask/Socket.IO edge: routes, handlers, ingress
    {"runtime"},                                    # the root owner of one app
    {"project"},                                    # SPOC-style projects (config, apps, components)
    {"contrib", "console"},                         # Redis scale-out, live console and metrics
    {"app"},                                        # boot(), create_app(), serve(): joins them all
    {"spoc", "scaffold"},                           # SPOC compatibility front; project scaffolding
    {"cli", "testing"},                             # entry points: console script, pytest plugin
]
RANK: Dict[str, int] = {name: level for level, names in enumerate(LAYERS) for name in names}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _type_checking_only(tree: ast.AST) -> Set[int]:
    """ids of import nodes inside ``if TYPE_CHECKING:`` (never run)."""
    skip: Set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", None)) == "TYPE_CHECKING":
            skip.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    return skip


def _imports(path: Path) -> List[Tuple[str, int]]:
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []
    tree = ast.parse(path.read_text(), filename=str(path))
    skip = _type_checking_only(tree)
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
                if not node.module:  # from . import x: each name may be a module
                    found.extend((f"{target}.{alias.name}", node.lineno) for alias in node.names)
                    continue
            else:
                target = node.module or ""
            found.append((target, node.lineno))
        elif isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
    return [(t, line) for t, line in found if t == "specter_spoc" or t.startswith("specter_spoc.")]


def _layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _graph() -> Dict[str, List[Tuple[str, int]]]:
    return {_module_name(p): _imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


def test_every_package_has_a_layer() -> None:
    tops = {_layer_of(_module_name(p)) for p in PACKAGE.rglob("*.py")} - {"__init__"}
    assert tops <= set(RANK), f"add these to LAYERS (and to specter.md's layer table): {sorted(tops - set(RANK))}"


def test_no_import_points_upward_or_sideways() -> None:
    problems = []
    for module, targets in _graph().items():
        source = _layer_of(module)
        if source == "__init__":
            continue  # the public face re-exports from every layer, lazily
        for target, line in targets:
            dest = _layer_of(target)
            if dest == source or dest == "__init__" and target == "specter_spoc":
                if dest == "__init__":
                    problems.append(f"{module}:{line} imports the package root; import the defining module")
                continue
            if RANK[dest] >= RANK[source]:
                problems.append(f"{module}:{line} imports {target} ({source} must not depend on {dest})")
    assert not problems, "\n".join(problems)


def test_no_import_cycle_between_modules() -> None:
    graph = {m: {t for t, _ in targets if t in _graph_modules()} for m, targets in _graph().items()}
    state: Dict[str, int] = {}
    stack: List[str] = []

    def visit(node: str) -> List[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return []

    for module in sorted(graph):
        if module not in state and module != "specter_spoc":
            cycle = visit(module)
            assert not cycle, " -> ".join(cycle)


def _graph_modules() -> Set[str]:
    return {_module_name(p) for p in PACKAGE.rglob("*.py")} - {"specter_spoc"}


def test_the_lifecycle_layer_never_imports_flask() -> None:
    for path in sorted((PACKAGE / "lifecycle").rglob("*.py")) + sorted((PACKAGE / "wiring").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            assert not any(n.split(".")[0] in ("flask", "flask_socketio", "werkzeug") for n in names), path
