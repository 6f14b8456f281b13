"""Security policy shared by ``create_app`` and ``specter-spoc check``.

One rule for what production accepts as a ``SECRET_KEY``: Flask signs
session cookies with it, so a short or well-known key lets anyone forge a
session. Production refuses a key that is missing, blank, shorter than
:data:`MIN_SECRET_KEY_BYTES` bytes, or a placeholder (``changeme``,
``secret``, ...), and the message says how to generate a good one.
"""
from __future__ import annotations

from typing import Optional

__all__ = ["MIN_SECRET_KEY_BYTES", "secret_key_problem", "GENERATE_KEY_HINT"]

#: production refuses a SECRET_KEY shorter than this many bytes
MIN_SECRET_KEY_BYTES = 32

GENERATE_KEY_HINT = ("set SECRET_KEY (environment, config/.env, settings.py or create_app(config=...)) "
                     "to a random value, e.g. SECRET_KEY=$(python -c 'import secrets; "
                     "print(secrets.token_hex(32))').")

_PLACEHOLDERS = {"changeme", "change-me", "change_me", "secret", "secret-key", "secret_key", "secretkey",
                 "dev", "development", "test", "testing", "default", "password", "your-secret-key",
                 "please-change-me", "replace-me", "x", "key"}


def secret_key_problem(value: object) -> Optional[str]:
    """Why ``value`` is not acceptable as a production SECRET_KEY, or None."""
    if value is None or (isinstance(value, (str, bytes)) and not value.strip()):
        return "production mode needs a SECRET_KEY: sessions and signed cookies would be forgeable"
    if isinstance(value, str):
        raw = value.encode("utf-8", "surrogatepass")
    elif isinstance(value, bytes):
        raw = value
    else:
        return f"SECRET_KEY must be a str or bytes, got {type(value).__name__}"
    if raw.strip().lower().decode("latin-1") in _PLACEHOLDERS:
        return "the SECRET_KEY is a well-known placeholder, not a secret"
    if len(raw) < MIN_SECRET_KEY_BYTES:
        return (f"the SECRET_KEY is too short for production ({len(raw)} bytes; at least "
                f"{MIN_SECRET_KEY_BYTES} random bytes are needed)")
    return None
