"""The ``specter-spoc`` command line, and ``flask spoc`` for a Flask app.

``specter-spoc [--project PATH] [--mode M] [--strict/--lenient] [--debug] COMMAND``
acts on the project folder (default ``$SPECTER_SPOC_PROJECT`` or the current
folder); the shared options are also accepted after the command name.
``flask --app wsgi:create_app spoc COMMAND`` is a Flask ``AppGroup`` acting
on the app ``--app``/``FLASK_APP`` names: its runtime and project, not
whatever project sits in the working directory.

Commands:

- ``check``: print every diagnostic with its code; exit 1 on errors, else 0
  (``--boot`` also boots the app once, catching duplicate routes and
  services that fail to start);
- ``apps``, ``components``, ``settings`` (secrets masked), ``routes``
  (HTTP rules and Socket.IO events of the booted app): listings, ``--json``
  for machine-readable output;
- ``run``: serve on gevent with websockets (monkey-patches first), print the
  URL, log with timestamps, reload on changes with ``--reload``;
- ``new project NAME`` / ``new app NAME``: scaffold a working project or app,
  tests included.

A configuration that cannot be loaded (bad spoc.toml, INSTALLED_APPS not a
list, an app that cannot be imported in strict mode, a bad plugin URI, a
dependency cycle, no settings) prints one message naming the file, the key
and the fix, and exits with status 2; ``--debug`` adds the traceback.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Optional, TypeVar

import click

if TYPE_CHECKING:  # pragma: no cover
    from flask import Flask

    from .project.project import Project
    from .runtime import Runtime

#: environment variable naming the default project folder
PROJECT_ENV = "SPECTER_SPOC_PROJECT"
#: exit status for configuration that cannot be loaded / booted, or a taken port
EXIT_CONFIG = 2
#: exit status of a ``--reload`` child that must not be restarted
EXIT_NO_RESTART = 4

F = TypeVar("F", bound=Callable[..., Any])


class ConfigurationError(click.ClickException):
    """Printed as one message, exit status 2."""

    exit_code = EXIT_CONFIG

    def show(self, file: Any = None) -> None:
        click.echo(f"specter-spoc: {self.format_message()}", err=True)


# ------------------------------------------------------------ shared context
class Session:
    """What every command needs, built from the shared options: where the
    project comes from (a folder, or the Flask app of ``flask spoc``), and
    how to load it, boot it and report failures."""

    def __init__(self) -> None:
        self.project: str = "."
        self.project_given = False
        self.mode: Optional[str] = None
        self.strict: Optional[bool] = None
        self.debug = False

    @property
    def flask_info(self) -> Any:
        """Flask's ScriptInfo under ``flask spoc``, else ``None``."""
        ctx = click.get_current_context(silent=True)
        if ctx is None or "flask.cli" not in sys.modules:
            return None
        from flask.cli import ScriptInfo
        return ctx.find_object(ScriptInfo)

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Turn load/boot failures into one message and exit status 2."""
        from .project.diagnostics import DiagnosticError
        from .project.importer import ImportFailure

        try:
            yield
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except DiagnosticError as exc:
            self._traceback()
            body = "\n".join(d.format() for d in (exc.errors or exc.diagnostics))
            raise ConfigurationError(f"{exc.summary}:\n{body}") from None
        except ImportFailure as exc:
            self._traceback()
            raise ConfigurationError(f"{exc}. Fix the import, or run with --debug for the traceback.") from None
        except Exception as exc:
            self._traceback()
            hint = "" if self.debug else " (run with --debug for the traceback)"
            raise ConfigurationError(f"{type(exc).__name__}: {exc}{hint}") from None

    def _traceback(self) -> None:
        if self.debug:
            traceback.print_exc()

    @contextmanager
    def loaded(self, *, raise_on_error: bool = True) -> Iterator["Project"]:
        """The project, closed afterwards (under ``flask spoc``: the app's
        project, which the app keeps)."""
        if self.flask_info is not None:
            app = self.flask_app()
            project = app.extensions["specter_spoc"].project
            if project is None:
                raise ConfigurationError(f"the Flask app {app.name!r} was booted without a project "
                                         f"(boot(app, socketio) with no project=); this command lists a "
                                         f"project's contents: boot it with create_app(PATH) or project=PATH.")
            try:
                yield project
            finally:
                app.extensions["specter_spoc"].shutdown()  # the command ends the app flask loaded for it
            return
        from .project.loader import load_project

        with self.errors(), _quiet_project_log():
            project = load_project(self.project, mode=self.mode, strict=self.strict,
                                   raise_on_error=raise_on_error)
        try:
            yield project
        finally:
            project.close()

    @contextmanager
    def booted(self, project: "Project") -> Iterator["Flask"]:
        """The project's app, booted, and shut down afterwards."""
        if self.flask_info is not None:
            app = self.flask_app()
        else:
            from .app import create_app

            with self.errors(), _quiet_project_log():
                app = create_app(project)
        try:
            yield app
        finally:
            app.extensions["specter_spoc"].shutdown()

    def flask_app(self) -> "Flask":
        """The app ``flask --app`` names, which must carry a specter_spoc runtime."""
        info = self.flask_info
        if self.project_given:
            raise click.UsageError("under `flask spoc` the project is the app's (--app / FLASK_APP); drop "
                                   "--project, or use `specter-spoc --project PATH ...`.")
        with self.errors():
            app = info.load_app()
        if "specter_spoc" not in app.extensions:
            raise ConfigurationError(f"the Flask app {app.name!r} (--app / FLASK_APP) has no specter_spoc runtime "
                                     f"(app.extensions['specter_spoc']); build it with specter_spoc's "
                                     f"create_app(PATH) or call boot(app, socketio, project=PATH).")
        return app  # type: ignore[no-any-return]


