"""RedisQueueBackend: durable QueueService items on Redis Streams.

Each QueueService named ``N`` gets a stream ``{prefix}:N`` read through one
consumer group (``group``) by every process running a QueueService of that
name: each process is one consumer, its worker greenlets share what it reads.

Guarantees (at-least-once):

- ``enqueue()`` returns True once Redis stored the item (``XADD``): it
  survives the enqueuing process and every worker process.
- An item is acknowledged (``XACK``, then ``XDEL``) only after
  ``handle_item`` returned, or after it was dead-lettered. An acknowledged
  item is never delivered again.
- An item whose worker process died mid-item (SIGKILL, OOM, a lost machine)
  stays in the group's pending list; once it has been idle for
  ``visibility_timeout`` seconds another consumer claims it (``XAUTOCLAIM``)
  and runs it again. Consumers prove they are alive: a heartbeat resets the
  idle time of every item they hold (``XCLAIM ... JUSTID``) every
  ``visibility_timeout / 3``, so a long ``handle_item`` is not stolen.
- ``handle_item`` raising: retried ``max_retries`` times in the worker with
  backoff (as in-process), then ``on_dead_letter(item, exc)`` runs and the
  item is moved to the dead-letter stream ``{prefix}:N:dead``.
- An item delivered more than ``max_deliveries`` times without being
  acknowledged (it crashes or hangs its worker each time) is dead-lettered
  the same way, with :class:`RedeliveryLimitExceeded`.
- ``stop()`` drains like the in-process queue: it stops reading, lets the
  workers finish what this process already took for up to ``drain_timeout``,
  then gives whatever is unfinished back to the group *unacknowledged*, with
  its idle time set so any other consumer can claim it at once. Nothing is
  handed to ``on_undelivered``: the items are still in Redis.

Consequences to design for: ``handle_item`` must be idempotent (a crash
between its side effects and the acknowledgement runs it again); items are
JSON (``enqueue`` raises ``TypeError`` for anything else; tuples come back as
lists); durability across a *Redis* restart is Redis's own (enable AOF).
"""
from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

import gevent
from gevent.event import Event
from gevent.queue import Queue
from redis.exceptions import ResponseError

from ...lifecycle.offload import bind_offload_owner
from ...lifecycle.queue_backend import QUEUE_BACKEND_KEY, QueueBinding
from ...lifecycle.service import Service
from ...typing import AnyGreenlet
from .connection import CONNECTION_ERRORS, RedisConnection, mask_url, require_gevent_patch

if TYPE_CHECKING:
    from ...lifecycle.queue import QueueService

__all__ = ["RedisQueueBackend", "RedeliveryLimitExceeded", "DEFAULT_QUEUE_PREFIX"]

logger: logging.Logger = logging.getLogger("specter_spoc.contrib.redis")

DEFAULT_QUEUE_PREFIX = "specter_spoc:queue"
"""Key prefix of the queue streams when none is given (setting ``QUEUE_REDIS_PREFIX``);
give each deployment sharing one Redis its own prefix."""
#: consumer that holds items given back at stop until another consumer claims them
_RELEASED = "~released"
_BATCH = 256

# XADD only while the stream is shorter than the QueueService's maxsize
_BOUNDED_XADD = """
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then return false end
return redis.call('XADD', KEYS[1], '*', 'd', ARGV[2])
"""


class RedeliveryLimitExceeded(RuntimeError):
    """An item was delivered ``max_deliveries`` times without being
    acknowledged: each worker holding it died or hung. Given to
    ``on_dead_letter`` before the item moves to the dead-letter stream."""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _entries(response: Any) -> List[Tuple[str, Any]]:
    """(id, fields) pairs from an XREADGROUP reply of our one stream."""
    out: List[Tuple[str, Any]] = []
    for _name, entries in response or ():
        for entry_id, fields in entries:
            out.append((_text(entry_id), fields))
    return out


def _check_seconds(value: object, what: str, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"RedisQueueBackend {name!r}: {what} must be seconds > 0, got {value!r}.")
    return float(value)


