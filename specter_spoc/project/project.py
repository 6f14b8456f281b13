"""Project: a loaded SPOC-style project, as the runtime consumes it.

Built by :func:`~specter_spoc.project.load_project`. It holds what loading
found (settings, mode, apps in dependency order, components, plugins,
diagnostics, skipped apps) and the three lifecycles that belong to the
project rather than to the web runtime:

- :meth:`Project.startup` / :meth:`Project.shutdown`: the layout's per-kind
  hooks, ``startup(module)`` in import order and ``shutdown(module)`` in
  reverse, each followed by the module's own ``initialize()`` /
  ``teardown()`` when it defines one (SPOC's importer convention);
- :meth:`Project.run_plugin_hooks_startup` /
  :meth:`Project.run_plugin_hooks_shutdown`: the ``hooks`` plugin group,
  called by the runtime with itself as argument;
- :meth:`Project.close`: undo the process-level changes loading made
  (``sys.path`` entries, app modules in ``sys.modules``, environment
  variables set from ``.env``), so a test suite can load several projects
  with the same app names one after another.

Example::

    with load_project("blog_platform") as project:
        project.startup()
        UserService = project.get_component("services", "users.UserService")
        ...
        project.shutdown()
"""
from __future__ import annotations

import functools
import importlib
import logging
import os
import sys
from collections import OrderedDict
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from .apps import AppInfo
from .components import ComponentInfo, Components
from .config import Settings, SpocToml
from .diagnostics import Diagnostic, DiagnosticError, diagnostic
from .importer import Importer
from .layout import Layout
from .masking import mask_settings
from .plugins import PluginHooks

logger: logging.Logger = logging.getLogger("specter_spoc.project")


def is_lifecycle_class(obj: Any) -> bool:
    """True for Service/QueueService/Controller subclasses and Handler-like
    classes (``setup``/``teardown`` methods and an ``events`` attribute)."""
    if not isinstance(obj, type):
        return False
    from ..lifecycle.service import Service

    if issubclass(obj, Service):
        return True
    return (callable(getattr(obj, "setup", None)) and callable(getattr(obj, "teardown", None))
            and hasattr(obj, "events"))


def module_function(module: ModuleType, name: str) -> Optional[Callable[[], Any]]:
    """``module.<name>`` when it is a function defined in that module (SPOC's
    module-level ``initialize()`` / ``teardown()``), else ``None``. A function
    imported from elsewhere is not the module's own lifecycle function."""
    fn: object = vars(module).get(name)
    if callable(fn) and getattr(fn, "__module__", None) == module.__name__:
        return fn
    return None