def _store(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value is None or (isinstance(value, bool) and name == "debug" and not value):
            return
        session = ctx.ensure_object(Session)
        setattr(session, name, value)
        if name == "project" and ctx.get_parameter_source(param.name or "") not in (
                click.core.ParameterSource.DEFAULT, None):
            session.project_given = True
    return callback


def shared_options(fn: F, *, on_group: bool = False) -> F:
    """``--project``, ``--mode``, ``--strict/--lenient``, ``--debug``: on the
    group (with the defaults) and on every command (overriding the group's)."""
    from .project.config import MODES

    options = [
        click.option("--project", envvar=PROJECT_ENV if on_group else None, default="." if on_group else None,
                     show_default=on_group, type=click.Path(file_okay=True, dir_okay=True),
                     expose_value=False, callback=_store("project"),
                     help=f"Project folder (or settings module); default ${PROJECT_ENV} or the current folder."),
        click.option("--mode", type=click.Choice(MODES), default=None, expose_value=False,
                     callback=_store("mode"), help="Override SPOC_MODE / spoc.toml's mode."),
        click.option("--strict/--lenient", "strict", default=None, expose_value=False, callback=_store("strict"),
                     help="Fail on any error (default in production) or skip broken apps."),
        click.option("--debug", is_flag=True, default=False, expose_value=False, callback=_store("debug"),
                     help="Show tracebacks."),
    ]
    # a function collects options in reverse (click reverses them back); a Command appends them
    for option in (options if isinstance(fn, click.Command) else reversed(options)):
        fn = option(fn)
    return fn


pass_session: Callable[[Callable[..., Any]], Callable[..., Any]] = click.make_pass_decorator(Session, ensure=True)


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


def _report_diagnostics(project: "Project") -> None:
    """Lenient-mode problems, on stderr, before a listing."""
    for diag in project.diagnostics:
        click.echo(diag.format(), err=True)


def _emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str, sort_keys=False))


def _state(project: "Project") -> str:
    return f"mode {project.mode}, {'strict' if project.strict else 'lenient'}"


# ------------------------------------------------------------------ commands
@click.command("check")
@shared_options
@click.option("--boot", "with_boot", is_flag=True,
              help="Also boot the app and shut it down (finds duplicate routes, failing services...).")
@pass_session
def check_command(session: Session, with_boot: bool) -> None:
    """Print diagnostics; exit 1 when there are errors."""
    with session.loaded(raise_on_error=False) as project:
        for diag in project.diagnostics:
            click.echo(diag.format())
        errors, warnings = len(project.errors), len(project.warnings)
        if with_boot and not errors and session.flask_info is None:
            _monkey_patch()  # booting runs the app's greenlets (and e.g. a Redis listener) as a server would
            try:
                with _quiet_project_log():
                    from .app import create_app
                    create_app(project).extensions["specter_spoc"].shutdown()
            except Exception as exc:
                session._traceback()
                click.echo(f"boot failed: {type(exc).__name__}: {exc}")
                errors += 1
        if errors or warnings:
            click.echo(f"{errors} error(s), {warnings} warning(s) in {project.base_dir} ({_state(project)}).")
        else:
            click.echo(f"No problems found in {project.base_dir} ({_state(project)}, "
                       f"{len(project.installed_apps)} apps).")
    if errors:
        raise click.exceptions.Exit(1)


