"""JSON errors for the API outside the controllers' own routes.

Controller routes already answer every error with the JSON envelope
``{"error": ...}``. Requests that never reach a route (an unknown URL such as
``/api/nope``, a ``<int:id>`` that is not a number, a wrong method) are
answered by Flask itself, with an HTML page. This ``hooks`` plugin makes
those JSON too for API paths, and adds the ``WWW-Authenticate`` header that
HTTP requires on 401 answers.
"""
from __future__ import annotations

from typing import Any

from flask import jsonify, request
from werkzeug.exceptions import HTTPException

#: paths answered with JSON errors
JSON_PREFIXES = ("/api/", "/_spoc/")


def _wants_json() -> bool:
    return request.path.startswith(JSON_PREFIXES) or request.path == "/api"


def _http_error(exc: HTTPException) -> Any:
    if not _wants_json():
        return exc
    response = jsonify({"error": f"{exc.name}: {exc.description}"})
    response.status_code = exc.code or 500
    for key, value in exc.get_headers():
        if key.lower() != "content-type":
            response.headers[key] = value
    return response


def _www_authenticate(response: Any) -> Any:
    if response.status_code == 401 and _wants_json():
        response.headers.setdefault("WWW-Authenticate", 'Bearer realm="blog_platform"')
    return response


def install_json_errors(runtime: Any) -> None:
    """``hooks`` plugin: register the JSON error handler on the runtime's app."""
    app = runtime.app
    app.register_error_handler(HTTPException, _http_error)
    app.after_request(_www_authenticate)
