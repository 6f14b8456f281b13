"""Who is asking: a Bearer token (the JSON API) or the page's cookie session.

Two ways to be logged in, one user id:

- **API clients** send ``Authorization: Bearer <token>``; ``POST /api/login``
  returns the token, made by :func:`issue_token`. Tokens are itsdangerous
  timed signatures with the app's ``SECRET_KEY`` (itsdangerous ships with
  Flask): tamper-proof, expiring after ``TOKEN_MAX_AGE`` seconds, stateless.
- **The page** logs in with ``POST /api/session`` and is then known by
  Flask's signed session cookie (HttpOnly, SameSite=Lax). A cookie is sent
  by the browser on its own, so every state-changing request that relies on
  it must also carry the session's CSRF token in the ``X-CSRF-Token``
  header; the page reads it from its ``<meta name="csrf-token">``. A Bearer
  token is never sent implicitly, so Bearer requests need no CSRF token.

Controllers call :func:`require_user_id` (or :func:`optional_user_id`).

Example::

    token = issue_token(7)
    read_token(token)          # 7, or None when forged or expired
"""
from __future__ import annotations

import hmac
import secrets
from typing import Optional

from flask import current_app, request, session
from itsdangerous import BadSignature, URLSafeTimedSerializer

from specter_spoc import HTTPError

_SALT = "blog-platform.login"
#: used when the settings give no TOKEN_MAX_AGE
DEFAULT_MAX_AGE = 7 * 24 * 3600
#: request header carrying the CSRF token of a cookie session
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def token_max_age() -> int:
    return int(current_app.config.get("TOKEN_MAX_AGE") or DEFAULT_MAX_AGE)


def issue_token(user_id: int) -> str:
    """A signed token naming ``user_id``."""
    return str(_serializer().dumps({"uid": int(user_id)}))


def read_token(token: str) -> Optional[int]:
    """The user id in ``token``; ``None`` when it is forged, malformed or expired."""
    try:
        data = _serializer().loads(token, max_age=token_max_age())
    except BadSignature:  # SignatureExpired is a BadSignature too
        return None
    uid = data.get("uid") if isinstance(data, dict) else None
    return uid if isinstance(uid, int) and not isinstance(uid, bool) else None


# ------------------------------------------------------------------ cookie session
def csrf_token() -> str:
    """The CSRF token of this browser's session (created on first use)."""
    token = session.get("csrf")
    if not isinstance(token, str) or not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf() -> None:
    """403 unless a state-changing request carries the session's CSRF token."""
    if request.method in _SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER, "")
    expected = session.get("csrf")
    if not isinstance(expected, str) or not expected or not hmac.compare_digest(sent, expected):
        raise HTTPError(f"this request uses the login cookie but its {CSRF_HEADER} header is missing or wrong: "
                        "send the token of the page's <meta name=\"csrf-token\"> (GET /api/session returns it), "
                        "or use a Bearer token instead of the cookie.", 403)


def start_session(user_id: int) -> str:
    """Log the browser in as ``user_id``; returns the new CSRF token (a new
    one at each login, so a token seen before the login is worthless)."""
    check_csrf()
    session.clear()
    session.permanent = True
    session["uid"] = int(user_id)
    session["csrf"] = token = secrets.token_urlsafe(32)
    return token


def end_session() -> None:
    """Log the browser out (CSRF-checked: no one else's page may log you out)."""
    check_csrf()
    session.clear()


def session_user_id() -> Optional[int]:
    """The user id of the cookie session, without any CSRF check (for reads)."""
    uid = session.get("uid")
    return uid if isinstance(uid, int) and not isinstance(uid, bool) else None


# ------------------------------------------------------------------------- either
def _bearer() -> Optional[str]:
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPError("the Authorization header must be 'Bearer <token>'; get a token from POST /api/login.",
                        401)
    return token.strip()


def optional_user_id() -> Optional[int]:
    """The logged-in user's id from the Bearer token or the cookie session;
    ``None`` when neither is there; 401 for a bad token, 403 for a cookie
    request without its CSRF token."""
    token = _bearer()
    if token is not None:
        uid = read_token(token)
        if uid is None:
            raise HTTPError("the login token is invalid or expired; log in again with POST /api/login.", 401)
        return uid
    uid = session_user_id()
    if uid is not None:
        check_csrf()
    return uid


def require_user_id() -> int:
    """The logged-in user's id; 401 when there is no valid token or session."""
    uid = optional_user_id()
    if uid is None:
        raise HTTPError("this request needs a login: send 'Authorization: Bearer <token>' (POST /api/login "
                        "returns one), or log in on the page.", 401)
    return uid
