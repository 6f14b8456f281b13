"""load_project(): configuration -> apps -> modules -> components -> plugins -> checks.

The boot sequence's project half (DESIGN.md section 5, steps 1-5):

1. read spoc.toml and .env, pick the mode, import the settings module;
2. list installed apps (settings, then spoc.toml's cascade for the mode, then
   entry points), read their metadata, order them by ``depends_on``;
3. import each app's modules in layout order and collect its components;
4. load plugins (TOML groups, then settings groups);
5. run the project checks.

Strict mode raises :class:`DiagnosticError` listing every error; lenient
mode logs each diagnostic, skips the broken app (and the apps depending on
it) and loads the rest. Problems with the configuration as a whole (bad
spoc.toml, bad settings values, settings not found) raise in both modes.

Example::

    project = load_project("path/to/blog_platform")           # lenient in development
    project = load_project("config.settings", mode="production")  # strict
"""
from __future__ import annotations

import importlib.machinery
import importlib.util
import logging
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Dict, FrozenSet, List, Mapping, NamedTuple, NoReturn, Optional, Set, Tuple, Union

from . import checks
from .apps import ENTRY_POINT_GROUP, AppInfo, entry_point_apps, read_app_config
from .components import marks_of
from .config import (
    MODE_APPS, MODES, Settings, base_dir_of_settings, dotenv_sources, find_dotenv_files, find_env_dir,
    find_settings, find_spoc_toml, parse_bool_env, read_dotenv, read_env_dir, read_spoc_toml, resolve_mode,
)
from .diagnostics import FATAL_CODES, Diagnostic, DiagnosticError, diagnostic
from .flask_config import environment_overrides, flask_config
from .graph import stable_order
from .importer import ImportFailure, Importer, import_module_checked
from .layout import Layout, default_layout
from .plugins import APPLICABLE_GROUPS, load_plugins, merge_plugin_uris
from .settings_rules import settings_problems
from .project import Project

logger: logging.Logger = logging.getLogger("specter_spoc.project")

Source = Union[str, "os.PathLike[str]", ModuleType]


class _Listed(NamedTuple):
    import_name: str
    file: str
    key: str
    ep_name: Optional[str] = None
    ep_attr: Optional[str] = None

    @property
    def where(self) -> str:
        return f"{self.file} {self.key}"


class _Fatal(Exception):
    """Internal: stop loading, the diagnostics so far are fatal."""


def load_project(
    source: Source,
    *,
    mode: Optional[str] = None,
    strict: Optional[bool] = None,
    layout: Optional[Layout] = None,
    env: Optional[Mapping[str, str]] = None,
    raise_on_error: bool = True,
) -> Project:
    """Load a SPOC-style project and return a :class:`Project`.

    ``source`` is the project root (the folder holding ``config/`` or
    ``settings.py``), a settings file, a settings module name
    (``"config.settings"``) or an imported settings module.

    ``mode`` overrides ``SPOC_MODE``/spoc.toml; ``strict`` overrides the mode's
    default (strict in production); ``layout`` overrides the settings'
    ``SPOC_LAYOUT`` and the default layout; ``env`` holds environment
    variables to set while the project is loaded (they override
    ``os.environ``; ``close()`` restores the previous values). ``.env``
    values are then set for names still unset. ``raise_on_error=False``
    returns the project with its
    diagnostics even when strict mode would raise (used by ``check``); fatal
    configuration problems still raise.
    """
    if layout is not None and not isinstance(layout, Layout):
        raise TypeError(f"load_project(layout=...) must be a Layout, got {type(layout).__name__}.")
    if mode is not None and not isinstance(mode, str):
        raise TypeError(f"load_project(mode=...) must be a string such as 'production', got {mode!r}.")
    loader = _Loader(source, mode=mode, strict=strict, layout=layout, env=env)
    return loader.load(raise_on_error=raise_on_error)


