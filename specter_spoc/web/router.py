"""Class-based route composition producing a Flask Blueprint.

Routes are declared either on methods with the :func:`route` decorator, or
dynamically with :meth:`Router.route` (what a Controller's ``build_routes``
uses). Every view gets the JSON envelope (see :mod:`specter_spoc.web.http`)
unless ``json_errors=False``, and an optional *gate*: a callable that returns
None when the route may run, or a reason string, answered with 503. The
runtime uses the gate so a controller's routes answer 503 before it has
started and while the runtime drains.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import wraps
from typing import Any, Callable, Iterable, Iterator, List, Optional, Tuple, TypeVar, overload

from flask import Blueprint, Flask, jsonify

from ..lifecycle.owner import Owner
from ..wiring.scope import current_scope
from .http import JSONErrors, error_response, normalize_response

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")
Gate = Callable[[], Optional[str]]

_ROUTES_ATTR = "_spoc_routes"
_log: logging.Logger = logging.getLogger("specter_spoc.router")


@dataclass(frozen=True)
class RouteSpec:
    rule: str
    methods: Tuple[str, ...]
    endpoint: Optional[str] = None
    json_errors: JSONErrors = True


def _spec(rule: str, methods: Optional[Iterable[str]], endpoint: Optional[str],
          json_errors: JSONErrors) -> RouteSpec:
    if not isinstance(rule, str) or (rule and not rule.startswith("/")):
        raise ValueError(f"route rule must be a str starting with '/' (or '' for the url_prefix itself), "
                         f"got {rule!r}.")
    if isinstance(methods, str):
        raise TypeError(f"route {rule!r}: methods must be a list like ['GET', 'POST'], not the str {methods!r}.")
    return RouteSpec(rule, tuple(m.upper() for m in (methods or ("GET",))), endpoint, json_errors)


def route(rule: str, *, methods: Optional[Iterable[str]] = None, endpoint: Optional[str] = None,
          json_errors: JSONErrors = True) -> Callable[[F], F]:
    """Declare a route on a :class:`Router` method (stackable)."""
    spec = _spec(rule, methods, endpoint, json_errors)

    def decorator(fn: F) -> F:
        setattr(fn, _ROUTES_ATTR, tuple(getattr(fn, _ROUTES_ATTR, ())) + (spec,))
        return fn

    return decorator


class Router:
    """A named group of routes that becomes one Blueprint.

    Example::

        class Health(Router):
            name = "health"

            @route("/ping")
            def ping(self):
                return {"ok": True}

        Health(url_prefix="/api").register(app)
    """

    name: str = "router"
    url_prefix: str = ""

    def __init__(self, name: Optional[str] = None, *, url_prefix: Optional[str] = None,
                 import_name: Optional[str] = None, gate: Optional[Gate] = None) -> None:
        self.name = str(name or type(self).name)
        if url_prefix is not None:
            self.url_prefix = url_prefix
        self._blueprint = Blueprint(self.name, import_name or type(self).__module__,
                                    url_prefix=self.url_prefix or None)
        self._mounted = False
        self._life = Owner(f"Router {self.name!r}", _log)
        self._dynamic: List[Tuple[str, Callable[..., Any], RouteSpec]] = []
        self._gate = gate

    # hooks
    def on_mount(self) -> None:
        """Called once after the routes are added to the blueprint."""

    def on_unmount(self) -> None:
        """Called by :meth:`teardown` before cleanups run."""

    def route(self, rule: str, *, methods: Optional[Iterable[str]] = None, endpoint: Optional[str] = None,
              json_errors: JSONErrors = True) -> Callable[[F], F]:
        """Add a route to this router instance (used inside ``build_routes``)."""
        spec = _spec(rule, methods, endpoint, json_errors)

        def decorator(fn: F) -> F:
            if self._mounted:
                raise RuntimeError(f"Router {self.name!r} is already mounted; add routes before blueprint().")
            self._dynamic.append((fn.__name__, fn, spec))
            return fn

        return decorator

    def specs(self) -> List[Tuple[str, RouteSpec]]:
        """(endpoint, spec) of every route, for listings and duplicate checks."""
        out = [(spec.endpoint or name, spec) for name, _, spec in self._iter_routes()]
        return out

    def _iter_routes(self) -> Iterator[Tuple[str, Callable[..., Any], RouteSpec]]:
        seen = set()
        for cls in type(self).__mro__:
            for attr_name, attr in vars(cls).items():
                if attr_name in seen or not callable(attr):
                    continue
                specs = getattr(attr, _ROUTES_ATTR, None)
                if specs:
                    seen.add(attr_name)
                    for spec in specs:
                        yield attr_name, getattr(self, attr_name), spec
        yield from self._dynamic

    def mount(self) -> Blueprint:
        """Build the blueprint (once) and return it."""
        if self._mounted:
            return self._blueprint
        for name, fn, spec in self._iter_routes():
            self._blueprint.add_url_rule(spec.rule, endpoint=spec.endpoint or name,
                                         view_func=self._build_view(fn, spec), methods=list(spec.methods))
        self._mounted = True
        self.on_mount()
        return self._blueprint

    def blueprint(self) -> Blueprint:
        return self.mount()

    def register(self, app: Flask) -> "Router":
        """Register the blueprint on ``app`` under ``url_prefix``."""
        app.register_blueprint(self.mount())
        return self

    def _build_view(self, fn: Callable[..., Any], spec: RouteSpec) -> Callable[..., Any]:
        """One wrapper per route (not a gate wrapper around a json_endpoint
        wrapper): the gate check, the call, the envelope, in one frame."""
        gate = self._gate
        json_errors = bool(spec.json_errors)
        message = spec.json_errors if isinstance(spec.json_errors, str) else "Internal server error"
        log = logging.getLogger(getattr(fn, "__module__", None) or "specter_spoc.http")

        @wraps(fn)
        def view(*args: Any, **kwargs: Any) -> Any:
            if gate is not None:
                try:
                    reason = gate()
                except Exception as exc:  # a broken gate must not become a traceback page
                    return error_response(exc, logger=log)
                if reason is not None:
                    response = jsonify({"error": "Service unavailable", "detail": reason})
                    response.headers["Retry-After"] = "5"
                    return response, 503
            if not json_errors:
                return normalize_response(fn(*args, **kwargs))
            try:
                return normalize_response(fn(*args, **kwargs))
            except Exception as exc:
                return error_response(exc, message=message, logger=log)

        return view

    # ownership
    def teardown(self) -> "Router":
        """Run ``on_unmount`` then the cleanups, last added first."""
        try:
            self.on_unmount()
        except BaseException as exc:  # noqa: B036 - teardown must go on
            self._life.report_error(f"on_unmount raised {type(exc).__name__}: {exc}", exc)
        finally:
            self._life.unwind(time.monotonic() + 5.0)
        return self

    def add_cleanup(self, fn: Callable[[], Any]) -> "Router":
        if not callable(fn):
            raise TypeError(f"Router {self.name!r}: add_cleanup() needs a callable, got {fn!r}.")
        self._life.push(fn)
        return self

    @overload
    def own(self, resource: None, stop_method: Optional[str] = None) -> None: ...
    @overload
    def own(self, resource: R, stop_method: Optional[str] = None) -> R: ...

    def own(self, resource: Optional[R], stop_method: Optional[str] = None) -> Optional[R]:
        """Release ``resource`` when this router is torn down; returns it."""
        if resource is not None:
            self._life.own(resource, stop_method)
        return resource

    def require(self, key: str) -> Any:
        return current_scope().registry.require(key)

    def resolve(self, key: str) -> Any:
        return current_scope().registry.resolve(key)
