"""Time as a dependency: the clock intervals, timeouts and backoffs wait on.

Production code uses :data:`MONOTONIC` (``time.monotonic`` and
``gevent.sleep``). Tests inject a :class:`ManualClock` and move time forward
explicitly, so "the interval fired three times" is a fact of the test, not a
race against the wall clock (the idea of trio's ``MockClock``)::

    clock = ManualClock()
    service = Ticker(); service.clock = clock; service.start()
    clock.advance(3.0)          # three ticks have run when this returns

Deadlines of teardown (``stop_timeout``, ``shutdown_timeout``) stay on the
real monotonic clock: they bound real work. Services (intervals, timeouts,
restart backoffs, QueueService retries) and Cache TTLs take a ``clock``
attribute.
"""
from __future__ import annotations

import heapq
import itertools
import time
from typing import List, Protocol, Tuple

import gevent
from gevent.event import Event

__all__ = ["Clock", "MonotonicClock", "ManualClock", "MONOTONIC"]


class Clock(Protocol):
    """What waiting code needs from time."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class MonotonicClock:
    """The real clock: ``time.monotonic()`` and cooperative ``gevent.sleep``."""

    __slots__ = ()

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        gevent.sleep(seconds)

    def __repr__(self) -> str:
        return "<MonotonicClock>"


#: the process's real clock (stateless, safe to share)
MONOTONIC = MonotonicClock()


class ManualClock:
    """A clock that only moves when the test calls :meth:`advance`.

    ``sleep(s)`` parks the calling greenlet until ``advance`` has moved time
    past its wake-up; ``advance`` wakes sleepers in time order and lets each
    run (until it sleeps again) before moving on, so periodic work fires
    once per period crossed, deterministically.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)
        self._sleepers: List[Tuple[float, int, Event]] = []
        self._order = itertools.count()

    def now(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            gevent.sleep(0)
            return
        wake = Event()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._order), wake))
        wake.wait()

    def sleepers(self) -> int:
        """Greenlets currently parked on this clock."""
        return sum(1 for _, _, ev in self._sleepers if not ev.is_set())

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, running everything that falls due."""
        if seconds < 0:
            raise ValueError(f"ManualClock.advance() needs seconds >= 0, got {seconds}.")
        target = self._now + seconds
        self._settle()
        while self._sleepers and self._sleepers[0][0] <= target:
            when, _, wake = heapq.heappop(self._sleepers)
            self._now = max(self._now, when)
            wake.set()
            self._settle()
        self._now = target
        self._settle()

    @staticmethod
    def _settle() -> None:
        for _ in range(5):
            gevent.sleep(0)

    def __repr__(self) -> str:
        return f"<ManualClock t={self._now:.3f} sleepers={self.sleepers()}>"
