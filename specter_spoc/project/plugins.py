"""Plugins: objects named by URI in configuration, grouped by purpose.

Groups come from spoc.toml's ``[spoc.plugins]`` and the settings'
``PLUGINS`` dict, merged as SPOC does: TOML entries first, then settings
entries, a URI listed twice kept once at its first place. Each URI is loaded
through the project's :class:`~.importer.Importer`, giving
``project.plugins[group][uri] -> object`` (an ``OrderedDict`` per group).

As in SPOC, plugins are **loaded, not applied**: the project hands them to
your code (``project.plugins["database"][uri]``), whatever the group. Two
groups *can* be applied by the runtime, when the settings opt in with
``SPOC_APPLY_PLUGINS = True`` (or a list such as ``["middleware"]``); each
applied plugin's contract is then checked at load time (SPC018, naming the
plugin, its file, where it is listed and the fix), so ``specter-spoc check``
and boot report the same problems and boot never fails on them halfway.

``middleware`` (applied by :func:`apply_middleware`, in listed order: the
first listed sees the request first):

- a **class** is WSGI middleware: ``app.wsgi_app = Cls(app.wsgi_app)``, so its
  constructor takes exactly the wrapped WSGI app; the first listed class ends
  up outermost. A class that instead defines ``before_request`` /
  ``after_request`` methods is instantiated with no arguments and those
  methods are registered like an object's;
- an **object or module** with ``before_request`` / ``after_request`` /
  ``teardown_request`` attributes has each registered on the Flask app;
- a **function** taking no argument is a ``before_request`` function (it
  reads ``flask.request``); one taking one argument is an ``after_request``
  function receiving and returning the **response**. A one-argument function
  whose parameter is called ``request`` (SPOC's ``log_request(request)``) is
  rejected: Flask would hand it the response.

``hooks`` (run by :class:`PluginHooks`):

- a **function** ``hook(runtime)`` (one argument) is called at startup;
- an **object, module or class** with ``startup(runtime)`` and/or
  ``shutdown(runtime)``: a class is instantiated with no arguments first.
  Startup runs in listed order, shutdown in reverse (only for hooks whose
  startup ran). A startup that raises undoes the hooks already started, then
  re-raises.

Example (``config/spoc.toml`` and settings)::

    [spoc.plugins]
    middleware = ["framework.middleware.RequestId", "framework.middleware.stamp"]
    hooks = ["framework.hooks.Metrics"]

    SPOC_APPLY_PLUGINS = True       # settings.py: let the runtime apply both groups
"""
from __future__ import annotations

import inspect
import logging
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from .diagnostics import Diagnostic, diagnostic
from .importer import LOAD_FAILURES, Importer

logger: logging.Logger = logging.getLogger("specter_spoc.project")

Plugins = Dict[str, "OrderedDict[str, Any]"]


def merge_plugin_uris(toml_plugins: Mapping[str, Sequence[str]],
                      settings_plugins: Mapping[str, Sequence[str]]) -> Dict[str, List[str]]:
    """TOML groups first, then settings groups; each URI once, first place kept."""
    merged: Dict[str, List[str]] = {}
    for source in (toml_plugins, settings_plugins):
        for group, uris in source.items():
            bucket = merged.setdefault(group, [])
            for uri in uris:
                if uri not in bucket:
                    bucket.append(uri)
    return merged


#: the groups the runtime knows how to apply
APPLICABLE_GROUPS = ("middleware", "hooks")


def load_plugins(uris: Mapping[str, Sequence[str]], importer: Importer, *,
                 sources: Optional[Mapping[Tuple[str, str], str]] = None,
                 applied: Sequence[str] = ()) -> Tuple[Plugins, List[Diagnostic]]:
    """Load every URI; failures become SPC007 diagnostics and are left out.
    Plugins of the ``applied`` groups are checked against their contract (SPC018)."""
    plugins: Plugins = {}
    problems: List[Diagnostic] = []
    for group, group_uris in uris.items():
        loaded: "OrderedDict[str, Any]" = OrderedDict()
        for uri in group_uris:
            if uri in loaded:
                continue
            source = (sources or {}).get((group, uri), "configuration")
            try:
                loaded[uri] = importer.load_from_uri(uri)
            except LOAD_FAILURES as exc:
                problems.append(diagnostic(
                    "SPC007", f"plugin {uri!r} in group {group!r} cannot be loaded: {exc.reason}"
                    + (f" (at {exc.location})" if exc.location else "") + ".",
                    f"fix or remove it in {source}" + (
                        f"; the failing import is {exc.failed_import!r}" if exc.failed_import != uri else "") + ".",
                    file=source, key=f"plugins.{group}"))
        plugins[group] = loaded
    for group, loaded in plugins.items():
        if group in applied:
            for uri, diag in _contract_problems(group, loaded, sources or {}):
                del loaded[uri]  # an object that breaks its contract is never applied
                problems.append(diag)
    return plugins, problems


