"""HTTPError: an error that carries its HTTP status and JSON body.

It lives in the contracts layer, not the web layer, because contracts raise it
(:class:`~specter_spoc.contracts.schema.SchemaError` *is* an ``HTTPError``,
as SPECTER's ``Schema.require`` raises ``HTTPError``) and contracts must not
import the web layer or Flask. The web layer re-exports it
(``specter_spoc.web.http.HTTPError``, ``specter_spoc.HTTPError``) and turns it
into a response; :meth:`HTTPError.to_response` imports Flask only when called.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, Mapping, Optional, Tuple


class HTTPError(Exception):
    """An error with an HTTP status, rendered as a JSON envelope.

    ``message`` becomes the body's ``error``; ``payload`` is merged into the
    body (``error`` in it wins); ``log_message`` is logged at ``log_level``
    when a JSON route answers with it.

    Example::

        raise HTTPError("post 7 does not exist", 404)
        raise HTTPError("slow down", status=429, payload={"retry_after": 3})
    """

    def __init__(self, message: str, status_code: int = 400, *, status: Optional[int] = None,
                 payload: Optional[Mapping[str, Any]] = None, log_message: Optional[str] = None,
                 log_level: int = logging.WARNING) -> None:
        super().__init__(message)
        self.message = message
        self.status_code: int = int(status if status is not None else status_code)
        self.payload: Dict[str, Any] = dict(payload or {})
        self.log_message = log_message
        self.log_level = log_level

    def body(self) -> Dict[str, Any]:
        """The JSON body: ``payload`` plus ``error`` (the message) unless the
        payload sets its own."""
        body = dict(self.payload)
        body.setdefault("error", self.message)
        return body

    def to_response(self) -> Tuple[Any, int]:
        """``(jsonify(body), status)`` for Flask (needs an app context)."""
        from flask import jsonify

        return jsonify(self.body()), self.status_code
