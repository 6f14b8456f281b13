"""Argument checks shared by every layer (the bottom of the layer order).

One place decides what "a number of seconds" or "a count" is, so every
public constructor rejects ``True``, ``"5"`` and ``-1`` the same way, with a
message that names the argument and the fix.
"""
from __future__ import annotations

from typing import Optional

__all__ = ["is_number", "check_seconds", "check_int"]


def is_number(value: object) -> bool:
    """True for int and float, False for bool (``True`` is not 1 second)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_seconds(value: object, what: str, *, allow_zero: bool = False,
                  allow_none: bool = False) -> float:
    """``value`` as float seconds, or TypeError/ValueError naming ``what``."""
    if value is None and allow_none:
        return None  # type: ignore[return-value]
    if not is_number(value):
        raise TypeError(f"{what} needs seconds as a number, got {value!r}.")
    seconds = float(value)  # type: ignore[arg-type]
    if seconds != seconds or seconds < 0 or (seconds == 0 and not allow_zero):
        raise ValueError(f"{what} needs seconds {'>= 0' if allow_zero else '> 0'}, got {value!r}.")
    return seconds


def check_int(value: object, what: str, minimum: Optional[int] = None) -> int:
    """``value`` as an int (not a bool) >= ``minimum``, or an error naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, got {value!r}.")
    if minimum is not None and value < minimum:
        raise ValueError(f"{what} must be >= {minimum}, got {value}.")
    return value
