"""Apps: SPOC-style packages that make up a project, and their metadata.

An app is a package under ``<project>/apps/`` (that folder goes on the import
path, as in SPOC) or any importable package; pip-installed apps are found
through the ``specter_spoc.apps`` entry-point group (as simple_module does).

An app may describe itself in its ``__init__.py``, either with an
:class:`AppConfig` bound to the name ``app`` (or ``app_config``)::

    from specter_spoc.project import AppConfig
    app = AppConfig(name="blog", depends_on=["users"], url_prefix="/blog")

or with plain module-level constants (no framework import needed)::

    DEPENDS_ON = ["users"]
    URL_PREFIX = "/blog"
    LABEL = "Blog"

Apps start in dependency order (stable topological order: the configured
order wherever dependencies allow) and stop in reverse.

An entry point names the app's package, optionally with an ``AppConfig``
attribute: ``[specter_spoc.apps] blog = blog_pkg`` or ``blog = blog_pkg:app``.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any, Dict, List, Mapping, Optional, Tuple

from .diagnostics import Diagnostic, diagnostic

ENTRY_POINT_GROUP = "specter_spoc.apps"
"""The entry-point group a pip-installed package declares its apps under
(``[project.entry-points."specter_spoc.apps"]``)."""

_CONSTANTS = {
    "NAME": "name", "LABEL": "label", "DESCRIPTION": "description", "DEPENDS_ON": "depends_on",
    "URL_PREFIX": "url_prefix", "VERSION": "version", "MODULES": "modules", "METADATA": "metadata",
}


@dataclasses.dataclass(frozen=True)
class AppConfig:
    """An app's metadata, declared in its ``__init__.py`` as ``app = AppConfig(...)``.

    - ``name``: the app's short name, used in component names
      (``"blog.PostService"``) and by other apps' ``depends_on``; defaults to
      the last part of the package name.
    - ``label``: human-readable name (defaults to ``name``).
    - ``depends_on``: apps that must start before this one (and stop after).
    - ``url_prefix``: prefix for the app's controllers' routes (``"/blog"``).
    - ``modules``: restrict which layout kinds this app has (``None``: all).
    - ``description``, ``version``, ``metadata``: free-form, shown by
      ``specter-spoc apps`` and health.

    Example::

        app = AppConfig(name="blog", depends_on=["users"], url_prefix="/blog")
    """

    name: Optional[str] = None
    label: Optional[str] = None
    depends_on: Tuple[str, ...] = ()
    url_prefix: Optional[str] = None
    modules: Optional[Tuple[str, ...]] = None
    description: str = ""
    version: Optional[str] = None
    metadata: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        problems = _config_problems(self)
        if problems:
            raise TypeError("invalid AppConfig: " + "; ".join(p for _, p in problems) + ".")
        object.__setattr__(self, "depends_on", tuple(self.depends_on))
        if self.modules is not None:
            object.__setattr__(self, "modules", tuple(self.modules))


def _is_str_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(v, str) and v for v in value)


def _config_problems(cfg: Any) -> List[Tuple[str, str]]:
    """``(field, problem)`` pairs for an AppConfig-shaped object."""
    problems = []
    if cfg.name is not None and (not isinstance(cfg.name, str) or not cfg.name.isidentifier()):
        problems.append(("name", f"name must be an identifier such as 'blog', got {cfg.name!r}"))
    if cfg.label is not None and not isinstance(cfg.label, str):
        problems.append(("label", f"label must be a string, got {cfg.label!r}"))
    if isinstance(cfg.depends_on, str) or not _is_str_list(cfg.depends_on):
        problems.append(("depends_on", f"depends_on must be a list of app names, got {cfg.depends_on!r}"))
    if cfg.url_prefix is not None and (not isinstance(cfg.url_prefix, str) or not cfg.url_prefix.startswith("/")):
        problems.append(("url_prefix", f"url_prefix must be a string starting with '/', got {cfg.url_prefix!r}"))
    if cfg.modules is not None and (isinstance(cfg.modules, str) or not _is_str_list(cfg.modules)):
        problems.append(("modules", f"modules must be a list of layout kinds, got {cfg.modules!r}"))
    if not isinstance(cfg.description, str):
        problems.append(("description", f"description must be a string, got {cfg.description!r}"))
    if cfg.version is not None and not isinstance(cfg.version, str):
        problems.append(("version", f"version must be a string, got {cfg.version!r}"))
    if not isinstance(cfg.metadata, Mapping):
        problems.append(("metadata", f"metadata must be a dict, got {cfg.metadata!r}"))
    return problems


@dataclasses.dataclass
class AppInfo:
    """A loaded app.

    ``name`` is the short name, ``module`` the import name (``"users"`` or
    ``"acme.users"``), ``package`` the imported package, ``path`` its folder,
    ``modules`` the imported layout modules ``{kind: module}`` in import
    order, ``source`` where it was listed (``"settings"``, ``"spoc.toml"`` or
    ``"entry point"``).
    """

    name: str
    module: str
    package: ModuleType
    path: Optional[Path]
    config: AppConfig
    source: str = "settings"
    modules: Dict[str, ModuleType] = dataclasses.field(default_factory=dict)

    @property
    def depends_on(self) -> Tuple[str, ...]:
        return self.config.depends_on

    @property
    def url_prefix(self) -> Optional[str]:
        return self.config.url_prefix

    @property
    def label(self) -> str:
        return self.config.label or self.name

    def describe(self) -> Dict[str, Any]:
        """Plain data for listings and health."""
        return {
            "name": self.name, "module": self.module, "label": self.label,
            "path": str(self.path) if self.path else None, "depends_on": list(self.depends_on),
            "url_prefix": self.url_prefix, "modules": list(self.modules), "source": self.source,
            "description": self.config.description, "version": self.config.version,
        }


def _field_default(field: "dataclasses.Field[Any]") -> Any:
    """A dataclass field's default value (made by its factory when it has one)."""
    if field.default is dataclasses.MISSING and field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return field.default


