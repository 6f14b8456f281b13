"""Process offload: CPU work off the hub, errors across the process boundary,
owned worker processes (none left, no zombie)."""
from __future__ import annotations

import os
import time
from typing import Any, List

import gevent
import pytest
from gevent.event import Event

import spoc_offload_jobs as jobs
from specter_spoc.lifecycle.offload import (OffloadError, ProcessPool, bind_offload_owner, offload,
                                            offload_pool)
from specter_spoc.lifecycle.queue import QueueService
from specter_spoc.lifecycle.service import Service
from specter_spoc.testing import wait_until


class Ticker(Service):
    def __init__(self) -> None:
        super().__init__("ticker")
        self.ticks = 0

    def on_start(self) -> None:
        self.interval(self._tick, 0.05)

    def _tick(self) -> None:
        self.ticks += 1


class Cruncher(QueueService):
    """Runs each item's job and records (result, ticks seen meanwhile)."""

    def __init__(self, ticker: Ticker, *, in_process: bool = False) -> None:
        super().__init__("cruncher")
        self.ticker = ticker
        self.in_process = in_process
        self.results: List[Any] = []
        self.done = Event()
        self.undelivered: List[Any] = []

    def handle_item(self, item: Any) -> None:
        fn, args = item
        before = self.ticker.ticks
        result = fn(*args) if self.in_process else self.offload(fn, *args)
        self.results.append((result, self.ticker.ticks - before))
        self.done.set()

    def on_undelivered(self, items: List[Any]) -> None:
        self.undelivered.extend(items)


def gone(pid: int) -> bool:
    """True when ``pid`` no longer exists, not even as a zombie."""
    return not os.path.exists(f"/proc/{pid}")


@pytest.fixture
def ticker():
    svc = Ticker().start()
    yield svc
    svc.stop()


def test_hub_keeps_ticking_while_a_cpu_job_runs_in_offload(ticker, tmp_path):
    """The job spins until the test, running on the hub, has seen the
    interval tick five times after the job began: with a blocked hub it
    would never be told to stop (and would give up after 30 s)."""
    started, stop = tmp_path / "started", tmp_path / "stop"
    svc = Cruncher(ticker).start()
    try:
        svc.enqueue((jobs.burn_cpu_until, (str(started), str(stop), 30.0)))
        wait_until(started.exists, timeout=10, what="the offloaded job to start")
        ticks = ticker.ticks
        wait_until(lambda: ticker.ticks >= ticks + 5, timeout=10, what="five ticks while the job spins")
        stop.touch()
        assert svc.done.wait(10)
    finally:
        svc.stop()
    told_to_stop, ticks_during = svc.results[0]
    assert told_to_stop is True and ticks_during >= 5


def test_control_the_same_job_in_process_freezes_the_interval(ticker):
    svc = Cruncher(ticker, in_process=True).start()
    try:
        svc.enqueue((jobs.burn_cpu, (0.4,)))
        assert svc.done.wait(5)
    finally:
        svc.stop()
    assert svc.results[0][1] <= 1    # blocked hub: no ticks while it ran


def test_results_come_back_and_worker_processes_are_reused_then_reaped():
    svc = Cruncher(Ticker()).start()
    try:
        assert svc.offload(jobs.square, 12) == 144
        pid = svc.offload(jobs.worker_pid)
        assert svc.offload(jobs.worker_pid) == pid != os.getpid()
        assert svc.offload(jobs.chatty, 1) == 2   # print() in the child goes to stderr
        pool = offload_pool(svc)
        assert pool.pids() == [pid]
    finally:
        svc.stop()
    assert pool.closed
    assert gone(pid)


def test_child_exception_is_reraised_with_its_traceback():
    svc = Cruncher(Ticker()).start()
    try:
        with pytest.raises(KeyError) as info:
            svc.offload(jobs.fail_with, "no such user")
        assert svc.offload(jobs.square, 3) == 9        # the worker survives an exception
    finally:
        svc.stop()
    exc = info.value
    assert exc.args == ("no such user",)
    assert "in fail_with" in exc.remote_traceback
    assert any("offload worker" in note and "fail_with" in note for note in exc.__notes__)


def test_unpicklable_child_exception_becomes_offload_error():
    svc = Cruncher(Ticker()).start()
    try:
        with pytest.raises(OffloadError, match="Unpicklable: locked") as info:
            svc.offload(jobs.fail_unpicklably)
    finally:
        svc.stop()
    assert "fail_unpicklably" in info.value.remote_traceback


def test_a_worker_that_dies_is_reported_and_replaced():
    svc = Cruncher(Ticker()).start()
    try:
        first = svc.offload(jobs.worker_pid)
        with pytest.raises(OffloadError, match=r"exited \(code 3\)"):
            svc.offload(jobs.die, 3)
        assert gone(first)
        second = svc.offload(jobs.worker_pid)
        assert second != first
    finally:
        svc.stop()
    assert gone(second)


