"""The ``specter-spoc`` command line, also available as ``flask spoc``.

Commands (each takes ``--project PATH`` (default: ``$SPECTER_SPOC_PROJECT``
or the current folder), ``--mode``, ``--strict/--lenient`` and ``--debug``):

- ``check``: print every diagnostic with its code; exit 1 on errors, else 0
  (``--boot`` also boots the app once, catching duplicate routes and
  services that fail to start);
- ``apps``, ``components``, ``settings`` (secrets masked), ``routes``
  (HTTP rules and Socket.IO events of the booted app): listings, ``--json``
  for machine-readable output;
- ``run``: serve the project on gevent with websockets (monkey-patches first),
  ``--host`` (127.0.0.1) and ``--port`` (5000);
- ``new app NAME``: scaffold ``apps/NAME`` (metadata, models, services and a
  working controller).

A configuration that cannot be loaded (bad spoc.toml, INSTALLED_APPS not a
list, an app that cannot be imported in strict mode, a bad plugin URI, a
dependency cycle, no settings) prints one message naming the file, the key
and the fix, and exits with status 2; ``--debug`` adds the traceback.
"""
from __future__ import annotations

import json
import logging
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import click

#: environment variable naming the default project folder
PROJECT_ENV = "SPECTER_SPOC_PROJECT"
#: exit status for configuration that cannot be loaded / booted
EXIT_CONFIG = 2


class ConfigurationError(click.ClickException):
    """Printed as one message, exit status 2."""

    exit_code = EXIT_CONFIG

    def show(self, file: Any = None) -> None:
        click.echo(f"specter-spoc: {self.format_message()}", err=True)


class _Options:
    def __init__(self, project: str, mode: Optional[str], strict: Optional[bool], debug: bool) -> None:
        self.project = project
        self.mode = mode
        self.strict = strict
        self.debug = debug


def _project_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    from .project.config import MODES

    options = [
        click.option("--project", "project", envvar=PROJECT_ENV, default=".", show_default=True,
                     type=click.Path(file_okay=True, dir_okay=True),
                     help=f"Project folder (or settings module); default ${PROJECT_ENV} or the current folder."),
        click.option("--mode", type=click.Choice(MODES), default=None,
                     help="Override SPOC_MODE / spoc.toml's mode."),
        click.option("--strict/--lenient", "strict", default=None,
                     help="Fail on any error (default in production) or skip broken apps."),
        click.option("--debug", is_flag=True, default=False, help="Show tracebacks."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _opts(project: str, mode: Optional[str], strict: Optional[bool], debug: bool) -> _Options:
    return _Options(project, mode, strict, debug)


@contextmanager
def _quiet_project_log() -> Iterator[None]:
    """The CLI prints diagnostics itself; silence the loader's log lines."""
    log = logging.getLogger("specter_spoc.project")
    previous = log.level
    log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        log.setLevel(previous)


@contextmanager
def _config_errors(debug: bool) -> Iterator[None]:
    """Turn load/boot failures into one message and exit status 2."""
    from .project.diagnostics import DiagnosticError
    from .project.importer import ImportFailure

    try:
        yield
    except (click.ClickException, click.exceptions.Exit, click.Abort):
        raise
    except DiagnosticError as exc:
        if debug:
            traceback.print_exc()
        errors = exc.errors or exc.diagnostics
        body = "\n".join(d.format() for d in errors)
        raise ConfigurationError(f"{exc.summary}:\n{body}") from None
    except ImportFailure as exc:
        if debug:
            traceback.print_exc()
        raise ConfigurationError(f"{exc}. Fix the import, or run with --debug for the traceback.") from None
    except Exception as exc:
        if debug:
            traceback.print_exc()
        name = type(exc).__name__
        hint = "" if debug else " (run with --debug for the traceback)"
        raise ConfigurationError(f"{name}: {exc}{hint}") from None


def _load(opts: _Options, *, raise_on_error: bool = True) -> Any:
    from .project.loader import load_project

    with _quiet_project_log():
        return load_project(opts.project, mode=opts.mode, strict=opts.strict, raise_on_error=raise_on_error)


def _report_diagnostics(project: Any) -> None:
    """Lenient-mode problems, on stderr, before a listing."""
    for diag in project.diagnostics:
        click.echo(diag.format(), err=True)


def _emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str, sort_keys=False))