class RedisQueueBackend(Service):
    """Durable, multi-process transport for QueueServices (Redis Streams).

    Give it to one QueueService, or make it the runtime's default so every
    QueueService uses it (``create_app()`` does that for
    ``QUEUE_BACKEND = "redis"``)::

        class Mailer(QueueService):
            def handle_item(self, message):
                send_mail(message)              # idempotent: may run twice

        backend = RedisQueueBackend("redis://127.0.0.1:6379/0", visibility_timeout=30)
        mailer = Mailer("mailer", worker_count=4, backend=backend).start()
        mailer.enqueue({"to": "a@example.org"})     # True once Redis stored it
        mailer.stop()   # finishes what it holds; the rest goes back to the group

        # in a script or cron job: enqueue without consuming
        RedisQueueBackend(url).enqueue("mailer", {"to": "b@example.org"})

    ``prefix`` namespaces the keys (stream ``{prefix}:{queue name}``, dead
    letters ``{prefix}:{queue name}:dead``); ``visibility_timeout`` is how
    long an item held by a silent consumer waits before another consumer
    takes it; ``max_deliveries`` bounds redeliveries of an item that keeps
    killing its worker; ``prefetch`` is how many items one process holds at
    once per queue (default ``max(16, 4 * worker_count)``: more is faster,
    fewer spreads items more evenly over processes); ``block`` is the
    longest single blocking read in seconds; ``as_default`` provides the
    backend in the runtime's registry as the default for every QueueService;
    ``require_at_boot`` makes ``start()`` fail when Redis cannot be reached
    (by default the backend starts degraded and reconnects in the background).
    See the module docstring for the guarantees.
    """

    #: starts before the QueueServices that use it and stops after them
    priority = -500

    def __init__(self, url: str, *, prefix: str = DEFAULT_QUEUE_PREFIX, group: str = "workers",
                 visibility_timeout: float = 30.0, max_deliveries: int = 5, prefetch: Optional[int] = None,
                 block: float = 1.0, dead_letter_maxlen: int = 10000, as_default: bool = False,
                 name: str = "redis-queue", connect_timeout: float = 2.0, backoff_max: float = 2.0,
                 require_at_boot: bool = False) -> None:
        super().__init__(name)
        for label, value in (("prefix", prefix), ("group", group)):
            if not isinstance(value, str) or not value:
                raise TypeError(f"RedisQueueBackend {name!r}: {label} must be a non-empty str, got {value!r}.")
        for label, number in (("max_deliveries", max_deliveries), ("dead_letter_maxlen", dead_letter_maxlen),
                              ("prefetch", 1 if prefetch is None else prefetch)):
            if isinstance(number, bool) or not isinstance(number, int) or number < 1:
                raise ValueError(f"RedisQueueBackend {name!r}: {label} must be an int >= 1, got {number!r}.")
        self.visibility_timeout: float = _check_seconds(visibility_timeout, "visibility_timeout", name)
        self.block: float = _check_seconds(block, "block", name)
        self.prefix = prefix
        self.group = group
        self.max_deliveries = max_deliveries
        self.prefetch = prefetch
        self.dead_letter_maxlen = dead_letter_maxlen
        self.as_default: bool = bool(as_default)
        #: raise at start when Redis is unreachable (else start degraded and reconnect)
        self.require_at_boot: bool = bool(require_at_boot)
        # the read timeout must outlast the longest blocking read
        self.connection: RedisConnection = RedisConnection(url, name=name, connect_timeout=connect_timeout,
                                          backoff_max=backoff_max, read_timeout=max(10.0, self.block + 5.0))
        self._bindings: List["_RedisQueueBinding"] = []
        self._bounded_xadd: Any = None

    # ------------------------------------------------------------ lifecycle
    def on_start(self) -> None:
        require_gevent_patch(f"RedisQueueBackend {self.name!r}")
        self.connection.reopen()
        self.add_cleanup(self.connection.close)
        if self.require_at_boot:
            self.connection.probe()
        if self.as_default:
            self.scope.registry.provide(QUEUE_BACKEND_KEY, self, owner=self, replace=True)

    def close(self) -> None:
        """Release the Redis connections of a backend used without start()
        (``enqueue`` from a script); stop() does this for a running one."""
        if self.running:
            self.stop()
        else:
            self.connection.close()
            self.connection.reopen()

    def __enter__(self) -> "RedisQueueBackend":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ----------------------------------------------------------------- keys
    def stream_key(self, queue_name: str) -> str:
        """The stream holding the items of the QueueService ``queue_name``."""
        return f"{self.prefix}:{queue_name}"

    def dead_letter_key(self, queue_name: str) -> str:
        """The stream holding ``queue_name``'s dead letters."""
        return f"{self.prefix}:{queue_name}:dead"

    # ------------------------------------------------------------ producers
    def enqueue(self, queue_name: str, item: Any) -> str:
        """Store ``item`` for the QueueService named ``queue_name`` from any
        process, without consuming (no start() needed); returns the entry id.
        Raises ``TypeError`` for a non-JSON item and redis-py's
        ``ConnectionError`` when Redis is unreachable."""
        payload = _encode(item, f"RedisQueueBackend.enqueue({queue_name!r})")
        return _text(self.connection.client.xadd(self.stream_key(queue_name), {"d": payload}))

    def _put(self, stream: str, payload: str, maxsize: Optional[int]) -> bool:
        client = self.connection.client
        if not maxsize:
            client.xadd(stream, {"d": payload})
            return True
        if self._bounded_xadd is None:
            self._bounded_xadd = client.register_script(_BOUNDED_XADD)
        return self._bounded_xadd(keys=[stream], args=[maxsize, payload], client=client) is not None

    def dead_letters(self, queue_name: str, count: int = 100) -> List[Dict[str, Any]]:
        """The oldest ``count`` dead letters of ``queue_name``: dicts with
        ``id``, ``item`` (decoded), ``reason``, ``error``, ``deliveries``,
        ``consumer`` and ``original_id``."""
        out = []
        for entry_id, fields in self.connection.client.xrange(self.dead_letter_key(queue_name), count=count):
            record: Dict[str, Any] = {_text(k): _text(v) for k, v in fields.items()}
            raw = record.pop("d", "null")
            try:
                item = json.loads(raw)
            except (ValueError, RecursionError):  # an undecodable entry: keep its text
                item = raw
            record["deliveries"] = int(record.get("deliveries", 0))
            out.append({"id": _text(entry_id), "item": item, **record})
        return out

    # -------------------------------------------------------------- binding
    def bind(self, service: QueueService) -> "_RedisQueueBinding":
        """The per-service binding a QueueService starts (see queue_backend)."""
        binding = _RedisQueueBinding(self, service)
        self._bindings = [b for b in self._bindings if not b.closed] + [binding]
        return binding

    def health(self) -> Dict[str, Any]:
        report = super().health()
        report.update(redis=self.connection.health(), prefix=self.prefix, group=self.group,
                      visibility_timeout=self.visibility_timeout, max_deliveries=self.max_deliveries,
                      queues=sorted(b.service.name for b in self._bindings if not b.closed))
        if report["status"] == "ok" and self._running and self.connection.state == "reconnecting":
            report["status"] = "degraded"
        return report


