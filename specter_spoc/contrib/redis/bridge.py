"""RedisBusBridge: the runtime's bus, shared across processes through Redis pub/sub.

The in-process :class:`~specter_spoc.wiring.EventBus` stays the only API:
code emits with ``bus.emit(...)`` and listens with ``bus.on(...)`` /
``Service.listen(...)`` as before. The bridge adds one rule: events whose
name matches a *shared* pattern (``fnmatch`` syntax: ``"posts:*"``,
``"chat:message"``) are also published to a Redis channel, and every other
process's bridge re-emits them on its own bus. Everything else stays local.

Delivery semantics (those of Redis pub/sub, stated plainly):

- **at-most-once**: an event published while a process is disconnected from
  Redis (or before its bridge subscribed) never reaches that process; there
  is no replay, no acknowledgement and no persistence. Use the durable queue
  backend for work that must not be lost.
- **ordered per publisher**: events published by one process arrive at each
  other process in the order they were emitted; there is no order across
  publishers.
- **no echo**: the publishing process does not receive its own event a
  second time; its local listeners already ran synchronously at ``emit``.
- **JSON payloads**: a shared event's data must be JSON-serialisable; remote
  listeners receive the decoded JSON (tuples arrive as lists). Emitting a
  shared event with anything else raises :class:`SharedEventError` in the
  emitter, before any listener ran.
- **asynchronous publishing**: ``emit`` never waits for Redis. Shared events
  go to a bounded outbox (``max_pending``) drained in batches by one
  publisher greenlet. A batch whose publish fails (Redis unreachable) is
  dropped, never resent, and counted in ``dropped``, like events arriving
  while the outbox is full; ``stop()`` flushes the outbox for up to
  ``flush_timeout`` seconds.
- **foreign messages are dropped, never fatal**: anything on the channel
  that is not a bus event of this format (another program's text, JSON of
  another shape, JSON nested deeper than the decoder allows, bytes that are
  not UTF-8) is counted in ``bad_messages`` and logged once per thousand.
  The subscriber survives every payload; should it die anyway it is started
  again, counted in ``subscriber_restarts``, and health says ``degraded``
  while it is not running.
"""
from __future__ import annotations

import fnmatch
import json
import logging
import os
import socket
import time
import uuid
from typing import Any, Dict, FrozenSet, Iterable, List, Optional, Tuple

import gevent
from gevent import getcurrent
from gevent.event import Event
from gevent.queue import Empty, Full, Queue

from ...lifecycle.service import Service
from .connection import RedisConnection, require_gevent_patch

__all__ = ["RedisBusBridge", "SharedEventError", "DEFAULT_BUS_CHANNEL"]

logger: logging.Logger = logging.getLogger("specter_spoc.contrib.redis")

DEFAULT_BUS_CHANNEL = "specter_spoc:bus"
"""The pub/sub channel used when none is given (setting ``BUS_REDIS_CHANNEL``);
give each deployment sharing one Redis its own channel."""

_MAGIC = "spoc-bus/1"
_PATTERN_CHARS = frozenset("*?[")
_MAX_CACHE = 4096


class SharedEventError(TypeError):
    """A shared event's payload cannot be sent to other processes (not JSON)."""


def _check_patterns(patterns: Iterable[object], where: str) -> Tuple[str, ...]:
    if isinstance(patterns, str):
        patterns = [patterns]
    out: List[str] = []
    for pattern in patterns:
        if not isinstance(pattern, str) or not pattern:
            raise TypeError(f"{where}: shared event patterns must be non-empty strings like 'posts:*', "
                            f"got {pattern!r}.")
        out.append(pattern)
    return tuple(out)


#: registry key of a runtime's bridge (one per runtime)
BRIDGE_KEY = "redis_bus_bridge"


