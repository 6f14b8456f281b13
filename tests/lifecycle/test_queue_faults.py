"""QueueService under faults: workers slow to die, handlers raising
BaseExceptions, dead workers, hooks without super(). Nothing accepted is lost."""
from __future__ import annotations

import asyncio
import time
from typing import Any, List

import gevent
from gevent.event import Event

from specter_spoc import QueueService
from specter_spoc.testing import wait_until


class Stubborn(QueueService):
    """A handler that swallows the kill (cleanup in a bare except)."""

    drain_timeout = 0.2
    stop_margin = 0.4

    def __init__(self) -> None:
        super().__init__("stubborn", worker_count=1)
        self.release = Event()
        self.undelivered: List[Any] = []
        self.handled: List[Any] = []

    def handle_item(self, item: Any) -> None:
        while not self.release.is_set():
            try:
                self.release.wait()
            except BaseException:  # noqa: B036 - the fault under test
                pass
        self.handled.append(item)

    def on_undelivered(self, items: List[Any]) -> None:
        self.undelivered.extend(items)


def test_a_worker_slow_to_die_cannot_make_stop_raise_or_lose_its_item() -> None:
    svc = Stubborn().start()
    for i in range(3):
        assert svc.enqueue(i)
    gevent.sleep(0)
    started = time.monotonic()
    svc.stop()  # must return by its deadline, not raise gevent.Timeout
    assert time.monotonic() - started < 4.0  # its deadline (drain 0.2 + margin 0.4), generous for CI
    assert sorted(svc.undelivered) == [0, 1, 2]
    stats = svc.stats()
    assert stats["accepted"] == stats["processed"] + stats["dead_lettered"] + stats["handed_back"] == 3
    assert any("ignored kill" in s for s in svc.health()["stragglers"])
    svc.release.set()  # the straggler finishes later: its result is not counted twice
    wait_until(lambda: svc.handled == [0], timeout=5, what="the straggler to finish its item")
    gevent.idle()  # and whatever would run after it (the worker's accounting)
    assert svc.stats()["processed"] == 0


class Cancelling(QueueService):
    def __init__(self) -> None:
        super().__init__("cancelling", worker_count=2)
        self.dead: List[Any] = []
        self.done: List[Any] = []

    def handle_item(self, item: Any) -> None:
        if item % 2:
            raise asyncio.CancelledError(f"item {item}")
        self.done.append(item)

    def on_dead_letter(self, item: Any, exc: BaseException) -> None:
        self.dead.append((item, type(exc).__name__))


def test_a_handler_raising_a_base_exception_dead_letters_the_item_and_keeps_the_worker() -> None:
    svc = Cancelling().start()
    for i in range(10):
        svc.enqueue(i)
    svc.queue.join(timeout=5)
    assert sorted(svc.done) == [0, 2, 4, 6, 8]
    assert sorted(svc.dead) == [(i, "CancelledError") for i in (1, 3, 5, 7, 9)]
    health = svc.health()
    assert health["workers_alive"] == 2 and health["status"] == "ok"
    svc.stop()
    stats = svc.stats()
    assert stats["accepted"] == 10 == stats["processed"] + stats["dead_lettered"]


def test_fewer_live_workers_than_configured_is_degraded() -> None:
    svc = Cancelling().start()
    svc._workers[0].kill()
    health = svc.health()
    assert health["status"] == "degraded" and health["workers_alive"] == 1
    svc.stop()


class NoSuper(QueueService):
    """SPECTER-era subclass that overrides the hooks without calling super()."""

    drain_timeout = 2.0

    def __init__(self) -> None:
        super().__init__("nosuper", worker_count=2)
        self.log: List[str] = []
        self.handled: List[Any] = []

    def on_start(self) -> None:
        self.log.append("on_start")

    def on_stop(self) -> None:
        self.log.append(f"on_stop with {self.queue.qsize()} queued")

    def handle_item(self, item: Any) -> None:
        self.handled.append(item)


def test_hooks_without_super_still_get_workers_and_a_drain() -> None:
    svc = NoSuper()
    svc.drain_timeout = 30.0
    svc.start()
    assert svc.health()["workers_alive"] == 2
    for i in range(5):
        svc.enqueue(i)
    started = time.monotonic()
    svc.stop()
    assert time.monotonic() - started < 10  # drained, not the full 30 s drain_timeout
    assert svc.handled == [0, 1, 2, 3, 4]
    assert svc.log == ["on_start", "on_stop with 0 queued"]


def test_queue_size_is_exact_and_subscribers_hear_it_once_per_burst() -> None:
    heard: List[int] = []
    svc = NoSuper()
    svc.subscribe(lambda state, _: heard.append(state["queue_size"]))
    for i in range(1000):
        svc.enqueue(i)
        assert svc.state["queue_size"] == i + 1
    gevent.sleep(0)
    assert heard == [1000]  # coalesced: one notification for the burst
    svc.start()
    svc.stop()
    assert svc.state["queue_size"] == 0
