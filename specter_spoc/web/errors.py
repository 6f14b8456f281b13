"""One mapping from an exception to the error envelope.

Routes (``json_endpoint``), Socket.IO acknowledgements (the ingress) and
routing errors (unknown URL, wrong method, body too large) all answer
``{"error": "<what went wrong>", ...details}`` with a status; this is the one
place that decides which:

- ``HTTPError`` (and ``SchemaError``, which is one) -> its status and body
  (``payload`` plus ``error``; a SchemaError's lists every bad field);
- werkzeug ``HTTPException`` (``abort(404)``, 413, 405) -> its code and
  description;
- anything else -> 500 with a generic message. The exception text and
  traceback go to the log, never to the client, unless ``debug``.
"""
from __future__ import annotations

import traceback
from typing import Any, Dict, Tuple

from werkzeug.exceptions import HTTPException

from ..contracts.errors import HTTPError

__all__ = ["error_body", "is_client_error"]

ErrorBody = Tuple[Dict[str, Any], int]


def is_client_error(exc: BaseException) -> bool:
    """True when ``exc`` describes a bad request (a 4xx), not a crash."""
    status = _status_of(exc)
    return status is not None and 400 <= status < 500


def _status_of(exc: BaseException) -> Any:
    if isinstance(exc, HTTPException):
        return exc.code
    if isinstance(exc, HTTPError):
        return exc.status_code
    return None


def error_body(exc: BaseException, *, message: str = "Internal server error", debug: bool = False) -> ErrorBody:
    """``(body, status)`` for ``exc``; see the module docstring."""
    if isinstance(exc, HTTPException):
        return {"error": exc.description or exc.name}, exc.code or 500
    if isinstance(exc, HTTPError):
        return exc.body(), exc.status_code
    body: Dict[str, Any] = {"error": message}
    if debug:
        body["exception"] = f"{type(exc).__name__}: {exc}"
        body["traceback"] = traceback.format_exception(type(exc), exc, exc.__traceback__)
    return body, 500