@click.command("apps")
@shared_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_session
def apps_command(session: Session, as_json: bool) -> None:
    """List installed apps in boot order, and skipped apps with the reason."""
    with session.loaded() as project:
        if as_json:
            _emit_json({"mode": project.mode, "apps": [a.describe() for a in project.apps],
                        "skipped": dict(project.skipped_apps)})
            return
        _report_diagnostics(project)
        click.echo(f"mode {project.mode} ({'strict' if project.strict else 'lenient'}), {len(project.apps)} app(s):")
        for index, info in enumerate(project.apps, 1):
            deps = ", ".join(info.depends_on) or "-"
            click.echo(f"{index:>3}. {info.name:<16} module={info.module} depends_on={deps} "
                       f"url_prefix={info.url_prefix or '-'} modules={','.join(info.modules) or '-'} "
                       f"source={info.source}")
        for name, reason in project.skipped_apps.items():
            click.echo(f"  skipped {name}: {reason}")


@click.command("components")
@shared_options
@click.option("--type", "type_name", default=None, help="Only this component type (e.g. services).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_session
def components_command(session: Session, type_name: Optional[str], as_json: bool) -> None:
    """List registered components by type (``<app>.<Name>``)."""
    with session.loaded() as project:
        types = list(project.components.types)
        if type_name is not None:
            resolved = project.components.resolve_type(type_name)
            if resolved is None:
                raise ConfigurationError(f"no component type {type_name!r}; known types: {', '.join(types)}.")
            types = [resolved]
        lifecycle = {name for name, _ in project.lifecycle_components()}
        data: Dict[str, List[Dict[str, Any]]] = {}
        for kind in types:
            data[kind] = []
            for name in project.components.of_type(kind):
                info = project.components.info(kind, name)
                if info is not None:
                    data[kind].append({"name": name, "object": repr(info.obj), "meta": dict(info.meta),
                                       "booted_by_runtime": name in lifecycle})
        if as_json:
            _emit_json(data)
            return
        _report_diagnostics(project)
        for kind, rows in data.items():
            click.echo(f"{kind} ({len(rows)}):")
            for row in rows:
                extra = {k: v for k, v in row["meta"].items() if k != "type"}  # the heading names the type
                meta = f" {extra}" if extra else ""
                booted = " [booted]" if row["booted_by_runtime"] else ""
                click.echo(f"  {row['name']}: {row['object']}{meta}{booted}")


@click.command("settings")
@shared_options
@click.option("--env", "with_env", is_flag=True, help="Also show the variables read from .env.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_session
def settings_command(session: Session, with_env: bool, as_json: bool) -> None:
    """Show the settings (secret-looking values masked)."""
    with session.loaded() as project:
        settings = project.masked_settings()
        dotenv = project.masked_dotenv() if with_env else None
        if as_json:
            _emit_json({"mode": project.mode, "strict": project.strict, "settings_file": str(project.settings_file),
                        "settings": settings, **({"dotenv": dotenv} if dotenv is not None else {})})
            return
        _report_diagnostics(project)
        click.echo(f"# {project.settings_file} ({_state(project)})")
        for key in sorted(settings):
            click.echo(f"{key} = {settings[key]!r}")
        if dotenv is not None:
            click.echo("# .env")
            for key in sorted(dotenv):
                click.echo(f"{key}={dotenv[key]}")


@click.command("routes")
@shared_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_session
def routes_command(session: Session, as_json: bool) -> None:
    """Boot the app, list its HTTP routes and Socket.IO events, shut it down."""
    with session.loaded() as project, session.booted(project) as app:
        routes = [{"rule": rule.rule, "methods": sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}),
                   "endpoint": rule.endpoint} for rule in app.url_map.iter_rules()]
        routes.sort(key=lambda r: (r["rule"], r["methods"]))
        events = _socket_events(app.extensions.get("specter_spoc"), app)
    if as_json:
        _emit_json({"routes": routes, "events": events})
        return
    _report_diagnostics(project)
    width = max((len(",".join(r["methods"])) for r in routes), default=6)
    for row in routes:
        click.echo(f"{','.join(row['methods']):<{width}}  {row['rule']:<40} {row['endpoint']}")
    for event in events:
        click.echo(f"{'SOCKET':<{width}}  {event['event']:<40} namespace={event['namespace']} "
                   f"subscribers={event['subscribers']}")


