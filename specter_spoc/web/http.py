"""One JSON envelope for every route, and JSON body helpers.

Every error a JSON route can produce becomes ``{"error": "<what went wrong>",
...details}`` with the right status:

- :class:`HTTPError` -> its status (payload merged into the body); a
  ``SchemaError`` is one: 400 with ``errors`` = every bad field;
- werkzeug ``HTTPException`` (``abort(404)``, body too large, ...) -> its code;
- anything else -> 500 with a generic message. The traceback goes to the log,
  never to the client, unless the app runs in debug mode.
"""
from __future__ import annotations

import json
import logging
from functools import wraps
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, Mapping, Optional, TypeVar, Union, overload

from flask import current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from ..contracts.errors import HTTPError as HTTPError  # defined in contracts (a lower layer); re-exported here
from ..contracts.outcome import Outcome
from .errors import error_body

F = TypeVar("F", bound=Callable[..., Any])
P = TypeVar("P", bound=Mapping[str, Any])

_log: logging.Logger = logging.getLogger("specter_spoc.http")


def _debug() -> bool:
    try:
        return bool(current_app.debug)
    except RuntimeError:
        return False


LoggerLike = Union[logging.Logger, "logging.LoggerAdapter[Any]"]
"""Where a view's errors are logged: a logger or an adapter around one."""


def error_response(exc: BaseException, *, message: str = "Internal server error",
                   logger: Optional[LoggerLike] = None) -> Any:
    """The JSON envelope response for ``exc`` (see :mod:`.errors`); a
    server error is logged with its traceback, a client error is not."""
    log = logger or _log
    if isinstance(exc, HTTPError) and exc.log_message:
        log.log(exc.log_level, exc.log_message)
    body, status = error_body(exc, message=message, debug=_debug())
    if status >= 500 and not isinstance(exc, (HTTPException, HTTPError)):
        log.error("%s: %s: %s", message, type(exc).__name__, exc, exc_info=exc)
    return jsonify(body), status


def normalize_response(result: Any) -> Any:
    """dict/list -> JSON; Outcome -> JSON with its status; tuples keep status/headers."""
    if isinstance(result, Outcome):
        return jsonify(result.to_dict()), result.status
    if isinstance(result, tuple) and result and isinstance(result[0], (dict, list)):
        return (jsonify(result[0]), *result[1:])
    if isinstance(result, (dict, list)):
        return jsonify(result)
    return result


@overload
def json_endpoint(error_message: F) -> F: ...
@overload
def json_endpoint(error_message: Optional[str] = None, *, logger: Optional[LoggerLike] = None,
                  include_trace: bool = True) -> Callable[[F], F]: ...


def json_endpoint(error_message: Any = None, *, logger: Optional[LoggerLike] = None,
                  include_trace: bool = True) -> Any:
    """Give a Flask view the JSON envelope. Use bare or with a message::

        @app.post("/api/items")
        @json_endpoint
        def create(): ...

        @json_endpoint("Could not create the item")
        def create(): ...

    The view may return a Response, a dict/list, an Outcome, or a
    ``(body, status[, headers])`` tuple. ``include_trace`` logs the traceback
    of unexpected errors (to the log only).
    """
    if callable(error_message):
        return json_endpoint(None, logger=logger, include_trace=include_trace)(error_message)
    message = error_message or "Internal server error"

    def decorator(fn: F) -> F:
        log: LoggerLike = logger or logging.getLogger(getattr(fn, "__module__", None) or "specter_spoc.http")
        if not include_trace:
            log = _NoTraceLogger(log)

        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return normalize_response(fn(*args, **kwargs))
            except Exception as exc:
                return error_response(exc, message=message, logger=log)

        return wrapper  # type: ignore[return-value]

    return decorator


if TYPE_CHECKING:
    _Adapter = logging.LoggerAdapter[LoggerLike]
else:  # not subscriptable at run time before Python 3.11
    _Adapter = logging.LoggerAdapter


class _NoTraceLogger(_Adapter):
    def log(self, level: int, msg: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.pop("exc_info", None)
        super().log(level, msg, *args, **kwargs)

    def error(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.pop("exc_info", None)
        super().error(msg, *args, **kwargs)


def expect_json(*, required: Optional[Iterable[str]] = None, error: str = "Request body is required",
                allow_empty: Optional[bool] = None) -> Dict[str, Any]:
    """The request's JSON object body, or an HTTPError explaining what is wrong.

    - no body -> 400 ``error``; ``{}`` is a body (the ``required`` check, or
      the Schema the caller applies, then lists every missing field), unless
      ``allow_empty=False`` asks for SPECTER's rule (``{}`` -> 400 ``error``);
    - a body that is not JSON -> 400 naming the position of the problem;
    - a body sent without a JSON content type -> 415 (a JSON API that
      accepts text/plain can be posted to by any web page's form);
    - JSON that is not an object -> 400;
    - a string (or key) holding a lone UTF-16 surrogate (``"\\ud800"``:
      valid JSON, but not text: UTF-8, SQLite and hashing cannot take it)
      -> 400 naming the field;
    - ``required`` fields missing or blank -> 400 listing them.
    """
    raw = request.get_data(cache=True)
    limit = request.max_content_length
    if limit is not None and request.content_length is None and len(raw) >= limit:
        # a chunked body (no Content-Length) is cut at the limit, not refused
        raise HTTPError(f"Request body is larger than the {limit}-byte limit.", 413)
    if not raw.strip():
        raise HTTPError(error, 400)
    if not request.is_json:
        raise HTTPError(
            f"Request body must be JSON: send it with 'Content-Type: application/json' "
            f"(got {request.mimetype or 'no content type'!r}).", 415)
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise HTTPError(f"Request body is not valid JSON ({exc}). Send a JSON object.", 400) from None
    except RecursionError:
        raise HTTPError("Request body is nested too deeply to parse. Send a flatter JSON object.", 400) from None
    from ..contracts._coerce import find_lone_surrogate, kind, may_hold_surrogates

    if not isinstance(payload, dict):
        raise HTTPError(f"JSON body must be an object, got {kind(payload)}. "
                        'Send {"field": value, ...}.', 400)
    if allow_empty is False and not payload:
        raise HTTPError(error, 400)

    if may_hold_surrogates(raw):  # a byte scan; the walk only when an escape could be one
        where = find_lone_surrogate(payload)
        if where is not None:
            raise HTTPError(f"Field {where!r} of the JSON body holds a lone UTF-16 surrogate (\\ud800-\\udfff), "
                            "which is not text. Send UTF-8 text.", 400,
                            payload={"errors": {where: "holds a lone UTF-16 surrogate"}})
    if required:
        require_fields(payload, required)
    return payload


def require_fields(payload: P, required: Iterable[str], *, error: Optional[str] = None,
                   blank_is_missing: bool = True) -> P:
    """Raise a 400 HTTPError listing every required key that is missing, None
    or (with ``blank_is_missing``) a blank string; else return ``payload``."""
    missing = []
    for name in required:
        value = payload.get(name) if isinstance(payload, Mapping) else None
        if value is None or (blank_is_missing and isinstance(value, str) and not value.strip()):
            missing.append(name)
    if missing:
        raise HTTPError(error or f"Missing required field(s): {', '.join(missing)}", 400,
                        payload={"missing": missing})
    return payload


JSONErrors = Union[bool, str, None]
