"""A synchronous, in-process publish/subscribe bus.

Listeners run in the emitter's greenlet, one after the other, **in the order
they subscribed** (SPECTER keeps them in a set, so its order is arbitrary).
A listener that raises is logged and the rest still run: one bad subscriber
must not silence the others.

Listener lists are copy-on-write tuples, so ``emit`` does no copying and a
listener may subscribe or unsubscribe while an emit is running (the change
applies from the next emit).
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Dict, Optional, Tuple

logger: logging.Logger = logging.getLogger("specter_spoc.bus")

Listener = Callable[[Any], Any]


def _check_event(event: object, method: str) -> str:
    if not isinstance(event, str) or not event:
        raise TypeError(
            f"bus.{method}() needs the event name as a non-empty str, got {event!r}. "
            "Name events like 'posts:published'."
        )
    return event


def _check_callback(callback: object, method: str) -> None:
    if not callable(callback):
        raise TypeError(
            f"bus.{method}() needs a callable listener taking one argument (the event data), "
            f"got {type(callback).__name__}: {callback!r}."
        )


class EventBus:
    """Synchronous pub/sub keyed by event name.

    Example::

        bus = EventBus()
        off = bus.on("posts:published", lambda post: print(post["id"]))
        bus.emit("posts:published", {"id": 1})
        off()
    """

    __slots__ = ("_listeners", "_taps")

    def __init__(self) -> None:
        self._listeners: Dict[str, Tuple[Listener, ...]] = {}
        self._taps: Tuple[Callable[[str, Any], Any], ...] = ()

    def tap(self, fn: Callable[[str, Any], Any]) -> Callable[[], None]:
        """Offer every emitted event to ``fn(event, data)`` before the
        listeners run; returns the function that removes the tap.

        This is how bridges (e.g. Redis) see events without being listeners of
        each one. Unlike a listener, a tap that raises makes ``emit`` raise:
        it is how a bridge refuses an event it cannot carry.
        """
        if not callable(fn):
            raise TypeError(f"bus.tap() needs a callable taking (event, data), got {fn!r}.")
        self._taps = self._taps + (fn,)

        def untap() -> None:
            self._taps = tuple(t for t in self._taps if t is not fn)

        return untap

    def on(self, event: str, callback: Listener) -> Callable[[], None]:
        """Subscribe ``callback(data)`` to ``event``; returns an unsubscribe function."""
        _check_event(event, "on")
        _check_callback(callback, "on")
        self._listeners[event] = self._listeners.get(event, ()) + (callback,)
        return lambda: self.off(event, callback)

    def once(self, event: str, callback: Listener) -> Callable[[], None]:
        """Subscribe for the next emit of ``event`` only."""
        _check_event(event, "once")
        _check_callback(callback, "once")

        def fire_once(data: Any) -> Any:
            self.off(event, fire_once)
            return callback(data)

        fire_once.__wrapped_listener__ = callback  # type: ignore[attr-defined]
        self._listeners[event] = self._listeners.get(event, ()) + (fire_once,)
        return lambda: self.off(event, fire_once)

    def off(self, event: str, callback: Listener) -> None:
        """Remove the first subscription of ``callback`` (or of a ``once``
        wrapper around it) from ``event``. Unknown pairs are ignored.

        Listeners are compared by equality, not identity, as in SPECTER:
        ``self.handler`` builds a new bound-method object on every access, so
        ``bus.off("x", self.handler)`` must match the one given to ``on``.
        """
        current = self._listeners.get(event)
        if not current:
            return
        for index, listener in enumerate(current):
            if listener == callback or getattr(listener, "__wrapped_listener__", None) == callback:
                remaining = current[:index] + current[index + 1:]
                if remaining:
                    self._listeners[event] = remaining
                else:
                    del self._listeners[event]
                return

    def emit(self, event: str, data: object = None) -> None:
        """Call every listener of ``event`` with ``data``, in subscription order."""
        listeners = self._listeners.get(event)
        if self._taps:
            for tap in self._taps:
                tap(event, data)
        elif not listeners:
            return
        for callback in listeners or ():
            try:
                callback(data)
            except Exception:
                self._listener_failed(callback, event)

    @staticmethod
    def _listener_failed(callback: Listener, event: str) -> None:
        """A listener raised (inside ``except``): log it; the others still run."""
        logger.exception("bus listener %r for event %r raised; the other listeners still ran", callback, event)

    def absorb(self, other: "EventBus") -> None:
        """Add ``other``'s listeners and taps after this bus's own (a runtime
        booting alone takes over what plain code subscribed before boot)."""
        for event, listeners in other._listeners.items():
            self._listeners[event] = self._listeners.get(event, ()) + listeners
        self._taps = self._taps + other._taps

    def clear(self, event: Optional[str] = None) -> None:
        """Drop every listener, or only those of ``event``."""
        if event is None:
            self._listeners.clear()
        else:
            self._listeners.pop(event, None)

    def has_listeners(self, event: str) -> bool:
        return bool(self._listeners.get(event))

    def listener_count(self, event: Optional[str] = None) -> int:
        """Listeners of ``event``, or of every event when ``event`` is None."""
        if event is None:
            return sum(len(v) for v in self._listeners.values())
        return len(self._listeners.get(event, ()))

    def events(self) -> Tuple[str, ...]:
        """Event names that currently have listeners (for listings and health)."""
        return tuple(self._listeners)
