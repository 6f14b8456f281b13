"""Masking secret-looking settings before they are shown anywhere.

Settings and environment values end up in CLI listings, health pages, logs
and reprs. Any name containing ``PASSWORD``, ``PASSWD``, ``SECRET``,
``TOKEN``, ``KEY``, ``CREDENTIAL`` or ``PRIVATE`` (any case) has its value
replaced by :data:`MASK`, recursively through dicts and lists, and a password
inside a URL (``redis://user:pw@host``) or a secret-looking query parameter
(``?token=...``) is masked wherever it appears. Empty values stay visible so
"unset" can still be told apart from "set".

Example::

    >>> mask_settings({"DATABASE_URL": "postgres://app:hunter2@db/app",
    ...                "SECRET_KEY": "abc", "DEBUG": True})
    {'DATABASE_URL': 'postgres://app:********@db/app', 'SECRET_KEY': '********', 'DEBUG': True}
"""
from __future__ import annotations

import re
from typing import Any, Mapping, Dict

MASK = "********"

_SECRET_WORDS = ("PASSWORD", "PASSWD", "SECRET", "TOKEN", "KEY", "CREDENTIAL", "PRIVATE")
_URL_CREDENTIALS = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*):(?P<pw>[^@/\s]*)@")
_QUERY_SECRET = re.compile(
    r"(?P<head>[?&;][^=&#\s]*(?:password|passwd|secret|token|key|credential)[^=&#\s]*=)(?P<value>[^&#\s]*)",
    re.IGNORECASE,
)


def is_secret_name(name: object) -> bool:
    """True when ``name`` looks like it holds a secret (case-insensitive)."""
    upper = str(name).upper()
    return any(word in upper for word in _SECRET_WORDS)


def mask_text(text: str) -> str:
    """Mask passwords inside URLs and secret-looking query parameters in ``text``."""
    if "://" not in text and "=" not in text:
        return text
    text = _URL_CREDENTIALS.sub(lambda m: f"{m.group('head')}:{MASK}@" if m.group("pw") else m.group(0), text)
    return _QUERY_SECRET.sub(lambda m: m.group("head") + (MASK if m.group("value") else ""), text)


def mask_value(name: object, value: Any) -> Any:
    """``value`` as safe to show for a setting called ``name``.

    A secret-looking name masks the whole value (except ``None`` and empty
    values); other values are walked: dict keys are judged by their own names,
    strings have URL credentials masked. Non-container objects are returned
    unchanged.
    """
    if is_secret_name(name):
        if value is None or value == "" or value == b"":
            return value
        if isinstance(value, Mapping):
            return {k: mask_value(name, v) for k, v in value.items()}
        if isinstance(value, list):
            return [mask_value(name, v) for v in value]
        if isinstance(value, tuple):
            return tuple(mask_value(name, v) for v in value)
        return MASK
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {k: mask_value(k, v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_value(name, v) for v in value]
    if isinstance(value, tuple):
        return tuple(mask_value(name, v) for v in value)
    return value


def mask_settings(mapping: Mapping[str, Any]) -> Dict[str, Any]:
    """A copy of ``mapping`` with every secret-looking value masked."""
    return {key: mask_value(key, value) for key, value in mapping.items()}
