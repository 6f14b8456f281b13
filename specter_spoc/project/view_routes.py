"""SPOC views as HTTP routes: one Controller per app, built from its ``views``.

SPOC apps register plain functions as ``views`` components but never route
them. When the runtime has a Flask app, it builds a controller for each app
that has view functions (``<app>_views``, mounted at the app's
``url_prefix``, else ``/<app name>``), so the app serves HTTP unchanged.
The rule, per view function:

- **path**: ``/<function name>``, then one segment per parameter without a
  default, other than ``data``: ``get_profile(user_id: int)`` is
  ``/get_profile/<int:user_id>`` (``int``/``float`` annotations pick the
  converter, anything else is a string segment);
- **method**: ``POST`` when the function takes ``data`` (it receives the JSON
  object body; a missing, non-JSON or non-object body is a 400/415 with
  the reason), else ``GET``;
- parameters **with a default** are read from the query string, converted by
  their ``int``/``float``/``bool`` annotation (a bad value is a 400);
- metadata overrides both: ``@view(path="/profile/<int:user_id>",
  methods=["GET"])`` or ``components.register("view", path=..., methods=...)``;
- the return value is the response (a dict becomes JSON; a ``(body,
  status)`` tuple works); an exception is the JSON error envelope (500
  without details outside debug).

Views that are classes are not routed. An app can instead declare its own
Controller classes (they are booted as components); set
``SPOC_VIEW_ROUTES = False`` in the settings to route no views at all.
"""
from __future__ import annotations

import dataclasses
import inspect
import typing
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from ..web.controller import Controller
from ..web.http import HTTPError, expect_json
from ..web.router import Router

#: the parameter that receives the JSON body
BODY_PARAMETER = "data"
_CONVERTERS: Dict[Any, str] = {int: "int", float: "float"}


@dataclasses.dataclass(frozen=True)
class ViewRoute:
    """One routed view: ``rule`` (below the app's prefix), ``methods``, the function."""

    name: str
    rule: str
    methods: Tuple[str, ...]
    function: Callable[..., Any]


def _hints(fn: Callable[..., Any]) -> Dict[str, Any]:
    try:
        return typing.get_type_hints(fn)
    except Exception:
        return {}


def view_route(name: str, fn: Callable[..., Any], meta: Mapping[str, Any]) -> ViewRoute:
    """The route of one view function under the documented rule and its metadata."""
    short = name.rsplit(".", 1)[-1]
    params = list(inspect.signature(fn).parameters.values())
    hints = _hints(fn)
    takes_body = any(p.name == BODY_PARAMETER for p in params)
    rule = meta.get("path") or meta.get("rule")
    if rule is None:
        segments = [f"/{short}"]
        for p in params:
            if p.name == BODY_PARAMETER or p.default is not p.empty or p.kind not in (
                    p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                continue
            converter = _CONVERTERS.get(hints.get(p.name, str))
            segments.append(f"/<{converter}:{p.name}>" if converter else f"/<{p.name}>")
        rule = "".join(segments)
    methods = meta.get("methods") or (("POST",) if takes_body else ("GET",))
    if isinstance(methods, str):
        methods = (methods,)
    return ViewRoute(short, str(rule), tuple(m.upper() for m in methods), fn)


def _query_value(name: str, raw: str, annotation: Any) -> Any:
    try:
        if annotation is bool:
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if annotation in (int, float):
            return annotation(raw)
    except ValueError:
        kind = getattr(annotation, "__name__", str(annotation))
        raise HTTPError(f"query parameter {name!r} must be {kind}, got {raw!r}.", 400) from None
    return raw


def _endpoint(route: ViewRoute) -> Callable[..., Any]:
    from flask import request

    fn = route.function
    params = inspect.signature(fn).parameters
    hints = _hints(fn)
    optional = [p for p in params.values() if p.default is not p.empty and p.name != BODY_PARAMETER]

    def endpoint(**path: Any) -> Any:
        kwargs = dict(path)
        if BODY_PARAMETER in params and BODY_PARAMETER not in kwargs:
            kwargs[BODY_PARAMETER] = expect_json(allow_empty=True)
        for p in optional:
            if p.name in request.args and p.name not in kwargs:
                kwargs[p.name] = _query_value(p.name, request.args[p.name], hints.get(p.name))
        return fn(**kwargs)

    endpoint.__name__ = route.name
    endpoint.__doc__ = fn.__doc__
    return endpoint


class ViewsController(Controller):
    """The controller serving one app's view functions (see the module docstring)."""

    def __init__(self, app_name: str, routes: Sequence[ViewRoute], url_prefix: str) -> None:
        super().__init__(f"{app_name.replace('.', '_')}_views")
        self.app_name = app_name
        self.routes: List[ViewRoute] = list(routes)
        self.url_prefix: Optional[str] = url_prefix

    def build_routes(self, router: Router) -> None:
        for route in self.routes:
            router.route(route.rule, methods=list(route.methods), endpoint=route.name)(_endpoint(route))


def views_controllers(project: Any) -> List[ViewsController]:
    """A :class:`ViewsController` for each app of ``project`` that has view functions."""
    if project.settings.get("SPOC_VIEW_ROUTES", True) is False:
        return []
    views_type = project.components.resolve_type("views")
    if views_type is None:
        return []
    out = []
    for info in project.apps:
        routes = [view_route(record.name, record.obj, record.meta) for record in project.component_infos()
                  if record.app == info.name and record.type == views_type and inspect.isfunction(record.obj)]
        if routes:
            prefix = info.url_prefix or f"/{info.name}"
            out.append(ViewsController(info.name, routes, prefix))
    return out


__all__ = ["BODY_PARAMETER", "ViewRoute", "ViewsController", "view_route", "views_controllers"]