# ------------------------------------------------------------------ commands
@click.command("check")
@_project_options
@click.option("--boot", "with_boot", is_flag=True,
              help="Also boot the app and shut it down (finds duplicate routes, failing services...).")
def check_command(project: str, mode: Optional[str], strict: Optional[bool], debug: bool, with_boot: bool) -> None:
    """Print diagnostics; exit 1 when there are errors."""
    opts = _opts(project, mode, strict, debug)
    with _config_errors(debug):
        proj = _load(opts, raise_on_error=False)
    try:
        for diag in proj.diagnostics:
            click.echo(diag.format())
        errors, warnings = len(proj.errors), len(proj.warnings)
        if with_boot and not errors:
            try:
                with _quiet_project_log():
                    app = _boot_app(proj)
                app.extensions["specter_spoc"].shutdown()
            except Exception as exc:
                if debug:
                    traceback.print_exc()
                click.echo(f"boot failed: {type(exc).__name__}: {exc}")
                errors += 1
        state = "strict" if proj.strict else "lenient"
        if errors or warnings:
            click.echo(f"{errors} error(s), {warnings} warning(s) in {proj.base_dir} "
                       f"(mode {proj.mode}, {state}).")
        else:
            click.echo(f"No problems found in {proj.base_dir} (mode {proj.mode}, {state}, "
                       f"{len(proj.installed_apps)} apps).")
    finally:
        proj.close()
    if errors:
        raise click.exceptions.Exit(1)


@click.command("apps")
@_project_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def apps_command(project: str, mode: Optional[str], strict: Optional[bool], debug: bool, as_json: bool) -> None:
    """List installed apps in boot order, and skipped apps with the reason."""
    with _config_errors(debug):
        proj = _load(_opts(project, mode, strict, debug))
    try:
        if as_json:
            _emit_json({"mode": proj.mode, "apps": [a.describe() for a in proj.apps],
                        "skipped": dict(proj.skipped_apps)})
            return
        _report_diagnostics(proj)
        click.echo(f"mode {proj.mode} ({'strict' if proj.strict else 'lenient'}), {len(proj.apps)} app(s):")
        for index, info in enumerate(proj.apps, 1):
            deps = ", ".join(info.depends_on) or "-"
            click.echo(f"{index:>3}. {info.name:<16} module={info.module} depends_on={deps} "
                       f"url_prefix={info.url_prefix or '-'} modules={','.join(info.modules) or '-'} "
                       f"source={info.source}")
        for name, reason in proj.skipped_apps.items():
            click.echo(f"  skipped {name}: {reason}")
    finally:
        proj.close()


@click.command("components")
@_project_options
@click.option("--type", "type_name", default=None, help="Only this component type (e.g. services).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def components_command(project: str, mode: Optional[str], strict: Optional[bool], debug: bool,
                       type_name: Optional[str], as_json: bool) -> None:
    """List registered components by type (``<app>.<Name>``)."""
    with _config_errors(debug):
        proj = _load(_opts(project, mode, strict, debug))
    try:
        types = list(proj.components.types)
        if type_name is not None:
            resolved = proj.components.resolve_type(type_name)
            if resolved is None:
                raise ConfigurationError(f"no component type {type_name!r}; known types: {', '.join(types)}.")
            types = [resolved]
        lifecycle = {name for name, _ in proj.lifecycle_components()}
        data: Dict[str, List[Dict[str, Any]]] = {}
        for kind in types:
            data[kind] = [{"name": name, "object": repr(proj.components.info(kind, name).obj),
                           "meta": dict(proj.components.info(kind, name).meta),
                           "booted_by_runtime": name in lifecycle}
                          for name in proj.components.of_type(kind)]
        if as_json:
            _emit_json(data)
            return
        _report_diagnostics(proj)
        for kind, rows in data.items():
            click.echo(f"{kind} ({len(rows)}):")
            for row in rows:
                extra = {k: v for k, v in row["meta"].items() if k != "type"}  # the heading names the type
                meta = f" {extra}" if extra else ""
                booted = " [booted]" if row["booted_by_runtime"] else ""
                click.echo(f"  {row['name']}: {row['object']}{meta}{booted}")
    finally:
        proj.close()


