"""specter_spoc.lifecycle.clock: the real clock and the ManualClock tests inject."""
from __future__ import annotations

import time
from typing import List, Tuple

import gevent
import pytest

from specter_spoc.lifecycle.clock import MONOTONIC, Clock, ManualClock, MonotonicClock
from specter_spoc.testing import wait_until


def test_monotonic_clock_is_time_monotonic_and_a_cooperative_sleep() -> None:
    assert isinstance(MONOTONIC, MonotonicClock) and repr(MONOTONIC) == "<MonotonicClock>"
    before = time.monotonic()
    now = MONOTONIC.now()
    assert before <= now <= time.monotonic()
    ran: List[int] = []
    other = gevent.spawn(ran.append, 1)
    MONOTONIC.sleep(0)  # yields to the hub: the other greenlet runs
    assert ran == [1] and other.dead


def test_both_clocks_satisfy_the_protocol() -> None:
    def read(clock: Clock) -> float:
        return clock.now()

    assert read(ManualClock(5.0)) == 5.0
    assert read(MONOTONIC) > 0


def test_manual_time_stands_still_until_advanced() -> None:
    clock = ManualClock(start=100.0)
    assert clock.now() == 100.0
    real = time.monotonic()
    wait_until(lambda: time.monotonic() > real, what="real time to move")
    assert clock.now() == 100.0  # real time moved, manual time did not
    clock.advance(2.5)
    assert clock.now() == 102.5
    clock.advance(0)
    assert clock.now() == 102.5


def test_a_sleeper_wakes_only_once_time_passes_its_wake_up() -> None:
    clock = ManualClock()
    woke: List[float] = []
    glet = gevent.spawn(lambda: (clock.sleep(1.0), woke.append(clock.now())))
    gevent.idle()
    assert clock.sleepers() == 1
    clock.advance(0.999)
    assert woke == [] and not glet.dead
    clock.advance(0.001)
    assert woke == [1.0] and glet.dead and clock.sleepers() == 0


def test_sleepers_wake_in_time_order_at_their_own_time_whatever_the_order_they_slept() -> None:
    clock = ManualClock()
    woke: List[Tuple[str, float]] = []

    def sleeper(name: str, seconds: float) -> None:
        clock.sleep(seconds)
        woke.append((name, clock.now()))

    glets = [gevent.spawn(sleeper, name, s) for name, s in (("c", 3.0), ("a", 1.0), ("b", 2.0), ("a2", 1.0))]
    gevent.idle()
    assert clock.sleepers() == 4
    clock.advance(10.0)  # one advance past all of them
    assert woke == [("a", 1.0), ("a2", 1.0), ("b", 2.0), ("c", 3.0)]  # ties keep the order they slept in
    assert clock.now() == 10.0 and all(g.dead for g in glets)


def test_a_periodic_sleeper_runs_once_per_period_crossed() -> None:
    clock = ManualClock()
    ticks: List[float] = []

    def ticker() -> None:
        while True:
            clock.sleep(1.0)
            ticks.append(clock.now())

    glet = gevent.spawn(ticker)
    gevent.idle()
    clock.advance(3.5)
    assert ticks == [1.0, 2.0, 3.0]
    clock.advance(0.5)
    assert ticks == [1.0, 2.0, 3.0, 4.0]
    glet.kill()


def test_sleep_of_zero_or_less_only_yields() -> None:
    clock = ManualClock()
    ran: List[int] = []
    gevent.spawn(ran.append, 1)
    clock.sleep(0)
    clock.sleep(-1)
    assert ran == [1] and clock.sleepers() == 0 and clock.now() == 0.0


def test_negative_advance_is_refused_and_time_does_not_move() -> None:
    clock = ManualClock(start=3.0)
    with pytest.raises(ValueError, match=r"advance\(\) needs seconds >= 0, got -1"):
        clock.advance(-1)
    assert clock.now() == 3.0


def test_a_killed_sleeper_does_not_stop_the_others() -> None:
    clock = ManualClock()
    woke: List[str] = []
    doomed = gevent.spawn(lambda: (clock.sleep(1.0), woke.append("doomed")))
    survivor = gevent.spawn(lambda: (clock.sleep(2.0), woke.append("survivor")))
    gevent.idle()
    doomed.kill()
    clock.advance(5.0)
    assert woke == ["survivor"] and survivor.dead


def test_repr_shows_time_and_sleepers() -> None:
    clock = ManualClock(1.25)
    glet = gevent.spawn(clock.sleep, 1.0)
    gevent.idle()
    assert repr(clock) == "<ManualClock t=1.250 sleepers=1>"
    glet.kill()
