"""Dead letters a person can list, requeue or purge.

A QueueService gives up on an item by calling ``on_dead_letter(item, exc)``.
Where the item ends up depends on the queue's transport:

- **in-process** queues forget it after that hook. :class:`MemoryDeadLetters`
  keeps the last ``limit`` of them per service, by wrapping the service's
  ``on_dead_letter`` (the service's own hook still runs first; nothing is
  kept for services the console was not installed on);
- **Redis-backed** queues already move it to the dead-letter stream
  ``{prefix}:{name}:dead``; :class:`RedisDeadLetters` reads and edits that
  stream directly, so the CLI can do it without a running app.

Both answer the same three calls: ``list()``, ``requeue(ids)``, ``purge(ids)``
(``ids=None`` means all); requeue puts the item back at the end of the queue.
"""
from __future__ import annotations

import itertools
import json
import time
from collections import deque
from typing import Any, Deque, Dict, Iterable, List, Optional, Protocol

from .collect import mask_message

__all__ = ["DeadLetterSource", "MemoryDeadLetters", "RedisDeadLetters", "dead_letters_for"]

#: dead letters kept per in-process QueueService
MEMORY_LIMIT = 200


class DeadLetterSource(Protocol):
    def list(self, count: int = 100) -> List[Dict[str, Any]]: ...

    def requeue(self, ids: Optional[Iterable[str]] = None) -> int: ...

    def purge(self, ids: Optional[Iterable[str]] = None) -> int: ...


class MemoryDeadLetters:
    """The last ``limit`` dead letters of one in-process QueueService."""

    _ids = itertools.count(1)

    def __init__(self, service: Any, limit: int = MEMORY_LIMIT) -> None:
        self.service = service
        self.entries: Deque[Dict[str, Any]] = deque(maxlen=limit)
        original = service.on_dead_letter  # the bound hook (class or instance level)

        def on_dead_letter(item: Any, exc: BaseException) -> None:
            try:
                original(item, exc)
            finally:
                self.entries.append({"id": str(next(self._ids)), "item": item, "at": time.time(),
                                     "error": mask_message(f"{type(exc).__name__}: {exc}")[:2000]})

        on_dead_letter.spoc_console_dead_letters = self  # type: ignore[attr-defined]
        service.on_dead_letter = on_dead_letter

    @classmethod
    def attach(cls, service: Any) -> "MemoryDeadLetters":
        """The store of ``service``, wrapping its hook on first use (idempotent)."""
        existing = getattr(service.on_dead_letter, "spoc_console_dead_letters", None)
        return existing if isinstance(existing, cls) else cls(service)

    def list(self, count: int = 100) -> List[Dict[str, Any]]:
        return [dict(entry) for entry in list(self.entries)[:count]]

    def _take(self, ids: Optional[Iterable[str]]) -> List[Dict[str, Any]]:
        wanted = None if ids is None else {str(i) for i in ids}
        taken = [e for e in self.entries if wanted is None or e["id"] in wanted]
        for entry in taken:
            self.entries.remove(entry)
        return taken

    def requeue(self, ids: Optional[Iterable[str]] = None) -> int:
        """Enqueue the chosen items again; one the queue refuses (full,
        stopped) stays a dead letter."""
        done = 0
        for entry in self._take(ids):
            if self.service.enqueue(entry["item"]):
                done += 1
            else:
                self.entries.appendleft(entry)
        return done

    def purge(self, ids: Optional[Iterable[str]] = None) -> int:
        return len(self._take(ids))


class RedisDeadLetters:
    """The dead-letter stream of one Redis-backed queue, edited with plain
    stream commands (XRANGE, XADD, XDEL) on ``client`` (a redis-py client)."""

    def __init__(self, client: Any, prefix: str, queue_name: str) -> None:
        self.client = client
        self.stream: str = f"{prefix}:{queue_name}"
        self.dead: str = f"{prefix}:{queue_name}:dead"

    @staticmethod
    def _text(value: Any) -> str:
        return value.decode() if isinstance(value, bytes) else str(value)

    def _entries(self, count: Optional[int]) -> List[Any]:
        entries: List[Any] = self.client.xrange(self.dead, count=count)
        return entries

    def list(self, count: int = 100) -> List[Dict[str, Any]]:
        out = []
        for entry_id, fields in self._entries(count):
            record = {self._text(k): self._text(v) for k, v in fields.items()}
            raw = record.pop("d", "null")
            try:
                item = json.loads(raw)
            except ValueError:
                item = raw
            out.append({"id": self._text(entry_id), "item": item, "error": mask_message(record.get("error", "")),
                        "reason": record.get("reason"), "deliveries": int(record.get("deliveries", 0) or 0)})
        return out

    def _chosen(self, ids: Optional[Iterable[str]]) -> List[Any]:
        wanted = None if ids is None else {str(i) for i in ids}
        return [(self._text(i), f) for i, f in self._entries(None) if wanted is None or self._text(i) in wanted]

    def requeue(self, ids: Optional[Iterable[str]] = None) -> int:
        """Move the chosen entries back to the queue's stream (same payload)."""
        moved = 0
        for entry_id, fields in self._chosen(ids):
            payload = fields.get(b"d", fields.get("d", "null"))
            pipe = self.client.pipeline(transaction=True)
            pipe.xadd(self.stream, {"d": payload})
            pipe.xdel(self.dead, entry_id)
            pipe.execute()
            moved += 1
        return moved

    def purge(self, ids: Optional[Iterable[str]] = None) -> int:
        chosen = [entry_id for entry_id, _ in self._chosen(ids)]
        if not chosen:
            return 0
        return int(self.client.xdel(self.dead, *chosen))

    def count(self) -> int:
        return int(self.client.xlen(self.dead))


def redis_backend_of(service: Any) -> Any:
    """The RedisQueueBackend a running QueueService consumes from, or None."""
    binding = getattr(service, "_binding", None)
    backend = getattr(binding, "backend", None)
    return backend if callable(getattr(backend, "dead_letter_key", None)) else None


def dead_letters_for(service: Any) -> DeadLetterSource:
    """The dead letters of ``service``: its Redis stream when Redis-backed,
    else the in-memory store the console attached."""
    backend = redis_backend_of(service)
    if backend is not None:
        return RedisDeadLetters(backend.connection.client, backend.prefix, service.name)
    return MemoryDeadLetters.attach(service)
