"""SPOC's ``Importer`` (``spoc.core.importer``): modules loaded by name, ordered
by declared dependencies, started and stopped as a group.

- :meth:`Importer.load` / :meth:`register` import and cache modules;
  ``register(name, dependencies=[...])`` also records the order;
- :meth:`startup` calls, in dependency order, the hooks registered for each
  module (:meth:`register_hook`, exact name or ``*`` pattern) with the
  **module**, then the module's own ``initialize()``; :meth:`shutdown` runs
  the shutdown hooks then ``teardown()``, modules in reverse order (SPOC's order);
- :meth:`load_from_uri` resolves ``"pkg.mod.attr"`` through the project
  layer's :class:`~specter_spoc.project.Importer` (its messages name the
  failing import); failures are ``ValueError`` (malformed URI),
  :class:`AppNotFoundError` (module missing, an ``ImportError``) or
  ``AttributeError``, as in SPOC.

Unlike SPOC 0.3.9 this Importer is not a process-wide singleton and its hooks
belong to the instance, so two frameworks (or two tests) never share state.
"""
from __future__ import annotations

import graphlib
import importlib
import logging
import re
import sys
from types import ModuleType
from typing import Any, Callable, Dict, Generic, Iterable, List, Literal, Optional, Pattern, Tuple, TypeVar

from ..project.importer import ImportFailure, InvalidURI, MissingAttribute
from ..project.importer import Importer as _UriImporter
from ..project.importer import import_module_checked
from .exceptions import AppNotFoundError, CircularDependencyError, LifecycleError, ModuleNotCachedError

logger: logging.Logger = logging.getLogger("specter_spoc.spoc")

T = TypeVar("T")
ModuleHook = Callable[[ModuleType], Any]
FrameworkMode = Literal["strict", "loose"]


class DependencyGraph(Generic[T]):
    """Nodes and "must come before" edges; deterministic topological order
    (insertion order wherever the edges allow), cycles reported by name."""

    def __init__(self) -> None:
        self.nodes: Dict[T, None] = {}
        #: node -> the nodes that depend on it (edge from -> to)
        self.graph: Dict[T, List[T]] = {}

    def add_node(self, node: T) -> None:
        self.nodes.setdefault(node, None)
        self.graph.setdefault(node, [])

    def add_edge(self, from_node: T, to_node: T) -> None:
        """``from_node`` must come before ``to_node``."""
        self.add_node(from_node)
        self.add_node(to_node)
        if to_node not in self.graph[from_node]:
            self.graph[from_node].append(to_node)

    def topological_sort(self) -> List[T]:
        """Every node after the nodes it depends on; :class:`CircularDependencyError` on a cycle."""
        sorter: graphlib.TopologicalSorter[T] = graphlib.TopologicalSorter()
        for node in self.nodes:
            sorter.add(node, *[src for src, dsts in self.graph.items() if node in dsts])
        try:
            sorter.prepare()
        except graphlib.CycleError as exc:
            raise CircularDependencyError([str(n) for n in exc.args[1]]) from None
        position = {node: i for i, node in enumerate(self.nodes)}
        order: List[T] = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready(), key=position.__getitem__)
            order.extend(ready)
            sorter.done(*ready)
        return order

    def reversed(self) -> "DependencyGraph[T]":
        out: DependencyGraph[T] = DependencyGraph()
        for node in self.nodes:
            out.add_node(node)
        for src, dsts in self.graph.items():
            for dst in dsts:
                out.add_edge(dst, src)
        return out