def read_app_config(package: ModuleType, attr: Optional[str] = None, default_name: Optional[str] = None
                    ) -> Tuple[Optional[AppConfig], List[Diagnostic]]:
    """The :class:`AppConfig` an app package declares; ``name`` defaults to
    ``default_name`` (else the last part of the import name). Returns
    ``(None, [SPC016...])`` when the metadata is malformed."""
    import_name = package.__name__
    default_name = default_name or import_name.rsplit(".", 1)[-1]
    where = getattr(package, "__file__", None)
    candidates = [attr] if attr else ["app", "app_config"]
    found: Any = None
    for candidate in candidates:
        value = getattr(package, candidate, None)
        if isinstance(value, AppConfig):
            found = value
            break
        if attr:
            return None, [diagnostic(
                "SPC016", f"entry point names {import_name}:{attr}, which is {type(value).__name__}, not an AppConfig.",
                f"bind `{attr} = AppConfig(...)` in {import_name}/__init__.py or point the entry point at the package.",
                app=default_name, file=where, key=attr)]
    if found is not None:
        if found.name is None:
            found = dataclasses.replace(found, name=default_name)
        return found, []
    values: Dict[str, Any] = {}
    for constant, field in _CONSTANTS.items():
        if hasattr(package, constant):
            values[field] = getattr(package, constant)
    values.setdefault("name", default_name)
    defaults = {f.name: _field_default(f) for f in dataclasses.fields(AppConfig)}
    problems = _config_problems(SimpleNamespace(**{**defaults, **values}))
    if problems:
        constants = {field: constant for constant, field in _CONSTANTS.items()}
        return None, [diagnostic(
            "SPC016", f"app {import_name!r} metadata is invalid: {problem}.",
            f"fix {constants[field]} in {import_name}/__init__.py.",
            app=default_name, file=where, key=constants[field])
            for field, problem in problems]
    return AppConfig(**values), []


@dataclasses.dataclass(frozen=True)
class EntryPointApp:
    """An app advertised by an installed distribution."""

    name: str
    module: str
    attr: Optional[str]
    distribution: Optional[str]


def entry_point_apps() -> List[EntryPointApp]:
    """Apps in the ``specter_spoc.apps`` entry-point group, sorted by name."""
    from importlib.metadata import entry_points

    found: Dict[str, EntryPointApp] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        module, _, attr = ep.value.partition(":")
        dist = getattr(getattr(ep, "dist", None), "name", None)
        found.setdefault(ep.name, EntryPointApp(ep.name, module.strip(), attr.strip() or None, dist))
    return [found[name] for name in sorted(found)]

