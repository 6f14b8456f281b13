"""Store: named, flat, shared state with change subscribers.

A Store is a dict with a name and a change feed. Several greenlets (routes,
socket handlers, services) read and write it; every write hands subscribers
a fresh copy of the new state, and with ``emit_events=True`` also emits
``'<name>:changed'`` on the bus of the runtime that created the store.

Guarantees:

* reads never block and return copies: nobody can change the store's state
  except through its methods;
* ``update(mutator)`` is atomic even if the mutator yields: other writers wait;
* subscribers are called in the writer's greenlet, in subscription order; one
  that raises is logged and the others still run;
* ``destroy()`` drops state and subscribers, so ``service.own(store)``
  releases it when the service stops.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional, TypeVar, overload

from ..typing import CleanupOwner
from ._base import StateBase, Unsubscribe, check_callable, check_initial

R = TypeVar("R")
StateDict = Dict[str, Any]
StateSubscriber = Callable[[StateDict, Any], Any]


class Store(StateBase):
    """Shared flat state with subscriptions.

    Example::

        online = create_store("users.online", {"count": 0}, emit_events=True)
        online.subscribe(lambda state, store: print(state["count"]), owner=service)
        online.set({"count": 1})                       # -> {'count': 1}
        online.update(lambda draft: draft.update(count=draft["count"] + 1))
        online.get("count")                            # 2
    """

    __slots__ = ()

    def __init__(self, name: str, initial_state: Optional[StateDict] = None, *,
                 emit_events: bool = False, change_event: Optional[str] = None) -> None:
        super().__init__(name, emit_events=emit_events, change_event=change_event)
        self._state: StateDict = dict(check_initial("Store", name, initial_state))

    # ------------------------------------------------------------------ reads
    @overload
    def get(self) -> StateDict: ...

    @overload
    def get(self, key: str, default: Any = None) -> Any: ...

    def get(self, key: Optional[str] = None, default: Any = None) -> Any:
        """The value under ``key`` (or ``default``); a copy of the whole state
        when ``key`` is omitted."""
        if key is None:
            return dict(self._state)
        return self._state.get(key, default)

    def snapshot(self) -> StateDict:
        """A shallow copy of the whole state."""
        return dict(self._state)

    def access(self, reader: Callable[[StateDict], R]) -> R:
        """Call ``reader(state)`` with no write in between, even if the reader
        yields; returns what it returns. Treat the mapping as read-only."""
        check_callable("Store", self.name, "access()", reader)
        self._lock_for("access()")
        try:
            return reader(self._state)
        finally:
            self._unlock()

    # ----------------------------------------------------------------- writes
    def set(self, partial: StateDict) -> StateDict:
        """Merge ``partial`` into the state; returns the new state (a copy)."""
        if not isinstance(partial, dict):
            raise TypeError(f"Store {self.name!r}: set() needs a dict, got {type(partial).__name__}.")
        if self._holder is None:
            self._state.update(partial)
        else:
            self._lock_for("set()")
            try:
                self._state.update(partial)
            finally:
                self._unlock()
        return self._changed()

    def replace(self, state: StateDict) -> StateDict:
        """Make ``state`` (copied) the whole new state; returns a copy of it."""
        if not isinstance(state, dict):
            raise TypeError(f"Store {self.name!r}: replace() needs a dict, got {type(state).__name__}.")
        if self._holder is None:
            self._state = dict(state)
        else:
            self._lock_for("replace()")
            try:
                self._state = dict(state)
            finally:
                self._unlock()
        return self._changed()

    def delete(self, *keys: str) -> StateDict:
        """Remove ``keys`` that are present; subscribers hear of it only if one
        was. Returns the new state."""
        if self._holder is None:
            removed = self._remove(keys)
        else:
            self._lock_for("delete()")
            try:
                removed = self._remove(keys)
            finally:
                self._unlock()
        return self._changed() if removed else dict(self._state)

    def _remove(self, keys: Any) -> bool:
        state = self._state
        removed = False
        for key in keys:
            if key in state:
                del state[key]
                removed = True
        return removed

    def clear(self) -> StateDict:
        """Empty the state; returns ``{}``."""
        return self.replace({})

    def update(self, mutator: Callable[[StateDict], Optional[StateDict]]) -> StateDict:
        """Atomically change the state with ``mutator(draft)``.

        The mutator gets a copy (the draft) to change in place, or returns a
        dict that becomes the new state. If it raises, nothing changes and the
        exception propagates. Returns the new state.
        """
        return self._update_with(mutator, dict)

    # ------------------------------------------------------------ subscribers
    def subscribe(self, fn: StateSubscriber, immediate: bool = False,
                  owner: Optional[CleanupOwner] = None) -> Unsubscribe:
        """Call ``fn(state_copy, store)`` after every change; returns an
        unsubscribe function. With ``owner`` (anything with ``add_cleanup``,
        such as a Service) the subscription ends when the owner stops. With
        ``immediate`` ``fn`` is also called once now."""
        check_callable("Store", self.name, "subscribe()", fn)
        unsubscribe = self._add_subscriber(fn, owner)
        if immediate:
            self._call(fn, dict(self._state))
        return unsubscribe

    def watch(self, fn: StateSubscriber, immediate: bool = True, owner: Optional[CleanupOwner] = None) -> Unsubscribe:
        """``subscribe()`` that also calls ``fn`` right away by default."""
        return self.subscribe(fn, immediate=immediate, owner=owner)

    def destroy(self) -> None:
        """Drop the state and every subscriber (what ``service.own(store)``
        calls on stop). The store stays usable, empty."""
        self._state = {}
        self._drop_subscribers()

    # ------------------------------------------------------------- internals
    def _changed(self) -> StateDict:
        snapshot = dict(self._state)
        for fn in self._subs:
            self._call(fn, dict(snapshot))
        if self._emit_events:
            self._bus.emit(self._change_event, dict(snapshot))
        return snapshot

    def __contains__(self, key: object) -> bool:
        return key in self._state

    def __repr__(self) -> str:
        return f"<Store {self.name!r} keys={len(self._state)}>"


def create_store(name: str, initial_state: Optional[StateDict] = None, **kwargs: Any) -> Store:
    """A new :class:`Store` (keyword options: ``emit_events``, ``change_event``)."""
    return Store(name, initial_state, **kwargs)
