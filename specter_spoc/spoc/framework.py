"""SPOC's ``Framework``, ``Schema``, ``Hook`` and ``Config`` on the real loader and runtime.

``Framework(base_dir, schema)`` loads the project with
:func:`specter_spoc.project.load_project` (settings, spoc.toml, the
environment files, installed apps in dependency order, their modules in the
schema's order, components, plugins) and boots its own
:class:`specter_spoc.Runtime` (a Flask app only when ``app=`` is given), so
the schema's hooks run with the **module object** and the apps' Services,
QueueServices, Controllers and Handlers start, as under ``boot()``.

Where it differs from SPOC 0.3.9, on purpose:

- hooks receive the module (SPOC 0.3.9 passes a set of the module's
  components, although its docs and seeds say the module);
- singular component type names register (``register("model")`` lands in
  ``components.models``; SPOC 0.3.9 silently registers nothing unless the
  type equals the module name);
- ``mode="strict"`` makes every schema module required in every app (SPOC's
  meaning) *and* fails on any project diagnostic; ``"loose"`` skips missing
  modules and broken apps with a logged diagnostic.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from ..project.layout import Hook, Layout
from ..project.loader import load_project
from ..project.project import Project
from ..project.runtime_glue import ProjectView, project_view

FrameworkMode = str  # "strict" | "loose"


@dataclasses.dataclass
class Schema:
    """SPOC's schema: module kinds per app, their dependencies, per-kind hooks.

    ``hooks`` values are :class:`Hook` objects or ``{"startup": fn,
    "shutdown": fn}`` dicts; each function receives the module object.
    """

    modules: List[str]
    dependencies: Dict[str, List[str]] = dataclasses.field(default_factory=dict)
    hooks: Dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_layout(self, *, required: bool = True) -> Layout:
        """The equivalent :class:`~specter_spoc.project.Layout` (every kind
        required when ``required``, as SPOC's strict mode wants)."""
        return Layout(self.modules, self.dependencies, self.hooks, required=None if required else ())


@dataclasses.dataclass(frozen=True)
class Config:
    """SPOC's ``framework.config``: ``project`` (the ``[spoc]`` table, with the
    mode in effect), ``settings`` (the settings module) and ``environment``
    (the project's environment-file values)."""

    project: Dict[str, Any]
    settings: Any
    environment: Dict[str, Any]


def _config_of(project: Project) -> Config:
    toml = project.toml
    table: Dict[str, Any] = dict(toml.extra)
    table.update({"mode": project.mode, "debug": project.debug, "apps": {k: list(v) for k, v in toml.apps.items()},
                  "plugins": {k: list(v) for k, v in toml.plugins.items()}})
    if toml.strict is not None:
        table["strict"] = toml.strict
    environment = dict(getattr(project, "environment", None) or project.dotenv)
    return Config(project=table, settings=project.settings.module, environment=environment)


class Framework:
    """A loaded, started SPOC project (SPOC's ``Framework``).

    Example::

        framework = Framework(base_dir=settings.BASE_DIR, schema=schema)
        framework.installed_apps                      # ['users', 'blog']
        UserService = framework.get_component("services", "users.UserService")
        framework.components.models                   # also .model
        framework.shutdown()

    ``echo=True`` prints each boot step. ``app``/``socketio`` give the runtime
    a Flask app (then the apps' Controllers serve on it); without them the
    runtime runs services only.
    """

    def __init__(self, base_dir: Union[str, Path], schema: Optional[Schema] = None, echo: bool = False,
                 mode: FrameworkMode = "strict", *, app: Any = None, socketio: Any = None,
                 environment: Optional[str] = None) -> None:
        if mode not in ("strict", "loose"):
            raise ValueError(f"Framework(mode=...) must be 'strict' or 'loose', got {mode!r}.")
        if schema is not None and not isinstance(schema, (Schema, Layout)):
            raise TypeError(f"Framework(schema=...) must be a Schema, got {type(schema).__name__}.")
        self.base_dir: Path = Path(base_dir)
        self.schema = schema
        self.echo: bool = bool(echo)
        self.mode = mode
        self._app = app
        self._socketio = socketio
        strict = mode == "strict"
        layout: Optional[Layout]
        if isinstance(schema, Schema):
            layout = schema.to_layout(required=strict)
        else:
            layout = schema
        self._say(f"loading project {self.base_dir} ({mode})")
        self.project: Project = load_project(self.base_dir, layout=layout, strict=strict, mode=environment)
        self.view: ProjectView = project_view(self.project)
        self.config: Config = _config_of(self.project)
        self.runtime: Any = None
        self.startup()

    # ---------------------------------------------------------- SPOC API
    @property
    def installed_apps(self) -> List[str]:
        return list(self.project.installed_apps)

    @property
    def components(self) -> Any:
        """``components.<kind>`` (``models`` or ``model``): ``{"app.Name": obj}``."""
        return self.view.components

    @property
    def plugins(self) -> Mapping[str, Mapping[str, Any]]:
        """``plugins[group][uri]``: the loaded plugin objects (loaded, not applied)."""
        return self.view.plugins

    @property
    def importer(self) -> Any:
        return self.project.importer

    def get_component(self, kind: str, name: str) -> Any:
        """The component ``name`` (``"users.UserService"``) of ``kind``, or ``None``."""
        return self.project.get_component(kind, name)

    def startup(self) -> "Framework":
        """Boot the runtime: schema startup hooks (module objects, import
        order), plugin hooks when applied, the apps' services. Idempotent."""
        if self.runtime is not None and self.runtime.booted:
            return self
        if self.runtime is not None and self._app is not None:
            raise RuntimeError(
                "this Framework was shut down and serves a Flask app, which registers its routes once: "
                "create a new Flask app and Framework to start again (without app= it can restart).")
        from ..app import boot

        self._say(f"starting apps {self.installed_apps}")
        self.runtime = boot(self._app, self._socketio, project=self.project, install_signals=False)
        self._say("started")
        return self

    def shutdown(self) -> "Framework":
        """Stop the runtime: services in reverse, then the schema's shutdown
        hooks in reverse import order. Idempotent; :meth:`startup` boots again
        (not with a Flask app, whose routes are registered once)."""
        if self.runtime is not None:
            self._say("shutting down")
            self.runtime.shutdown()
        return self

    def close(self) -> None:
        """Shut down and unload the project (sys.path, modules, environment)."""
        self.shutdown()
        self.project.close()

    def __enter__(self) -> "Framework":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _say(self, text: str) -> None:
        if self.echo:
            print(f"[spoc] {text}", flush=True)

    def __repr__(self) -> str:
        state = "started" if self.runtime is not None and self.runtime.booted else "stopped"
        return f"<Framework {self.base_dir.name!r} apps={self.installed_apps} {state}>"


__all__ = ["Config", "Framework", "FrameworkMode", "Hook", "Schema"]
