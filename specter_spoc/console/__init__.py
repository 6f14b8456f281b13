"""See a running process: the runtime console, Prometheus metrics and the
data behind ``specter-spoc top / tree / queue``.

From an app factory (``create_app()`` does this from the settings)::

    runtime = boot(app, socketio, services=[...])
    install_console(runtime, token=os.environ.get("CONSOLE_TOKEN"))
    install_metrics(runtime)

Settings read by :func:`console_settings_from_config`:

=====================  =======================================================
``CONSOLE_ENABLED``    serve the console; default on in development only
``CONSOLE_TOKEN``      token the page, API, CLI and socket must present;
                       required outside development and test (or an auth
                       callable)
``CONSOLE_RULE``       URL of the page (default ``/_spoc/console``)
``CONSOLE_ACTIONS``    allow restart / requeue / purge; default on in
                       development and test only
``METRICS_ENABLED``    serve Prometheus metrics at ``METRICS_RULE``
                       (default ``/_spoc/metrics``); default off, needs
                       ``pip install 'specter-spoc[metrics]'``
=====================  =======================================================
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

from .auth import AuthCallable, ConsoleAuth, ConsoleConfigError, is_production
from .live import ConsoleService, register_namespace

__all__ = ["install_console", "install_metrics", "console_settings_from_config", "ConsolePlan",
           "ConsoleConfigError", "ConsoleService", "DEFAULT_RULE", "DEFAULT_METRICS_RULE"]

DEFAULT_RULE = "/_spoc/console"
DEFAULT_METRICS_RULE = "/_spoc/metrics"
_CONSOLE_KEY = "specter_spoc.console"
_METRICS_KEY = "specter_spoc.metrics"


def _check_rule(rule: object, key: str) -> str:
    if not isinstance(rule, str) or not rule.startswith("/") or rule.rstrip("/") == "":
        raise ConsoleConfigError(f"{key} must be a URL path like '/_spoc/console', got {rule!r}.")
    return rule.rstrip("/")


def _own(runtime: Any, service: Any) -> None:
    """The runtime owns and starts ``service``: adopted (kept out of the
    app's own ``runtime.services`` and health, stopped at the very end of
    shutdown), or registered on a runtime without ``adopt()``."""
    adopt = getattr(runtime, "adopt", None)
    if callable(adopt):
        adopt(service)
    else:
        runtime.register_service(service)


def _mode(runtime: Any) -> Optional[str]:
    mode: Optional[str] = runtime.mode or runtime.app.config.get("SPOC_MODE")
    return mode


def install_console(runtime: Any, *, rule: str = DEFAULT_RULE, token: Optional[str] = None,
                    auth: Optional[AuthCallable] = None, actions: Optional[bool] = None,
                    interval: float = 1.0, redis_url: Optional[str] = None) -> ConsoleService:
    """Serve the live console of ``runtime`` at ``rule``; returns its service.

    Call it right after ``boot()`` (before the first request); the runtime
    owns the console's service, so ``shutdown()`` stops it. ``actions``
    defaults to on in development and test. ``redis_url`` (default the app's
    ``REDIS_URL``) shows every process of the app side by side. Production
    mode without ``token`` or ``auth`` raises :class:`ConsoleConfigError`.
    """
    app = runtime.app
    if app is None or runtime.socketio is None:
        raise ConsoleConfigError("install_console() needs a runtime booted with a Flask app and a SocketIO.")
    if _CONSOLE_KEY in app.extensions:
        raise ConsoleConfigError(f"the runtime console is already installed at "
                                 f"{app.extensions[_CONSOLE_KEY].rule}; install it once.")
    rule = _check_rule(rule, "CONSOLE_RULE")
    mode = _mode(runtime)
    console_auth = ConsoleAuth(mode=mode, token=token or None, auth=auth)
    enabled_actions = (not is_production(mode)) if actions is None else bool(actions)
    url = redis_url if redis_url is not None else app.config.get("REDIS_URL")
    console = ConsoleService(runtime, console_auth, actions=enabled_actions, interval=interval,
                             redis_url=url or None)
    console.rule = rule
    from .page import console_blueprint

    app.register_blueprint(console_blueprint(console, rule))
    register_namespace(console)
    app.extensions[_CONSOLE_KEY] = console
    _own(runtime, console)
    return console


def install_metrics(runtime: Any, rule: str = DEFAULT_METRICS_RULE, *, sample_interval: Optional[float] = None) -> Any:
    """Serve Prometheus metrics of ``runtime`` at ``rule``; returns the
    :class:`~.metrics.MetricsService`. Needs the ``metrics`` extra. The
    endpoint has no auth of its own: expose it to your scraper only (or put
    it behind your proxy's auth). ``sample_interval`` (multi-process mode
    only) is how often each process refreshes its gauges (default 5 s)."""
    from .metrics import MetricsService, arm_boot_timing, metrics_response, observe_shutdown

    app = runtime.app
    if app is None:
        raise ConsoleConfigError("install_metrics() needs a runtime booted with a Flask app.")
    if _METRICS_KEY in app.extensions:
        raise ConsoleConfigError("Prometheus metrics are already installed on this app; install them once.")
    rule = _check_rule(rule, "METRICS_RULE")
    arm_boot_timing()
    metrics = MetricsService(runtime, sample_interval=sample_interval)

    def spoc_metrics() -> Any:
        return metrics_response(metrics)

    app.add_url_rule(rule, "spoc_metrics", spoc_metrics, methods=["GET"])
    app.extensions[_METRICS_KEY] = metrics
    _own(runtime, metrics)
    add_cleanup = getattr(runtime, "add_cleanup", None)
    if callable(add_cleanup):
        add_cleanup(lambda: observe_shutdown(runtime, metrics))
    return metrics


def _flag(config: Mapping[str, Any], key: str, default: bool) -> bool:
    value = config.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConsoleConfigError(f"{key} must be true or false, got {value!r}.")


@dataclass(frozen=True)
class ConsolePlan:
    """What the settings ask for; :meth:`install` applies it to a booted runtime."""

    console: bool
    rule: str = DEFAULT_RULE
    token: Optional[str] = None
    actions: Optional[bool] = None
    metrics: bool = False
    metrics_rule: str = DEFAULT_METRICS_RULE

    def install(self, runtime: Any, *, auth: Optional[AuthCallable] = None) -> None:
        if self.console:
            install_console(runtime, rule=self.rule, token=self.token, auth=auth, actions=self.actions)
        if self.metrics:
            install_metrics(runtime, rule=self.metrics_rule)

    def urls(self, base: str) -> Mapping[str, str]:
        """Where to look, for a startup banner: ``{"console": url, "metrics": url}``."""
        out = {}
        if self.console:
            out["console"] = base.rstrip("/") + self.rule
        if self.metrics:
            out["metrics"] = base.rstrip("/") + self.metrics_rule
        return out


def console_settings_from_config(config: Mapping[str, Any], mode: Optional[str]) -> ConsolePlan:
    """Read the CONSOLE_* / METRICS_* settings (see the module docstring).
    Call it before ``boot()`` (it arms boot timing for ``spoc_boot_seconds``)
    and ``plan.install(runtime)`` after. Production with the console enabled
    but no ``CONSOLE_TOKEN`` raises :class:`ConsoleConfigError` naming the key."""
    production = is_production(mode)
    console = _flag(config, "CONSOLE_ENABLED", (mode or "development").strip().lower() == "development")
    token = config.get("CONSOLE_TOKEN") or None
    if token is not None and not isinstance(token, str):
        raise ConsoleConfigError(f"CONSOLE_TOKEN must be a string, got {type(token).__name__}.")
    if console and production and not token:
        raise ConsoleConfigError(
            f"CONSOLE_ENABLED is on in {mode} mode but CONSOLE_TOKEN is not set: set CONSOLE_TOKEN "
            "(e.g. CONSOLE_TOKEN=$(python -c 'import secrets; print(secrets.token_urlsafe(32))')) or turn "
            "the console off with CONSOLE_ENABLED = False.")
    actions = None if config.get("CONSOLE_ACTIONS") in (None, "") else _flag(config, "CONSOLE_ACTIONS", False)
    metrics = _flag(config, "METRICS_ENABLED", False)
    plan = ConsolePlan(console=console, rule=_check_rule(config.get("CONSOLE_RULE") or DEFAULT_RULE, "CONSOLE_RULE"),
                       token=token, actions=actions, metrics=metrics,
                       metrics_rule=_check_rule(config.get("METRICS_RULE") or DEFAULT_METRICS_RULE, "METRICS_RULE"))
    if metrics:
        from .metrics import _require_client, arm_boot_timing

        _require_client()
        arm_boot_timing()
    return plan
