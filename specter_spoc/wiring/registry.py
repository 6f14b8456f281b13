"""A late-binding service locator.

Components find each other by key at the moment they need each other, not at
import time, so apps stay decoupled and start order does not matter for
lookups that can wait (:meth:`Registry.wait_for`).

An entry provided with an ``owner`` is removed when that owner stops: nothing
outlives the component that put it there.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple, Type, TypeVar, Union, overload

import gevent
from gevent.event import AsyncResult

from ..typing import CleanupOwner

T = TypeVar("T")

_MISSING = object()


def _check_key(key: object, method: str) -> str:
    if not isinstance(key, str) or not key.strip():
        raise TypeError(
            f"registry.{method}() needs a non-empty str key, got {key!r}. "
            "Use a dotted name such as 'users.service'."
        )
    return key


class Registry:
    """Key -> object locator owned by one runtime.

    Example::

        registry.provide("mailer", Mailer(), owner=service)
        registry.require("mailer").send(...)
    """

    def __init__(self) -> None:
        self._entries: Dict[str, Any] = {}
        self._waiters: Dict[str, List[AsyncResult[Any]]] = {}

    def provide(self, key: str, value: T, owner: Optional[CleanupOwner] = None, replace: bool = False) -> T:
        """Register ``value`` under ``key`` and return it.

        A second provide of the same key raises ``KeyError`` unless
        ``replace=True``. With ``owner`` (anything with ``add_cleanup``, such as
        a Service) the entry is unregistered when the owner stops.
        """
        _check_key(key, "provide")
        if key in self._entries and not replace:
            raise KeyError(
                f"registry key {key!r} is already provided by {self._entries[key]!r}; "
                "pass replace=True to overwrite it, or pick another key."
            )
        if owner is not None:
            if not isinstance(owner, CleanupOwner) or not callable(owner.add_cleanup):
                raise TypeError(
                    f"registry.provide({key!r}, owner=...) needs an owner with add_cleanup() "
                    f"(a Service, Handler or Router), got {type(owner).__name__}."
                )
            owner.add_cleanup(lambda: self._unregister_if(key, value))
        self._entries[key] = value
        for waiter in self._waiters.pop(key, ()):
            waiter.set(value)
        return value

    def _unregister_if(self, key: str, value: Any) -> None:
        if self._entries.get(key, _MISSING) is value:
            del self._entries[key]

    def unregister(self, key: str) -> bool:
        """Remove ``key``; True when it was there."""
        _check_key(key, "unregister")
        return self._entries.pop(key, _MISSING) is not _MISSING

    @overload
    def resolve(self, key: Type[T]) -> Optional[T]: ...
    @overload
    def resolve(self, key: str) -> Any: ...

    def resolve(self, key: Union[str, Type[Any]]) -> Any:
        """The object under ``key``, or None. ``key`` may also be a class:
        the one entry that is an instance of it (typed lookups, no string
        to keep in step with a naming rule)."""
        if isinstance(key, type):
            found = self._instances_of(key)
            return found[0][1] if len(found) == 1 else None
        _check_key(key, "resolve")
        return self._entries.get(key)

    @overload
    def require(self, key: Type[T]) -> T: ...
    @overload
    def require(self, key: str) -> Any: ...

    def require(self, key: Union[str, Type[Any]]) -> Any:
        """The object under ``key`` (a str key, or a class: the one entry
        that is an instance of it); ``KeyError`` naming what *is* registered."""
        if isinstance(key, type):
            found = self._instances_of(key)
            if len(found) == 1:
                return found[0][1]
            what = f"{key.__module__}.{key.__qualname__}"
            if found:
                raise KeyError(f"registry has {len(found)} {what} entries ({', '.join(k for k, _ in found)}); "
                               "require one of them by key.")
            raise KeyError(f"registry has no {what} (registered: {', '.join(sorted(self._entries)) or 'nothing yet'}). "
                           "Is the component installed and started?")
        _check_key(key, "require")
        try:
            return self._entries[key]
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "nothing yet"
            raise KeyError(
                f"registry has no {key!r} (registered: {known}). Provide it with "
                f"registry.provide({key!r}, obj) before use, or use wait_for() to wait for it."
            ) from None

    def _instances_of(self, cls: Type[Any]) -> List[Tuple[str, Any]]:
        found = [(k, v) for k, v in self._entries.items() if isinstance(v, cls)]
        # a runtime provides itself twice ("service_manager", "runtime"): one object
        unique: Dict[int, Tuple[str, Any]] = {}
        for key, value in found:
            unique.setdefault(id(value), (key, value))
        return list(unique.values())

    def has(self, key: str) -> bool:
        _check_key(key, "has")
        return key in self._entries

    def list(self) -> List[str]:
        """Registered keys in the order they were provided."""
        return list(self._entries)

    def wait_for(self, key: str, timeout: Optional[float] = None) -> Any:
        """Block this greenlet (cooperatively) until ``key`` is provided.

        Raises ``TimeoutError`` after ``timeout`` seconds.
        """
        _check_key(key, "wait_for")
        value = self._entries.get(key, _MISSING)
        if value is not _MISSING:
            return value
        waiter: AsyncResult[Any] = AsyncResult()
        self._waiters.setdefault(key, []).append(waiter)
        try:
            return waiter.get(timeout=timeout)
        except gevent.Timeout:
            raise TimeoutError(f"registry key {key!r} was not provided within {timeout}s") from None
        finally:
            waiters = self._waiters.get(key)
            if waiters and waiter in waiters:
                waiters.remove(waiter)
                if not waiters:
                    del self._waiters[key]

    def absorb(self, other: "Registry") -> None:
        """Take over ``other``'s entries that this registry does not have yet
        (a runtime booting alone takes what plain code provided before boot)."""
        for key, value in other._entries.items():
            if key not in self._entries:
                self.provide(key, value)

    def clear(self) -> None:
        """Remove every entry and reject every pending :meth:`wait_for`.

        A waiter cannot be served by a registry that is being emptied (at
        shutdown, or between tests), so it gets a ``RuntimeError`` at once
        instead of blocking until its timeout, or forever without one.
        """
        self._entries.clear()
        waiters, self._waiters = self._waiters, {}
        for key, pending in waiters.items():
            for waiter in pending:
                waiter.set_exception(RuntimeError(
                    f"registry.wait_for({key!r}) was cancelled: the registry was cleared "
                    "(its runtime shut down) before anything provided the key. Provide "
                    f"{key!r} before clearing, or stop waiting when the runtime stops."))

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)