class _Loader:
    def __init__(self, source: Source, *, mode: Optional[str], strict: Optional[bool],
                 layout: Optional[Layout], env: Optional[Mapping[str, str]]) -> None:
        self.source = source
        self.mode_arg = mode
        self.strict_arg = strict
        self.layout_arg = layout
        self.env_arg = env
        self.diags: List[Diagnostic] = []
        self.project: Optional[Project] = None

    # ------------------------------------------------------------ driver
    def load(self, raise_on_error: bool) -> Project:
        try:
            project = self._load()
        except _Fatal:
            if self.project is not None:
                self.project.close()
            raise DiagnosticError(self.diags, "cannot load project") from None
        except BaseException:
            if self.project is not None:
                self.project.close()
            raise
        project.diagnostics = list(self.diags)
        if project.errors and project.strict and raise_on_error:
            project.close()
            raise DiagnosticError(self.diags, f"project {project.base_dir.name!r} has errors (strict mode)")
        for diag in self.diags:
            (logger.error if diag.is_error else logger.warning)("%s", diag.format())
        return project

    def _fail_if_fatal(self) -> None:
        if any(d.is_error and d.code in FATAL_CODES for d in self.diags):
            raise _Fatal()

    def _fatal(self, code: str, message: str, hint: str, **where: Any) -> NoReturn:
        self.diags.append(diagnostic(code, message, hint, **where))
        raise _Fatal()

    def _load(self) -> Project:
        settings_module, settings_file, settings_name, base_dir = self._locate()
        project = self.project = Project(base_dir, layout=self.layout_arg or default_layout(), importer=Importer())

        # 1. spoc.toml, .env, environment, mode
        toml, problems = read_spoc_toml(find_spoc_toml(base_dir), base_dir)
        project.toml = toml
        self.diags.extend(problems)
        dotenv_files = find_dotenv_files(base_dir)
        project.dotenv = read_dotenv(dotenv_files)
        for key, value in dict(self.env_arg or {}).items():
            project._set_env(key, value)
        preset = set(os.environ)
        for key, value in project.dotenv.items():
            if key not in os.environ:
                project._set_env(key, value)
                project.env_file_keys.add(key)
        mode_source: Optional[str] = None
        if "SPOC_MODE" not in preset and "SPOC_MODE" in project.dotenv:
            source_file = dotenv_sources(dotenv_files).get("SPOC_MODE")
            mode_source = _shown(source_file, base_dir) if source_file else ".env"
        project.mode, problems = resolve_mode(self.mode_arg, dict(os.environ), toml, mode_source)
        self.diags.extend(problems)
        self._fail_if_fatal()
        # SPOC 0.3.9's .env folder: <mode>.toml's [env] table, used like .env values
        env_values, env_file, problems = read_env_dir(find_env_dir(base_dir), project.mode, base_dir)
        self.diags.extend(problems)
        self._fail_if_fatal()
        project.env_file = env_file
        for key, value in env_values.items():
            if key not in os.environ:
                project._set_env(key, value)
                project.env_file_keys.add(key)
        project.environment = {**env_values, **project.dotenv}
        environ: Dict[str, str] = dict(os.environ)
        project._environ = environ

        # sys.path: <base>/apps (SPOC), then <base> (shared packages, config)
        apps_dir = base_dir / "apps"
        for entry in ([str(apps_dir)] if apps_dir.is_dir() else []) + [str(base_dir)]:
            if entry not in sys.path:
                sys.path.insert(len(project._sys_path_added), entry)
                project._sys_path_added.append(entry)

        # settings
        if settings_module is None:
            settings_module = self._import_settings(settings_file, settings_name, base_dir)
        project.settings = Settings(settings_module)
        settings_path: Optional[str] = getattr(settings_module, "__file__", None)
        project.settings_file = Path(settings_path) if settings_path else None
        self._validate_settings(project)
        self._fail_if_fatal()
        project.strict = self._resolve_strict(project, environ)
        debug = project.settings.get("DEBUG")
        project.debug = bool(debug) if debug is not None else (
            toml.debug if toml.debug is not None else project.mode == "development")
        if self.layout_arg is None and "SPOC_LAYOUT" in project.settings:
            project.layout = self._settings_layout(project)
            project.components = type(project.components)(*project.layout.modules)
        self._fail_if_fatal()

        # 2-3. apps
        self._load_apps(project, apps_dir)
        # 4. plugins
        self._load_plugins(project)
        # settings as the app sees them: the environment layers over settings.py
        project.settings = Settings(project.settings.module, environment_overrides(project))
        # 5. checks
        self._run_checks(project, apps_dir, environ)
        return project

    # ----------------------------------------------------------- source
    def _locate(self) -> Tuple[Optional[ModuleType], Optional[Path], Optional[str], Path]:
        source = self.source
        if isinstance(source, ModuleType):
            base = base_dir_of_settings(source)
            if base is None:
                self._fatal("SPC014", f"cannot tell the project folder of settings module {source.__name__!r}.",
                            "set BASE_DIR = pathlib.Path(__file__).resolve().parent.parent in it.",
                            key="BASE_DIR")
            return source, None, None, base
        if not isinstance(source, (str, os.PathLike)):
            raise TypeError(f"load_project(source) must be a path, a settings module name or a module, got {source!r}.")
        path = Path(source)
        if path.is_dir():
            base = path.resolve()
            found = find_settings(base)
            if found is None:
                self._fatal("SPC014", f"no settings module in {base}: looked for settings.py, config.py and "
                            "configuration.py (or packages) in config/, conf/ and the project root.",
                            "create config/settings.py (with INSTALLED_APPS = [...]) or pass the settings module.",
                            file=str(base))
            return None, found[0], found[1], base
        if path.exists() and not (path.is_file() and path.suffix == ".py"):
            self._fatal("SPC014", f"{str(source)} is neither a project folder nor a settings .py file.",
                        "pass the folder that holds config/settings.py (or settings.py), or the settings file.",
                        file=str(source))
        if path.is_file() and path.suffix == ".py":
            file = path.resolve()
            folder = file.parent
            if folder.name in ("config", "conf"):
                return None, file, f"{folder.name}.{file.stem}", folder.parent
            return None, file, file.stem, folder
        text = str(source)
        if text and all(part.isidentifier() for part in text.split(".")):
            try:
                spec = importlib.util.find_spec(text)
            except (ImportError, ValueError):
                spec = None
            if spec is None or not spec.origin or not os.path.isfile(spec.origin):
                self._fatal("SPC014", f"settings module {text!r} was not found on sys.path.",
                            "pass the project folder instead, or make the module importable.", key=text)
            origin = Path(spec.origin).resolve()
            folder = origin.parent.parent if origin.name == "__init__.py" else origin.parent
            base = folder.parent if folder.name in ("config", "conf") else folder
            return None, origin, text, base
        self._fatal("SPC014", f"project path {text!r} does not exist.",
                    "pass the folder that holds config/settings.py (or settings.py).", file=text)

    def _import_settings(self, file: Optional[Path], name: Optional[str], base_dir: Path) -> ModuleType:
        if file is None or name is None:  # pragma: no cover - _locate always gives both
            raise TypeError("internal: settings file and module name are required")
        shown = str(file.relative_to(base_dir)) if file.is_relative_to(base_dir) else str(file)
        existing = sys.modules.get(name)
        if existing is not None and Path(getattr(existing, "__file__", "") or "").resolve() != file:
            self._fatal("SPC014", f"settings module name {name!r} is already taken by "
                        f"{getattr(existing, '__file__', None) or existing!r}, not {shown}.",
                        "close the previously loaded project (project.close()) or rename the conflicting package.",
                        file=shown)
        try:
            module = import_module_checked(name)
        except ImportFailure as exc:
            self._fatal("SPC014", f"settings {shown} cannot be imported: {exc.reason}"
                        + (f" (at {exc.location})" if exc.location else "") + ".",
                        "fix the error in the settings module.", file=shown)
        if module is None or Path(getattr(module, "__file__", "") or "").resolve() != file:
            other = getattr(module, "__file__", None) if module is not None else None
            self._fatal("SPC014", f"importing {name!r} did not load {shown}"
                        + (f" but {other}" if other else "") + ": another package shadows it.",
                        f"rename the package that shadows {name.split('.')[0]!r}, or pass the settings module itself.",
                        file=shown)
        return module

    # --------------------------------------------------------- settings
    def _validate_settings(self, project: Project) -> None:
        """SPC013 for each setting that breaks its rule (:mod:`.settings_rules`)."""
        where = self._settings_where(project)
        for problem in settings_problems(project.settings):
            self.diags.append(diagnostic("SPC013", f"{where}: {problem.message}", problem.hint, file=where,
                                         key=problem.key))

    @staticmethod
    def _settings_where(project: Project) -> str:
        file = project.settings_file
        if file is None:
            module = project.settings.module
            return module.__name__ if module is not None else "settings"
        return str(file.relative_to(project.base_dir)) if file.is_relative_to(project.base_dir) else str(file)

    def _resolve_strict(self, project: Project, environ: Mapping[str, str]) -> bool:
        if self.strict_arg is not None:
            return bool(self.strict_arg)
        raw = environ.get("SPOC_STRICT")
        if raw is not None and raw.strip():
            value, problems = parse_bool_env("SPOC_STRICT", raw)
            self.diags.extend(problems)
            if value is not None:
                return value
        setting = project.settings.get("SPOC_STRICT")
        if isinstance(setting, bool):
            return setting
        if project.toml.strict is not None:
            return project.toml.strict
        return project.mode == "production"

    def _settings_layout(self, project: Project) -> Layout:
        value = project.settings.get("SPOC_LAYOUT")
        where = self._settings_where(project)
        if isinstance(value, str):
            try:
                value = project.importer.load_from_uri(value)
            except ImportFailure as exc:
                if isinstance(exc.cause, DiagnosticError):  # the Layout(...) itself is invalid
                    self.diags.extend(exc.cause.diagnostics)
                    raise _Fatal() from None
                self._fatal("SPC013", f"{where}: SPOC_LAYOUT {exc}.", "point SPOC_LAYOUT at a Layout object.",
                            file=where, key="SPOC_LAYOUT")
        if not isinstance(value, Layout):
            self._fatal("SPC013", f"{where}: SPOC_LAYOUT must be a Layout or a URI to one, got {value!r}.",
                        'write SPOC_LAYOUT = "framework.layout.LAYOUT" or a Layout(...) object.',
                        file=where, key="SPOC_LAYOUT")
        return value

    # ------------------------------------------------------------- apps
    def _listed_apps(self, project: Project) -> List["_Listed"]:
        """Installed apps in listed order: settings, spoc.toml for the mode, entry points."""
        listed: Dict[str, _Listed] = {}
        settings_where = self._settings_where(project)
        toml_where = str(project.toml.path.relative_to(project.base_dir)) if project.toml.path else "spoc.toml"
        for name in project.settings.get("INSTALLED_APPS", []) or []:
            listed.setdefault(name, _Listed(name, settings_where, "INSTALLED_APPS"))
        for key in MODE_APPS.get(project.mode, ()):
            for name in project.toml.apps.get(key, ()):
                listed.setdefault(name, _Listed(name, toml_where, f"spoc.apps.{key}"))
        if project.settings.get("SPOC_ENTRY_POINT_APPS", True):
            for ep in entry_point_apps():
                if ep.module not in listed:
                    listed[ep.module] = _Listed(ep.module, f"distribution {ep.distribution or '?'}",
                                                f"entry point {ENTRY_POINT_GROUP}:{ep.name}", ep.name, ep.attr)
        return list(listed.values())

    def _load_apps(self, project: Project, apps_dir: Path) -> None:
        found: Dict[str, AppInfo] = {}
        skipped = project.skipped_apps
        for listed in self._listed_apps(project):
            import_name = listed.import_name
            stale = _foreign_module(import_name.split(".", 1)[0], apps_dir)
            if stale is not None:
                reason = (f"app {import_name!r} is in {apps_dir} but a module of that name is already imported "
                          f"from {stale}")
                self.diags.append(diagnostic(
                    "SPC002", reason + ".", "close the project that imported it (project.close()) or rename one "
                    "of the two packages.", app=import_name, file=listed.file, key=listed.key))
                skipped[import_name] = reason
                continue
            try:
                package = import_module_checked(import_name)
            except ImportFailure as exc:
                project._app_imports.append(import_name)
                reason = f"app {import_name!r} cannot be imported: {exc.reason}" + (
                    f" (at {exc.location})" if exc.location else "")
                self.diags.append(diagnostic("SPC002", reason + ".", "fix the error in the app's __init__.py "
                                             f"or remove it from {listed.where}.", app=import_name,
                                             file=exc.location, key=listed.key))
                skipped[import_name] = reason
                continue
            if package is None:
                where = f" in {apps_dir} or" if apps_dir.is_dir() else ""
                reason = f"app {import_name!r} (listed in {listed.where}) was not found{where} on sys.path"
                self.diags.append(diagnostic(
                    "SPC001", reason + ".", f"create apps/{import_name.replace('.', '/')}/__init__.py, install the "
                    f"package, or remove it from {listed.where}.", app=import_name, file=listed.file,
                    key=listed.key))
                skipped[import_name] = reason
                continue
            ep_name, ep_attr = listed.ep_name, listed.ep_attr
            project._app_imports.append(import_name)
            config, problems = read_app_config(package, ep_attr, default_name=ep_name)
            if config is not None and config.name in found:
                other = found[config.name]
                problems = [diagnostic(
                    "SPC016", f"apps {other.module!r} and {import_name!r} are both named {config.name!r}.",
                    "give one of them another name with AppConfig(name=...) (component names use it).",
                    app=config.name)]
            if config is not None and config.modules is not None:
                unknown = [k for k in config.modules if k not in project.layout.modules]
                if unknown:
                    problems = [diagnostic(
                        "SPC016", f"app {import_name!r} lists module kinds {unknown} that the layout does not have "
                        f"({list(project.layout.modules)}).", "fix AppConfig(modules=...) or extend the layout.",
                        app=config.name)]
            if problems or config is None:
                self.diags.extend(problems)
                skipped[import_name] = problems[0].message
                continue
            path_entries = list(getattr(package, "__path__", []) or [])
            package_file: Optional[str] = getattr(package, "__file__", None)
            path = Path(path_entries[0]) if path_entries else (Path(package_file).parent if package_file else None)
            app_name = config.name or import_name.rsplit(".", 1)[-1]  # read_app_config always sets it
            found[app_name] = AppInfo(app_name, import_name, package, path, config,
                                      source="entry point" if ep_name else listed.file)
        self._order_and_import(project, found)

    def _order_and_import(self, project: Project, found: Dict[str, AppInfo]) -> None:
        skipped = project.skipped_apps
        by_any: Dict[str, str] = {}
        for info in found.values():
            by_any[info.name] = info.name
            by_any[info.module] = info.name
        deps: Dict[str, List[str]] = {}
        viable: List[str] = []
        for name, info in found.items():
            missing = [d for d in info.depends_on if d not in by_any and d not in skipped]
            if missing:
                reason = f"app {name!r} depends on {missing[0]!r}, which is not installed"
                self.diags.append(diagnostic(
                    "SPC015", reason + ".", f"add {missing[0]!r} to INSTALLED_APPS (or the mode's [spoc.apps]) or "
                    f"remove it from {name}'s depends_on.", app=name, key="depends_on"))
                skipped[info.module] = reason
                continue
            deps[name] = [by_any.get(d, d) for d in info.depends_on]
            viable.append(name)
        order: List[str] = []
        while True:
            order, cycle = stable_order(viable, deps)
            if not cycle:
                break
            text = " -> ".join(cycle)
            self.diags.append(diagnostic(
                "SPC005", f"app dependency cycle: {text}.",
                "remove one of these depends_on entries; apps must form a tree.", app=cycle[0], key="depends_on"))
            for name in dict.fromkeys(cycle):
                skipped[found[name].module] = f"dependency cycle {text}"
            viable = [n for n in viable if n not in cycle]
        skipped_names = {info.name for info in found.values() if info.module in skipped}
        for name in order:
            info = found[name]
            blocked = [d for d in deps[name] if d in skipped_names or (d not in found and d in skipped)]
            if blocked:
                reason = f"app {name!r} depends on {blocked[0]!r}, which was skipped"
                self.diags.append(diagnostic("SPC019", reason + ".", f"fix {blocked[0]!r} first.", app=name,
                                             key="depends_on"))
                skipped[info.module] = reason
                skipped_names.add(name)
                continue
            if self._import_app(project, info):
                project.apps.append(info)
                project.installed_apps.append(info.module)
            else:
                skipped_names.add(name)

    def _import_app(self, project: Project, info: AppInfo) -> bool:
        layout = project.layout
        kinds = [k for k in layout.order if info.config.modules is None or k in info.config.modules]
        imported: List[Tuple[str, ModuleType]] = []
        present = _listing(info.package)
        for kind in kinds:
            name = f"{info.module}.{kind}"
            if present is not None and not _may_exist(kind, present):
                module = None  # no file could hold it: skip the failing import (and its exception)
            else:
                try:
                    module = import_module_checked(name) if hasattr(info.package, "__path__") else None
                except ImportFailure as exc:
                    reason = f"module {name} cannot be imported: {exc.reason}" + (
                        f" (at {exc.location})" if exc.location else "")
                    self.diags.append(diagnostic("SPC002", reason + ".", f"fix {name} (the app {info.name!r} "
                                                 "was skipped).", app=info.name, file=exc.location, key=kind))
                    project.skipped_apps[info.module] = reason
                    return False
            if module is None:
                if project.strict and kind in layout.required:
                    reason = f"app {info.name!r} has no {kind!r} module, which the layout requires"
                    self.diags.append(diagnostic(
                        "SPC003", reason + ".", f"create {info.module.replace('.', '/')}/{kind}.py, or make the "
                        "kind optional with Layout(required=[...]).", app=info.name, key=kind))
                    project.skipped_apps[info.module] = reason
                    return False
                continue
            info.modules[kind] = module
            imported.append((kind, module))
        if not self._collect_components(project, info, imported):
            return False
        project._imported.extend(imported)
        return True

    def _collect_components(self, project: Project, info: AppInfo, imported: List[Tuple[str, ModuleType]]) -> bool:
        modules: List[ModuleType] = [info.package] + [m for _, m in imported]
        names = {m.__name__ for m in modules}
        modules += [m for m in _submodules(info.package) if m.__name__ not in names]
        pending: List[Tuple[str, Any, Dict[str, Any], str]] = []
        for module in modules:
            for obj in list(vars(module).values()):
                marks = marks_of(obj)
                if not marks or getattr(obj, "__module__", None) != module.__name__:
                    continue
                for mark in marks:
                    pending.append((mark.type, obj, dict(mark.meta), module.__name__))
        components = project.components
        added = []
        problems = []
        for type_name, obj, meta, module_name in pending:
            record = components.add(type_name, obj, app=info.name, module=module_name, meta=meta)
            if record is None:
                first, dup = components.duplicates.pop()
                problems.append(diagnostic(
                    "SPC004", f"component name {dup.name!r} ({dup.type}) is registered twice: by {first.module} "
                    f"and by {module_name}.", "rename one of them (names are '<app>.<ObjectName>' per type).",
                    app=info.name, key=dup.name))
            else:
                added.append(record)
        if problems:
            components.remove_app(info.name)
            self.diags.extend(problems)
            project.skipped_apps[info.module] = problems[0].message
            return False
        project._component_order.extend(added)
        self.diags.extend(_unregistered_services(info, modules, {id(r.obj) for r in added}))
        return True

    # ---------------------------------------------------------- plugins
    def _load_plugins(self, project: Project) -> None:
        toml_groups = project.toml.plugins
        settings_groups = project.settings.get("PLUGINS", {}) or {}
        merged = merge_plugin_uris(toml_groups, settings_groups)
        toml_where = str(project.toml.path.relative_to(project.base_dir)) if project.toml.path else "spoc.toml"
        sources = {}
        for group, uris in settings_groups.items():
            for uri in uris:
                sources[(group, uri)] = f"{self._settings_where(project)} PLUGINS[{group!r}]"
        for group, uris in toml_groups.items():
            for uri in uris:
                sources[(group, uri)] = f"{toml_where} [spoc.plugins] {group}"
        apply = project.settings.get("SPOC_APPLY_PLUGINS", False)
        project.applied_plugin_groups = tuple(APPLICABLE_GROUPS if apply is True else (apply or ()))
        project.plugins, problems = load_plugins(merged, project.importer, sources=sources,
                                                 applied=project.applied_plugin_groups)
        self.diags.extend(problems)

    # ----------------------------------------------------------- checks
    def _run_checks(self, project: Project, apps_dir: Path, environ: Mapping[str, str]) -> None:
        app_modules = {info.module: info.name for info in project.apps}
        configured = project.settings.get("SPOC_FRAMEWORK_PACKAGES")
        if configured is not None:
            paths = [project.base_dir / p for p in configured]
        else:
            paths = checks.framework_packages(project.base_dir, project._app_imports, apps_dir)
        if app_modules and paths:
            self.diags.extend(checks.find_framework_imports(paths, app_modules, project.base_dir))
        self.diags.extend(checks.check_secret_key(project.mode, flask_config(project)))