class Project:
    """A loaded project. Create it with :func:`load_project`, not directly.

    Attributes: ``base_dir``, ``mode``, ``strict``, ``debug``, ``settings``
    (read-only, masked repr), ``installed_apps`` (final order, skipped apps
    left out), ``apps`` (:class:`~.apps.AppInfo` list), ``components``,
    ``plugins`` (``{group: OrderedDict[uri, object]}``), ``diagnostics``,
    ``skipped_apps`` (``{app: reason}``), ``layout``, ``importer``.

    Example::

        project = load_project("blog_platform", mode="test")
        project.installed_apps                 # ['users', 'blog']
        project.get_component("services", "blog.PostService")
        project.close()
    """

    def __init__(self, base_dir: Path, *, layout: Layout, importer: Importer) -> None:
        self.base_dir = base_dir
        self.layout = layout
        self.importer = importer
        self.mode = "development"
        self.strict = False
        self.debug = False
        self.settings: Settings = Settings(None)
        self.settings_file: Optional[Path] = None
        self.toml: SpocToml = SpocToml()
        self.dotenv: Dict[str, str] = {}
        #: the project's environment-file values: the .env folder's <mode>.toml
        #: [env] table (SPOC 0.3.9), overlaid by dotenv .env values
        self.environment: Dict[str, str] = {}
        #: the <mode>.toml (or default.toml) file those [env] values came from
        self.env_file: Optional[Path] = None
        #: names the project set in os.environ from those files (not from the real environment)
        self.env_file_keys: Set[str] = set()
        self.installed_apps: List[str] = []
        self.apps: List[AppInfo] = []
        self.components: Components = Components(*layout.modules)
        self.plugins: Dict[str, "OrderedDict[str, Any]"] = {}
        #: plugin groups the runtime applies (settings SPOC_APPLY_PLUGINS); none by
        #: default: plugins are loaded, not applied, as in SPOC
        self.applied_plugin_groups: Tuple[str, ...] = ()
        self.diagnostics: List[Diagnostic] = []
        self.skipped_apps: Dict[str, str] = {}
        self._environ: Dict[str, str] = {}
        self._component_order: List[ComponentInfo] = []
        self._imported: List[Tuple[str, ModuleType]] = []
        self._hooked: List[Tuple[str, ModuleType]] = []
        self._plugin_hooks: Optional[PluginHooks] = None
        self._started = False
        self._closed = False
        # undo records
        self._modules_before: Set[str] = set(sys.modules)
        self._sys_path_added: List[str] = []
        self._env_set: Dict[str, Tuple[str, Optional[str]]] = {}
        self._app_imports: List[str] = []

    # ------------------------------------------------------------ queries
    @property
    def errors(self) -> List[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def warnings(self) -> List[Diagnostic]:
        return [d for d in self.diagnostics if d.level == "warning"]

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def started(self) -> bool:
        return self._started

    def get_component(self, type: str, name: str) -> Any:
        """The component registered as ``name`` (``"users.UserService"``) under
        ``type`` (singular or plural), or ``None``."""
        return self.components.get_component(type, name)

    def app(self, name: str) -> Optional[AppInfo]:
        """The loaded app called ``name`` (short or import name), or ``None``."""
        for info in self.apps:
            if name in (info.name, info.module):
                return info
        return None

    def getenv(self, name: str, default: Optional[str] = None) -> Optional[str]:
        """An environment variable as the project sees it (environment, then .env)."""
        return self._environ.get(name, default)

    def environ_snapshot(self) -> Dict[str, str]:
        """The environment as it was once the project was loaded (.env values included)."""
        return dict(self._environ)

    def flask_config(self, defaults: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """The merged Flask config of this project: see :func:`~.flask_config.flask_config`."""
        from .flask_config import flask_config

        return flask_config(self, defaults)

    def lifecycle_components(self) -> List[Tuple[str, type]]:
        """``(component name, class)`` of components the runtime must boot:
        Service/QueueService/Controller subclasses and Handler-like classes,
        in app order then module-kind order then definition order. Plain
        classes and functions are only registered, never instantiated."""
        out: List[Tuple[str, type]] = []
        seen: Set[int] = set()
        for info in self._component_order:
            if id(info.obj) in seen or not is_lifecycle_class(info.obj):
                continue
            seen.add(id(info.obj))
            out.append((info.name, info.obj))
        return out

    def component_infos(self) -> List[ComponentInfo]:
        """Every component, in app order then module-kind order."""
        return list(self._component_order)

    def describe(self) -> Dict[str, Any]:
        """Plain, masked data for health pages and the CLI."""
        return {
            "base_dir": str(self.base_dir), "mode": self.mode, "strict": self.strict, "debug": self.debug,
            "settings_file": str(self.settings_file) if self.settings_file else None,
            "spoc_toml": str(self.toml.path) if self.toml.path else None,
            "installed_apps": list(self.installed_apps),
            "apps": [info.describe() for info in self.apps],
            "skipped_apps": dict(self.skipped_apps),
            "components": {t: len(self.components.of_type(t)) for t in self.components.types},
            "plugins": {group: list(items) for group, items in self.plugins.items()},
            "applied_plugin_groups": list(self.applied_plugin_groups),
            "diagnostics": [d.as_dict() for d in self.diagnostics],
            "layout": list(self.layout.order),
        }

    def masked_settings(self) -> Dict[str, Any]:
        return self.settings.masked()

    def masked_dotenv(self) -> Dict[str, Any]:
        return mask_settings(self.dotenv)

    # ------------------------------------------------------- layout hooks
    def startup(self) -> None:
        """Run each module kind's ``startup(module)`` hook, then the module's
        own ``initialize()`` if it defines one, in import order.

        If one raises, the modules already started get their ``shutdown``
        hooks (in reverse) and :class:`DiagnosticError` (SPC017) is raised.
        Idempotent.
        """
        self._check_open("startup")
        if self._started:
            return
        self._started = True
        for kind, module in self._imported:
            hook = self.layout.hook(kind)
            steps: List[Tuple[str, Callable[[], Any]]] = []
            if hook is not None and hook.startup is not None:
                steps.append((f"startup hook for {kind!r}", functools.partial(hook.startup, module)))
            initialize = module_function(module, "initialize")
            if initialize is not None:
                steps.append((f"{module.__name__}.initialize()", initialize))
            for index, (what, fn) in enumerate(steps):
                try:
                    fn()
                except Exception as exc:
                    logger.exception("%s failed", what)
                    if index > 0:  # its hook ran: shut it down with the others
                        self._hooked.append((kind, module))
                    self.shutdown()
                    raise DiagnosticError([diagnostic(
                        "SPC017", f"{what} failed on module {module.__name__}: {type(exc).__name__}: {exc}.",
                        "fix it (the modules started before it were shut down again).",
                        app=module.__name__.split(".", 1)[0], key=kind)], "project startup failed") from exc
            self._hooked.append((kind, module))

    def shutdown(self) -> List[Tuple[str, BaseException]]:
        """Run ``shutdown(module)`` hooks, then the module's own ``teardown()``,
        in reverse import order.

        A failing hook is logged and the others still run; the failures are
        returned as ``(module name, exception)``. Idempotent.
        """
        errors: List[Tuple[str, BaseException]] = []
        while self._hooked:
            kind, module = self._hooked.pop()
            hook = self.layout.hook(kind)
            steps: List[Callable[[], Any]] = []
            if hook is not None and hook.shutdown is not None:
                steps.append(functools.partial(hook.shutdown, module))
            teardown = module_function(module, "teardown")
            if teardown is not None:
                steps.append(teardown)
            for fn in steps:
                try:
                    fn()
                except Exception as exc:
                    logger.exception("shutting down module %s failed", module.__name__)
                    errors.append((module.__name__, exc))
        self._started = False
        return errors

    # ------------------------------------------------------- plugin hooks
    def run_plugin_hooks_startup(self, runtime: Any) -> None:
        """Start the ``hooks`` plugin group with ``runtime`` (see :mod:`.plugins`).
        The runtime calls it only when the group is applied (SPOC_APPLY_PLUGINS)."""
        self._check_open("run_plugin_hooks_startup")
        if self._plugin_hooks is None:
            self._plugin_hooks = PluginHooks(self.plugins.get("hooks", {}))
        self._plugin_hooks.startup(runtime)

    def run_plugin_hooks_shutdown(self, runtime: Any) -> List[Tuple[str, BaseException]]:
        """Shut down the started ``hooks`` plugins, in reverse order."""
        if self._plugin_hooks is None:
            return []
        errors = self._plugin_hooks.shutdown(runtime)
        self._plugin_hooks = None
        return errors

    # ------------------------------------------------------------- close
    def close(self) -> None:
        """Undo loading: shut down hooks still started, remove the ``sys.path``
        entries added, forget the modules this project imported (its apps and
        packages under ``base_dir``) and unset the variables set from ``.env``.
        Idempotent."""
        if self._closed:
            return
        if self._hooked:
            self.shutdown()
        for entry in self._sys_path_added:
            try:
                sys.path.remove(entry)
            except ValueError:
                pass
        self._sys_path_added.clear()
        for key, (value, previous) in reversed(list(self._env_set.items())):
            if os.environ.get(key) == value:
                if previous is None:
                    del os.environ[key]
                else:
                    os.environ[key] = previous
        self._env_set.clear()
        for name in [n for n in list(sys.modules) if n not in self._modules_before and self._owns_module(n)]:
            sys.modules.pop(name, None)
        importlib.invalidate_caches()
        self.importer.clear()
        self._imported.clear()
        self._closed = True

    def _owns_module(self, name: str) -> bool:
        top = name.split(".", 1)[0]
        if top == "specter_spoc":
            return False
        for app_import in self._app_imports:
            if name == app_import or name.startswith(app_import + "."):
                return True
        module = sys.modules.get(top)
        if module is None:
            return False
        locations = list(getattr(module, "__path__", None) or [])
        filename = getattr(module, "__file__", None)
        if filename:
            locations.append(filename)
        base = str(self.base_dir)
        return any(str(loc).startswith(base + os.sep) for loc in locations)

    def _set_env(self, key: str, value: str) -> None:
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"environment variables must be str -> str, got {key!r}: {value!r}.")
        previous = self._env_set[key][1] if key in self._env_set else os.environ.get(key)
        os.environ[key] = value
        self._env_set[key] = (value, previous)

    def _check_open(self, what: str) -> None:
        if self._closed:
            raise RuntimeError(f"project {self.base_dir} is closed; load it again before calling {what}().")

    def __enter__(self) -> "Project":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("started" if self._started else "loaded")
        return (f"<Project {self.base_dir.name!r} mode={self.mode} strict={self.strict} "
                f"apps={self.installed_apps} {state}>")
