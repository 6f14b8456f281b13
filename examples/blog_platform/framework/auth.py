"""Login tokens: signed with the app's SECRET_KEY, sent as a Bearer header.

``POST /api/login`` returns a token made by :func:`issue_token`; requests
that act as a user send it back as ``Authorization: Bearer <token>`` and
the controller calls :func:`require_user_id` (or :func:`optional_user_id`).
Tokens are itsdangerous timed signatures (itsdangerous ships with Flask):
tamper-proof, expiring after ``TOKEN_MAX_AGE`` seconds, and stateless, so
there is no session table to clean up.

Example::

    token = issue_token(7)
    read_token(token)          # 7, or None when forged or expired
"""
from __future__ import annotations

from typing import Optional

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from specter_spoc import HTTPError

_SALT = "blog-platform.login"
#: used when the settings give no TOKEN_MAX_AGE
DEFAULT_MAX_AGE = 7 * 24 * 3600


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
    """The logged-in user's id, ``None`` without a token; 401 for a bad token."""
    token = _bearer()
    if token is None:
        return None
    uid = read_token(token)
    if uid is None:
        raise HTTPError("the login token is invalid or expired; log in again with POST /api/login.", 401)
    return uid


def require_user_id() -> int:
    """The logged-in user's id; 401 when there is no valid token."""
    uid = optional_user_id()
    if uid is None:
        raise HTTPError("this request needs a login token: send 'Authorization: Bearer <token>' "
                        "(POST /api/login returns one).", 401)
    return uid