def _positional_arity(fn: Callable[..., Any]) -> Optional[Tuple[int, int]]:
    """(required, maximum) positional parameters, ``None`` if not inspectable."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    required = maximum = 0
    for param in sig.parameters.values():
        if param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD):
            maximum += 1
            if param.default is param.empty:
                required += 1
        elif param.kind is param.VAR_POSITIONAL:
            maximum = 99
    return required, maximum


_REQUEST_HOOKS = ("before_request", "after_request", "teardown_request")


def _has_request_hooks(obj: Any) -> bool:
    return any(callable(getattr(obj, name, None)) for name in _REQUEST_HOOKS)


def _where_defined(obj: Any) -> str:
    """``file:line`` where a plugin object is defined, for messages."""
    target = obj if isinstance(obj, type) or inspect.isfunction(obj) or inspect.ismodule(obj) else type(obj)
    try:
        file = inspect.getsourcefile(target) or "?"
        line = inspect.getsourcelines(target)[1] if not inspect.ismodule(target) else 1
    except (TypeError, OSError):
        return getattr(target, "__module__", None) or "?"
    return f"{file}:{line}"


_REQUEST_NAMES = {"request", "req", "environ"}


def _first_param(fn: Callable[..., Any]) -> Optional[str]:
    try:
        params = [p for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return None
    return params[0].name if params else None


def _takes(fn: Callable[..., Any], count: int) -> bool:
    """True when ``fn`` can be called with ``count`` positional arguments."""
    arity = _positional_arity(fn)
    return arity is None or arity[0] <= count <= arity[1]


def _middleware_problem(obj: Any) -> Optional[Tuple[str, str]]:
    """``(what is wrong, how to fix it)`` for a middleware plugin, or ``None``."""
    if isinstance(obj, type):
        if _has_request_hooks(obj):
            if not _takes(obj, 0):
                return ("is a class with request hooks whose constructor needs arguments",
                        "give its __init__ defaults: it is instantiated with no arguments")
            return None
        if not _takes(obj, 1):
            return ("is a class, so it is applied as WSGI middleware, Cls(app.wsgi_app), but its constructor "
                    "does not take the wrapped WSGI app",
                    "write __init__(self, wsgi_app) and __call__(self, environ, start_response), or give it "
                    "before_request/after_request methods, or move it to a group of your own")
        return None
    if _has_request_hooks(obj):
        return None
    if not callable(obj):
        return (f"is neither a WSGI middleware class, an object with before_request/after_request, nor a "
                f"function (got {type(obj).__name__})", "list a class or function, or move it to another group")
    if _takes(obj, 0):
        return None
    if _takes(obj, 1):
        if _first_param(obj) in _REQUEST_NAMES:
            return (f"takes {_first_param(obj)!r}, but a one-argument middleware function is a Flask "
                    "after_request function and receives the response",
                    "take no argument and read flask.request (before_request), or take and return the "
                    "response (after_request)")
        return None
    return ("is a function needing more than one argument",
            "take no argument (before_request) or one, the response (after_request)")


def _hook_problem(obj: Any) -> Optional[Tuple[str, str]]:
    """``(what is wrong, how to fix it)`` for a hooks plugin, or ``None``."""
    if _is_lifecycle(obj):
        if isinstance(obj, type) and not _takes(obj, 0):
            return ("is a class whose constructor needs arguments", "give its __init__ defaults")
        target_cls = obj if isinstance(obj, type) else None
        for name in ("startup", "shutdown"):
            method = getattr(obj, name, None)
            if not callable(method):
                continue
            unbound = target_cls is not None and inspect.isfunction(method)
            if not _takes(method, 2 if unbound else 1):
                return (f"has a {name}() that does not take the runtime",
                        f"write def {name}(self, runtime) (or def {name}(runtime) in a module)")
        return None
    if not callable(obj):
        return (f"is neither a function hook(runtime) nor an object with startup/shutdown "
                f"(got {type(obj).__name__})", "list a function or an object with startup(runtime)")
    if not _takes(obj, 1):
        return ("is a function that cannot be called with the runtime, which is what the hooks group passes",
                "write def hook(runtime): ..., or leave the hooks group unapplied and call it yourself")
    return None


def _contract_problems(group: str, loaded: Mapping[str, Any],
                       sources: Mapping[Tuple[str, str], str]) -> List[Tuple[str, Diagnostic]]:
    check = _middleware_problem if group == "middleware" else _hook_problem if group == "hooks" else None
    problems = []
    for uri, obj in loaded.items():
        found = check(obj) if check is not None else None
        if found is None:
            continue
        reason, fix = found
        listed = sources.get((group, uri), "configuration")
        problems.append((uri, diagnostic(
            "SPC018", f"{group} plugin {uri!r} (defined at {_where_defined(obj)}, listed in {listed}) {reason}.",
            f"{fix}; or remove it from {listed}, or stop applying the {group!r} group (SPOC_APPLY_PLUGINS).",
            file=listed, key=f"plugins.{group}")))
    return problems


# --------------------------------------------------------------- middleware
def apply_middleware(app: Any, plugins: Mapping[str, Mapping[str, Any]]) -> List[str]:
    """Apply the ``middleware`` group to the Flask ``app``; returns the URIs applied.

    See the module docstring for the contract. Request-hook callables run in
    listed order; WSGI classes are wrapped so the first listed is outermost.
    """
    entries = list((plugins.get("middleware") or {}).items())
    applied: List[str] = []
    wsgi_classes: List[Tuple[str, type]] = []
    for uri, obj in entries:
        if isinstance(obj, type) and not _has_request_hooks(obj):
            wsgi_classes.append((uri, obj))
            applied.append(uri)
            continue
        target = obj() if isinstance(obj, type) else obj
        if _has_request_hooks(target):
            for name in _REQUEST_HOOKS:
                fn = getattr(target, name, None)
                if callable(fn):
                    getattr(app, name)(fn)
        elif callable(target):
            arity = _positional_arity(target)
            if arity is not None and arity[0] == 1:
                app.after_request(target)
            elif arity is None or arity[0] == 0:
                app.before_request(target)
            else:
                raise TypeError(f"middleware plugin {uri!r} takes {arity[0]} arguments; "
                                "use none (before_request) or one, the response (after_request).")
        else:
            raise TypeError(f"middleware plugin {uri!r} is not usable as middleware: {obj!r}.")
        applied.append(uri)
    for uri, cls in reversed(wsgi_classes):
        app.wsgi_app = cls(app.wsgi_app)
    return applied


# -------------------------------------------------------------------- hooks
class PluginHooks:
    """Runs the ``hooks`` group: startup in order, shutdown in reverse.

    Example::

        hooks = PluginHooks(project.plugins.get("hooks", {}))
        hooks.startup(runtime)
        ...
        hooks.shutdown(runtime)
    """

    def __init__(self, entries: Mapping[str, Any]) -> None:
        self._entries = list(entries.items())
        self._started: List[Tuple[str, Any]] = []

    @property
    def started(self) -> List[str]:
        return [uri for uri, _ in self._started]

    def startup(self, runtime: Any) -> None:
        """Start every hook; on a failure, shut down the started ones and re-raise."""
        if self._started:
            return
        for uri, obj in self._entries:
            try:
                target = obj
                if _is_lifecycle(obj):
                    if isinstance(obj, type):
                        target = obj()
                    start = getattr(target, "startup", None)
                    if callable(start):
                        start(runtime)
                    stop = getattr(target, "shutdown", None)
                else:
                    obj(runtime)
                    stop = None
            except Exception:
                logger.exception("plugin hook %r failed at startup; undoing the %d hook(s) already started",
                                 uri, len(self._started))
                self.shutdown(runtime)
                raise
            self._started.append((uri, stop if callable(stop) else None))

    def shutdown(self, runtime: Any) -> List[Tuple[str, BaseException]]:
        """Shut down started hooks in reverse; errors are logged and returned."""
        errors: List[Tuple[str, BaseException]] = []
        while self._started:
            uri, stop = self._started.pop()
            if stop is None:
                continue
            try:
                stop(runtime)
            except Exception as exc:
                logger.exception("plugin hook %r failed at shutdown", uri)
                errors.append((uri, exc))
        return errors


def _is_lifecycle(obj: Any) -> bool:
    return any(callable(getattr(obj, name, None)) for name in ("startup", "shutdown"))
