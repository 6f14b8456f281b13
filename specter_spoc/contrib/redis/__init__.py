"""Scale out on Redis: a cluster-wide bus and a durable QueueService backend.

Needs the ``redis`` package (``pip install 'specter-spoc[redis]'``) and a
gevent-patched process. Socket.IO across processes needs nothing from here:
``create_app()`` passes ``REDIS_URL`` to Flask-SocketIO's message queue.

- :class:`RedisBusBridge`: bus events matching shared patterns reach every
  process (Redis pub/sub; at-most-once, ordered per publisher).
- :class:`RedisQueueBackend`: QueueService items in Redis Streams (consumer
  groups; at-least-once, redelivery after a crash, dead-letter stream).
- :class:`RedisConnection`: the client, reconnect backoff and health both use.
"""
from __future__ import annotations

try:
    import redis as _redis  # noqa: F401
except ImportError as _missing:  # pragma: no cover - redis is installed with the extra
    raise ImportError("specter_spoc.contrib.redis needs the redis package: "
                      "pip install 'specter-spoc[redis]' (or pip install redis).") from _missing

from .bridge import DEFAULT_BUS_CHANNEL, RedisBusBridge, SharedEventError
from .connection import Backoff, RedisConnection, mask_url
from .queue import DEFAULT_QUEUE_PREFIX, RedeliveryLimitExceeded, RedisQueueBackend
from .settings import redis_services, shared_event_patterns

__all__ = [
    "Backoff",
    "DEFAULT_BUS_CHANNEL",
    "DEFAULT_QUEUE_PREFIX",
    "RedeliveryLimitExceeded",
    "RedisBusBridge",
    "RedisConnection",
    "RedisQueueBackend",
    "SharedEventError",
    "mask_url",
    "redis_services",
    "shared_event_patterns",
]