@click.command("settings")
@_project_options
@click.option("--env", "with_env", is_flag=True, help="Also show the variables read from .env.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def settings_command(project: str, mode: Optional[str], strict: Optional[bool], debug: bool, with_env: bool,
                     as_json: bool) -> None:
    """Show the settings (secret-looking values masked)."""
    with _config_errors(debug):
        proj = _load(_opts(project, mode, strict, debug))
    try:
        settings = proj.masked_settings()
        dotenv = proj.masked_dotenv() if with_env else None
        if as_json:
            _emit_json({"mode": proj.mode, "strict": proj.strict, "settings_file": str(proj.settings_file),
                        "settings": settings, **({"dotenv": dotenv} if dotenv is not None else {})})
            return
        _report_diagnostics(proj)
        click.echo(f"# {proj.settings_file} (mode {proj.mode}, {'strict' if proj.strict else 'lenient'})")
        for key in sorted(settings):
            click.echo(f"{key} = {settings[key]!r}")
        if dotenv is not None:
            click.echo("# .env")
            for key in sorted(dotenv):
                click.echo(f"{key}={dotenv[key]}")
    finally:
        proj.close()


def _boot_app(proj: Any) -> Any:
    from .runtime import create_app

    return create_app(proj)


@click.command("routes")
@_project_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def routes_command(project: str, mode: Optional[str], strict: Optional[bool], debug: bool, as_json: bool) -> None:
    """Boot the app, list its HTTP routes and Socket.IO events, shut it down."""
    with _config_errors(debug):
        proj = _load(_opts(project, mode, strict, debug))
    try:
        with _config_errors(debug):
            app = _boot_app(proj)
        runtime = app.extensions["specter_spoc"]
        try:
            routes = [{"rule": rule.rule, "methods": sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}),
                       "endpoint": rule.endpoint} for rule in app.url_map.iter_rules()]
            routes.sort(key=lambda r: (r["rule"], r["methods"]))
            events = _socket_events(runtime, app)
        finally:
            runtime.shutdown()
        if as_json:
            _emit_json({"routes": routes, "events": events})
            return
        _report_diagnostics(proj)
        width = max((len(",".join(r["methods"])) for r in routes), default=6)
        for row in routes:
            click.echo(f"{','.join(row['methods']):<{width}}  {row['rule']:<40} {row['endpoint']}")
        for event in events:
            click.echo(f"{'SOCKET':<{width}}  {event['event']:<40} namespace={event['namespace']} "
                       f"subscribers={event['subscribers']}")
    finally:
        proj.close()


def _socket_events(runtime: Any, app: Any) -> List[Dict[str, Any]]:
    events: List[Dict[str, Any]] = []
    ingress = getattr(runtime, "socket_ingress", None)
    seen = set()
    if ingress is not None and callable(getattr(ingress, "events", None)):
        for name, count in sorted(ingress.events().items()):
            events.append({"event": name, "namespace": "/", "subscribers": count})
            seen.add(("/", name))
    socketio = app.extensions.get("socketio")
    handlers = getattr(getattr(socketio, "server", None), "handlers", None) or {}
    for namespace, table in sorted(handlers.items()):
        for name in sorted(table):
            if (namespace, name) not in seen and name not in ("connect", "disconnect"):
                events.append({"event": name, "namespace": namespace, "subscribers": 1})
    return events


@click.command("run")
@_project_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535), help="TCP port.")
def run_command(project: str, mode: Optional[str], strict: Optional[bool], debug: bool, host: str, port: int) -> None:
    """Serve the project on gevent (HTTP + websockets) until SIGTERM/SIGINT."""
    _monkey_patch()
    with _config_errors(debug):
        proj = _load(_opts(project, mode, strict, debug))
    try:
        _report_diagnostics(proj)
        with _config_errors(debug):
            app = _boot_app(proj)
        from .runtime import serve

        serve(app, host=host, port=port)
    finally:
        proj.close()


