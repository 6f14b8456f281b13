"""Value coercion for :class:`~specter_spoc.contracts.schema.Field`.

Each coercer takes the raw value and returns the converted one or raises
:class:`Invalid` with the tail of a message ("must be an integer, got 'x'");
the field puts its label in front. Coercers never guess: a bool is never made
from an arbitrary object, a dict never becomes a string, NaN and infinity are
not numbers a payload may carry.
"""
from __future__ import annotations

import math
import re
from typing import Any, Callable, Dict, List, Optional, Tuple

Coercer = Callable[[Any], Any]

_SURROGATE = re.compile("[\ud800-\udfff]")


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


def lone_surrogate(text: str) -> int:
    """Index of the first lone UTF-16 surrogate (U+D800-U+DFFF) in ``text``,
    or -1. JSON may carry them (``"\\ud800"``) but they are not text: UTF-8
    cannot encode them, so SQLite, hashing or any ``encode()`` fails later.
    O(1) for ASCII text."""
    if text.isascii():
        return -1
    found = _SURROGATE.search(text)
    return -1 if found is None else found.start()


def may_hold_surrogates(raw: Any) -> bool:
    """Cheap pre-check on undecoded JSON (``bytes`` or ``str``): False means
    the decoded value cannot hold a lone surrogate (ASCII without a single
    backslash, so no ``\\uD800`` escape either), True means look closer with
    :func:`find_lone_surrogate`. Two C-level scans (``find`` is a memchr),
    microseconds even for 200 KB; a regex would cost a hundred times more."""
    if isinstance(raw, str):
        return raw.find("\\") >= 0 or not raw.isascii()
    if isinstance(raw, (bytes, bytearray)):
        return raw.find(b"\\") >= 0 or not raw.isascii()
    return True


def holds_lone_surrogate(value: Any) -> bool:
    """True when a string or dict key anywhere in the decoded JSON ``value``
    holds a lone surrogate. Iterative (any depth); per string it costs an
    O(1) ``isascii()`` unless the string is non-ASCII, so a 200 KB string
    costs what a short one does."""
    stack = [value]
    search = _SURROGATE.search
    while stack:
        item = stack.pop()
        kind_ = type(item)
        if kind_ is str:
            if not item.isascii() and search(item) is not None:
                return True
        elif kind_ is dict:
            for key in item:
                if type(key) is str and not key.isascii() and search(key) is not None:
                    return True
            stack.extend(item.values())
        elif kind_ is list or kind_ is tuple:
            stack.extend(item)
        elif isinstance(item, str):  # a str subclass
            if search(item) is not None:
                return True
        elif isinstance(item, (dict, list, tuple)):
            stack.append(dict(item) if isinstance(item, dict) else list(item))
    return False


def find_lone_surrogate(value: Any, path: str = "") -> Optional[str]:
    """The path (``"title"``, ``"tags[2]"``, ``"meta.note"``) of the first
    string, or dict key, in a decoded JSON value holding a lone surrogate;
    None when there is none. Walks iteratively: any depth is fine."""
    if not holds_lone_surrogate(value):
        return None
    stack: List[Tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if lone_surrogate(item) >= 0:
                return where or "(the value)"
        elif isinstance(item, dict):
            for key, child in reversed(list(item.items())):
                name = key if isinstance(key, str) else repr(key)
                child_path = f"{where}.{name}" if where else name
                if isinstance(key, str) and lone_surrogate(key) >= 0:
                    return (f"{where}." if where else "") + ascii(key)[1:-1] + " (the key)"
                stack.append((child, child_path))
        elif isinstance(item, (list, tuple)):
            for index in range(len(item) - 1, -1, -1):
                stack.append((item[index], f"{where}[{index}]"))
    return None


def to_str(value: Any) -> str:
    if isinstance(value, str):
        position = lone_surrogate(value)
        if position >= 0:
            raise Invalid(f"must be text without lone UTF-16 surrogates, got {ascii(value[position])} at "
                          f"position {position}: send UTF-8 text (escaped surrogates only as valid pairs)")
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


def to_list(value: Any) -> List[Any]:
    if isinstance(value, (list, tuple)):
        return list(value)
    raise Invalid(f"must be a list, got {kind(value)}")


def to_dict(value: Any) -> Dict[Any, Any]:
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
