"""QueueService: a Service that feeds a pool of worker greenlets from a queue.

It replaces SPOC's thread workers (and, with :meth:`QueueService.offload`,
its process workers) and keeps SPECTER 0.1.2's surface. On top of it:

- **Graceful drain.** ``stop()`` stops accepting, waits up to
  ``drain_timeout`` for queued *and* in-flight items, then hands whatever is
  left to :meth:`QueueService.on_undelivered`. Nothing accepted is dropped:
  ``accepted == processed + dead_lettered + handed_back`` once stopped.
  A worker slow to die (a ``finally`` that blocks, a handler that swallows
  the kill) cannot hold ``stop()`` past its deadline: it is reported as a
  straggler and its item handed back.
- **Per-item failure policy.** A raising ``handle_item`` is retried
  ``max_retries`` times with exponential backoff, then given to
  :meth:`QueueService.on_dead_letter`. A failing item never kills a worker,
  whatever it raises (``asyncio.CancelledError`` included).
- **No super() needed.** Workers start after ``on_start`` and drain before
  ``on_stop``, outside the user hooks.
- **Speed.** ``state['queue_size']`` is a plain dict entry kept exact on
  every enqueue and take; state subscribers hear it once per hub turn
  (coalesced), and an idle service has no timer waking it up.
- **Pluggable transport.** Items live in an in-process gevent queue unless a
  queue backend is configured (``backend=``, or the runtime's default, e.g.
  Redis Streams): same API, durable items. See :mod:`.queue_backend`.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, Dict, List, Optional

import gevent
from gevent.queue import Empty, Full, JoinableQueue

from .._validate import check_int, check_seconds
from ..typing import AnyGreenlet
from .backoff import backoff_delay
from .offload import offload_pool
from .owner import RUNNING, STARTING, format_exc
from .queue_backend import MEMORY, QUEUE_BACKEND_KEY, QueueBinding
from .queue_memory import MEMORY_BACKEND, NOT_ITEM_FAILURES, MemoryBinding, take_all
from .service import Service

__all__ = ["QueueService"]

logger: logging.Logger = logging.getLogger("specter_spoc.queue")

_NOT_ITEM_FAILURES = NOT_ITEM_FAILURES


class QueueService(Service):
    """A queue with ``worker_count`` owned worker greenlets calling
    :meth:`handle_item` for each item.

    Example::

        class Mailer(QueueService):
            max_retries = 2              # then on_dead_letter(item, exc)

            def handle_item(self, message):
                send_mail(message)

        mailer = Mailer("mailer", worker_count=4, maxsize=1000).start()
        mailer.enqueue({"to": "a@example.org"})    # True, or False when full
        mailer.stop()   # drains; leftovers go to on_undelivered(items)

    ``enqueue`` returns False (and logs at debug) when the queue is full, while
    the service drains, and after it stopped. Items enqueued before the first
    ``start()`` wait for the workers, as in SPECTER.

    ``backend`` (argument or class attribute) selects where items live: None
    (the runtime's configured default, else in-process), ``"memory"`` (always
    in-process) or a backend such as ``RedisQueueBackend`` (durable, shared
    by every process consuming the same queue name).
    """

    #: seconds ``stop()`` waits for queued and in-flight items to finish
    drain_timeout: float = 5.0
    #: extra seconds ``stop()`` allows beyond the drain (hooks, joining workers)
    stop_margin: float = 2.0
    #: retries of a failing item before it goes to ``on_dead_letter``
    max_retries: int = 0
    #: first retry delay in seconds; doubles on each further retry
    retry_backoff: float = 0.1
    #: upper bound for one retry delay
    max_retry_backoff: float = 5.0
    #: worker processes used by :meth:`offload` (started on first use)
    offload_workers: int = 2
    #: where items live: None (runtime default, else in-process), "memory",
    #: or a queue backend object (see :mod:`.queue_backend`)
    backend: Any = None

    def __init__(
        self,
        name: str,
        *,
        worker_count: int = 1,
        maxsize: int = 0,
        poll_interval: float = 0.5,
        initial_state: Optional[Dict[str, Any]] = None,
        backend: Any = None,
    ) -> None:
        worker_count = check_int(worker_count, f"QueueService {name!r}: worker_count", 1)
        maxsize = check_int(maxsize, f"QueueService {name!r}: maxsize", 0)
        poll_interval = check_seconds(poll_interval, f"QueueService {name!r}: poll_interval")
        state: Dict[str, Any] = {"queue_size": 0, "worker_count": worker_count}
        if initial_state is not None and not isinstance(initial_state, dict):
            raise TypeError(f"QueueService {name!r}: initial_state must be a dict or None, "
                            f"got {type(initial_state).__name__}.")
        state.update(initial_state or {})
        super().__init__(name, state)
        self.worker_count = worker_count
        #: how often a queue backend refreshes its figures (the in-process
        #: queue needs no polling: its size is kept exact)
        self.poll_interval: float = float(poll_interval)
        #: the underlying gevent queue (SPECTER exposes it as ``queue``)
        self.queue: JoinableQueue[Any] = JoinableQueue(maxsize=maxsize or None)
        self._stop_timeout_override: Optional[float] = None
        self._accepting = True
        self._closed = False
        self._workers: List[AnyGreenlet] = []
        self._accepted = 0
        self._processed = 0
        self._retried = 0
        self._dead_lettered = 0
        self._handed_back = 0
        self._rejected = 0
        self._size_pending = False
        if backend is not None:
            self.backend = backend
        self._binding: Optional[QueueBinding] = None
        #: how an item is stored and how many wait: the pre-start queue until
        #: a binding is started, then the binding's (set in _after_start)
        self._put: Callable[[Any, bool, Optional[float]], bool] = self._put_early
        self._size: Callable[[], int] = self.queue.qsize
        self._binding_closed = False
        self._handover: Optional[AnyGreenlet] = None

    # --------------------------------------------------------------- timeouts
    @property
    def stop_timeout(self) -> float:
        """``drain_timeout + stop_margin`` unless set explicitly, so the drain
        always fits inside the stop budget."""
        if self._stop_timeout_override is not None:
            return self._stop_timeout_override
        return float(self.drain_timeout) + float(self.stop_margin)

    @stop_timeout.setter
    def stop_timeout(self, seconds: float) -> None:
        self._stop_timeout_override = float(seconds)

    # -------------------------------------------------------------- lifecycle
    def on_start(self) -> None:
        """Override freely; the workers start after it returns (calling
        ``super().on_start()`` is harmless, as in SPECTER)."""

    def on_stop(self) -> None:
        """Override freely; the queue has drained before it runs (calling
        ``super().on_stop()`` is harmless)."""

    on_stop._spoc_noop = True  # type: ignore[attr-defined]

    def _after_start(self) -> None:
        self._accepting = True
        self._closed = False
        backend = self._resolve_backend()
        if isinstance(backend, Service) and not backend.running and backend.owner is None:
            self.adopt(backend)  # a backend given to this service alone: it runs as long as we do
        binding = backend.bind(self)
        self._binding = binding
        self._binding_closed = False
        # the per-item paths call these directly (no backend branch per item)
        self._put = binding.put
        self._size = self.queue.qsize if isinstance(binding, MemoryBinding) else binding.pending
        # also a release: closed even when the drain never ran (a failed start)
        self.add_cleanup(self._close_binding)
        self._workers = list(binding.start())
        if not isinstance(binding, MemoryBinding) and self.queue.qsize():
            self._handover = self.spawn(self._hand_over_early_items, binding, label="hand-over")
        self.on_workers_started()

    def _before_stop(self, deadline: float) -> None:
        """Stop accepting, call ``on_workers_stopping()``, drain within the
        budget, close the binding (the user's ``on_stop`` runs after, with the
        queue drained and the workers gone)."""
        self._accepting = False
        try:
            self.on_workers_stopping()
        except Exception:
            logger.exception("QueueService %r: on_workers_stopping() raised; draining anyway", self.name)
        remaining = max(0.0, deadline - time.monotonic() - float(self.stop_margin) / 2)
        budget = min(float(self.drain_timeout), remaining)
        binding = self._binding
        if binding is None:
            return
        try:
            if not binding.drain(budget):
                logger.warning("QueueService %r: drain_timeout (%.2fs) reached with %d queued and %d in "
                               "flight; handing them back", self.name, budget, self.pending_count(),
                               self.in_flight_count())
        finally:
            self._close_binding()

    def _hand_back(self, items: List[Any]) -> None:
        """Count ``items`` as handed back and give them to ``on_undelivered``
        (bindings call this for what they could not finish)."""
        self._closed = True
        self._note_size()
        if not items:
            return
        self._handed_back += len(items)
        try:
            self.on_undelivered(items)
        except Exception:
            logger.exception("QueueService %r: on_undelivered() raised; %d item(s) were handed "
                             "to it", self.name, len(items))

    # ---------------------------------------------------------------- backends
    def _resolve_backend(self) -> Any:
        choice = self.backend
        if choice is None:
            choice = self.scope.registry.resolve(QUEUE_BACKEND_KEY)
        if choice is None or choice == MEMORY:
            return MEMORY_BACKEND
        if not callable(getattr(choice, "bind", None)):
            raise TypeError(f"QueueService {self.name!r}: backend must be None, {MEMORY!r} or a queue backend "
                            f"with bind(service), got {choice!r}.")
        return choice

    def _hand_over_early_items(self, binding: QueueBinding) -> None:
        """Move items enqueued before start() to a durable backend, waiting
        for it when unreachable (what is still here at stop is handed back)."""
        while True:
            try:
                item = self.queue.peek_nowait()
            except Empty:
                return
            binding.put(item, True, None)
            self.queue.get_nowait()
            self.queue.task_done()

    def _close_binding(self) -> None:
        binding = self._binding
        if binding is None or self._binding_closed:
            return
        self._binding_closed = True
        self._accepting = False
        self.cancel_greenlet(self._handover)
        self._handover = None
        try:
            given_back = int(binding.close() or 0)  # close() may hand items back itself: count after it
            self._handed_back += given_back
        except Exception:
            logger.exception("QueueService %r: closing the queue backend raised", self.name)
        # items enqueued before start() that never reached a durable backend
        self._hand_back(take_all(self.queue))

    def run_item(self, item: Any) -> Optional[BaseException]:
        """Handle one item the way the workers do: ``handle_item``, retries
        with backoff, then ``on_dead_letter``. Returns None when it was
        processed, else the last exception (the item was dead-lettered).
        Queue backends call this from their worker greenlets."""
        try:
            self.handle_item(item)
        except _NOT_ITEM_FAILURES:
            raise
        except BaseException as exc:  # noqa: B036 - CancelledError & co. fail the item, not the worker
            return self._after_failure(item, exc)
        self._processed += 1
        return None

    # ---------------------------------------------------------------- enqueue
    def enqueue(self, item: Any, *, block: bool = False, timeout: Optional[float] = None) -> bool:
        """Queue ``item`` for a worker. Returns True when accepted; False when
        the queue is full (after ``timeout`` when ``block``), while the service
        drains, or after it stopped. An accepted item is processed,
        dead-lettered or handed to ``on_undelivered``: never lost. With a
        durable backend, True means the backend stored it. Before the first
        ``start()`` items wait in ``queue`` for the workers (as in SPECTER)."""
        if not self._accepting:
            self._rejected += 1
            logger.debug("QueueService %r: enqueue refused, the service is %s", self.name,
                         "stopped" if self._closed else "draining")
            return False
        # count first: a blocked put may complete (and the item be processed)
        # before this greenlet resumes
        self._accepted += 1
        try:
            stored = self._put(item, block, timeout)
        except BaseException:
            self._accepted -= 1
            raise
        if not stored:
            self._accepted -= 1
            self._rejected += 1
            return False
        # _note_size() inlined: this is the per-item hot path
        self.state["queue_size"] = self._size()
        if self._subscribers and not self._size_pending:
            self._size_pending = True
            gevent.get_hub().loop.run_callback(self._publish_size)
        return True

    def _put_early(self, item: Any, block: bool, timeout: Optional[float]) -> bool:
        """Before the first start: the items wait in ``queue`` for the workers."""
        try:
            self.queue.put(item, block, timeout)
        except Full:
            return False
        return True

    def pending_count(self) -> int:
        """Items waiting to be taken (not counting those being handled); the
        backend's figure (Redis: the stream's backlog, refreshed every
        ``poll_interval``)."""
        return int(self._size())

    def in_flight_count(self) -> int:
        """Items taken by a worker and not finished yet (incl. retry backoff)."""
        binding = self._binding
        return 0 if binding is None else binding.in_flight()

    # ------------------------------------------------------------------ hooks
    def handle_item(self, item: Any) -> None:
        """Process one item. Override this."""
        raise NotImplementedError(
            f"{type(self).__name__}.handle_item() is not implemented: override "
            "handle_item(self, item) in your QueueService subclass."
        )

    def on_workers_started(self) -> None:
        """Called after the worker greenlets are spawned."""

    def on_workers_stopping(self) -> None:
        """Called when ``stop()`` begins, before draining and tearing down workers."""

    def on_dead_letter(self, item: Any, exc: BaseException) -> None:
        """Called with an item whose last attempt raised ``exc``. Default: log at ERROR."""
        logger.error("QueueService %r: item %r failed after %d attempt(s): %s: %s; dead-lettered",
                     self.name, item, self.max_retries + 1, type(exc).__name__, exc, exc_info=exc)

    def on_undelivered(self, items: List[Any]) -> None:
        """Called once per stop with the accepted items that were not
        processed before ``drain_timeout`` (queued or interrupted mid-handling),
        oldest first. Default: log them at ERROR. Override to persist or
        re-queue them elsewhere."""
        logger.error("QueueService %r: %d item(s) not processed before stop were handed back: %r",
                     self.name, len(items), items[:20])

    # ---------------------------------------------------------------- failures
    def _after_failure(self, item: Any, exc: BaseException) -> Optional[BaseException]:
        """Retry ``item``; None when a retry succeeded, else the last
        exception after ``on_dead_letter`` ran."""
        attempt = 0
        while attempt < self.max_retries:
            delay = backoff_delay(attempt, float(self.retry_backoff), float(self.max_retry_backoff))
            attempt += 1
            self._retried += 1
            logger.warning("QueueService %r: item %r raised %s; retry %d/%d in %.2fs", self.name,
                           item, format_exc(exc), attempt, self.max_retries, delay)
            self.clock.sleep(delay)
            try:
                self.handle_item(item)
            except _NOT_ITEM_FAILURES:
                raise
            except BaseException as again:  # noqa: B036
                exc = again
            else:
                self._processed += 1
                return None
        self.dead_letter(item, exc)
        return exc

    def dead_letter(self, item: Any, exc: BaseException) -> None:
        """Give ``item`` to :meth:`on_dead_letter` and count it as dead-lettered.
        Queue backends call this for items they give up on without handling
        them (e.g. delivered too many times without an acknowledgement)."""
        try:
            self.on_dead_letter(item, exc)
        except Exception:
            logger.exception("QueueService %r: on_dead_letter() raised for item %r", self.name, item)
        self._dead_lettered += 1

    # ---------------------------------------------------------------- offload
    def offload(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run ``fn(*args, **kwargs)`` in a worker process and wait for it
        cooperatively (the hub keeps serving other greenlets). ``fn`` must be
        importable by name (a module-level function). The process pool is
        owned by this service: started on first use, stopped with it.
        See :mod:`specter_spoc.lifecycle.offload`."""
        return offload_pool(self, size=self.offload_workers).run(fn, *args, **kwargs)

    # ------------------------------------------------------------------ state
    def _note_size(self) -> None:
        """Keep ``state['queue_size']`` exact; tell subscribers once per hub
        turn however many items moved (a burst of 10,000 enqueues is one
        notification, not 10,000)."""
        self.state["queue_size"] = self._size()
        if self._subscribers and not self._size_pending:
            self._size_pending = True
            gevent.get_hub().loop.run_callback(self._publish_size)

    def _publish_size(self) -> None:
        self._size_pending = False
        self.state["queue_size"] = self.pending_count()
        self._notify()

    def get_state(self) -> Dict[str, Any]:
        """A copy of the state, with ``queue_size`` read now."""
        self.state["queue_size"] = self.pending_count()
        return dict(self.state)

    def stats(self) -> Dict[str, int]:
        """Item counters. Invariant: ``accepted == processed + dead_lettered +
        handed_back + pending + in_flight`` (the last two are 0 once stopped)."""
        return {
            "accepted": self._accepted,
            "processed": self._processed,
            "dead_lettered": self._dead_lettered,
            "handed_back": self._handed_back,
            "pending": self.pending_count(),
            "in_flight": self.in_flight_count(),
            "retried": self._retried,
            "rejected": self._rejected,
        }

    def workers_alive(self) -> int:
        return sum(1 for g in self._workers if not g.dead)

    def health(self) -> Dict[str, Any]:
        """Service health plus queue figures; ``degraded`` when fewer workers
        are alive than ``worker_count`` while running."""
        report = super().health()
        self.state["queue_size"] = self.pending_count()
        alive = self.workers_alive()
        running = self.lifecycle_state in (RUNNING, STARTING)
        report.update(
            worker_count=self.worker_count,
            workers_alive=alive,
            accepting=self._accepting,
            draining=self.running and not self._accepting,
            queue_size=self.state["queue_size"],
            stats=self.stats(),
        )
        if report["status"] == "ok" and running and self._workers and alive < len(self._workers):
            report["status"] = "degraded"
            report["reason"] = f"{alive} of {len(self._workers)} workers alive"
        backend = self._binding.health() if self._binding is not None else {}
        if backend:
            report["backend"] = backend
            if report["status"] == "ok" and running and backend.get("status") == "degraded":
                report["status"] = "degraded"
        return report