def _monkey_patch() -> None:
    from gevent import monkey

    if not monkey.is_module_patched("socket"):
        monkey.patch_all()


# ----------------------------------------------------------------- scaffold
_SCAFFOLD: Dict[str, str] = {
    "__init__.py": '''"""The {name} app."""
from specter_spoc.project import AppConfig

app = AppConfig(
    name="{name}",
    url_prefix="/{name}",
    depends_on=[],
    description="{title} app",
)
''',
    "models.py": '''"""{title} models: plain data, registered as components."""
from __future__ import annotations

import dataclasses

from specter_spoc.project import model


@model
@dataclasses.dataclass
class {cls}Item:
    id: int
    title: str
''',
    "services.py": '''"""{title} services: state and background work, started and stopped by the runtime."""
from __future__ import annotations

from typing import Any, Dict

from specter_spoc import Service
from specter_spoc.project import service


@service
class {cls}Store(Service):
    """Keeps the app's items; registered in the runtime as "{name}.store"."""

    def __init__(self) -> None:
        super().__init__("{name}.store", {{"items": []}})

    def add(self, title: str) -> Dict[str, Any]:
        item = {{"id": len(self.state["items"]) + 1, "title": title}}
        self.set_state({{"items": [*self.state["items"], item]}})
        return item
''',
    "controllers.py": '''"""{title} controllers: HTTP routes and Socket.IO events under one lifecycle."""
from __future__ import annotations

from specter_spoc import Controller, expect_json, registry
from specter_spoc.project import controller


@controller
class {cls}Controller(Controller):
    name = "{name}"

    def build_routes(self, router):
        @router.route("/", methods=["GET"])
        def index():
            return {{"app": "{name}", "items": registry.resolve("{name}.store").state["items"]}}

        @router.route("/", methods=["POST"])
        def create():
            data = expect_json()
            return registry.resolve("{name}.store").add(str(data.get("title", ""))), 201

    def build_events(self, handler):
        handler.on("{name}:ping", lambda data=None: {{"pong": True}})
''',
}


@click.group("new")
def new_group() -> None:
    """Scaffold project parts."""


@new_group.command("app")
@click.argument("name")
@click.option("--project", "project", envvar=PROJECT_ENV, default=".", show_default=True,
              type=click.Path(file_okay=False, dir_okay=True), help="Project folder.")
def new_app_command(name: str, project: str) -> None:
    """Create apps/NAME with __init__.py, models.py, services.py and controllers.py."""
    if not name.isidentifier() or not name.islower():
        raise ConfigurationError(f"app name {name!r} must be a lower-case Python identifier, e.g. 'orders'.")
    root = Path(project)
    if not root.is_dir():
        raise ConfigurationError(f"project folder {project!r} does not exist; pass --project PATH.")
    target = root / "apps" / name
    if target.exists():
        raise ConfigurationError(f"{target} already exists; choose another name or remove it.")
    target.mkdir(parents=True)
    cls = "".join(part.capitalize() for part in name.split("_"))
    title = name.replace("_", " ").capitalize()
    for filename, template in _SCAFFOLD.items():
        (target / filename).write_text(template.format(name=name, cls=cls, title=title))
    click.echo(f"created {target}/ ({', '.join(_SCAFFOLD)})")
    click.echo(f'next: add "{name}" to INSTALLED_APPS in your settings, then run: specter-spoc check')


# --------------------------------------------------------------------- groups
_COMMANDS = (check_command, apps_command, components_command, settings_command, routes_command, run_command,
             new_group)


@click.group("specter-spoc")
@click.version_option(package_name="specter-spoc", prog_name="specter-spoc")
def cli() -> None:
    """specter_spoc: check, inspect, scaffold and serve a SPOC-style project."""


@click.group("spoc")
def flask_group() -> None:
    """specter_spoc project commands (same as the specter-spoc console script)."""


for _command in _COMMANDS:
    cli.add_command(_command)
    flask_group.add_command(_command)


def main(argv: Optional[List[str]] = None) -> None:
    """Console-script entry point. ``run`` monkey-patches before anything else."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["run"]:
        _monkey_patch()
    cli.main(args=args, prog_name="specter-spoc")


if __name__ == "__main__":  # pragma: no cover
    main()