def _socket_events(runtime: Optional[Runtime], app: "Flask") -> List[Dict[str, Any]]:
    events: List[Dict[str, Any]] = []
    seen = set()
    if runtime is not None:
        for name, count in sorted(runtime.socket_ingress.events().items()):
            events.append({"event": name, "namespace": "/", "subscribers": count})
            seen.add(("/", name))
    socketio = app.extensions.get("socketio")
    handlers = getattr(getattr(socketio, "server", None), "handlers", None) or {}
    for namespace, table in sorted(handlers.items()):
        for name in sorted(table):
            if (namespace, name) not in seen and name not in ("connect", "disconnect"):
                events.append({"event": name, "namespace": namespace, "subscribers": 1})
    return events


# ----------------------------------------------------------------------- run
@click.command("run")
@shared_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535),
              help="TCP port (0: a free one; the URL printed says which).")
@click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
                                               case_sensitive=False), default=None,
              help="Root log level (default INFO, or what the LOGGING setting says).")
@click.option("--reload", "reload", is_flag=True, default=False,
              help="Restart when a source or config file changes (development mode only).")
@pass_session
def run_command(session: Session, host: str, port: int, log_level: Optional[str], reload: bool) -> None:
    """Serve on gevent (HTTP + websockets) until SIGTERM/SIGINT."""
    from .web import devserver

    _monkey_patch()
    inherited = devserver.inherited_listener()
    if reload and inherited is None:
        raise click.exceptions.Exit(_run_reloader(session, host, port))
    try:
        listener = inherited if inherited is not None else devserver.listen(host, port)
    except devserver.PortInUseError as exc:
        click.echo(f"specter-spoc run: {exc.strerror}", err=True)
        raise click.exceptions.Exit(EXIT_CONFIG) from None
    devserver.configure_logging(log_level)  # this process serves: its logging is ours to set
    try:
        _serve(session, listener, log_level, reloading=inherited is not None)
    finally:
        listener.close()


def _serve(session: Session, listener: Any, log_level: Optional[str], *, reloading: bool) -> None:
    from .app import serve
    from .web import devserver

    with session.loaded() as project:
        _report_diagnostics(project)
        if reloading and project.mode != "development":
            click.echo(f"specter-spoc run: --reload is for development; the project runs in mode {project.mode} "
                       f"(pass --mode development, or drop --reload)", err=True)
            raise click.exceptions.Exit(EXIT_NO_RESTART)
        logging_config = getattr(project.settings, "LOGGING", None)
        if logging_config:
            with session.errors():
                devserver.configure_logging(log_level, logging_config)
        with session.booted(project) as app:
            restart: List[str] = []
            if reloading:
                def request_restart(paths: List[str]) -> None:
                    restart.extend(paths)
                    click.echo(f" * {paths[0]} changed, restarting", err=True)
                    os.kill(os.getpid(), __import__("signal").SIGTERM)  # serve() shuts down cleanly
                devserver.watch_and_restart([Path(project.base_dir)], request_restart)
            if not reloading:
                url = devserver.url_of(listener)
                click.echo(f" * specter-spoc serving {app.name!r} on {url} "
                           f"(mode {project.mode}; CTRL+C to stop)", err=True)
                console = app.extensions.get("specter_spoc.console")
                if console is not None:
                    click.echo(f" * runtime console: {url.rstrip('/')}{console.rule}", err=True)
            serve(app, listener=listener, log=devserver.access_logger(project.mode))
    if restart:
        raise click.exceptions.Exit(devserver.RELOAD_EXIT)


