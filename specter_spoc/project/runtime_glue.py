"""Glue between a loaded :class:`~.project.Project` and a Runtime.

``boot(app, socketio, project=...)`` calls :func:`attach_project`, which

1. loads the project when given a path or settings module (the runtime then
   owns it and closes it after shutdown);
2. registers a :class:`ProjectLifecycle` service that starts first and stops
   last: it runs the layout's startup hooks and (when the settings apply that
   group, ``SPOC_APPLY_PLUGINS``) the ``hooks`` plugins at boot, and their
   shutdown counterparts (in reverse) after every other service has stopped;
   its health shows the mode, the apps and the skipped apps with the reason;
3. applies the ``middleware`` plugins to the Flask app, when applied;
4. instantiates the project's lifecycle components in app order and
   registers them: Controllers (with the app's ``url_prefix`` in front of
   their own), other Services/QueueServices, and Handlers;
5. when there is a Flask app, builds one controller per app from its
   ``views`` functions (:mod:`.view_routes`: documented path/method rule,
   overridable by metadata).

The project layer does not import the runtime: it only calls the
``register_*`` methods of the object it is given.
"""
from __future__ import annotations

import dataclasses
import inspect
import logging
from types import MappingProxyType
from typing import Any, Callable, Dict, List, Mapping, Optional

from ..lifecycle.service import Service
from .layout import Layout
from .plugins import apply_middleware
from .project import Project

logger: logging.Logger = logging.getLogger("specter_spoc.project")


class ProjectLifecycle(Service):
    """The project's own hooks as a service of the runtime (starts first).

    ``on_start``: layout startup hooks (import order), then the ``hooks``
    plugins' startup (listed order). ``on_stop``: the plugins' shutdown
    (reverse), then the layout shutdown hooks (reverse).
    """

    priority = -1000

    def __init__(self, project: Project, runtime: Any) -> None:
        super().__init__("spoc.project")
        self.project = project
        self.runtime = runtime

    def on_start(self) -> None:
        self.project.startup()
        if "hooks" not in self.project.applied_plugin_groups:
            return
        try:
            self.project.run_plugin_hooks_startup(self.runtime)
        except BaseException:
            self.project.shutdown()
            raise

    def on_stop(self) -> None:
        try:
            self.project.run_plugin_hooks_shutdown(self.runtime)
        finally:
            self.project.shutdown()

    def health(self) -> Dict[str, Any]:
        report = super().health()
        project = self.project
        report.update({
            "mode": project.mode,
            "strict": project.strict,
            "installed_apps": list(project.installed_apps),
            "skipped_apps": dict(project.skipped_apps),
            "diagnostics": {"errors": len(project.errors), "warnings": len(project.warnings)},
        })
        if report["status"] == "ok" and project.skipped_apps:
            report["status"] = "degraded"
        return report


@dataclasses.dataclass(frozen=True)
class ProjectView:
    """What a runtime (or SPOC's ``Framework``) exposes of its project.

    ``components.<kind>`` is ``{"app.Name": object}`` for a kind, singular or
    plural, any case (``components.models`` / ``components.model``);
    ``plugins[group][uri]`` is the loaded plugin object (read-only mappings).
    The runtime exposes it as ``runtime.components`` / ``runtime.plugins``.
    """

    components: Any
    plugins: Mapping[str, Mapping[str, Any]]


_EMPTY_VIEW = ProjectView(components=None, plugins=MappingProxyType({}))


def project_view(project: Optional[Project]) -> ProjectView:
    """The :class:`ProjectView` of ``project`` (empty when ``None``)."""
    if project is None:
        from .components import Components

        return ProjectView(components=Components(), plugins=MappingProxyType({}))
    plugins = MappingProxyType({group: MappingProxyType(dict(items)) for group, items in project.plugins.items()})
    return ProjectView(components=project.components, plugins=plugins)


def _is_controller(cls: type) -> bool:
    return callable(getattr(cls, "build_blueprint", None)) and issubclass(cls, Service)