def _unregistered_services(info: AppInfo, modules: List[ModuleType], registered: Set[int]) -> List[Diagnostic]:
    """SPC020 for each Service subclass an app module defines without
    registering it: the runtime only boots components, so such a class is
    silently never started. Base classes that a registered component extends
    are not reported (they exist to be subclassed)."""
    from ..lifecycle.service import Service

    defined = []
    for module in modules:
        for name, obj in vars(module).items():
            if (isinstance(obj, type) and issubclass(obj, Service) and obj.__module__ == module.__name__
                    and not name.startswith("_") and id(obj) not in registered and not marks_of(obj)):
                defined.append((module, obj))
    registered_classes = [o for m in modules for o in vars(m).values() if id(o) in registered and isinstance(o, type)]
    out = []
    for module, cls in defined:
        if any(cls in other.__mro__[1:] for other in registered_classes):
            continue
        kind = "controller" if callable(getattr(cls, "build_blueprint", None)) else "service"
        out.append(diagnostic(
            "SPC020", f"{module.__name__}.{cls.__name__} is a {cls.__mro__[1].__name__} subclass but is not "
            "registered as a component, so the runtime never boots it.",
            f"decorate it with @{kind} (from specter_spoc.project import {kind}) or register it with your "
            f"Components registry; name it with a leading underscore if it is a base class.",
            app=info.name, file=getattr(module, "__file__", None), key=cls.__name__))
    return out


