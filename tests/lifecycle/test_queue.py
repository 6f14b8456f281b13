"""QueueService: SPECTER surface, graceful drain, failure policy, accounting, speed."""
from __future__ import annotations

import logging
import time
from typing import Any, List, Optional

import gevent
import pytest
from gevent.event import Event
from hypothesis import given, settings
from hypothesis import strategies as st

from specter_spoc.lifecycle.queue import QueueService
from specter_spoc.testing import wait_until


class Recorder(QueueService):
    """Records handled, dead-lettered and handed-back items."""

    def __init__(self, name: str = "rec", *, delay: float = 0.0, gate: Optional[Event] = None,
                 fail: Any = (), **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self.delay = delay
        self.gate = gate
        self.fail = fail
        self.handled: List[Any] = []
        self.attempts: List[Any] = []
        self.dead: List[Any] = []
        self.undelivered: List[List[Any]] = []

    def handle_item(self, item: Any) -> None:
        self.attempts.append(item)
        if self.gate is not None:
            self.gate.wait()
        if self.delay:
            gevent.sleep(self.delay)
        if callable(self.fail) and self.fail(item) or item in (self.fail if not callable(self.fail) else ()):
            raise ValueError(f"cannot handle {item!r}")
        self.handled.append(item)

    def on_dead_letter(self, item: Any, exc: BaseException) -> None:
        self.dead.append((item, type(exc).__name__, str(exc)))

    def on_undelivered(self, items: List[Any]) -> None:
        self.undelivered.append(list(items))


def assert_balanced(svc: QueueService) -> dict:
    s = svc.stats()
    assert s["accepted"] == (s["processed"] + s["dead_lettered"] + s["handed_back"]
                             + s["pending"] + s["in_flight"]), s
    return s


# ------------------------------------------------------------- SPECTER surface
def test_processes_items_in_order_and_keeps_specter_state_keys():
    svc = Recorder(worker_count=1, initial_state={"extra": 1}).start()
    try:
        assert svc.state["worker_count"] == 1 and svc.state["extra"] == 1
        assert all(svc.enqueue(i) is True for i in range(10))
        wait_until(lambda: len(svc.handled) == 10)
        assert svc.handled == list(range(10))
        assert svc.pending_count() == 0
        assert svc.get_state()["queue_size"] == 0
    finally:
        svc.stop()
    assert assert_balanced(svc)["processed"] == 10


def test_enqueue_returns_false_when_full_and_queue_size_is_fresh_on_read():
    svc = Recorder(maxsize=2)
    assert svc.enqueue("a") and svc.enqueue("b")
    assert svc.enqueue("c") is False
    assert svc.enqueue("c", block=True, timeout=0.01) is False
    assert svc.pending_count() == 2
    assert svc.get_state()["queue_size"] == 2      # no per-item set_state, fresh on read
    assert svc.health()["queue_size"] == 2
    svc.start()
    try:
        wait_until(lambda: svc.handled == ["a", "b"])
    finally:
        svc.stop()
    s = assert_balanced(svc)
    assert (s["accepted"], s["processed"], s["rejected"]) == (2, 2, 2)


def test_hooks_run_and_workers_are_owned_greenlets():
    calls: List[str] = []

    class Hooked(Recorder):
        def on_workers_started(self) -> None:
            calls.append(f"started:{len(self.live_greenlets())}")

        def on_workers_stopping(self) -> None:
            calls.append("stopping")

    svc = Hooked(worker_count=3).start()
    workers = [g for g in svc.live_greenlets() if "worker-" in svc._label(g)]
    assert len(workers) == 3
    assert svc.health()["workers_alive"] == 3
    svc.stop()
    assert calls == ["started:3", "stopping"]   # 3 workers, no timer greenlet when idle
    assert all(g.dead for g in workers)
    assert svc.live_greenlets() == []


def test_state_subscribers_see_queue_size_through_the_periodic_refresh():
    gate = Event()
    seen: List[int] = []
    svc = Recorder(gate=gate, poll_interval=0.02).start()
    try:
        svc.subscribe(lambda state, _svc: seen.append(state["queue_size"]))
        for i in range(5):
            svc.enqueue(i)
        wait_until(lambda: 4 in seen)             # one item is in flight, 4 queued
        gate.set()
        wait_until(lambda: seen[-1] == 0)
    finally:
        gate.set()
        svc.stop()


# ---------------------------------------------------------------- drain
def test_stop_drains_queued_and_in_flight_items_before_returning():
    svc = Recorder(worker_count=2, delay=0.01).start()
    for i in range(20):
        assert svc.enqueue(i)
    svc.stop()
    assert sorted(svc.handled) == list(range(20))
    assert svc.undelivered == []
    s = assert_balanced(svc)
    assert (s["accepted"], s["processed"], s["handed_back"]) == (20, 20, 0)


def test_items_left_after_drain_timeout_are_handed_back_in_order():
    gate = Event()   # never set: every handler blocks
    svc = Recorder(worker_count=2, gate=gate)
    svc.drain_timeout = 0.1
    svc.start()
    for i in range(10):
        assert svc.enqueue(i)
    wait_until(lambda: svc.stats()["in_flight"] == 2)
    started = time.monotonic()
    svc.stop()
    assert time.monotonic() - started < 3  # drain_timeout=0.1 bounds it; generous for a loaded CI
    assert svc.handled == []
    assert len(svc.undelivered) == 1
    assert svc.undelivered[0] == list(range(10))       # in-flight 0, 1 first, then the queue
    s = assert_balanced(svc)
    assert (s["accepted"], s["processed"], s["handed_back"]) == (10, 0, 10)
    assert s["pending"] == s["in_flight"] == 0
    assert svc.live_greenlets() == []


def test_default_on_undelivered_logs_the_count_at_error(caplog):
    class Stuck(QueueService):
        drain_timeout = 0.05

        def handle_item(self, item: Any) -> None:
            gevent.sleep(10)

    caplog.set_level(logging.ERROR, logger="specter_spoc")
    svc = Stuck("stuck").start()
    for i in range(3):
        svc.enqueue(i)
    gevent.sleep(0)
    svc.stop()
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("3 item(s)" in m and "handed back" in m for m in messages), messages


def test_enqueue_while_draining_and_after_stop_returns_false(caplog):
    caplog.set_level(logging.DEBUG, logger="specter_spoc.queue")
    gate = Event()
    svc = Recorder(gate=gate).start()
    svc.enqueue("first")
    stopper = gevent.spawn(svc.stop)
    wait_until(lambda: svc.health()["draining"])
    assert svc.enqueue("during-drain") is False
    gate.set()
    stopper.join(3)
    assert svc.handled == ["first"]
    assert svc.enqueue("after-stop") is False
    s = assert_balanced(svc)
    assert (s["accepted"], s["processed"], s["rejected"]) == (1, 1, 2)
    assert any("enqueue refused" in r.getMessage() and r.levelno == logging.DEBUG for r in caplog.records)


def test_a_put_blocked_on_a_full_queue_during_stop_is_never_lost():
    gate = Event()
    svc = Recorder(gate=gate, maxsize=1)
    svc.drain_timeout = 0.05
    svc.start()
    svc.enqueue("in-flight")
    wait_until(lambda: svc.stats()["in_flight"] == 1)
    svc.enqueue("queued")
    results: List[bool] = []
    putter = gevent.spawn(lambda: results.append(svc.enqueue("blocked", block=True, timeout=2)))
    gevent.idle()  # the putter has run and is parked on the full queue
    assert not putter.dead
    svc.stop()
    putter.join(3)
    s = assert_balanced(svc)
    handed = [item for batch in svc.undelivered for item in batch]
    # whatever enqueue() answered, the item is accounted for exactly once
    assert results == [("blocked" in handed)]
    assert s["accepted"] == s["handed_back"] == len(handed)
    assert svc.pending_count() == 0


def test_restart_accepts_again_after_stop():
    svc = Recorder().start()
    svc.stop()
    assert svc.enqueue(1) is False
    svc.start()
    try:
        assert svc.enqueue(2) is True
        wait_until(lambda: svc.handled == [2])
    finally:
        svc.stop()


def test_subclass_on_stop_without_super_still_hands_leftovers_back():
    gate = Event()

    class Forgetful(Recorder):
        drain_timeout = 0.2          # the handler never finishes: the drain runs out

        def on_stop(self) -> None:   # no super(): still drained and handed back, nothing lost
            pass

    svc = Forgetful(gate=gate).start()
    for i in range(4):
        svc.enqueue(i)
    wait_until(lambda: svc.stats()["in_flight"] == 1)
    svc.stop()
    assert svc.undelivered == [[0, 1, 2, 3]]
    assert assert_balanced(svc)["handed_back"] == 4


def test_stop_timeout_leaves_room_for_the_drain():
    class Slow(QueueService):
        drain_timeout = 12.0

    svc = Slow("slow")
    assert svc.stop_timeout == 12.0 + QueueService.stop_margin
    svc.stop_timeout = 3
    assert svc.stop_timeout == 3.0


# ----------------------------------------------------------- failure policy
def test_failing_item_is_retried_with_backoff_then_succeeds():
    failures = {"flaky": 2}

    def flaky(item: Any) -> bool:
        if failures.get(item, 0) > 0:
            failures[item] -= 1
            return True
        return False

    svc = Recorder(fail=flaky)
    svc.max_retries = 2
    svc.retry_backoff = 0.02
    svc.start()
    try:
        started = time.monotonic()
        svc.enqueue("flaky")
        wait_until(lambda: svc.handled == ["flaky"])
        assert time.monotonic() - started >= 0.02 + 0.04 - 0.005   # 0.02 then 0.04
    finally:
        svc.stop()
    s = assert_balanced(svc)
    assert (s["processed"], s["retried"], s["dead_lettered"]) == (1, 2, 0)
    assert svc.attempts == ["flaky"] * 3


def test_item_failing_every_retry_is_dead_lettered_and_the_worker_survives():
    svc = Recorder(fail=("bad",), worker_count=1)
    svc.max_retries = 1
    svc.retry_backoff = 0.001
    svc.start()
    try:
        svc.enqueue("bad")
        svc.enqueue("good")
        wait_until(lambda: svc.handled == ["good"])
        assert svc.dead == [("bad", "ValueError", "cannot handle 'bad'")]
        assert svc.attempts == ["bad", "bad", "good"]
        assert svc.health()["workers_alive"] == 1
        assert svc.health()["crashes"] == 0
    finally:
        svc.stop()
    s = assert_balanced(svc)
    assert (s["accepted"], s["processed"], s["dead_lettered"]) == (2, 1, 1)


def test_default_dead_letter_logs_at_error_and_missing_handle_item_is_an_item_failure(caplog):
    caplog.set_level(logging.ERROR, logger="specter_spoc")
    svc = QueueService("bare").start()
    try:
        svc.enqueue("x")
        wait_until(lambda: svc.stats()["dead_lettered"] == 1)
    finally:
        svc.stop()
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "dead-lettered" in text and "'x'" in text
    assert any(r.exc_info and r.exc_info[0] is NotImplementedError for r in caplog.records)


@settings(max_examples=25, deadline=None)
@given(
    count=st.integers(0, 40),
    failing=st.sets(st.integers(0, 39), max_size=10),
    workers=st.integers(1, 4),
    retries=st.integers(0, 2),
    drain=st.sampled_from([0.0, 0.02, 1.0]),
    settled=st.integers(0, 40),
)
def test_accounting_is_exact_whatever_the_mix(count, failing, workers, retries, drain, settled):
    svc = Recorder(fail=tuple(failing), worker_count=workers, delay=0.001)
    svc.max_retries = retries
    svc.retry_backoff = 0.001
    svc.drain_timeout = drain
    svc.start()
    for i in range(count):
        assert svc.enqueue(i)
    # stop with `settled` items already finished (handled or dead-lettered), the rest in flight or queued
    target = min(settled, count)
    wait_until(lambda: len(svc.handled) + len(svc.dead) >= target, timeout=10, what=f"{target} items settled")
    svc.stop()
    s = assert_balanced(svc)
    assert s["pending"] == s["in_flight"] == 0
    handed = [item for batch in svc.undelivered for item in batch]
    dead = [item for item, _, _ in svc.dead]
    assert sorted(svc.handled + handed + dead) == list(range(count))
    assert s["handed_back"] == len(handed) and s["dead_lettered"] == len(dead)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, exc, word", [
    ({"worker_count": 0}, ValueError, "worker_count"),
    ({"worker_count": "2"}, TypeError, "worker_count"),
    ({"worker_count": True}, TypeError, "worker_count"),
    ({"maxsize": -1}, ValueError, "maxsize"),
    ({"maxsize": 1.5}, TypeError, "maxsize"),
    ({"poll_interval": 0}, ValueError, "poll_interval"),
    ({"poll_interval": "fast"}, TypeError, "poll_interval"),
    ({"initial_state": [1]}, TypeError, "initial_state"),
])
def test_bad_constructor_arguments_name_the_argument(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        QueueService("q", **kwargs)
