"""Several processes in one console: snapshots shared through Redis.

Under gunicorn each worker process has its own runtime; a browser's console
socket reaches only one of them. With a Redis URL every process of the app
shares its snapshot under the key prefix ``spoc:console:<app>:``:

- ``<prefix>watching`` exists (with a short TTL) while some process has a
  console client connected; each process checks it every ``interval``
  seconds (one ``EXISTS``) and publishes its own snapshot only then;
- ``<prefix>proc:<process id>`` holds that process's latest snapshot, expiring
  after ``3 * interval`` seconds: a process that stops publishing (killed,
  hung) loses its key;
- ``<prefix>procs`` (a hash) remembers every process seen, with its last
  heartbeat: one listed there without a live snapshot key is shown **gone**.
  A process that shuts down cleanly removes its key at once; gone entries are
  forgotten after :data:`FORGET_AFTER` seconds.
"""
from __future__ import annotations

import json
import logging
import time
from typing import Any, Callable, Dict, List, TypeVar

from .collect import mask_message

__all__ = ["ProcessDirectory", "KEY_PREFIX"]

_T = TypeVar("_T")

logger: logging.Logger = logging.getLogger("specter_spoc.console")

#: Redis key prefix of the console's shared state
KEY_PREFIX = "spoc:console:"
#: seconds after which a gone process is dropped from the list
FORGET_AFTER = 600.0


class ProcessDirectory:
    """This process's view of its siblings (see the module docstring), over
    its own redis-py client. Redis being unreachable is logged once (and its
    return once); meanwhile only this process is shown. Needs gevent-patched
    sockets, as every gevent server has."""

    def __init__(self, url: str, app_name: str, process_id: str, *, interval: float = 1.0) -> None:
        import redis

        self.client: Any = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0,
                                           health_check_interval=10)
        self._errors = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)
        self.url: str = mask_message(url)
        self.prefix: str = f"{KEY_PREFIX}{app_name}:"
        self.process_id = process_id
        self.interval: float = float(interval)
        self._down = False

    def close(self) -> None:
        self.client.close()

    @property
    def ttl_ms(self) -> int:
        return max(1000, int(self.interval * 3000))

    def _run(self, fn: Callable[[Any], _T], default: _T) -> _T:
        try:
            value = fn(self.client)
        except self._errors as exc:
            if not self._down:
                self._down = True
                logger.warning("console: Redis at %s is unreachable (%s); showing this process only until it "
                               "is back", self.url, mask_message(f"{type(exc).__name__}: {exc}"))
            return default
        if self._down:
            self._down = False
            logger.info("console: Redis at %s is reachable again", self.url)
        return value

    def mark_watching(self) -> None:
        self._run(lambda c: c.set(self.prefix + "watching", self.process_id, px=self.ttl_ms), None)

    def someone_watching(self) -> bool:
        return bool(self._run(lambda c: c.exists(self.prefix + "watching"), 0))

    def publish(self, snapshot: Dict[str, Any]) -> None:
        def write(client: Any) -> None:
            pipe = client.pipeline(transaction=False)
            pipe.set(self.prefix + "proc:" + self.process_id, json.dumps(snapshot, default=str), px=self.ttl_ms)
            pipe.hset(self.prefix + "procs", self.process_id,
                      json.dumps({"last_seen": time.time(), "process": snapshot.get("process", {})}))
            pipe.execute()

        self._run(write, None)

    def withdraw(self, identity: Dict[str, Any]) -> None:
        """A clean shutdown: this process is gone now, not after its TTL."""
        def remove(client: Any) -> None:
            pipe = client.pipeline(transaction=False)
            pipe.delete(self.prefix + "proc:" + self.process_id)
            pipe.hset(self.prefix + "procs", self.process_id,
                      json.dumps({"last_seen": time.time(), "stopped": True, "process": identity}))
            pipe.execute()

        self._run(remove, None)

    def processes(self, own: Dict[str, Any]) -> List[Dict[str, Any]]:
        """Every known process: live snapshots (``own`` for this process, fresh),
        then gone ones as ``{"process": {...}, "gone": True, "last_seen": t}``."""
        def read(client: Any) -> List[Dict[str, Any]]:
            known = client.hgetall(self.prefix + "procs")
            ids = sorted(i.decode() if isinstance(i, bytes) else str(i) for i in known)
            others = [i for i in ids if i != self.process_id]
            raws = client.mget([self.prefix + "proc:" + i for i in others]) if others else []
            out, now, stale = [own], time.time(), []
            for process_id, raw in zip(others, raws):
                meta = json.loads(known.get(process_id.encode(), known.get(process_id, b"{}")) or "{}")
                if raw is not None:
                    out.append(json.loads(raw))
                    continue
                if now - float(meta.get("last_seen", 0)) > FORGET_AFTER:
                    stale.append(process_id)
                    continue
                process = dict(meta.get("process") or {})
                process.setdefault("id", process_id)
                out.append({"process": process, "gone": True, "last_seen": meta.get("last_seen"),
                            "stopped": bool(meta.get("stopped"))})
            if stale:
                client.hdel(self.prefix + "procs", *stale)
            return out

        return self._run(read, [own])
