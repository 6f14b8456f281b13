"""Path helpers for :class:`~specter_spoc.state.Model`.

The model's tree is copy-on-write: a change copies only the containers on
the changed path and shares the rest, so the tree a subscriber last saw is
still intact and an unchanged branch compares equal by identity. Helpers here
never mutate a container they did not create.
"""
from __future__ import annotations

import copy
from marshal import dumps as _dumps, loads as _loads
from typing import Any, Dict, List, Optional, Sequence, Tuple, TypeVar, Union, cast

PathLike = Union[str, Sequence[Union[str, int]]]
Path = Tuple[Union[str, int], ...]

MISSING: Any = object()
_ATOMIC = frozenset({str, int, float, bool, type(None), bytes, complex})


class PathConflict(Exception):
    """A path cannot be written: ``depth`` is where it failed."""

    def __init__(self, depth: int, reason: str) -> None:
        super().__init__(reason)
        self.depth = depth
        self.reason = reason


def normalize(path: object) -> Path:
    """``"a.b.0"`` or ``["a", "b", 0]`` -> ``("a", "b", 0)``-like tuple."""
    if isinstance(path, str):
        return tuple(part for part in path.split(".") if part)
    if isinstance(path, (list, tuple)):
        for part in path:
            if isinstance(part, bool) or not isinstance(part, (str, int)):
                raise TypeError(
                    f"path segments must be str (dict keys) or int (list indexes), got {part!r} in {path!r}."
                )
        return tuple(path)
    raise TypeError(
        f"a path must be a dotted str such as 'player.queue.0' or a list such as "
        f"['player', 'queue', 0]; got {type(path).__name__}: {path!r}."
    )


def render(path: Path) -> str:
    return ".".join(str(part) for part in path) or "<root>"


V = TypeVar("V")


def clone(value: V) -> V:
    """A deep copy of ``value``.

    Plain data (exact dict/list/tuple/set/str/int/float/bool/None/bytes) is
    copied through :mod:`marshal`, which does it in C, several times faster
    than :func:`copy.deepcopy`; marshal refuses anything else (subclasses,
    enums, custom objects), and then the copy is made item by item, falling
    back to ``deepcopy`` for what is not plain data.
    """
    if type(value) in _ATOMIC:
        return value
    try:
        return cast(V, _loads(_dumps(cast(Any, value))))  # marshal refuses what it cannot copy: TypeError below
    except (ValueError, TypeError):
        return cast(V, _slow_clone(value))


def _slow_clone(value: Any) -> Any:
    kind = type(value)
    if kind in _ATOMIC:
        return value
    if kind is dict:
        return {key: _slow_clone(item) for key, item in value.items()}
    if kind is list:
        return [_slow_clone(item) for item in value]
    if kind is tuple:
        return tuple(_slow_clone(item) for item in value)
    return copy.deepcopy(value)


def _index(part: Union[str, int], size: int) -> Optional[int]:
    if isinstance(part, str):
        if not (part.isascii() and part.isdigit()):
            return None
        part = int(part)
    if -size <= part < size:
        return part if part >= 0 else size + part
    return None


def _key(node: Dict[Any, Any], part: Union[str, int]) -> Union[str, int]:
    if isinstance(part, int) and part not in node and str(part) in node:
        return str(part)
    return part


def lookup(node: Any, path: Path) -> Any:
    """The value at ``path``, or :data:`MISSING`."""
    for part in path:
        if isinstance(node, dict):
            node = node.get(_key(node, part), MISSING)
            if node is MISSING:
                return MISSING
        elif isinstance(node, list):
            index = _index(part, len(node))
            if index is None:
                return MISSING
            node = node[index]
        else:
            return MISSING
    return node


def assoc(node: Any, path: Path, value: Any, depth: int = 0) -> Any:
    """A copy of ``node`` with ``value`` at ``path`` (missing or null
    intermediates become dicts; ``list`` index ``len`` appends)."""
    if depth == len(path):
        return value
    part = path[depth]
    if node is MISSING or node is None:
        node = {}
    if isinstance(node, dict):
        key = _key(node, part)
        new = dict(node)
        new[key] = assoc(node.get(key, MISSING), path, value, depth + 1)
        return new
    if isinstance(node, list):
        index = _index(part, len(node))
        new_list: List[Any] = list(node)
        if index is None:
            if part in (len(node), str(len(node))):
                new_list.append(assoc(MISSING, path, value, depth + 1))
                return new_list
            if isinstance(part, str) and not (part.isascii() and part.isdigit()):
                raise PathConflict(depth, f"is a list, which needs a numeric index, not {part!r}")
            raise PathConflict(depth, f"is a list of {len(node)}, so index {part!r} is out of range "
                                      f"(use {len(node)} to append)")
        new_list[index] = assoc(node[index], path, value, depth + 1)
        return new_list
    name = type(node).__name__
    article = "an" if name[:1].lower() in "aeiou" else "a"
    raise PathConflict(depth, f"holds {article} {name} value, not a dict or list; "
                              "delete or replace it first")


def dissoc(node: Any, path: Path, depth: int = 0) -> Any:
    """A copy of ``node`` without ``path``, or :data:`MISSING` if absent."""
    part = path[depth]
    last = depth == len(path) - 1
    if isinstance(node, dict):
        key = _key(node, part)
        if key not in node:
            return MISSING
        if last:
            new = dict(node)
            del new[key]
            return new
        child = dissoc(node[key], path, depth + 1)
        if child is MISSING:
            return MISSING
        new = dict(node)
        new[key] = child
        return new
    if isinstance(node, list):
        index = _index(part, len(node))
        if index is None:
            return MISSING
        if last:
            return node[:index] + node[index + 1:]
        child = dissoc(node[index], path, depth + 1)
        if child is MISSING:
            return MISSING
        new_list = list(node)
        new_list[index] = child
        return new_list
    return MISSING


def merge(base: Any, patch: Dict[str, Any]) -> Dict[str, Any]:
    """``patch`` deep-merged into ``base`` (dicts merge, anything else replaces)."""
    new = dict(base) if isinstance(base, dict) else {}
    for key, value in patch.items():
        current = new.get(key, MISSING)
        if isinstance(value, dict) and isinstance(current, dict):
            new[key] = merge(current, value)
        else:
            new[key] = clone(value)
    return new
