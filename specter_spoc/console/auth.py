"""Who may see the runtime console and use its actions.

The console shows internals (service errors, queue items, client counts) and
can restart services, so it is guarded the same way over HTTP and over its
Socket.IO namespace:

- **mode**: in ``development`` / ``test`` (or an app without a project) it is
  open without credentials; in ``production`` (and ``staging``, or any other
  mode) it is only installed when configured, and then a token or an auth
  callable is mandatory (:func:`check_production_guard`).
- **token**: ``Authorization: Bearer <token>``, the ``X-Spoc-Console-Token``
  header, or the Socket.IO ``auth`` payload ``{"token": ...}``; compared in
  constant time.
- **auth callable**: ``auth(request) -> bool`` receives the Flask request (a
  page load, an API call or the Socket.IO handshake) so an app can reuse its
  own login (e.g. ``lambda request: current_user.is_admin``).
- **same origin**: a request carrying an ``Origin`` header that differs from
  its own host, or a browser's ``Sec-Fetch-Site: cross-site``, is refused,
  whatever its credentials: the console is never reachable cross-origin, and
  it never sends CORS headers.
"""
from __future__ import annotations

import hmac
from typing import Any, Callable, Optional, Protocol
from urllib.parse import urlsplit

from ..runtime import BootError

__all__ = ["ConsoleAuth", "AuthCallable", "ConsoleConfigError", "is_production", "check_production_guard",
           "OPEN_MODES"]

#: header a CLI or script may use instead of ``Authorization: Bearer``
TOKEN_HEADER = "X-Spoc-Console-Token"


class AuthCallable(Protocol):
    def __call__(self, request: Any) -> bool: ...


class ConsoleConfigError(BootError, ValueError):
    """The console (or metrics) settings are inconsistent; the message says
    which key to set. A BootError, so ``create_app()`` refuses to boot with it."""


#: modes in which the console may run without credentials (None: an app without a project)
OPEN_MODES = ("", "development", "test")


def is_production(mode: Optional[str]) -> bool:
    """Production-like: any mode but development and test (staging included)."""
    return (mode or "").strip().lower() not in OPEN_MODES


def check_production_guard(mode: Optional[str], token: Optional[str], auth: Optional[AuthCallable]) -> None:
    """Refuse an unguarded console in production (or staging) mode."""
    if is_production(mode) and not token and auth is None:
        raise ConsoleConfigError(
            f"the runtime console is enabled in {mode} mode without credentials: set CONSOLE_TOKEN "
            "(e.g. CONSOLE_TOKEN=$(python -c 'import secrets; print(secrets.token_urlsafe(32))')) or pass "
            "install_console(runtime, auth=callable), or set CONSOLE_ENABLED = False.")


def _same_origin(request: Any) -> bool:
    if (request.headers.get("Sec-Fetch-Site") or "").lower() == "cross-site":
        return False
    origin: Optional[str] = request.headers.get("Origin")
    if not origin or origin == "null":
        return origin != "null"
    host = request.headers.get("Host") or request.host
    return urlsplit(origin).netloc.lower() == (host or "").lower()


class ConsoleAuth:
    """The console's gate; ``allows(request, socket_auth)`` is the single check."""

    def __init__(self, *, mode: Optional[str], token: Optional[str] = None,
                 auth: Optional[AuthCallable] = None) -> None:
        if token is not None and (not isinstance(token, str) or len(token) < 8):
            raise ConsoleConfigError("CONSOLE_TOKEN must be a string of at least 8 characters, got "
                                     f"{'a ' + type(token).__name__ if not isinstance(token, str) else 'a shorter one'}.")
        if auth is not None and not callable(auth):
            raise ConsoleConfigError(f"install_console(auth=...) needs a callable taking the Flask request, "
                                     f"got {type(auth).__name__}.")
        check_production_guard(mode, token, auth)
        self.mode = mode
        self._token = token
        self._auth: Optional[Callable[[Any], bool]] = auth

    @property
    def open(self) -> bool:
        """True when no credentials are required (development without token/auth)."""
        return self._token is None and self._auth is None

    def presented_token(self, request: Any, socket_auth: Any = None) -> Optional[str]:
        if isinstance(socket_auth, dict):
            token = socket_auth.get("token")
            if isinstance(token, str):
                return token
        header = request.headers.get("Authorization") or ""
        if header.lower().startswith("bearer "):
            return header[7:].strip()
        presented: Optional[str] = request.headers.get(TOKEN_HEADER)
        return presented

    def same_origin(self, request: Any) -> bool:
        return _same_origin(request)

    def allows(self, request: Any, socket_auth: Any = None) -> bool:
        """Same origin, and (when configured) the right token or the auth callable's yes."""
        if not _same_origin(request):
            return False
        if self.open:
            return True
        if self._token is not None:
            presented = self.presented_token(request, socket_auth)
            if presented and hmac.compare_digest(presented.encode(), self._token.encode()):
                return True
        if self._auth is not None:
            try:
                return bool(self._auth(request))
            except Exception:
                return False
        return False