def _shown(path: Path, base_dir: Path) -> str:
    return str(path.relative_to(base_dir)) if path.is_relative_to(base_dir) else str(path)


def _foreign_module(top: str, apps_dir: Path) -> Optional[str]:
    """Where ``top`` was imported from, when ``<apps_dir>/<top>`` exists but the
    module already in ``sys.modules`` comes from elsewhere (a project that was
    never closed); else ``None``."""
    module = sys.modules.get(top)
    if module is None or not ((apps_dir / top).is_dir() or (apps_dir / f"{top}.py").is_file()):
        return None
    locations = [str(p) for p in (getattr(module, "__path__", None) or [])]
    if getattr(module, "__file__", None):
        locations.append(str(module.__file__))
    base = str(apps_dir.resolve()) + os.sep
    if any(str(Path(loc).resolve()).startswith(base) for loc in locations):
        return None
    return locations[0] if locations else repr(module)


def _listing(package: ModuleType) -> Optional[FrozenSet[str]]:
    """Names in the package's folder, or ``None`` when it is not a plain folder
    (zip, several portions...), in which case every kind is tried by importing."""
    paths = list(getattr(package, "__path__", None) or [])
    if len(paths) != 1:
        return None
    try:
        return frozenset(os.listdir(paths[0]))
    except OSError:
        return None


def _may_exist(kind: str, names: FrozenSet[str]) -> bool:
    if kind in names:  # a subpackage (or namespace folder)
        return True
    return any(kind + suffix in names for suffix in importlib.machinery.all_suffixes())


def _submodules(package: ModuleType) -> List[ModuleType]:
    """Modules imported below ``package`` (Python binds each as an attribute of
    its parent package), sorted by name."""
    found: Dict[str, ModuleType] = {}
    stack = [package]
    prefix = package.__name__ + "."
    while stack:
        current = stack.pop()
        for value in list(vars(current).values()):
            if isinstance(value, ModuleType) and value.__name__.startswith(prefix) and value.__name__ not in found:
                found[value.__name__] = value
                if hasattr(value, "__path__"):
                    stack.append(value)
    return [found[name] for name in sorted(found)]


__all__ = ["load_project", "MODES"]
