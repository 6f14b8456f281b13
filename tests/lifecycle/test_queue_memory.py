"""specter_spoc.lifecycle.queue_memory: the in-process queue backend, through
the binding a QueueService gets from it (the same object its public methods use)."""
from __future__ import annotations

from typing import Any, List

import gevent
from gevent.event import Event

from specter_spoc.lifecycle.queue import QueueService
from specter_spoc.lifecycle.queue_backend import QueueBinding
from specter_spoc.lifecycle.queue_memory import MEMORY_BACKEND, MemoryBackend, MemoryBinding
from specter_spoc.testing import wait_until


class Gated(QueueService):
    """Each handler waits for ``gate``; records what it handled and what came back."""

    def __init__(self, workers: int = 2, **kwargs: Any) -> None:
        super().__init__("gated", worker_count=workers, **kwargs)
        self.gate = Event()
        self.handled: List[Any] = []
        self.undelivered: List[List[Any]] = []

    def handle_item(self, item: Any) -> None:
        self.gate.wait()
        self.handled.append(item)

    def on_undelivered(self, items: List[Any]) -> None:
        self.undelivered.append(list(items))


def test_the_default_backend_is_the_shared_memory_backend() -> None:
    assert isinstance(MEMORY_BACKEND, MemoryBackend) and repr(MEMORY_BACKEND) == "<MemoryBackend>"
    svc = Gated().start()
    try:
        binding = svc._binding
        assert isinstance(binding, MemoryBinding) and isinstance(binding, QueueBinding)
        assert binding.queue is svc.queue  # SPECTER's `queue` attribute is the backend's queue
        assert len(binding.workers) == 2 and all(not w.dead for w in binding.workers)
    finally:
        svc.gate.set()
        svc.stop()


def test_bind_makes_a_new_binding_per_service() -> None:
    a, b = Gated(), Gated()
    first, second = MEMORY_BACKEND.bind(a), MEMORY_BACKEND.bind(b)
    assert first is not second and first.service is a and second.service is b
    assert first.queue is a.queue and not first.closed


def test_pending_and_in_flight_count_queued_and_handled_items() -> None:
    svc = Gated(workers=2).start()
    binding = svc._binding
    try:
        for i in range(5):
            assert binding.put(i, block=False, timeout=None)
        wait_until(lambda: binding.in_flight() == 2, timeout=5, what="both workers busy")
        assert binding.pending() == 3
        assert set(binding.handling.values()) == {0, 1}
        svc.gate.set()
        assert binding.drain(5.0) is True
        assert binding.pending() == 0 and binding.in_flight() == 0 and binding.handling == {}
        assert sorted(svc.handled) == [0, 1, 2, 3, 4]
    finally:
        svc.stop()


def test_put_on_a_full_queue_answers_false_without_blocking() -> None:
    svc = Gated(workers=1, maxsize=1).start()
    binding = svc._binding
    try:
        assert binding.put("handled", block=False, timeout=None)
        wait_until(lambda: binding.in_flight() == 1, timeout=5, what="the worker to take the first item")
        assert binding.put("queued", block=False, timeout=None)
        assert binding.put("refused", block=False, timeout=None) is False
        assert binding.put("timed out", block=True, timeout=0.01) is False
    finally:
        svc.gate.set()
        svc.stop()
    assert "refused" not in svc.handled and "timed out" not in svc.handled


def test_drain_returns_false_when_the_budget_runs_out() -> None:
    svc = Gated(workers=1).start()
    binding = svc._binding
    try:
        binding.put("stuck", block=False, timeout=None)
        wait_until(lambda: binding.in_flight() == 1, timeout=5, what="the worker to take the item")
        assert binding.drain(0.01) is False
    finally:
        svc.gate.set()
        svc.stop()


def test_close_hands_back_in_flight_then_queued_items_once_and_is_idempotent() -> None:
    svc = Gated(workers=2).start()
    binding = svc._binding
    for i in range(5):
        binding.put(i, block=False, timeout=None)
    wait_until(lambda: binding.in_flight() == 2, timeout=5, what="both workers busy")
    assert binding.close() == 0
    assert binding.closed and all(w.dead for w in binding.workers)
    assert svc.undelivered == [[0, 1, 2, 3, 4]]  # interrupted first, then the queue in order
    assert binding.close() == 0 and svc.undelivered == [[0, 1, 2, 3, 4]]
    assert binding.pending() == 0
    svc.stop()
    assert svc.handled == [] and svc.undelivered == [[0, 1, 2, 3, 4]]  # nothing handed back twice


def test_a_blocked_put_that_lands_after_close_is_taken_back() -> None:
    svc = Gated(workers=1, maxsize=1).start()
    binding = svc._binding
    binding.put("handled", block=False, timeout=None)
    wait_until(lambda: binding.in_flight() == 1, timeout=5, what="the worker to take the first item")
    binding.put("queued", block=False, timeout=None)
    answers: List[bool] = []
    putter = gevent.spawn(lambda: answers.append(binding.put("late", block=True, timeout=5)))
    gevent.idle()
    assert not putter.dead  # parked on the full queue
    binding.close()  # empties the queue: the parked put now lands, on a closed binding
    putter.join(5)
    assert answers == [False] and binding.pending() == 0
    handed = [item for batch in svc.undelivered for item in batch]
    assert handed == ["handled", "queued"] and "late" not in handed
    svc.stop()


def test_a_failing_item_does_not_kill_its_worker() -> None:
    class Flaky(QueueService):
        max_retries = 0

        def __init__(self) -> None:
            super().__init__("flaky", worker_count=1)
            self.dead: List[Any] = []
            self.handled: List[Any] = []

        def handle_item(self, item: Any) -> None:
            if item == "bad":
                raise ValueError("bad item")
            self.handled.append(item)

        def on_dead_letter(self, item: Any, exc: BaseException) -> None:
            self.dead.append(item)

    svc = Flaky().start()
    binding = svc._binding
    worker = binding.workers[0]
    try:
        for item in ("bad", "good"):
            binding.put(item, block=False, timeout=None)
        assert binding.drain(5.0)
        assert svc.dead == ["bad"] and svc.handled == ["good"] and not worker.dead
    finally:
        svc.stop()
