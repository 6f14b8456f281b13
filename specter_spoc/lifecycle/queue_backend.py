"""Pluggable transports for QueueService: where queued items live.

By default a :class:`~specter_spoc.lifecycle.QueueService` keeps its items in
an in-process gevent queue: fast, but gone when the process dies. A *queue
backend* moves them somewhere durable and shared (Redis Streams:
:class:`specter_spoc.contrib.redis.RedisQueueBackend`) while the service
keeps its API: ``enqueue``, ``handle_item``, retries, ``on_dead_letter``,
drain on ``stop()``, ``stats()`` and ``health()``.

How a QueueService picks its transport when it starts, first match wins:

1. the ``backend=`` constructor argument;
2. the ``backend`` class attribute;
3. the backend its runtime provides in the registry under
   :data:`QUEUE_BACKEND_KEY` (``create_app()`` does this when the settings
   say ``QUEUE_BACKEND = "redis"``);
4. the in-process queue.

``"memory"`` (:data:`MEMORY`) in 1 or 2 forces the in-process queue even
when the runtime provides a backend.

A backend is an object with ``bind(service) -> QueueBinding``; the binding
does the per-service work. Bindings spawn their greenlets with
``service.spawn(...)`` so the service owns them and ``stop()`` joins them,
and they hand each item to ``service.run_item(item)``.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from ..typing import AnyGreenlet

__all__ = ["QUEUE_BACKEND_KEY", "MEMORY", "QueueBinding"]

#: registry key under which a runtime provides the default queue backend
QUEUE_BACKEND_KEY = "specter_spoc.queue_backend"
#: ``backend=MEMORY`` forces the in-process queue
MEMORY = "memory"


class QueueBinding:
    """One QueueService's connection to a backend. Subclass and implement
    every method; the service calls them in this order:

    ``start()`` once (from ``on_start``), then ``put()`` for each enqueue,
    then at stop ``drain(budget)`` and ``close()`` (``close()`` may be called
    again, or without ``drain()`` when ``on_stop`` was overridden).
    """

    def start(self) -> List[AnyGreenlet]:
        """Start consuming; return the worker greenlets (spawned with
        ``service.spawn``) so health can count the live ones."""
        raise NotImplementedError

    def put(self, item: Any, block: bool, timeout: Optional[float]) -> bool:
        """Store ``item`` durably; True when stored, False when refused
        (full, or the backend is unreachable after ``timeout`` when ``block``)."""
        raise NotImplementedError

    def drain(self, budget: float) -> bool:
        """Stop taking new items and wait up to ``budget`` seconds for the
        ones this process already took; True when none is left unfinished."""
        raise NotImplementedError

    def close(self) -> int:
        """Stop the workers and give unfinished items back to the backend;
        returns how many were given back. Idempotent."""
        raise NotImplementedError

    def pending(self) -> int:
        """Items waiting to be taken (may be a recent, cached figure)."""
        raise NotImplementedError

    def in_flight(self) -> int:
        """Items taken by this process and not finished yet."""
        raise NotImplementedError

    def health(self) -> Dict[str, Any]:
        """What health reports show under ``backend``."""
        return {}