def _nested_factory():
    def nested(x: int) -> int:
        return x
    return nested


def test_functions_that_cannot_be_imported_by_name_are_refused_before_starting():
    def in_main(x: int) -> int:
        return x

    in_main.__module__ = "__main__"
    svc = Cruncher(Ticker()).start()
    try:
        with pytest.raises(TypeError, match="lambda"):
            svc.offload(lambda: 1)
        with pytest.raises(TypeError, match="nested"):
            svc.offload(_nested_factory())
        with pytest.raises(TypeError, match="in_main.*__main__"):
            svc.offload(in_main, 1)
        with pytest.raises(TypeError, match="arguments to .*square"):
            svc.offload(jobs.square, Event())
        with pytest.raises(TypeError, match="callable"):
            svc.offload(42)
        assert offload_pool(svc).pids() == []          # nothing was started
    finally:
        svc.stop()


def test_stop_during_a_long_offload_kills_the_worker_and_hands_the_item_back():
    svc = Cruncher(Ticker())
    svc.drain_timeout = 0.2
    svc.start()
    item = (jobs.sleep_then, (30, "late"))
    svc.enqueue(item)
    wait_until(lambda: offload_pool(svc).pids(), timeout=10, what="the offload worker to start")
    pids = offload_pool(svc).pids()
    assert len(pids) == 1
    started = time.monotonic()
    svc.stop()
    assert time.monotonic() - started < 3
    assert gone(pids[0])
    assert svc.undelivered == [item]
    assert svc.results == []


def test_module_level_offload_uses_the_worker_s_service():
    class Doubler(QueueService):
        def __init__(self) -> None:
            super().__init__("doubler")
            self.out: List[int] = []
            self.done = Event()

        def handle_item(self, item: int) -> None:
            self.out.append(offload(jobs.square, item))
            self.done.set()

    svc = Doubler().start()
    try:
        svc.enqueue(7)
        assert svc.done.wait(10)
        assert svc.out == [49]
    finally:
        svc.stop()
    with pytest.raises(RuntimeError, match="bind_offload_owner"):
        offload(jobs.square, 2)


def test_any_service_can_offload_from_its_own_greenlets():
    class Plain(Service):
        def on_start(self) -> None:
            self.result: List[int] = []
            self.spawn(self._job)

        def _job(self) -> None:
            bind_offload_owner(self)
            self.result.append(offload(jobs.square, 5))
            self.result.append(offload_pool(self).run(jobs.square, 6))

    svc = Plain("plain").start()
    try:
        wait_until(lambda: len(svc.result) >= 2, timeout=10, what="both offload results")
        assert svc.result == [25, 36]
        pids = offload_pool(svc).pids()
    finally:
        svc.stop()
    assert pids and all(gone(pid) for pid in pids)


def test_pool_limits_concurrency_to_its_size():
    owner = Service("owner").start()
    try:
        pool = owner.own(ProcessPool(2, name="two"))
        results = gevent.joinall([gevent.spawn(pool.run, jobs.sleep_then, 0.2, i) for i in range(4)],
                                 timeout=10)
        assert sorted(g.value for g in results) == [0, 1, 2, 3]
        assert pool.health()["started"] == 2
        pids = pool.pids()
    finally:
        owner.stop()
    assert pool.closed and all(gone(pid) for pid in pids)
    with pytest.raises(OffloadError, match="closed"):
        pool.run(jobs.square, 1)


def test_offload_pool_needs_a_running_owner():
    with pytest.raises(RuntimeError, match="not running"):
        offload_pool(Service("idle"))
    with pytest.raises(TypeError, match="add_cleanup"):
        offload_pool(object())


@pytest.mark.parametrize("kwargs, exc, word", [
    ({"size": 0}, ValueError, "size"),
    ({"size": "2"}, TypeError, "size"),
    ({"close_timeout": 0}, ValueError, "close_timeout"),
])
def test_bad_pool_arguments_name_the_argument(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        ProcessPool(**kwargs)



def test_any_running_service_can_offload_and_the_pool_stops_with_it() -> None:
    import os

    from specter_spoc import Service
    from spoc_offload_jobs import square, worker_pid

    svc = Service("plain").start()
    assert svc.offload(square, 7) == 49
    pid = svc.offload(worker_pid)
    assert pid != os.getpid() and os.path.exists(f"/proc/{pid}")
    svc.stop()
    assert not os.path.exists(f"/proc/{pid}")
    with pytest.raises(RuntimeError, match="not running"):
        svc.offload(square, 2)