class ModuleInfo:
    """One loaded module: its dependencies and whether ``initialize()`` ran."""

    def __init__(self, name: str, module: ModuleType, dependencies: Optional[List[str]] = None,
                 initialize_func: Optional[str] = "initialize", teardown_func: Optional[str] = "teardown") -> None:
        self.name = name
        self.module = module
        self.dependencies: List[str] = list(dependencies or [])
        self.initialize_func = initialize_func
        self.teardown_func = teardown_func
        self.initialized: bool = False

    def _function(self, attr: Optional[str]) -> Optional[Callable[[], Any]]:
        fn = getattr(self.module, attr, None) if attr else None
        return fn if callable(fn) else None

    def has_initialize(self) -> bool:
        return self._function(self.initialize_func) is not None

    def has_teardown(self) -> bool:
        return self._function(self.teardown_func) is not None

    def initialize(self) -> None:
        fn = self._function(self.initialize_func)
        if fn is not None and not self.initialized:
            fn()
        self.initialized = True

    def teardown(self) -> None:
        fn = self._function(self.teardown_func)
        if fn is not None and self.initialized:
            fn()
        self.initialized = False


def simple_regex(pattern: str) -> Pattern[str]:
    """A module-name pattern as an anchored regex: ``*`` matches any run of
    characters (dots included, so ``"*.models"`` matches ``acme.users.models``),
    ``?`` one character, as in SPOC."""
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile(rf"\A{body}\Z")


