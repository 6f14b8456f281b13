"""Salted password hashes with scrypt (standard library only).

These functions are CPU-bound on purpose (about 70 ms each at the default
cost), so the users app runs them in a worker process through
``offload_pool(service).run(...)``: the gevent hub keeps serving while a
password is hashed. They import nothing but the standard library, which
keeps the worker process light.

A stored hash carries its parameters (``scrypt$n$r$p$salt$hash``), so the
cost can be raised later without breaking existing accounts.

Example::

    stored = hash_password("correct horse", n=2 ** 14)
    verify_password("correct horse", stored)   # True
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os

_R = 8
_P = 1
_KEY_BYTES = 32


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=256 * 1024 * 1024, dklen=_KEY_BYTES)


def hash_password(password: str, n: int = 2 ** 14) -> str:
    """A new salted scrypt hash of ``password`` with cost ``n`` (a power of 2)."""
    if n < 2 or n & (n - 1):
        raise ValueError(f"scrypt cost n must be a power of 2 greater than 1, got {n}.")
    salt = os.urandom(16)
    return f"scrypt${n}${_R}${_P}${_b64(salt)}${_b64(_scrypt(password, salt, n, _R, _P))}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches ``stored`` (constant-time comparison);
    False for a wrong password or a malformed hash."""
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt":
            return False
        actual = _scrypt(password, _unb64(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, _unb64(expected))
