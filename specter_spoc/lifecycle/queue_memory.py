"""The in-process queue backend: a gevent queue and a pool of worker greenlets.

It is a queue backend like the Redis one (:mod:`.queue_backend`), so a
QueueService has one code path whatever holds its items: ``bind`` at
start, ``put`` per enqueue, ``drain`` then ``close`` at stop.

Its queue is the service's own ``queue`` attribute (SPECTER exposes it), so
items enqueued before ``start()`` are simply waiting there for the workers.

What ``close()`` guarantees: every worker is killed and joined (one batch,
bounded); every item still queued, interrupted mid-handling, or held by a
worker that outlived its kill is handed to the service's
``on_undelivered``; a straggler that finishes later is not counted twice.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Set

from gevent import GreenletExit, getcurrent
from gevent.queue import Empty, Full, JoinableQueue
from greenlet import greenlet as RawGreenlet

from ..typing import AnyGreenlet
from .offload import bind_offload_owner
from .owner import kill_and_join
from .queue_backend import QueueBinding

if TYPE_CHECKING:
    from .queue import QueueService

__all__ = ["MemoryBackend", "MemoryBinding", "MEMORY_BACKEND"]

#: what ``handle_item`` may raise that is not an item failure: the worker's
#: own cancellation and the process's exit
NOT_ITEM_FAILURES = (GreenletExit, SystemExit, KeyboardInterrupt)


def take_all(queue: Any) -> List[Any]:
    """Every item still in ``queue``, oldest first, each marked done."""
    items = []
    while True:
        try:
            items.append(queue.get_nowait())
        except Empty:
            return items
        queue.task_done()


class MemoryBinding(QueueBinding):
    """One QueueService's workers over its in-process queue."""

    def __init__(self, service: "QueueService") -> None:
        self.service = service
        self.queue: JoinableQueue[Any] = service.queue
        self.workers: List[AnyGreenlet] = []
        #: worker -> the item it is handling right now
        self.handling: Dict[RawGreenlet, Any] = {}
        #: workers whose item was handed back at a stop they outlived
        self.abandoned: Set[RawGreenlet] = set()
        self.interrupted: List[Any] = []
        self.closed: bool = False

    # ------------------------------------------------------------ QueueBinding
    def start(self) -> List[AnyGreenlet]:
        service = self.service
        self.workers = [service.spawn(self._work, label=f"worker-{i + 1}")
                        for i in range(service.worker_count)]
        return self.workers

    def put(self, item: Any, block: bool, timeout: Optional[float]) -> bool:
        try:
            self.queue.put(item, block, timeout)
        except Full:
            return False
        if block and self.closed:
            # a blocked put landed after the stop: take it back out
            self._take_back()
            return False
        return True

    def drain(self, budget: float) -> bool:
        if getcurrent() in self.handling:  # stop() from inside a handler: its own item cannot finish first
            budget = 0.0
        return bool(self.queue.join(timeout=budget))

    def close(self) -> int:
        """Kill the workers, hand every unfinished item back to the service;
        returns 0 (nothing goes back to a backend: the items went to
        ``on_undelivered``). Idempotent."""
        if self.closed:
            return 0
        self.closed = True
        service = self.service
        deadline = time.monotonic() + max(0.1, float(service.stop_margin) / 2)
        current = getcurrent()
        kill_and_join([w for w in self.workers if w is not current], deadline, service._life)
        leftovers, self.interrupted = self.interrupted, []
        for worker, item in list(self.handling.items()):
            if not worker.dead:  # a straggler (or the caller): its late result is not counted
                self.abandoned.add(worker)
                leftovers.append(item)
                del self.handling[worker]
        service._hand_back(leftovers + take_all(self.queue))
        return 0

    def pending(self) -> int:
        return int(self.queue.qsize())

    def in_flight(self) -> int:
        return int(self.queue.unfinished_tasks - self.queue.qsize())

    # ---------------------------------------------------------------- workers
    def _take_back(self) -> None:
        try:
            self.queue.get_nowait()
        except Empty:  # pragma: no cover - another late putter took it
            return
        self.queue.task_done()

    def _work(self) -> None:
        service = self.service
        bind_offload_owner(service)
        queue = self.queue
        get = queue.get
        done = queue.task_done
        handle = service.handle_item
        handling = self.handling
        abandoned = self.abandoned
        me = getcurrent()
        state = service.state
        while True:
            item = get()
            handling[me] = item
            if service._subscribers:
                service._note_size()
            else:
                state["queue_size"] = queue.qsize()
            try:
                try:
                    handle(item)
                    failed = None
                except NOT_ITEM_FAILURES:
                    raise
                except BaseException as exc:  # noqa: B036 - a failing item never kills the worker
                    failed = exc
                if me in abandoned:  # handed back at a stop this worker outlived
                    return
                if failed is None:
                    service._processed += 1
                else:
                    service._after_failure(item, failed)
            except GreenletExit:
                if me not in abandoned:
                    self.interrupted.append(item)
                raise
            finally:
                handling.pop(me, None)
                done()


class MemoryBackend:
    """``backend="memory"``: items live in the service's gevent queue."""

    def bind(self, service: "QueueService") -> MemoryBinding:
        return MemoryBinding(service)

    def __repr__(self) -> str:
        return "<MemoryBackend>"


#: the stateless in-process backend every QueueService falls back to
MEMORY_BACKEND = MemoryBackend()
