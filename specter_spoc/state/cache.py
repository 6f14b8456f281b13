"""Cache: one shared value with a TTL, single-flight computing and
bus-driven invalidation cascades.

* ``get_or_compute(factory)`` is **single flight**: while one greenlet runs
  the factory, every other caller waits for that result instead of running
  the factory again. If the factory raises, every waiter gets the exception
  and the next call computes afresh.
* ``depends_on=['storage:mounts']`` invalidates the cache when that event is
  emitted on the bus of the runtime current at creation (outside any
  runtime: the module-level ``bus``, see ``creation_bus``); invalidating
  emits ``'<name>:invalidated'`` there, so caches that depend on this one follow
  (``create_cache('b', depends_on=['a:invalidated'])``). A cycle of
  dependencies stops after one round instead of recursing forever.
* an invalidation during a compute wins: the stale result is returned to the
  callers already waiting but not stored.

No lock is needed: nothing yields between reading and writing the cache's
fields; only the factory yields, and it runs outside any critical section.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, Generic, Iterable, List, Optional, TypeVar, Union, cast

from .._clock import MONOTONIC, Clock
from .._validate import check_seconds

from gevent.event import AsyncResult

from ._base import BusLike, check_callable, check_name, creation_bus

logger: logging.Logger = logging.getLogger("specter_spoc.cache")

T = TypeVar("T")
_EMPTY: Any = object()


class _Abandoned(Exception):
    """The greenlet computing a value was killed; a waiter should retry."""


def _check_ttl(ttl: object, where: str) -> float:
    return check_seconds(ttl, f"{where}: ttl (0 = never expires)", allow_zero=True)


class Cache(Generic[T]):
    """A named cached value with TTL, single flight and invalidation.

    Create it with :func:`create_cache`. ``None`` is a value like any other
    (an empty cache is told apart internally), so a factory that finds
    nothing is not re-run on every call.

    Example::

        drives = create_cache("drives", ttl=60, depends_on=["storage:mounts"])
        listing = drives.get_or_compute(scan_drives)   # concurrent callers scan once
        bus.emit("storage:mounts")                     # drives invalidated,
                                                       # 'drives:invalidated' emitted
    """

    def __init__(self, name: str, ttl: Optional[float] = 0,
                 depends_on: Optional[Union[str, Iterable[str]]] = None) -> None:
        self.name: str = check_name("Cache", name)
        #: what TTLs are measured on (tests inject a ManualClock)
        self.clock: Clock = MONOTONIC
        self._ttl = 0.0 if ttl is None else _check_ttl(ttl, f"Cache {name!r}")
        self._value: T = _EMPTY
        self._expires = 0.0          # monotonic deadline, 0 = never
        self._updated_at = 0.0       # wall clock, for display
        self._generation = 0
        self._flight: Optional[AsyncResult[T]] = None
        self._callbacks: List[Callable[[], Any]] = []
        self._invalidating = False
        self._bus: BusLike = creation_bus()
        self._event = f"{name}:invalidated"
        self._depends_on: List[str] = []
        if isinstance(depends_on, str):
            depends_on = [depends_on]
        elif depends_on is not None and not isinstance(depends_on, Iterable):
            raise TypeError(
                f"Cache {name!r}: depends_on must be a list of bus event names, got {type(depends_on).__name__}."
            )
        for event in depends_on or ():
            if event == self._event:
                raise ValueError(f"Cache {name!r}: depends_on cannot include its own event {event!r}.")
            try:
                self._bus.on(event, self._on_dependency)
                self._depends_on.append(event)
            except TypeError as exc:
                self.destroy()
                raise TypeError(f"Cache {name!r}: depends_on: {exc}") from None

    # ------------------------------------------------------------------ reads
    @property
    def ttl(self) -> float:
        """Default time to live in seconds (0 = no expiry)."""
        return self._ttl

    @property
    def updated_at(self) -> float:
        """Wall-clock time (epoch seconds) of the last store, 0 when empty."""
        return self._updated_at

    @property
    def invalidated_event(self) -> str:
        """The bus event emitted when this cache is invalidated."""
        return self._event

    def is_valid(self) -> bool:
        """True when a value is stored and has not expired."""
        if self._value is _EMPTY:
            return False
        if self._expires and self.clock.now() >= self._expires:
            self._drop()
            return False
        return True

    def get(self, default: Optional[T] = None) -> Optional[T]:
        """The cached value, or ``default`` when empty or expired."""
        return self._value if self.is_valid() else default

    # ----------------------------------------------------------------- writes
    def set(self, value: T, ttl: Optional[float] = None) -> None:
        """Store ``value``; ``ttl`` overrides the cache's default for this
        value only."""
        seconds = self._ttl if ttl is None else _check_ttl(ttl, f"Cache {self.name!r}: set()")
        self._generation += 1
        self._store(value, seconds)

    def get_or_compute(self, factory: Callable[[], T], ttl: Optional[float] = None) -> T:
        """The cached value, or compute it with ``factory()``, store it and
        return it. Concurrent callers share one compute (single flight); if
        it raises they all get the exception and nothing is stored."""
        if self.is_valid():
            return self._value
        check_callable("Cache", self.name, "get_or_compute()", factory)
        seconds = self._ttl if ttl is None else _check_ttl(ttl, f"Cache {self.name!r}: get_or_compute()")
        while True:
            flight = self._flight
            if flight is None:
                return self._compute(factory, seconds)
            try:
                return cast(T, flight.get())  # block=True: a value or the computer's exception
            except _Abandoned:
                if self.is_valid():
                    return self._value

    def invalidate(self) -> None:
        """Drop the value, call ``on_invalidate`` callbacks and emit
        ``'<name>:invalidated'`` so dependent caches follow."""
        if self._invalidating:
            return  # a dependency cycle came back to us: stop here
        self._invalidating = True
        try:
            self._generation += 1
            self._flight = None
            self._drop()
            for callback in tuple(self._callbacks):
                try:
                    callback()
                except Exception:
                    logger.exception("Cache %r: on_invalidate callback %r raised; the others still ran",
                                     self.name, callback)
            self._bus.emit(self._event)
        finally:
            self._invalidating = False

    def on_invalidate(self, callback: Callable[[], Any]) -> Callable[[], None]:
        """Call ``callback()`` on each invalidation; returns an unsubscribe function."""
        check_callable("Cache", self.name, "on_invalidate()", callback)
        self._callbacks.append(callback)

        def unsubscribe() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

        return unsubscribe

    def destroy(self) -> None:
        """Unsubscribe from the bus, drop callbacks and the value (what
        ``service.own(cache)`` calls on stop)."""
        # off() by (event, bound method), not with the closures on() returned:
        # those are tied to the bus of the moment, and a cache created before
        # boot has its subscriptions carried into the runtime's bus
        events, self._depends_on = self._depends_on, []
        for event in events:
            self._bus.off(event, self._on_dependency)
        self._callbacks.clear()
        self._generation += 1
        self._flight = None
        self._drop()

    # ------------------------------------------------------------- internals
    def _store(self, value: Any, seconds: float) -> None:
        self._value = value
        self._updated_at = time.time()
        self._expires = self.clock.now() + seconds if seconds else 0.0

    def _drop(self) -> None:
        self._value = _EMPTY
        self._updated_at = 0.0
        self._expires = 0.0

    def _compute(self, factory: Callable[[], T], seconds: float) -> T:
        flight = self._flight = AsyncResult()
        generation = self._generation
        try:
            value = factory()
        except Exception as exc:
            flight.set_exception(exc)
            raise
        except BaseException:
            flight.set_exception(_Abandoned())
            raise
        finally:
            if self._flight is flight:
                self._flight = None
        if self._generation == generation:
            self._store(value, seconds)
        flight.set(value)
        return value

    def _on_dependency(self, _data: Any = None) -> None:
        self.invalidate()

    def __repr__(self) -> str:
        return f"<Cache {self.name!r} valid={self.is_valid()} ttl={self._ttl:g}s>"


def create_cache(name: str, ttl: Optional[float] = 0,
                 depends_on: Optional[Union[str, Iterable[str]]] = None) -> Cache[Any]:
    """A new :class:`Cache`. ``ttl`` in seconds (0 or None: no expiry);
    ``depends_on``: bus events that invalidate it."""
    return Cache(name, ttl=ttl, depends_on=depends_on)