def _run_reloader(session: Session, host: str, port: int) -> int:
    """The watching parent of ``run --reload``: binds once (same URL across
    restarts, a taken port reported here), then runs the server as a child."""
    from .web import devserver

    try:
        listener = devserver.listen(host, port)
    except devserver.PortInUseError as exc:
        click.echo(f"specter-spoc run: {exc.strerror}", err=True)
        return EXIT_CONFIG
    root = Path(session.project)
    roots = [root if root.is_dir() else root.parent]
    if session.flask_info is not None:
        argv = [sys.executable, "-m", "flask", *sys.argv[1:]]
    else:
        argv = [sys.executable, "-m", "specter_spoc.cli", *sys.argv[1:]]
    click.echo(f" * specter-spoc serving on {devserver.url_of(listener)}, restarting when files under "
               f"{', '.join(str(r.resolve()) for r in roots)} change (CTRL+C to stop)", err=True)
    try:
        code = devserver.run_with_reloader(argv, listener, roots, final_codes=(EXIT_NO_RESTART,),
                                           echo=lambda line: click.echo(f" * {line}", err=True))
    finally:
        listener.close()
    return EXIT_CONFIG if code == EXIT_NO_RESTART else code


def _monkey_patch() -> None:
    from gevent import monkey

    if not monkey.is_module_patched("socket"):
        monkey.patch_all()


# ------------------------------------------------------------------ scaffold
@click.group("new")
def new_group() -> None:
    """Scaffold a project or an app (tests included)."""


@new_group.command("project")
@click.argument("name")
@click.option("--app", "app_name", default="core", show_default=True, help="Name of the first app.")
@click.option("--into", "parent", default=".", show_default=True,
              type=click.Path(file_okay=False, dir_okay=True), help="Folder to create the project in.")
def new_project_command(name: str, app_name: str, parent: str) -> None:
    """Create NAME/ with settings, spoc.toml, .env.example, wsgi.py, tests and one app."""
    from .scaffold import ScaffoldError, new_project

    try:
        created = new_project(Path(parent), name, app_name=app_name)
    except ScaffoldError as exc:
        raise ConfigurationError(str(exc)) from None
    click.echo(f"created {created}/")
    click.echo(f"next: cd {created} && specter-spoc check && python -m pytest && specter-spoc run --reload")


@new_group.command("app")
@click.argument("name")
@click.option("--project", "project", envvar=PROJECT_ENV, default=".", show_default=True,
              type=click.Path(file_okay=False, dir_okay=True), help="Project folder.")
def new_app_command(name: str, project: str) -> None:
    """Create apps/NAME (metadata, models, services, controllers) and tests/test_NAME.py."""
    from .scaffold import ScaffoldError, new_app

    try:
        created = new_app(Path(project), name)
    except ScaffoldError as exc:
        raise ConfigurationError(str(exc)) from None
    click.echo(f"created {', '.join(str(p) for p in created)}")
    click.echo(f'next: add "{name}" to INSTALLED_APPS in your settings, then run: specter-spoc check')


# -------------------------------------------------------------------- groups
#: every command, on both groups (``cli_live`` adds its own through ``add_commands``)
COMMANDS: List[click.Command] = [check_command, apps_command, components_command, settings_command,
                                 routes_command, run_command, new_group]


@click.group("specter-spoc")
@click.version_option(package_name="specter-spoc", prog_name="specter-spoc")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """specter_spoc: check, inspect, scaffold and serve a SPOC-style project."""
    ctx.ensure_object(Session)


cli = shared_options(cli, on_group=True)


def _flask_group() -> click.Group:
    from flask.cli import AppGroup

    @click.group("spoc", cls=AppGroup)
    def flask_group() -> None:
        """specter_spoc commands for the app --app / FLASK_APP names."""

    return flask_group


flask_group: click.Group = _flask_group()


def add_commands(*commands: click.Command) -> None:
    """Register commands on both ``specter-spoc`` and ``flask spoc``."""
    for command in commands:
        cli.add_command(command)
        flask_group.add_command(command)


add_commands(*COMMANDS)

from .console.commands import LIVE_COMMANDS  # noqa: E402  top / tree / queue: against a running app

for _command in LIVE_COMMANDS:
    cli.add_command(_command)
    flask_group.add_command(_command)


def main(argv: Optional[List[str]] = None) -> None:
    """Console-script entry point. Commands that boot the app (``run``,
    ``check --boot``) monkey-patch before anything else is imported."""
    args = sys.argv[1:] if argv is None else argv
    if "run" in args or "--boot" in args:
        _monkey_patch()
    cli.main(args=args, prog_name="specter-spoc")


if __name__ == "__main__":  # pragma: no cover
    main()