def _encode(item: Any, where: str) -> str:
    try:
        return json.dumps(item, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{where}: items of a Redis-backed queue are stored as JSON, and this one cannot be: "
                        f"{exc}. Enqueue JSON-able data (dict, list, str, number, bool, None), e.g. an id "
                        "instead of an object.") from None


class _Held:
    """What one binding holds: items taken from Redis and not acknowledged
    yet, shared by its reader, acker and workers. ``idle`` is set whenever
    nothing is held (``drain`` waits on it); ``room`` whenever fewer than
    ``capacity`` are held (the reader waits on it)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.owned: Dict[str, Any] = {}      # taken by this process, not yet acknowledged
        self.in_flight: Dict[str, Any] = {}  # being handled by a worker right now
        self.idle: Event = Event()
        self.idle.set()
        self.room: Event = Event()
        self.room.set()

    def take(self, entry_id: str, item: Any) -> None:
        self.owned[entry_id] = item
        self.idle.clear()
        if len(self.owned) >= self.capacity:
            self.room.clear()

    def release(self, entry_ids: Sequence[str]) -> None:
        for entry_id in entry_ids:
            self.owned.pop(entry_id, None)
        if len(self.owned) < self.capacity:
            self.room.set()
        if not self.owned:
            self.idle.set()

    def clear(self) -> None:
        self.release(list(self.owned))
        self.in_flight.clear()


class _RedisQueueBinding(QueueBinding):
    """One QueueService consuming its stream as one consumer of the group.

    Three helpers, one job each, share :class:`_Held`: the :class:`_Reader`
    takes new items (``XREADGROUP``), the :class:`_Acker` acknowledges
    finished ones and writes dead letters, the :class:`_Maintainer`
    heartbeats held items, reclaims those of dead consumers and refreshes
    the backlog figure. This class starts them and the workers, and gives
    unfinished items back at close."""

    def __init__(self, backend: RedisQueueBackend, service: QueueService) -> None:
        self.backend = backend
        self.service = service
        self.conn: RedisConnection = backend.connection
        self.stream: str = backend.stream_key(service.name)
        self.dead: str = backend.dead_letter_key(service.name)
        self.group: str = backend.group
        self.consumer: str = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.visibility_ms: int = max(1, int(backend.visibility_timeout * 1000))
        self.closed: bool = False
        self.held: _Held = _Held(backend.prefetch or max(16, 4 * int(service.worker_count)))
        self.counts: Dict[str, int] = {"reclaimed": 0, "released": 0, "acked": 0, "redelivery_limit": 0}
        self.buffer: "Queue[Tuple[str, Any]]" = Queue()
        self.acker: _Acker = _Acker(self)
        self.reader: _Reader = _Reader(self)
        self.maintainer: _Maintainer = _Maintainer(self)
        self._greenlets: List[AnyGreenlet] = []
        self._workers: List[AnyGreenlet] = []

    # ------------------------------------------------------------ lifecycle
    def start(self) -> List[AnyGreenlet]:
        spawn = self.service.spawn
        self._greenlets = [spawn(self.reader.run, label="redis-reader"),
                           spawn(self.acker.run, label="redis-acker"),
                           spawn(self.maintainer.run, label="redis-maintainer")]
        self._workers = [spawn(self._work, label=f"worker-{i + 1}") for i in range(self.service.worker_count)]
        return self._workers

    def put(self, item: Any, block: bool, timeout: Optional[float]) -> bool:
        payload = _encode(item, f"QueueService {self.service.name!r}: enqueue()")
        maxsize = self.service.queue.maxsize
        deadline = None if timeout is None else time.monotonic() + max(0.0, float(timeout))
        while True:
            try:
                stored = self.backend._put(self.stream, payload, maxsize)
            except CONNECTION_ERRORS as exc:
                self.conn.failed(exc)
                stored = None
            else:
                self.conn.ok()
                if stored:
                    return True
            if not block or (deadline is not None and time.monotonic() >= deadline):
                return False
            delay = self.conn.backoff_delay() if stored is None else 0.05
            if deadline is not None:
                delay = min(delay, max(0.0, deadline - time.monotonic()))
            gevent.sleep(delay)

    def drain(self, budget: float) -> bool:
        self._stop_reading()
        return bool(self.held.idle.wait(max(0.0, budget)))

    def close(self) -> int:
        if self.closed:
            return 0
        self.closed = True
        self._stop_reading()
        for glet in self._workers:  # interrupted items stay unacknowledged
            self.service.cancel_greenlet(glet)
        for glet in self._greenlets:
            self.service.cancel_greenlet(glet)
        while not self.buffer.empty():  # read but never started: given back below
            self.buffer.get_nowait()
        released = 0
        try:
            self.acker.flush()
            released = self._release_unfinished()
        except ResponseError as exc:  # e.g. Redis restarted empty: nothing of ours is left there
            logger.info("QueueService %r: nothing to give back to Redis (%s)", self.service.name, exc)
        except CONNECTION_ERRORS as exc:
            logger.log(logging.WARNING if self.held.owned else logging.DEBUG,
                       "QueueService %r: could not give %d unfinished item(s) back to Redis (%s); they "
                       "will be redelivered after visibility_timeout (%.1fs)", self.service.name,
                       len(self.held.owned), mask_url(f"{type(exc).__name__}: {exc}"),
                       self.backend.visibility_timeout)
        self.held.clear()
        return released

    def _stop_reading(self) -> None:
        """Take nothing new; the workers still finish what this process holds."""
        self.reader.stopping = True
        for glet in self._greenlets[:1]:
            self.service.cancel_greenlet(glet)

    def pending(self) -> int:
        return self.maintainer.backlog

    def in_flight(self) -> int:
        return len(self.held.in_flight)

    # -------------------------------------------------------------- taking
    def take(self, entry_id: str, fields: Any, deliveries: int) -> None:
        """An entry read or claimed from the stream: hand it to a worker, or
        dead-letter it when it cannot be decoded or was delivered too often."""
        held = self.held
        if entry_id in held.owned:
            return
        if fields is None:  # deleted from the stream while pending: nothing to run
            held.take(entry_id, None)
            self.acker.ack(entry_id)
            return
        raw = fields.get(b"d", fields.get("d")) if isinstance(fields, dict) else None
        try:
            if raw is None:
                raise TypeError("the stream entry has no 'd' field")
            item = json.loads(raw)
        except (TypeError, ValueError, RecursionError) as exc:  # a foreign or corrupt entry
            held.take(entry_id, None)
            self.acker.dead_letter(entry_id, raw, "undecodable", exc, deliveries, item=raw)
            return
        held.take(entry_id, item)
        if deliveries > self.backend.max_deliveries:
            self.counts["redelivery_limit"] += 1
            limit = RedeliveryLimitExceeded(
                f"item {entry_id} of queue {self.service.name!r} was delivered {deliveries} times without being "
                f"acknowledged (max_deliveries={self.backend.max_deliveries}): its worker died or hung each time")
            self.acker.dead_letter(entry_id, raw, "redelivery_limit", limit, deliveries, item=item)
            return
        self.buffer.put((entry_id, item))

    # -------------------------------------------------------------- workers
    def _work(self) -> None:
        bind_offload_owner(self.service)
        service = self.service
        buffer = self.buffer
        in_flight = self.held.in_flight
        while True:
            entry_id, item = buffer.get()
            in_flight[entry_id] = item
            error = service.run_item(item)  # GreenletExit leaves it unacknowledged
            del in_flight[entry_id]
            if error is None:
                self.acker.ack(entry_id)
            else:
                self.acker.dead_letter(entry_id, _encode(item, "dead letter"), "failed", error,
                                       service.max_retries + 1, notify=False)

    # ------------------------------------------------------------- releasing
    def _release_unfinished(self) -> int:
        """Give every item still pending for this consumer back to the group,
        claimable at once (idle time set to visibility_timeout), then remove
        this consumer from the group."""
        client = self.conn.client
        released = 0
        while True:
            rows = client.xpending_range(self.stream, self.group, min="-", max="+", count=_BATCH,
                                         consumername=self.consumer)
            ids = [_text(row["message_id"]) for row in rows]
            if not ids:
                break
            moved = client.xclaim(self.stream, self.group, _RELEASED, 0, ids, idle=self.visibility_ms,
                                  justid=True)
            if not moved:  # entries deleted meanwhile: nothing left to give back
                break
            released += len(moved)
        client.xgroup_delconsumer(self.stream, self.group, self.consumer)
        self.counts["released"] += released
        if released:
            logger.info("QueueService %r: gave %d unfinished item(s) back to Redis for redelivery",
                        self.service.name, released)
        return released

    def response_error(self, exc: ResponseError) -> None:
        """Redis refused a command (e.g. WRONGTYPE: the key holds something
        else): log each distinct error once, retry slowly."""
        text = str(exc)
        if text != self._last_refusal:
            self._last_refusal = text
            logger.error("QueueService %r: Redis refused a command on %r: %s. Is another program using this "
                         "key? Give the backend its own prefix.", self.service.name, self.stream, text)
        gevent.sleep(min(5.0, self.backend.visibility_timeout))

    _last_refusal = ""

    # ---------------------------------------------------------------- health
    def health(self) -> Dict[str, Any]:
        return {
            "kind": "redis",
            "status": "degraded" if self.conn.state == "reconnecting" else "ok",
            "redis": self.conn.health(),
            "stream": self.stream,
            "dead_letter_stream": self.dead,
            "group": self.group,
            "consumer": self.consumer,
            "backlog": self.maintainer.backlog,
            "held": len(self.held.owned),
            **self.counts,
        }


class _Reader:
    """Reads new entries for this consumer (``XREADGROUP``), never more than
    the binding may hold; recreates the group when Redis lost it."""

    def __init__(self, binding: _RedisQueueBinding) -> None:
        self.binding = binding
        self.stopping = False
        self.group_ready: bool = False

    def ensure_group(self) -> None:
        if self.group_ready:
            return
        b = self.binding
        try:
            b.conn.client.xgroup_create(b.stream, b.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self.group_ready = True

    def _lost(self, exc: BaseException) -> None:
        self.group_ready = False  # Redis may come back without our stream

    def run(self) -> None:
        b = self.binding
        held = b.held
        block_ms = max(1, int(b.backend.block * 1000))
        while not self.stopping:
            room = held.capacity - len(held.owned)
            if room <= 0:
                held.room.wait()
                continue
            try:
                with b.conn.retrying(self._lost):
                    self.ensure_group()
                    response = b.conn.client.xreadgroup(b.group, b.consumer, {b.stream: ">"}, count=room,
                                                        block=block_ms)
                    for entry_id, fields in _entries(response):
                        b.take(entry_id, fields, 1)
            except ResponseError as exc:
                self.group_ready = False  # NOGROUP: the stream vanished (Redis restarted empty)
                if "NOGROUP" not in str(exc):
                    b.response_error(exc)


class _Acker:
    """Acknowledges finished entries (``XACK`` + ``XDEL``, batched) and
    writes dead letters; acknowledgements are retried, never lost."""

    def __init__(self, binding: _RedisQueueBinding) -> None:
        self.binding = binding
        self.pending: List[str] = []
        self.wake: Event = Event()

    def ack(self, entry_id: str) -> None:
        self.pending.append(entry_id)
        self.wake.set()

    def run(self) -> None:
        conn = self.binding.conn
        while True:
            self.wake.wait()
            self.wake.clear()
            while self.pending:
                with conn.retrying():
                    self.flush()

    def flush(self) -> None:
        """XACK + XDEL the acknowledged ids, a batch at a time; ids leave the
        list only once Redis confirmed (a retry is harmless)."""
        b = self.binding
        while self.pending:
            ids = self.pending[:_BATCH]
            pipe = b.conn.client.pipeline(transaction=False)
            pipe.xack(b.stream, b.group, *ids)
            pipe.xdel(b.stream, *ids)
            pipe.execute()
            b.conn.ok()
            del self.pending[:len(ids)]
            b.held.release(ids)
            b.counts["acked"] += len(ids)

    def dead_letter(self, entry_id: str, raw: Any, reason: str, exc: BaseException, deliveries: int,
                    *, notify: bool = True, item: Any = None) -> None:
        """Copy the entry to the dead-letter stream, then acknowledge it."""
        b = self.binding
        if notify:
            b.service.dead_letter(item, exc)
        record = {"d": raw if raw is not None else "null", "reason": reason,
                  "error": mask_url(f"{type(exc).__name__}: {exc}")[:2000], "deliveries": deliveries,
                  "consumer": b.consumer, "original_id": entry_id, "queue": b.service.name}
        b.conn.call(lambda: b.conn.client.xadd(b.dead, record, maxlen=b.backend.dead_letter_maxlen,
                                               approximate=True))
        self.ack(entry_id)


class _Maintainer:
    """Heartbeats held entries (so a long item is not stolen), claims the
    entries of dead consumers (``XAUTOCLAIM``) and refreshes the backlog
    figure, each on its own period."""

    def __init__(self, binding: _RedisQueueBinding) -> None:
        self.binding = binding
        self.backlog: int = 0

    def run(self) -> None:
        b = self.binding
        visibility = b.backend.visibility_timeout
        heartbeat_every = visibility / 3
        reclaim_every = visibility / 2
        stats_every = float(b.service.poll_interval)
        tick = max(0.02, min(heartbeat_every, reclaim_every, stats_every))
        now = time.monotonic()
        next_heartbeat, next_reclaim, next_stats = now + heartbeat_every, now, now
        while True:
            now = time.monotonic()
            beat, claim = now >= next_heartbeat, now >= next_reclaim and not b.reader.stopping
            stats = now >= next_stats
            if not (beat or claim or stats):
                gevent.sleep(tick)
                continue  # no command to send, so nothing to say about the link either
            try:
                # (no success report: a heartbeat of nothing sends no command)
                with b.conn.retrying(b.reader._lost, report_success=False):
                    if beat:
                        self.heartbeat()
                        next_heartbeat = now + heartbeat_every
                    if claim:
                        b.reader.ensure_group()
                        self.reclaim()
                        next_reclaim = now + reclaim_every
                    if stats:
                        self.refresh_backlog()
                        next_stats = now + stats_every
            except ResponseError as exc:
                b.reader.group_ready = False
                if "NOGROUP" not in str(exc):
                    b.response_error(exc)
            gevent.sleep(tick)

    def heartbeat(self) -> None:
        b = self.binding
        held = list(b.held.owned)
        for start in range(0, len(held), _BATCH):
            b.conn.client.xclaim(b.stream, b.group, b.consumer, 0, held[start:start + _BATCH], justid=True)

    def reclaim(self) -> None:
        """Claim items idle for visibility_timeout (their consumer is gone)."""
        b = self.binding
        cursor = "0-0"
        for _ in range(10):
            room = b.held.capacity - len(b.held.owned)
            if room <= 0 or b.reader.stopping:
                return
            reply = b.conn.client.xautoclaim(b.stream, b.group, b.consumer, b.visibility_ms,
                                             start_id=cursor, count=room)
            cursor = _text(reply[0])
            claimed = [(_text(i), f) for i, f in reply[1]]
            gone = [_text(i) for i in (reply[2] if len(reply) > 2 else [])]
            if gone:  # deleted from the stream while pending: just clear them
                b.conn.client.xack(b.stream, b.group, *gone)
            if claimed:
                b.counts["reclaimed"] += len(claimed)
                counts = self.delivery_counts([entry_id for entry_id, _ in claimed])
                for entry_id, fields in claimed:
                    b.take(entry_id, fields, counts.get(entry_id, b.backend.max_deliveries))
            if cursor == "0-0":
                return

    def delivery_counts(self, ids: Sequence[str]) -> Dict[str, int]:
        b = self.binding
        rows = b.conn.client.xpending_range(b.stream, b.group, min=ids[0], max=ids[-1],
                                            count=len(ids) + len(b.held.owned) + 16, consumername=b.consumer)
        return {_text(row["message_id"]): int(row["times_delivered"]) for row in rows}

    def refresh_backlog(self) -> None:
        b = self.binding
        pipe = b.conn.client.pipeline(transaction=False)
        pipe.xlen(b.stream)
        pipe.xpending(b.stream, b.group)
        try:
            length, summary = pipe.execute()
        except ResponseError:
            self.backlog = 0
            return
        self.backlog = max(0, int(length) - int(summary.get("pending", 0) if summary else 0))
