"""What Store and Model share: argument checks, the writer lock, the
subscriber list and the scope's bus.

Locking rule: greenlets only switch where code yields, so a write that does
not call user code (``set``, ``delete``...) is atomic without a lock. Only
``update(mutator)`` and ``access(reader)`` run user code that may yield inside
a critical section; they take a gevent lock, and plain writes take it only
while someone holds it (one attribute check on the hot path).
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Dict, Optional, Protocol, Tuple

from gevent import getcurrent
from gevent.lock import Semaphore

from ..typing import Cleanup, CleanupOwner
from ..wiring.bus import Listener
from ..wiring.scope import current_scope, default_scope

logger: logging.Logger = logging.getLogger("specter_spoc.state")

Unsubscribe = Callable[[], None]


class BusLike(Protocol):
    """What state objects need of a bus: an EventBus or the ``bus`` proxy."""

    def on(self, event: str, callback: Listener) -> Callable[[], None]: ...
    def off(self, event: str, callback: Listener) -> None: ...
    def emit(self, event: str, data: object = None) -> None: ...


def creation_bus() -> BusLike:
    """The bus a state object created now talks to.

    Inside a runtime (a service's ``on_start``, a request, a socket event) it
    is that runtime's bus, for good: the store's change events and the
    cache's cascades stay in the runtime that made them, whoever writes later.
    Outside any runtime (import time, a composition root before ``boot()``,
    a script) it is the module-level ``bus``, resolved at each use, so that
    SPECTER's pattern of creating caches at import time follows the
    process-wide rule (see "The process-wide bus and registry" in
    specter.md): once the app is booted, they hear and reach its bus.
    """
    scope = current_scope()
    if scope is default_scope():
        from ..wiring.proxies import bus
        return bus
    return scope.bus


def check_name(kind: str, name: object) -> str:
    if not isinstance(name, str) or not name:
        raise TypeError(f"{kind}(name=...) must be a non-empty str such as 'users.online', got {name!r}.")
    return name


def check_initial(kind: str, name: str, initial_state: object) -> Dict[str, Any]:
    if initial_state is None:
        return {}
    if not isinstance(initial_state, dict):
        raise TypeError(
            f"{kind} {name!r}: initial_state must be a dict or None, got {type(initial_state).__name__}."
        )
    return initial_state


def check_owner(kind: str, name: str, owner: object) -> Callable[[Cleanup], object]:
    if not isinstance(owner, CleanupOwner) or not callable(owner.add_cleanup):
        raise TypeError(
            f"{kind} {name!r}: subscribe(owner=...) needs an object with add_cleanup() "
            f"(a Service or Controller), got {type(owner).__name__}."
        )
    return owner.add_cleanup


def check_callable(kind: str, name: str, what: str, fn: object) -> None:
    if not callable(fn):
        raise TypeError(f"{kind} {name!r}: {what} needs a callable, got {type(fn).__name__}: {fn!r}.")


class StateBase:
    """Common machinery; see :class:`~specter_spoc.state.Store` and
    :class:`~specter_spoc.state.Model` for the public API."""

    _kind = "state"
    __slots__ = ("name", "_state", "_lock", "_holder", "_subs", "_emit_events", "_change_event", "_bus",
                 "__weakref__")

    def __init__(self, name: str, *, emit_events: bool = False, change_event: Optional[str] = None) -> None:
        kind = type(self).__name__
        self.name: str = check_name(kind, name)
        if not isinstance(emit_events, bool):
            raise TypeError(f"{kind} {name!r}: emit_events must be True or False, got {emit_events!r}.")
        if change_event is not None and (not isinstance(change_event, str) or not change_event):
            raise TypeError(
                f"{kind} {name!r}: change_event must be a non-empty str or None, got {change_event!r}."
            )
        #: the current state; subclasses fill it after this constructor
        self._state: Dict[str, Any] = {}
        self._lock = Semaphore(1)
        self._holder: Any = None
        self._subs: Tuple[Any, ...] = ()
        self._emit_events = emit_events
        self._change_event = change_event or f"{name}:changed"
        self._bus: BusLike = creation_bus()

    @property
    def change_event(self) -> str:
        """The bus event emitted after each change when ``emit_events`` is on."""
        return self._change_event

    @property
    def subscriber_count(self) -> int:
        return len(self._subs)

    # ---------------------------------------------------------------- locking
    def _lock_for(self, what: str) -> None:
        me = getcurrent()
        if self._holder is me:
            raise RuntimeError(
                f"{type(self).__name__} {self.name!r}: {what} was called from inside update() or "
                "access() of the same object, which would deadlock. Return the changes from the "
                "mutator (or mutate the draft) instead."
            )
        self._lock.acquire()
        self._holder = me

    def _unlock(self) -> None:
        self._holder = None
        self._lock.release()

    def _update_with(self, mutator: Callable[[Dict[str, Any]], Optional[Dict[str, Any]]],
                     copy: Callable[[Any], Dict[str, Any]]) -> Dict[str, Any]:
        """``update()`` for Store and Model, which differ only in ``copy``
        (shallow for a flat Store, deep for a nested Model): the mutator
        changes a copy (or returns a replacement dict), and only a mutator
        that returns normally replaces the state."""
        kind = type(self).__name__
        check_callable(kind, self.name, "update()", mutator)
        self._lock_for("update()")
        try:
            draft = copy(self._state)
            replacement = mutator(draft)
            if replacement is not None:
                if not isinstance(replacement, dict):
                    raise TypeError(
                        f"{kind} {self.name!r}: the update() mutator must change the draft in place "
                        f"and return None, or return a dict; it returned {type(replacement).__name__}."
                    )
                draft = copy(replacement)
            self._state = draft
        finally:
            self._unlock()
        return self._changed()

    def _changed(self) -> Dict[str, Any]:
        """Notify subscribers of the new state; returns its snapshot (Store and Model each define it)."""
        raise NotImplementedError

    # ------------------------------------------------------------ subscribers
    def _add_subscriber(self, record: Any, owner: Optional[CleanupOwner]) -> Unsubscribe:
        add_cleanup = check_owner(type(self).__name__, self.name, owner) if owner is not None else None
        self._subs = self._subs + (record,)
        done = False

        def unsubscribe() -> None:
            nonlocal done
            if done:
                return
            done = True
            subs = self._subs
            for index, item in enumerate(subs):
                if item is record:
                    self._subs = subs[:index] + subs[index + 1:]
                    return

        if add_cleanup is not None:
            try:
                add_cleanup(unsubscribe)
            except BaseException:
                unsubscribe()
                raise
        return unsubscribe

    def _call(self, fn: Callable[..., Any], value: Any) -> None:
        try:
            fn(value, self)
        except Exception:
            logger.exception("%s %r: subscriber %r raised; the other subscribers still ran",
                             type(self).__name__, self.name, fn)

    def _drop_subscribers(self) -> None:
        self._subs = ()
