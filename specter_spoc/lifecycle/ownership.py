"""How an owner releases something it was handed with ``own()``."""
from __future__ import annotations

import logging
from typing import Any, Callable, List, Optional

#: method names tried, in order, when ``own(resource)`` gets no ``stop_method``
CLEANUP_METHODS = ("stop", "teardown", "destroy", "close", "kill")


def resolve_cleanup(resource: Any, stop_method: Optional[str] = None) -> Callable[[], Any]:
    """Return the zero-argument callable that releases ``resource``.

    Raises TypeError, naming the resource's type and the fix, when there is
    no way to release it (owning something you cannot stop is a leak).
    """
    if stop_method is not None:
        method = getattr(resource, stop_method, None)
        if not callable(method):
            raise TypeError(
                f"own(..., stop_method={stop_method!r}): {type(resource).__name__} has no "
                f"callable {stop_method!r}. Name a method it has, or pass a cleanup to add_cleanup()."
            )
        return method
    for name in CLEANUP_METHODS:
        method = getattr(resource, name, None)
        if callable(method):
            return method
    if callable(resource):
        return resource
    raise TypeError(
        f"own() cannot release a {type(resource).__name__}: it has none of "
        f"{', '.join(CLEANUP_METHODS)}() and is not callable. Pass stop_method='...' "
        "or register a cleanup with add_cleanup(fn)."
    )


def unwind(cleanups: List[Callable[[], Any]], log: logging.Logger, owner: str) -> None:
    """Run and remove ``cleanups`` last-in first-out; one that raises is
    logged (naming ``owner``) and the rest still run."""
    while cleanups:
        fn = cleanups.pop()
        try:
            fn()
        except Exception:
            log.exception("%s: cleanup %r raised; the rest still run", owner, fn)
