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

from typing import Any, Dict, Mapping

# text masking (URLs, query parameters) lives at the bottom layer, so the
# lifecycle, contrib and runtime layers use it without importing this one
from .._masking import MASK, mask_text

__all__ = ["MASK", "is_secret_name", "mask_text", "mask_value", "mask_settings"]

_SECRET_WORDS = ("PASSWORD", "PASSWD", "SECRET", "TOKEN", "KEY", "CREDENTIAL", "PRIVATE")


def is_secret_name(name: object) -> bool:
    """True when ``name`` looks like it holds a secret (case-insensitive)."""
    upper = str(name).upper()
    return any(word in upper for word in _SECRET_WORDS)


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