class RedisBusBridge(Service):
    """Share chosen bus events with every process of the cluster via Redis.

    ``shared`` lists ``fnmatch`` patterns of event names (``"posts:*"``,
    ``"chat:message"``); :meth:`share` adds more at any time. ``channel`` is
    the Redis pub/sub channel: processes bridge with each other when they
    use the same Redis and channel, so give each cluster its own.

    Example::

        bridge = RedisBusBridge("redis://127.0.0.1:6379/0", shared=["posts:*"])
        boot(app, socketio, services=[bridge, ...])

        bus.emit("posts:published", {"id": 7})   # local listeners + every other process
        bus.emit("cache:warm", None)              # this process only

    With ``create_app()`` set ``REDIS_URL`` and ``BUS_SHARED_EVENTS`` in the
    settings instead. See the module docstring for the delivery semantics.
    """

    #: starts before the app's services so their shared emits are forwarded,
    #: and stops after them so their last events still go out
    priority = -500

    def __init__(self, url: str, shared: Iterable[str] = (), *, channel: str = DEFAULT_BUS_CHANNEL,
                 name: str = "redis-bus", max_pending: int = 10000, flush_timeout: float = 1.0,
                 connect_timeout: float = 2.0, backoff_max: float = 2.0, require_at_boot: bool = False) -> None:
        super().__init__(name)
        if not isinstance(channel, str) or not channel:
            raise TypeError(f"RedisBusBridge {name!r}: channel must be a non-empty str, got {channel!r}.")
        if isinstance(max_pending, bool) or not isinstance(max_pending, int) or max_pending < 1:
            raise ValueError(f"RedisBusBridge {name!r}: max_pending must be an int >= 1, got {max_pending!r}.")
        self.connection: RedisConnection = RedisConnection(url, name=name, connect_timeout=connect_timeout,
                                          backoff_max=backoff_max, retries=0)
        self.channel = channel
        #: raise at start when Redis is unreachable (else start degraded and reconnect)
        self.require_at_boot: bool = bool(require_at_boot)
        self.max_pending = max_pending
        self.flush_timeout: float = float(flush_timeout)
        self._patterns: Tuple[str, ...] = ()
        self._exact: FrozenSet[str] = frozenset()
        self._globs: Tuple[str, ...] = ()
        self._cache: Dict[str, bool] = {}
        self._outbox: "Queue[str]" = Queue(maxsize=max_pending)
        self._origin = ""
        self._publishing = False
        self._relaying: Any = None
        self._sending = 0
        self._ready = Event()
        self._overflowing = False
        self._counts = {"published": 0, "received": 0, "dropped": 0, "bad_messages": 0, "echoes_skipped": 0,
                        "listener_errors": 0, "subscriber_restarts": 0}
        self._subscriber: Any = None
        self.share(*_check_patterns(shared, f"RedisBusBridge {name!r}"))

    # ------------------------------------------------------------ patterns
    def share(self, *patterns: str) -> "RedisBusBridge":
        """Also share events matching ``patterns`` (fnmatch syntax); returns self."""
        added = _check_patterns(patterns, f"RedisBusBridge {self.name!r}.share()")
        merged = self._patterns + tuple(p for p in added if p not in self._patterns)
        self._patterns = merged
        self._exact = frozenset(p for p in merged if not (_PATTERN_CHARS & set(p)))
        self._globs = tuple(p for p in merged if _PATTERN_CHARS & set(p))
        self._cache = {}
        return self

    @property
    def shared(self) -> Tuple[str, ...]:
        """The shared patterns, in the order they were added."""
        return self._patterns

    def is_shared(self, event: str) -> bool:
        """True when ``event`` matches a shared pattern (results are cached)."""
        hit = self._cache.get(event)
        if hit is None:
            hit = event in self._exact or any(fnmatch.fnmatchcase(event, p) for p in self._globs)
            if len(self._cache) >= _MAX_CACHE:
                self._cache = {}
            self._cache[event] = hit
        return hit

    # ----------------------------------------------------------- lifecycle
    def on_start(self) -> None:
        require_gevent_patch(f"RedisBusBridge {self.name!r}")
        self.connection.reopen()
        if self.require_at_boot:
            self.connection.probe()
        self._origin = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self._outbox = Queue(maxsize=self.max_pending)
        self._overflowing = False
        self._ready.clear()
        self.add_cleanup(self.connection.close)
        self._publishing = True
        registry = self.scope.registry
        other = registry.resolve(BRIDGE_KEY)
        if other is not None and other is not self:
            raise RuntimeError(f"RedisBusBridge {self.name!r}: this bus is already bridged by {other.name!r}; "
                               "use one bridge per runtime (add patterns with share()).")
        registry.provide(BRIDGE_KEY, self, owner=self, replace=True)
        self.add_cleanup(self.scope.bus.tap(self._offer))
        self.spawn(self._publish_loop, label="publisher")
        self._start_subscriber()

    def on_stop(self) -> None:
        """Stop sharing, then give the publisher ``flush_timeout`` seconds to
        send the events still in the outbox (when Redis is reachable)."""
        self._publishing = False
        deadline = time.monotonic() + self.flush_timeout
        while ((self._outbox.qsize() or self._sending) and self.connection.connected
               and time.monotonic() < deadline):
            gevent.sleep(0.005)
        if self._outbox.qsize():
            self._counts["dropped"] += self._outbox.qsize()
            logger.warning("%s: %d shared event(s) were not published before stop", self.name,
                           self._outbox.qsize())

    # ------------------------------------------------------------ outgoing
    def _offer(self, event: str, data: object) -> None:
        """Called by the bus tap for every emit, in the emitter's greenlet."""
        if not self._publishing or self._relaying is getcurrent() or not self.is_shared(event):
            return
        try:
            message = json.dumps([_MAGIC, self._origin, event, data], separators=(",", ":"),
                                 allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise SharedEventError(
                f"bus.emit({event!r}): the event is shared across processes (it matches "
                f"{self._matching(event)!r} of {self.name!r}) but its data cannot be sent as JSON: {exc}. "
                "Emit JSON-able data (dict, list, str, number, bool, None), or stop sharing this event."
            ) from None
        try:
            self._outbox.put_nowait(message)
        except Full:
            self._counts["dropped"] += 1
            if not self._overflowing:
                self._overflowing = True
                logger.warning("%s: outbox full (%d shared events waiting for Redis); dropping new shared "
                               "events until it drains", self.name, self.max_pending)

    def _matching(self, event: str) -> str:
        if event in self._exact:
            return event
        return next((p for p in self._globs if fnmatch.fnmatchcase(event, p)), event)

    def _publish_loop(self) -> None:
        conn = self.connection
        outbox = self._outbox
        while True:
            batch = [outbox.get()]
            while len(batch) < 256:
                try:
                    batch.append(outbox.get_nowait())
                except Empty:
                    break
            self._sending = len(batch)
            # at-most-once: a batch whose publish failed is dropped, never
            # resent (Redis may have taken part of it already)
            lost = len(batch)
            with conn.retrying(lambda exc: self._drop(lost)):
                try:
                    self._publish(batch)
                finally:
                    self._sending = 0
                self._counts["published"] += len(batch)
                if self._overflowing and outbox.qsize() < self.max_pending // 2:
                    self._overflowing = False

    def _publish(self, batch: List[str]) -> None:
        client = self.connection.client
        if len(batch) == 1:
            client.publish(self.channel, batch[0])
            return
        pipe = client.pipeline(transaction=False)
        for message in batch:
            pipe.publish(self.channel, message)
        pipe.execute()

    def _drop(self, count: int) -> None:
        self._counts["dropped"] += count

    # ------------------------------------------------------------ incoming
    def _start_subscriber(self) -> None:
        self._subscriber = self.spawn(self._subscribe_forever, label="subscriber")
        self._subscriber.link(self._subscriber_ended)

    def _subscriber_ended(self, glet: Any) -> None:
        """The subscriber greenlet ended (killed from outside, or a
        BaseException): start it again unless the bridge is stopping."""
        if glet is not self._subscriber or not self._publishing or not self.running:
            return
        self._counts["subscriber_restarts"] += 1
        logger.error("%s: the subscriber of channel %r ended (%r); starting it again", self.name, self.channel,
                     glet.exception)
        self._start_subscriber()

    def _subscribe_forever(self) -> None:
        """The subscriber: :meth:`_subscribe_loop`, started again after any
        failure that is not an outage (those it handles itself), with the
        connection's backoff so a persistent fault cannot spin."""
        while True:
            try:
                self._subscribe_loop()
            except Exception as exc:
                self._counts["subscriber_restarts"] += 1
                logger.error("%s: the subscriber of channel %r failed (%s: %s); starting it again",
                             self.name, self.channel, type(exc).__name__, exc, exc_info=exc)
                gevent.sleep(self.connection.backoff_delay())

    def _subscribe_loop(self) -> None:
        """Subscribe and deliver; after an outage, subscribe again."""
        while True:
            with self.connection.retrying():
                self._listen()

    def _listen(self) -> None:
        conn = self.connection
        pubsub = conn.client.pubsub()
        try:
            pubsub.subscribe(self.channel)
            while True:
                message = pubsub.get_message(timeout=1.0)
                conn.ok()
                if message is None:
                    continue
                kind = message.get("type")
                if kind == "message":
                    self._deliver(message.get("data"))
                elif kind == "subscribe":
                    self._ready.set()  # Redis confirmed: from now on nothing is missed
        finally:
            self._ready.clear()
            try:
                pubsub.close()
            except Exception:  # pragma: no cover - closing a dead socket
                pass

    def wait_ready(self, timeout: Optional[float] = None) -> bool:
        """Wait until Redis confirmed this bridge's subscription (events
        published by others from then on reach this process); False on timeout."""
        return bool(self._ready.wait(timeout))

    def _deliver(self, raw: Any) -> None:
        decoded = _decode(raw)
        if isinstance(decoded, str):
            self._counts["bad_messages"] += 1
            if self._counts["bad_messages"] == 1 or self._counts["bad_messages"] % 1000 == 0:
                logger.warning("%s: ignored %d message(s) on channel %r that are not bus events (%s); is "
                               "another program publishing there? Give the bridge its own channel.",
                               self.name, self._counts["bad_messages"], self.channel, decoded)
            return
        origin, event, data = decoded
        if origin == self._origin:
            self._counts["echoes_skipped"] += 1
            return
        self._counts["received"] += 1
        # local listeners only: _offer skips events this greenlet is relaying
        self._relaying = getcurrent()
        try:
            self.scope.bus.emit(event, data)
        except Exception as exc:  # a local listener's fault must not end the subscriber
            self._counts["listener_errors"] += 1
            logger.error("%s: a listener of the shared event %r raised %s: %s", self.name, event,
                         type(exc).__name__, exc, exc_info=exc)
        finally:
            self._relaying = None

    # -------------------------------------------------------------- health
    def health(self) -> Dict[str, Any]:
        """Service health plus ``redis`` (masked URL, connection state, last
        error), the channel, the shared patterns and message counters.
        Degraded while Redis is unreachable."""
        report = super().health()
        alive = self._subscriber is not None and not self._subscriber.dead
        report.update(
            subscriber_alive=alive,
            redis=self.connection.health(),
            channel=self.channel,
            shared=list(self._patterns),
            subscribed=self._ready.is_set(),
            outbox=self._outbox.qsize(),
            **self._counts,
        )
        if report["status"] == "ok" and self._running and not (self.connection.connected and alive):
            report["status"] = "degraded"
        return report


def _decode(raw: Any) -> Any:
    """``(origin, event, data)`` of a bus message, or a str saying why
    ``raw`` is not one. Never raises, whatever a foreign publisher sent."""
    try:
        message = json.loads(raw)
    except RecursionError:
        return "JSON nested too deeply"
    except (TypeError, ValueError) as exc:  # not JSON, not UTF-8
        return f"not JSON: {type(exc).__name__}"
    if not (isinstance(message, list) and len(message) == 4 and message[0] == _MAGIC):
        return "not a specter_spoc bus message"
    _magic, origin, event, data = message
    if not isinstance(event, str) or not event or not isinstance(origin, str):
        return "bus message without an event name"
    return origin, event, data
