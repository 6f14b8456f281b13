"""Faults a Service must survive: restarts racing a stop, hooks that hang or
swallow the kill, concurrent stops, restarts whose start fails."""
from __future__ import annotations

import asyncio
import time
from typing import List

import gevent
import pytest
from gevent.event import Event

from specter_spoc import Service
from specter_spoc.lifecycle.clock import ManualClock
from specter_spoc.lifecycle.service import ServiceStartTimeout
from specter_spoc.testing import wait_until


class Reader(Service):
    """A connection plus a reader greenlet: on_stop closes the connection and
    the reader raises, the usual shape of a crash *during* a stop."""

    supervision = "restart"
    restart_backoff = 1.0

    def __init__(self) -> None:
        super().__init__("reader")
        self.starts = 0
        self.closed = Event()

    def on_start(self) -> None:
        self.starts += 1
        self.closed = Event()
        self.spawn(self.read)

    def read(self) -> None:
        self.closed.wait()
        raise ConnectionError("connection closed under the reader")

    def on_stop(self) -> None:
        self.closed.set()
        gevent.sleep(0)  # the reader crashes while on_stop is still running


def test_a_crash_during_stop_is_not_restarted_after_stop_returned() -> None:
    svc = Reader()
    clock = ManualClock()
    svc.clock = clock
    svc.start()
    svc.stop()
    clock.advance(10.0)  # any restart backoff would have elapsed
    assert svc.starts == 1
    assert not svc.running and svc.lifecycle_state == "stopped"
    assert svc.health()["status"] == "stopped"
    assert svc._supervisor is None


class FlakyStart(Service):
    supervision = "restart"
    max_restarts = 3
    restart_backoff = 1.0

    def __init__(self) -> None:
        super().__init__("flaky")
        self.attempts = 0
        self.crash = Event()

    def on_start(self) -> None:
        self.attempts += 1
        if self.attempts > 1:
            raise ConnectionRefusedError("database down")
        self.spawn(self.work)

    def work(self) -> None:
        self.crash.wait()
        raise RuntimeError("lost the connection")


def test_a_restart_whose_start_fails_keeps_counting_and_ends_failed() -> None:
    svc = FlakyStart()
    clock = ManualClock()
    svc.clock = clock
    svc.start()
    svc.crash.set()
    gevent.sleep(0)
    for _ in range(5):
        clock.advance(10.0)
    svc.join_supervisor(2)
    assert svc.attempts == 1 + 3  # the first start, then max_restarts attempts
    health = svc.health()
    assert health["status"] == "failed", health
    assert "database down" in health["last_error"]
    svc.stop()


def test_a_second_concurrent_stop_returns_only_once_stopped() -> None:
    release = Event()

    class Slow(Service):
        def on_stop(self) -> None:
            release.wait(5)

    svc = Slow("slow").start()
    first = gevent.spawn(svc.stop)
    wait_until(lambda: svc.lifecycle_state == "stopping", timeout=5, what="the first stop to begin")
    second = gevent.spawn(svc.stop)
    gevent.idle()  # everything runnable has run: the second stop is parked, not done
    assert not second.dead  # still waiting for the first stop
    release.set()
    second.join(2)
    assert second.dead and svc.lifecycle_state == "stopped"
    first.join(2)


def test_an_on_stop_that_catches_everything_cannot_hold_stop_past_its_deadline() -> None:
    release = Event()
    exited = Event()

    class Stubborn(Service):
        stop_timeout = 0.3

        def on_start(self) -> None:
            self.spawn(gevent.sleep, 60)

        def on_stop(self) -> None:
            while not release.is_set():
                try:
                    gevent.sleep(0.01)
                except BaseException:  # noqa: B036 - a bare except: in user code
                    pass
            exited.set()

    svc = Stubborn("stubborn").start()
    started = time.monotonic()
    svc.stop()
    assert time.monotonic() - started < 3  # the deadline (0.2-0.3 s) bounds it; generous for a loaded CI
    assert svc.lifecycle_state == "stopped" and svc.live_greenlets() == []
    assert any("on_stop() still running" in s for s in svc.health().get("stragglers", []))
    release.set()
    assert exited.wait(5)  # the straggler ends once released


@pytest.mark.parametrize("exc", [KeyboardInterrupt, asyncio.CancelledError, gevent.Timeout, SystemExit])
def test_nothing_raised_by_on_stop_escapes_stop(exc: type) -> None:
    cleaned: List[str] = []

    class Raising(Service):
        def on_start(self) -> None:
            self.add_cleanup(lambda: cleaned.append("cleanup"))

        def on_stop(self) -> None:
            raise exc()

    svc = Raising("raising").start()
    svc.stop()  # must not raise
    assert cleaned == ["cleanup"]
    assert svc.lifecycle_state == "stopped"
    assert any(exc.__name__ in e for e in svc.health()["teardown_errors"])


def test_a_blocking_on_start_is_cut_at_start_timeout_and_rolled_back() -> None:
    cleaned: List[str] = []

    class Blocking(Service):
        start_timeout = 0.2

        def on_start(self) -> None:
            self.add_cleanup(lambda: cleaned.append("released"))
            self.spawn(gevent.sleep, 60)
            Event().wait()  # blocks forever

    svc = Blocking("blocking")
    started = time.monotonic()
    with pytest.raises(ServiceStartTimeout, match="start_timeout"):
        svc.start()
    assert time.monotonic() - started < 3  # the deadline (0.2-0.3 s) bounds it; generous for a loaded CI
    assert cleaned == ["released"] and svc.live_greenlets() == [] and not svc.running


def test_a_base_exception_in_an_owned_greenlet_is_a_crash_for_supervision() -> None:
    class Cancelled(Service):
        def on_start(self) -> None:
            self.spawn(self.work)

        def work(self) -> None:
            raise asyncio.CancelledError()

    svc = Cancelled("cancelled").start()
    gevent.sleep(0)
    assert svc.health()["crashes"] == 1 and "CancelledError" in svc.health()["last_error"]
    svc.stop()


def test_stop_clears_state_subscribers() -> None:
    heard: List[dict] = []
    svc = Service("s").start()
    svc.subscribe(lambda state, _: heard.append(state))
    svc.set_state({"a": 1})
    svc.stop()
    svc.set_state({"a": 2})
    assert heard == [{"a": 1}]


def test_intervals_run_on_the_injected_clock() -> None:
    ticks: List[float] = []
    clock = ManualClock()

    class Ticker(Service):
        def on_start(self) -> None:
            self.interval(lambda: ticks.append(clock.now()), 1.0)

    svc = Ticker("ticker")
    svc.clock = clock
    svc.start()
    clock.advance(3.5)
    assert ticks == [1.0, 2.0, 3.0]
    svc.stop()
