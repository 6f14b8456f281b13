"""Plugins: objects named by URI in configuration, grouped by purpose.

Groups come from spoc.toml's ``[spoc.plugins]`` and the settings'
``PLUGINS`` dict, merged as SPOC does: TOML entries first, then settings
entries, a URI listed twice kept once at its first place. Each URI is loaded
through the project's :class:`~.importer.Importer`, giving
``project.plugins[group][uri] -> object`` (an ``OrderedDict`` per group).

Two groups have a built-in meaning; every other group is free for users.

``middleware`` (applied by :func:`apply_middleware`, in listed order: the
first listed sees the request first):

- a **class** is WSGI middleware: ``app.wsgi_app = Cls(app.wsgi_app)``, so the
  first listed class ends up outermost; a class that instead defines
  ``before_request`` / ``after_request`` methods is instantiated with no
  arguments and those methods are registered like an object's;
- an **object or module** with ``before_request`` / ``after_request`` /
  ``teardown_request`` attributes has each registered on the Flask app;
- a **function** taking no argument is a ``before_request`` function; one
  taking one argument (the response) is an ``after_request`` function and
  must return the response.

``hooks`` (run by :class:`PluginHooks`):

- a **function** ``hook(runtime)`` is called at startup;
- an **object, module or class** with ``startup(runtime)`` and/or
  ``shutdown(runtime)``: a class is instantiated with no arguments first.
  Startup runs in listed order, shutdown in reverse (only for hooks whose
  startup ran). A startup that raises undoes the hooks already started, then
  re-raises.

Example (``config/spoc.toml``)::

    [spoc.plugins]
    middleware = ["framework.middleware.RequestId", "framework.middleware.log_request"]
    hooks = ["framework.hooks.Metrics"]
"""
from __future__ import annotations

import inspect
import logging
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from .diagnostics import Diagnostic, diagnostic
from .importer import ImportFailure, Importer

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


def load_plugins(uris: Mapping[str, Sequence[str]], importer: Importer, *,
                 sources: Optional[Mapping[Tuple[str, str], str]] = None) -> Tuple[Plugins, List[Diagnostic]]:
    """Load every URI; failures become SPC007 diagnostics and are left out."""
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
            except ImportFailure as exc:
                problems.append(diagnostic(
                    "SPC007", f"plugin {uri!r} in group {group!r} cannot be loaded: {exc.reason}"
                    + (f" (at {exc.location})" if exc.location else "") + ".",
                    f"fix or remove it in {source}" + (
                        f"; the failing import is {exc.failed_import!r}" if exc.failed_import != uri else "") + ".",
                    file=source, key=f"plugins.{group}"))
        plugins[group] = loaded
    for group, loaded in plugins.items():
        problems.extend(_contract_problems(group, loaded))
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


def _contract_problems(group: str, loaded: Mapping[str, Any]) -> List[Diagnostic]:
    problems = []
    for uri, obj in loaded.items():
        reason = None
        if group == "middleware":
            if isinstance(obj, type) or _has_request_hooks(obj):
                continue
            if not callable(obj):
                reason = ("is neither a WSGI middleware class, an object with before_request/after_request, "
                          f"nor a function (got {type(obj).__name__})")
            else:
                arity = _positional_arity(obj)
                if arity is not None and arity[0] > 1:
                    reason = f"is a function with {arity[0]} required arguments; middleware functions take " \
                             "none (before_request) or one, the response (after_request)"
        elif group == "hooks":
            if _is_lifecycle(obj):
                continue
            if not callable(obj):
                reason = f"is neither a function hook(runtime) nor an object with startup/shutdown (got {type(obj).__name__})"
        if reason:
            problems.append(diagnostic(
                "SPC018", f"plugin {uri!r} in group {group!r} {reason}.",
                "see the plugins contract in the docs (middleware / hooks groups).", key=f"plugins.{group}"))
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
