"""One mapping from an exception to the error envelope.

Routes (``json_endpoint``), Socket.IO acknowledgements (the ingress) and
routing errors (unknown URL, wrong method, body too large) all answer
``{"error": "<what went wrong>", ...details}`` with a status; this is the one
place that decides which:

- an error with an int ``status_code`` (``HTTPError``, ``SchemaError``) ->
  that status, its ``payload`` and its ``errors`` (every bad field);
- werkzeug ``HTTPException`` (``abort(404)``, 413, 405) -> its code and
  description;
- anything else -> 500 with a generic message. The exception text and
  traceback go to the log, never to the client, unless ``debug``.
"""
from __future__ import annotations

import traceback
from typing import Any, Dict, Tuple

from werkzeug.exceptions import HTTPException

__all__ = ["error_body", "is_client_error"]

ErrorBody = Tuple[Dict[str, Any], int]


def is_client_error(exc: BaseException) -> bool:
    """True when ``exc`` describes a bad request (a 4xx), not a crash."""
    status = _status_of(exc)
    return status is not None and 400 <= status < 500


def _status_of(exc: BaseException) -> Any:
    if isinstance(exc, HTTPException):
        return exc.code
    for attr in ("status_code", "status"):
        status = getattr(exc, attr, None)
        if isinstance(status, int) and not isinstance(status, bool):
            return status
    return None


def error_body(exc: BaseException, *, message: str = "Internal server error", debug: bool = False) -> ErrorBody:
    """``(body, status)`` for ``exc``; see the module docstring."""
    if isinstance(exc, HTTPException):
        return {"error": exc.description or exc.name}, exc.code or 500
    status = _status_of(exc)
    if status is not None:
        body: Dict[str, Any] = dict(getattr(exc, "payload", None) or {})
        errors = getattr(exc, "errors", None)
        if errors:
            body.setdefault("errors", dict(errors))
        body.setdefault("error", getattr(exc, "message", None) or str(exc))
        return body, int(status)
    body = {"error": message}
    if debug:
        body["exception"] = f"{type(exc).__name__}: {exc}"
        body["traceback"] = traceback.format_exception(type(exc), exc, exc.__traceback__)
    return body, 500