class Importer:
    """Load, order, start and stop modules (SPOC's importer).

    Example::

        importer = Importer()
        importer.register("users.services", dependencies=["users.models"])
        importer.register_hook("*.models", on_startup=lambda m: print("ready", m.__name__))
        importer.startup()       # users.models first, then users.services
        importer.shutdown()      # reverse
    """

    def __init__(self, on_startup_name: Optional[str] = "initialize", on_shutdown_name: Optional[str] = "teardown",
                 mode: FrameworkMode = "strict") -> None:
        if mode not in ("strict", "loose"):
            raise ValueError(f"Importer(mode=...) must be 'strict' or 'loose', got {mode!r}.")
        self.mode = mode
        self.on_startup_name = on_startup_name
        self.on_shutdown_name = on_shutdown_name
        self._module_cache: Dict[str, ModuleInfo] = {}
        self._dependency_graph: DependencyGraph[str] = DependencyGraph()
        self._uris = _UriImporter()
        self._exact_hooks: Dict[str, Dict[str, Optional[ModuleHook]]] = {}
        self._pattern_hooks: List[Tuple[Pattern[str], Dict[str, Optional[ModuleHook]]]] = []
        self._started: List[str] = []

    # --------------------------------------------------------------- loading
    def load(self, name: str) -> Optional[ModuleType]:
        """Import ``name`` (cached). A missing module raises
        :class:`AppNotFoundError` in strict mode and gives ``None`` in loose mode."""
        if name in self._module_cache:
            return self._module_cache[name].module
        try:
            module = import_module_checked(name)
        except ImportFailure as exc:
            raise AppNotFoundError(name, exc.reason) from exc
        if module is None:
            if self.mode == "strict":
                raise AppNotFoundError(name, "no such module")
            return None
        self._module_cache[name] = ModuleInfo(name, module, initialize_func=self.on_startup_name,
                                              teardown_func=self.on_shutdown_name)
        self._dependency_graph.add_node(name)
        return module

    def register(self, name: str, dependencies: Optional[Iterable[str]] = None) -> Optional[ModuleType]:
        """Load ``name`` and its ``dependencies``, recording that they start first."""
        module = self.load(name)
        if module is None:
            return None
        info = self._module_cache[name]
        info.dependencies = list(dependencies or [])
        for dep in info.dependencies:
            if self.load(dep) is not None:
                self._dependency_graph.add_edge(dep, name)
        return module

    def load_from_uri(self, uri: str) -> Any:
        """The object ``"package.module.attr"`` names."""
        if not isinstance(uri, str) or "." not in uri.strip(" .") and ":" not in uri:
            raise InvalidURI(str(uri), str(uri), "a URI must have the form 'package.module.attr'")
        try:
            return self._uris.load_from_uri(uri)
        except (InvalidURI, MissingAttribute):
            raise
        except ImportFailure as exc:
            raise AppNotFoundError(exc.failed_import, exc.reason) from exc

    def has(self, name: str) -> bool:
        return name in self._module_cache

    def get(self, name: str) -> ModuleType:
        if name not in self._module_cache:
            raise ModuleNotCachedError(name)
        return self._module_cache[name].module

    def keys(self) -> List[str]:
        return list(self._module_cache)

    def clear(self, name: str) -> None:
        """Forget ``name`` (its ``teardown()`` runs if it was initialized)."""
        info = self._module_cache.pop(name, None)
        if info is not None and info.initialized:
            info.teardown()
        self._dependency_graph.nodes.pop(name, None)
        self._dependency_graph.graph.pop(name, None)
        for targets in self._dependency_graph.graph.values():
            if name in targets:
                targets.remove(name)

    def clear_all(self) -> None:
        for name in list(self._module_cache):
            self.clear(name)

    def unload_all(self) -> None:
        """Shut down, then remove every loaded module from ``sys.modules`` too."""
        self.shutdown()
        for name in list(self._module_cache):
            sys.modules.pop(name, None)
        self._module_cache.clear()
        self._dependency_graph = DependencyGraph()

    # ----------------------------------------------------------------- hooks
    def register_hook(self, pattern: str, on_startup: Optional[ModuleHook] = None,
                      on_shutdown: Optional[ModuleHook] = None) -> None:
        """Call ``on_startup(module)`` / ``on_shutdown(module)`` for modules
        named ``pattern`` (``*`` matches any characters: ``"*.models"``)."""
        for fn in (on_startup, on_shutdown):
            if fn is not None and not callable(fn):
                raise TypeError(f"register_hook({pattern!r}): hooks must be callables taking the module, got {fn!r}.")
        entry = {"startup": on_startup, "shutdown": on_shutdown}
        if "*" in pattern:
            self._pattern_hooks.append((simple_regex(pattern), entry))
        else:
            self._exact_hooks[pattern] = entry

    simple_regex: staticmethod[[str], Pattern[str]] = staticmethod(simple_regex)

    def _hooks_for(self, name: str, kind: str) -> List[ModuleHook]:
        """The hooks for module ``name``: its exact-name entry, else every matching pattern's."""
        exact = self._exact_hooks.get(name)
        entries = [exact] if exact is not None else [e for regex, e in self._pattern_hooks if regex.match(name)]
        return [hook for hook in (entry.get(kind) for entry in entries) if hook is not None]

    # ------------------------------------------------------------- lifecycle
    def startup(self) -> None:
        """Hooks then ``initialize()`` for each module, dependencies first. If
        one fails, the modules started so far are shut down again and
        :class:`LifecycleError` names the module."""
        order = self._dependency_graph.topological_sort()
        for name in order:
            info = self._module_cache.get(name)
            if info is None or name in self._started:
                continue
            try:
                for hook in self._hooks_for(name, "startup"):
                    hook(info.module)
                info.initialize()
            except Exception as exc:
                self.shutdown()
                raise LifecycleError(f"starting module {name!r} failed: {type(exc).__name__}: {exc}") from exc
            self._started.append(name)

    def shutdown(self) -> None:
        """The shutdown hooks then ``teardown()``, in reverse start order. A
        failure is logged and the rest still run; the first one is raised
        afterwards as :class:`LifecycleError`."""
        failures: List[Tuple[str, BaseException]] = []
        while self._started:
            name = self._started.pop()
            info = self._module_cache.get(name)
            if info is None:
                continue
            for hook in self._hooks_for(name, "shutdown"):
                try:
                    hook(info.module)
                except Exception as exc:
                    failures.append((name, exc))
            try:
                info.teardown()
            except Exception as exc:
                failures.append((name, exc))
        for name, error in failures:
            logger.error("stopping module %r failed: %s: %s", name, type(error).__name__, error)
        if failures:
            name, first = failures[0]
            raise LifecycleError(f"stopping module {name!r} failed: {type(first).__name__}: {first}") from first


__all__ = ["DependencyGraph", "Importer", "ModuleInfo", "simple_regex"]