def instantiate_component(cls: type, name: str) -> Any:
    """An instance of a lifecycle component class.

    A class that names itself (a ``name`` class attribute of its own, as
    SPECTER controllers and handlers do) or needs no argument is called with
    none; otherwise it is given its component name (``"blog.Indexer"``), as
    a plain ``Service`` subclass requires (a controller gets it with ``_``
    for ``.``: ``"blog_PostController"``, since it names a Flask blueprint).
    """
    own_name = any("name" in vars(klass) for klass in cls.__mro__
                   if klass.__module__.split(".", 1)[0] != "specter_spoc" and klass is not object)
    try:
        inspect.signature(cls).bind()
        takes_none = True
    except (TypeError, ValueError):
        takes_none = False
    if takes_none and (own_name or not _is_controller(cls)):
        return cls()
    if _is_controller(cls):
        name = name.replace(".", "_")  # it names a Flask blueprint, where dots are not allowed
    try:
        inspect.signature(cls).bind(name)
    except (TypeError, ValueError):
        raise TypeError(
            f"cannot instantiate component {name!r}: {cls.__name__}() needs arguments the runtime cannot "
            "give. Give its __init__ defaults, e.g. super().__init__('my-name')."
        ) from None
    return cls(name)


def _join_prefix(app_prefix: Optional[str], own: Optional[str]) -> Optional[str]:
    if not app_prefix:
        return None
    return app_prefix.rstrip("/") + (own or "")


def attach_project(runtime: Any, project: Any, *, mode: Optional[str] = None, layout: Optional[Layout] = None,
                   echo: bool = False) -> Project:
    """Attach ``project`` (a :class:`Project`, a path or a settings module) to
    ``runtime`` before it boots. Returns the project.

    ``layout`` (SPOC's schema, defined in code) is used to load a project
    given by path; ``echo=True`` prints each step (mode, apps, what is
    registered) to stdout, as SPOC's ``echo`` flag promises.
    """
    say: Callable[[str], None] = (lambda text: print(f"[specter-spoc] {text}", flush=True)) if echo \
        else (lambda text: None)
    owned = not isinstance(project, Project)
    if owned:
        from .loader import load_project

        say(f"loading project {project}")
        project = load_project(project, mode=mode, layout=layout)
    elif mode is not None and mode != project.mode:
        raise ValueError(f"the project was loaded in mode {project.mode!r}, not {mode!r}; "
                         "pass mode= to load_project() instead.")
    elif layout is not None and layout is not project.layout:
        raise ValueError("the project was loaded with another layout; pass layout= to load_project() instead.")
    elif project.closed:
        raise ValueError("the project is closed; load it again with load_project().")
    say(f"mode {project.mode} ({'strict' if project.strict else 'lenient'}), apps {project.installed_apps}")
    try:
        runtime.project = project
        runtime.register_service(ProjectLifecycle(project, runtime))
        app = getattr(runtime, "app", None)
        if app is not None and "middleware" in project.applied_plugin_groups:
            apply_middleware(app, project.plugins)
        registered: List[str] = []
        for name, cls in project.lifecycle_components():
            instance = instantiate_component(cls, name)
            info = project.app(name.split(".", 1)[0])
            if _is_controller(cls):
                prefix = _join_prefix(info.url_prefix if info else None, getattr(instance, "url_prefix", None))
                runtime.register_controller(instance, url_prefix=prefix)
            elif isinstance(instance, Service):
                runtime.register_service(instance)
            else:
                runtime.register_handler(instance)
            registered.append(name)
        if app is not None:
            from .view_routes import views_controllers

            for views in views_controllers(project):
                runtime.register_controller(views, url_prefix=views.url_prefix)
                registered.append(views.name)
        logger.info("project %r attached: apps %s, components %s", project.base_dir.name,
                    project.installed_apps, registered)
        say(f"registered {registered or 'no lifecycle components'}; plugin groups applied: "
            f"{list(project.applied_plugin_groups) or 'none'}")
    except BaseException:
        runtime.project = None
        if owned:
            project.close()
        raise
    runtime._spoc_owns_project = owned
    if owned:
        runtime.add_cleanup(project.close)
    attached: Project = project  # loaded above when a path or module was given
    return attached


def detach_project(runtime: Any) -> None:
    """Undo :func:`attach_project` when boot fails before the runtime started
    (its cleanups then never run): shut down hooks still started, and close
    the project if the runtime loaded it. Safe to call twice."""
    project = getattr(runtime, "project", None)
    if not isinstance(project, Project) or project.closed:
        return
    if project.started:
        project.shutdown()
    if getattr(runtime, "_spoc_owns_project", False):
        project.close()
