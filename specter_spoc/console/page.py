"""The console's HTTP side: the page, its static files and a JSON API.

All under the console rule (default ``/_spoc/console``):

==========================================  ====================================
``GET  <rule>``                             the page (plain HTML, no build step);
                                            JSON pointers to the API for non-browsers
``GET  <rule>/static/<file>``               its script, style, Socket.IO client
``GET  <rule>/api/snapshot``                every process's snapshot (what the
                                            page and ``specter-spoc top`` show)
``GET  <rule>/api/tree``                    this process's ownership tree
``GET  <rule>/api/queues``                  this process's QueueServices
``GET  <rule>/api/queues/<name>/dead``      dead letters (``?count=100``)
``POST <rule>/api/queues/<name>/requeue``   body ``{"ids": [...]}`` or ``{}`` for all
``POST <rule>/api/queues/<name>/purge``     same
``POST <rule>/api/services/<name>/restart`` stop + start a service
==========================================  ====================================

The page itself holds no data, so it is served to anyone who can reach the
rule (it asks for the token when one is needed); every API call and the
Socket.IO namespace check :class:`~.auth.ConsoleAuth`. Answers are JSON,
``Cache-Control: no-store``, never with CORS headers.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Callable, Dict

from flask import Blueprint, Response, jsonify, request, send_from_directory

from .actions import ActionError
from .live import ConsoleService

__all__ = ["console_blueprint", "STATIC_DIR"]

STATIC_DIR = Path(__file__).parent / "static"
_STATIC_FILES = frozenset({"console.js", "console.css", "socket.io.min.js"})
_SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_PAGE_CSP = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; frame-ancestors 'none'"


def _error(message: str, status: int) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="specter_spoc console"'
    return response


def console_blueprint(console: ConsoleService, rule: str) -> Blueprint:
    """The Blueprint serving ``console`` at ``rule``."""
    blueprint = Blueprint("spoc_console", __name__, url_prefix=rule.rstrip("/"))
    auth = console.auth

    def guarded(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not auth.same_origin(request):
                return _error("cross-origin requests are refused by the runtime console", 403)
            if not auth.allows(request):
                return _error("unauthorized: send the console token as 'Authorization: Bearer <token>' "
                              "(CONSOLE_TOKEN in the app's settings)", 401)
            try:
                return jsonify(view(*args, **kwargs))
            except ActionError as exc:
                return _error(str(exc), exc.status)
        return wrapper

    def body() -> Dict[str, Any]:
        data = request.get_json(silent=True)
        if data is None and request.content_length:
            raise ActionError("the request body must be JSON, e.g. {\"ids\": [\"1\"]}")
        if data is not None and not isinstance(data, dict):
            raise ActionError("the request body must be a JSON object, e.g. {\"ids\": [\"1\"]}")
        return data or {}

    @blueprint.after_request
    def headers(response: Response) -> Response:
        for key, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        return response

    @blueprint.route("", methods=["GET"], strict_slashes=False)
    def page() -> Response:
        if request.accept_mimetypes.best_match(["text/html", "application/json"]) != "text/html":
            # not a browser: say where the data is (JSON, like every other /_spoc answer)
            base = blueprint.url_prefix or ""
            return jsonify({"console": base, "needs_token": not auth.open, "api": {
                "snapshot": f"{base}/api/snapshot", "tree": f"{base}/api/tree", "queues": f"{base}/api/queues"}})
        html = (STATIC_DIR / "console.html").read_text(encoding="utf-8")
        html = html.replace("{{RULE}}", blueprint.url_prefix or "").replace(
            "{{NEEDS_TOKEN}}", "false" if auth.open else "true")
        response = Response(html, mimetype="text/html")
        response.headers["Content-Security-Policy"] = _PAGE_CSP
        return response

    @blueprint.route("/static/<path:filename>", methods=["GET"])
    def static(filename: str) -> Response:
        if filename not in _STATIC_FILES:
            return _error(f"no console file {filename!r}; the console serves {', '.join(sorted(_STATIC_FILES))}", 404)
        return send_from_directory(STATIC_DIR, filename, max_age=0)

    @blueprint.route("/api/snapshot", methods=["GET"])
    @guarded
    def snapshot() -> Any:
        return console.view()

    @blueprint.route("/api/tree", methods=["GET"])
    @guarded
    def tree() -> Any:
        return console.collector.tree()

    @blueprint.route("/api/queues", methods=["GET"])
    @guarded
    def queues() -> Any:
        return {"process": console.identity["id"], "queues": console.collector.queues()}

    @blueprint.route("/api/queues/<name>/dead", methods=["GET"])
    @guarded
    def dead(name: str) -> Any:
        count = request.args.get("count", "100")
        if not count.isdigit() or not 0 < int(count) <= 10000:
            raise ActionError(f"count must be a whole number from 1 to 10000, got {count!r}")
        return console.act({"action": "dead", "queue": name, "count": int(count)})

    @blueprint.route("/api/queues/<name>/<any(requeue, purge):verb>", methods=["POST"])
    @guarded
    def edit_dead(name: str, verb: str) -> Any:
        return console.act({"action": verb, "queue": name, "ids": body().get("ids")})

    @blueprint.route("/api/services/<name>/restart", methods=["POST"])
    @guarded
    def restart(name: str) -> Any:
        return console.act({"action": "restart", "service": name})

    return blueprint
