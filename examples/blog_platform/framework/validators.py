"""Field validators shared by the apps' schemas.

Each takes the coerced value and raises ``ValueError`` with what is expected;
:class:`~specter_spoc.Field` turns that into a 400 answer naming the field.

Example::

    Field(str, required=True, validator=text(1, 200))
"""
from __future__ import annotations

import re
from typing import Callable
from urllib.parse import urlsplit

_USERNAME = re.compile(r"[A-Za-z0-9_.-]{3,30}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def username(value: str) -> bool:
    if not _USERNAME.fullmatch(value.strip()):
        raise ValueError("use 3 to 30 letters, digits, '.', '_' or '-'")
    return True


def email(value: str) -> bool:
    if len(value) > 254 or not _EMAIL.fullmatch(value.strip()):
        raise ValueError("must be an e-mail address such as alice@example.com")
    return True


def password(value: str) -> bool:
    if not 8 <= len(value) <= 128:
        raise ValueError("must be 8 to 128 characters long")
    return True


def text(minimum: int, maximum: int) -> Callable[[str], bool]:
    """Between ``minimum`` and ``maximum`` characters once blanks are stripped."""
    def check(value: str) -> bool:
        size = len(value.strip())
        if size < minimum:
            raise ValueError("must not be blank" if minimum == 1 else f"needs at least {minimum} characters")
        if size > maximum:
            raise ValueError(f"must be at most {maximum} characters long (got {size})")
        return True
    return check


def web_url(value: str) -> bool:
    """Empty, or an http(s) URL of at most 300 characters."""
    value = value.strip()
    if not value:
        return True
    parts = urlsplit(value)
    if len(value) > 300 or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http:// or https:// URL of at most 300 characters")
    return True


def between(minimum: int, maximum: int) -> Callable[[int], bool]:
    def check(value: int) -> bool:
        if not minimum <= value <= maximum:
            raise ValueError(f"must be between {minimum} and {maximum}")
        return True
    return check


#: the largest id SQLite (a signed 64-bit integer) can store
MAX_ID = 2 ** 63 - 1

#: URL converter for ids: a number the database can hold, else the route does
#: not match (404) instead of the database raising OverflowError (a 500)
ID = f"int(min=1, max={MAX_ID})"
