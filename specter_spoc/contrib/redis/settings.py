"""Build the Redis services a project's settings ask for (used by create_app()).

=============================  ==============================================
setting                        meaning
=============================  ==============================================
``REDIS_URL``                  Redis for everything below, and Flask-SocketIO's
                               message queue (emits reach every process)
``BUS_SHARED_EVENTS``          fnmatch patterns of bus events shared by all
                               processes (list, or a comma-separated string);
                               non-empty starts a :class:`RedisBusBridge`
``BUS_REDIS_URL``              Redis of the bus bridge (default ``REDIS_URL``)
``BUS_REDIS_CHANNEL``          pub/sub channel (default
                               ``specter_spoc:bus:<app name>``)
``QUEUE_BACKEND``              ``"memory"`` (default, in-process) or ``"redis"``:
                               every QueueService stores its items in Redis
                               Streams (a class may keep ``backend = "memory"``)
``QUEUE_REDIS_URL``            Redis of the queues (default ``REDIS_URL``)
``QUEUE_REDIS_PREFIX``         stream key prefix (default
                               ``specter_spoc:queue:<app name>``)
``QUEUE_VISIBILITY_TIMEOUT``   seconds before an item held by a dead worker
                               process is redelivered (default 30)
``QUEUE_MAX_DELIVERIES``       deliveries without acknowledgement before an
                               item is dead-lettered (default 5)
``REDIS_REQUIRED_AT_BOOT``     ``True``: boot fails (BootError) when Redis is
                               unreachable or refuses the credentials; default
                               ``False``: boot degraded and reconnect
=============================  ==============================================
"""
from __future__ import annotations

from typing import Any, List, Mapping, Tuple

from ...lifecycle.service import Service

__all__ = ["redis_services", "shared_event_patterns"]

_BACKENDS = ("memory", "redis")


def _fail(message: str) -> None:
    from ...runtime import BootError

    raise BootError(message)


def shared_event_patterns(value: Any) -> Tuple[str, ...]:
    """``BUS_SHARED_EVENTS`` as a tuple of patterns: a list/tuple of strings,
    or one comma-separated string (as it comes from ``.env``)."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, (list, tuple, set, frozenset)) and all(isinstance(p, str) and p for p in value):
        return tuple(value)
    _fail(f"BUS_SHARED_EVENTS must be a list of event name patterns like ['posts:*', 'chat:message'] "
          f"(or a comma-separated string), got {value!r}.")
    return ()  # pragma: no cover - _fail raises


def _number(config: Mapping[str, Any], key: str, default: float, *, integer: bool = False) -> Any:
    value = config.get(key)
    if value is None or value == "":
        return default
    try:
        number = int(value) if integer else float(value)
    except (TypeError, ValueError):
        number = None
    if number is None or number <= 0 or isinstance(value, bool):
        kind = "a whole number" if integer else "seconds as a number"
        _fail(f"{key} must be {kind} > 0, got {value!r}.")
    return number


def _flag(config: Mapping[str, Any], key: str) -> bool:
    value = config.get(key)
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("", "0", "false", "no", "off"):
        return False
    _fail(f"{key} must be true or false, got {value!r}.")
    return False  # pragma: no cover - _fail raises


def redis_services(config: Mapping[str, Any], app_name: str) -> List[Service]:
    """The services the settings in ``config`` (Flask config) call for:
    a :class:`RedisBusBridge` when ``BUS_SHARED_EVENTS`` is set, a default
    :class:`RedisQueueBackend` when ``QUEUE_BACKEND = "redis"``. Empty when
    neither is configured (Redis is then not imported at all)."""
    services: List[Service] = []
    required = _flag(config, "REDIS_REQUIRED_AT_BOOT")
    patterns = shared_event_patterns(config.get("BUS_SHARED_EVENTS"))
    backend = str(config.get("QUEUE_BACKEND") or "memory").strip().lower()
    if backend not in _BACKENDS:
        _fail(f"QUEUE_BACKEND must be one of {', '.join(map(repr, _BACKENDS))}, got "
              f"{config.get('QUEUE_BACKEND')!r}.")
    if patterns:
        url = config.get("BUS_REDIS_URL") or config.get("REDIS_URL")
        if not url:
            _fail("BUS_SHARED_EVENTS is set but no Redis is configured: set REDIS_URL (or BUS_REDIS_URL), "
                  "e.g. REDIS_URL=redis://127.0.0.1:6379/0, or remove BUS_SHARED_EVENTS.")
        from .bridge import RedisBusBridge

        channel = config.get("BUS_REDIS_CHANNEL") or f"specter_spoc:bus:{app_name}"
        services.append(RedisBusBridge(str(url), patterns, channel=str(channel), require_at_boot=required))
    if backend == "redis":
        url = config.get("QUEUE_REDIS_URL") or config.get("REDIS_URL")
        if not url:
            _fail("QUEUE_BACKEND = 'redis' but no Redis is configured: set REDIS_URL (or QUEUE_REDIS_URL), "
                  "e.g. REDIS_URL=redis://127.0.0.1:6379/0.")
        from .queue import RedisQueueBackend

        prefix = config.get("QUEUE_REDIS_PREFIX") or f"specter_spoc:queue:{app_name}"
        services.append(RedisQueueBackend(
            str(url), prefix=str(prefix), as_default=True,
            visibility_timeout=_number(config, "QUEUE_VISIBILITY_TIMEOUT", 30.0),
            max_deliveries=_number(config, "QUEUE_MAX_DELIVERIES", 5, integer=True), require_at_boot=required))
    return services
