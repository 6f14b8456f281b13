"""Value coercion for :class:`~specter_spoc.contracts.schema.Field`.

Each coercer takes the raw value and returns the converted one or raises
:class:`Invalid` with the tail of a message ("must be an integer, got 'x'");
the field puts its label in front. Coercers never guess: a bool is never made
from an arbitrary object, a dict never becomes a string, NaN and infinity are
not numbers a payload may carry.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Dict

Coercer = Callable[[Any], Any]


class Invalid(Exception):
    """A value could not be coerced; the message says what was expected."""


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_KINDS: Dict[type, str] = {
    type(None): "null", bool: "a boolean", int: "a number", float: "a number",
    str: "a string", list: "a list", tuple: "a list", dict: "an object",
}


def kind(value: object) -> str:
    """A JSON-flavoured name for the type of ``value`` ("a list", "null")."""
    return _KINDS.get(type(value)) or f"a {type(value).__name__}"


def describe(value: object, limit: int = 60) -> str:
    """A short, safe rendering of ``value`` for an error message.

    Scalars are shown (truncated); containers and other objects only by kind,
    so a deeply nested or huge input can never blow up the message.
    """
    if isinstance(value, str):
        text = repr(value[:limit])
        return text if len(value) <= limit else text[:-1] + "...'"
    if isinstance(value, (bool, int, float)) or value is None:
        try:
            text = repr(value)
        except ValueError:  # an int with more digits than str() allows
            return "a very large number"
        return text if len(text) <= limit else text[:limit] + "..."
    return kind(value)


def to_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Invalid(f"must be a string, got {kind(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise Invalid(f"must be a string, got {describe(value)}")
    try:
        return str(value)
    except ValueError:
        raise Invalid("must be a string, got a number too large to show") from None


def to_int(value: Any) -> int:
    if type(value) is int:
        return value
    if isinstance(value, bool):
        raise Invalid(f"must be an integer, got {describe(value)}")
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return int(value)
        raise Invalid(f"must be an integer, got {describe(value)}")
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            raise Invalid(f"must be an integer, got {describe(value)}") from None
    raise Invalid(f"must be an integer, got {kind(value)}")


def to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise Invalid(f"must be a number, got {describe(value)}")
    try:
        if isinstance(value, (int, float)):
            number = float(value)
        elif isinstance(value, str):
            number = float(value.strip())
        else:
            raise Invalid(f"must be a number, got {kind(value)}")
    except (ValueError, OverflowError):
        raise Invalid(f"must be a number, got {describe(value)}") from None
    if not math.isfinite(number):
        raise Invalid(f"must be a finite number, got {describe(value)}")
    return number


def to_bool(value: Any) -> bool:
    if value is True or value is False:
        return value
    if type(value) is int and value in (0, 1):
        return value == 1
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise Invalid(f"must be a boolean (true/false, 1/0, yes/no, on/off), got {describe(value)}")


def to_list(value: Any) -> list:
    if isinstance(value, (list, tuple)):
        return list(value)
    raise Invalid(f"must be a list, got {kind(value)}")


def to_dict(value: Any) -> dict:
    if isinstance(value, dict):
        return dict(value)
    raise Invalid(f"must be an object, got {kind(value)}")


def to_any(value: Any) -> Any:
    return value


#: built-in targets with a coercer of their own; anything else callable is
#: used as a custom coercer
BUILTIN: Dict[Any, Coercer] = {
    str: to_str, int: to_int, float: to_float, bool: to_bool,
    list: to_list, dict: to_dict, object: to_any,
}
