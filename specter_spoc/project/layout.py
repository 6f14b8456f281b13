"""Layout: which modules an app may have, in which order, with which hooks.

SPOC calls this the *Schema*; here ``Schema`` is the payload contract, so the
same idea is called :class:`Layout`. A layout lists module kinds (``models``,
``services``, ...), what each kind depends on (``views`` after ``models``),
and per-kind :class:`Hook` s called with the imported module object:
``startup(module)`` in import order when the project starts, and
``shutdown(module)`` in reverse order when it stops.

Every app's modules are imported in the layout's dependency order, so code in
``services.py`` can rely on ``models.py`` having been imported (and its
startup hook having prepared, for example, the database tables).

Example::

    layout = Layout(
        modules=["models", "views", "services", "workers"],
        dependencies={"views": ["models"], "services": ["models"],
                      "workers": ["models", "services"]},
        hooks={"models": Hook(startup=init_database, shutdown=close_database)},
    )
"""
from __future__ import annotations

import dataclasses
from types import ModuleType
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from .diagnostics import DiagnosticError, diagnostic
from .graph import stable_order

ModuleHook = Callable[[ModuleType], Any]


@dataclasses.dataclass(frozen=True)
class Hook:
    """Callables run with a module object of one kind.

    ``startup(module)`` runs after the module is imported, when the project
    starts (in import order); ``shutdown(module)`` runs at teardown, in
    reverse order. Either may be omitted.

    Example::

        Hook(startup=lambda m: print("loaded", m.__name__))
    """

    startup: Optional[ModuleHook] = None
    shutdown: Optional[ModuleHook] = None

    def __post_init__(self) -> None:
        for label in ("startup", "shutdown"):
            fn = getattr(self, label)
            if fn is not None and not callable(fn):
                raise TypeError(f"Hook({label}=...) needs a callable taking the module, got {fn!r}.")


def _as_hook(kind: str, value: Any) -> Hook:
    if isinstance(value, Hook):
        return value
    if isinstance(value, Mapping):
        unknown = set(value) - {"startup", "shutdown"}
        if unknown:
            raise TypeError(
                f"Layout hooks[{kind!r}] has unknown key(s) {sorted(unknown)}; use 'startup' and/or 'shutdown'."
            )
        return Hook(startup=value.get("startup"), shutdown=value.get("shutdown"))
    raise TypeError(
        f"Layout hooks[{kind!r}] must be a Hook(startup=..., shutdown=...) or a dict with those keys, "
        f"got {type(value).__name__}."
    )


class Layout:
    """Module kinds of an app, their import order and per-kind hooks.

    ``modules`` lists the kinds; ``dependencies`` maps a kind to the kinds
    that must be imported first; ``hooks`` maps a kind to a :class:`Hook` (or
    a ``{"startup": fn, "shutdown": fn}`` dict, as in SPOC). ``required``
    names the kinds every app must have in strict mode (diagnostic SPC003);
    ``None`` means all of ``modules`` (SPOC's strict behaviour), ``()`` none.

    An unknown kind in ``dependencies``/``hooks``/``required`` or a cycle
    raises :class:`DiagnosticError` (SPC006) naming it, at construction.

    Example::

        Layout(modules=["models", "services"], dependencies={"services": ["models"]})
    """

    def __init__(
        self,
        modules: Sequence[str],
        dependencies: Optional[Mapping[str, Sequence[str]]] = None,
        hooks: Optional[Mapping[str, Any]] = None,
        required: Optional[Iterable[str]] = None,
    ) -> None:
        if isinstance(modules, str) or not isinstance(modules, Sequence):
            raise TypeError(f"Layout(modules=...) must be a list of module kind names, got {modules!r}.")
        kinds: List[str] = []
        for kind in modules:
            if not isinstance(kind, str) or not kind.isidentifier():
                raise TypeError(f"Layout module kind must be a Python identifier such as 'models', got {kind!r}.")
            if kind not in kinds:
                kinds.append(kind)
        deps: Dict[str, Tuple[str, ...]] = {}
        problems = []
        for kind, wanted in (dependencies or {}).items():
            if isinstance(wanted, str):
                wanted = [wanted]
            deps[kind] = tuple(wanted)
            for name in [kind, *wanted]:
                if name not in kinds:
                    problems.append(diagnostic(
                        "SPC006", f"layout dependencies mention module kind {name!r}, which is not in modules {kinds}.",
                        f"add {name!r} to Layout(modules=[...]) or remove it from dependencies.", key="dependencies"))
        hook_map: Dict[str, Hook] = {}
        for kind, value in (hooks or {}).items():
            if kind not in kinds:
                problems.append(diagnostic(
                    "SPC006", f"layout hooks mention module kind {kind!r}, which is not in modules {kinds}.",
                    f"add {kind!r} to Layout(modules=[...]) or remove its hook.", key="hooks"))
                continue
            hook_map[kind] = _as_hook(kind, value)
        req = tuple(kinds) if required is None else tuple(required)
        for kind in req:
            if kind not in kinds:
                problems.append(diagnostic(
                    "SPC006", f"layout required kind {kind!r} is not in modules {kinds}.",
                    f"add {kind!r} to Layout(modules=[...]) or drop it from required.", key="required"))
        if not problems:
            order, cycle = stable_order(kinds, deps)
            if cycle:
                problems.append(diagnostic(
                    "SPC006", f"layout dependency cycle: {' -> '.join(cycle)}.",
                    "remove one of these dependencies so the module kinds can be imported in order.",
                    key="dependencies"))
        if problems:
            raise DiagnosticError(problems, "invalid Layout")
        self.modules: Tuple[str, ...] = tuple(kinds)
        self.dependencies: Dict[str, Tuple[str, ...]] = deps
        self.hooks: Dict[str, Hook] = hook_map
        self.required: Tuple[str, ...] = req
        #: kinds in import order (dependencies first, otherwise as listed)
        self.order: Tuple[str, ...] = tuple(order)

    def hook(self, kind: str) -> Optional[Hook]:
        return self.hooks.get(kind)

    def with_hooks(self, **hooks: Any) -> "Layout":
        """A copy with ``hooks`` added or replaced, e.g. ``with_hooks(models=Hook(...))``."""
        merged: Dict[str, Any] = dict(self.hooks)
        merged.update(hooks)
        return Layout(self.modules, self.dependencies, merged, self.required)

    def __repr__(self) -> str:
        return f"Layout(modules={list(self.order)!r}, hooks={sorted(self.hooks)!r})"


def default_layout() -> Layout:
    """The layout used when none is given.

    Kinds, in import order: ``models``, ``services``, ``workers``,
    ``handlers``, ``controllers``, ``views``. Every kind is optional (an app
    with only ``models.py`` is fine, even in strict mode).
    """
    return Layout(
        modules=["models", "services", "workers", "handlers", "controllers", "views"],
        dependencies={
            "services": ["models"],
            "workers": ["models", "services"],
            "handlers": ["services"],
            "controllers": ["models", "services", "handlers"],
            "views": ["models", "services", "controllers"],
        },
        required=(),
    )
