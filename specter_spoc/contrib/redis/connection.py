"""A Redis client per service, with reconnect backoff, quiet logs and health.

Every Redis-backed service (the bus bridge, the durable queue backend) holds
one :class:`RedisConnection`. It builds the redis-py client with settings
that suit gevent and long blocking reads, and it tracks whether Redis is
reachable, so that an outage

- is logged **once** (a WARNING when the first command fails) and its end
  once (an INFO with the outage duration), however many greenlets keep
  retrying meanwhile: no flood of logs while Redis restarts;
- is retried with capped, jittered exponential backoff (redis-py's
  ``EqualJitterBackoff`` behind :class:`Backoff`), never in a tight crash
  loop; :meth:`RedisConnection.retrying` is the one retry step every
  Redis-backed loop uses;
- shows in ``health()`` as ``state: "reconnecting"`` with the last error, the
  URL always with its password masked (``redis://:********@host:6379/0``).

Why the socket settings matter: redis-py 8 sets ``socket_timeout=5`` by
default, which aborts any blocking read longer than five seconds
(``XREADGROUP BLOCK``, a pub/sub listen). Here the read timeout is
``read_timeout`` (10 s by default) and the blocking callers keep their block
time below it; idle connections are checked by redis-py's
``health_check_interval`` PING and TCP keepalive instead.
"""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, Optional, Tuple, Type, TypeVar

import gevent
import redis
from redis.backoff import EqualJitterBackoff, ExponentialBackoff
from redis.exceptions import AuthenticationError, AuthorizationError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from ..._masking import mask_url

__all__ = ["RedisConnection", "Backoff", "mask_url", "CONNECTION_ERRORS", "require_gevent_patch"]

T = TypeVar("T")

logger: logging.Logger = logging.getLogger("specter_spoc.contrib.redis")


#: exceptions meaning "Redis is unreachable right now": refused or reset
#: connections, timeouts, a server still loading its data set
CONNECTION_ERRORS: Tuple[Type[Exception], ...] = (RedisConnectionError, RedisTimeoutError, OSError)


def require_gevent_patch(what: str) -> None:
    """Refuse to start Redis I/O on unpatched sockets: every blocking read
    would freeze the whole gevent hub (all requests and greenlets)."""
    from gevent import monkey

    if not monkey.is_module_patched("socket"):
        raise RuntimeError(f"{what} needs gevent-patched sockets so its blocking Redis reads are "
                           "cooperative: call gevent.monkey.patch_all() first thing in your entry point "
                           "(gunicorn's gevent workers and `specter-spoc run` already do).")


class Backoff:
    """Capped exponential backoff with jitter, counting the failures itself:
    ``initial``, doubling, at most ``maximum`` seconds; each delay is drawn in
    ``[d/2, d]`` (redis-py's ``EqualJitterBackoff``) so processes that lost
    Redis together do not reconnect in lockstep.

    Example::

        backoff = Backoff(0.1, 5.0)
        while not connected():
            gevent.sleep(backoff.next())
        backoff.reset()
    """

    def __init__(self, initial: float = 0.1, maximum: float = 5.0) -> None:
        if not 0 < initial <= maximum:
            raise ValueError(f"Backoff needs 0 < initial <= maximum, got initial={initial}, maximum={maximum}.")
        self.initial: float = float(initial)
        self.maximum: float = float(maximum)
        self._policy = EqualJitterBackoff(cap=self.maximum, base=self.initial)
        self._failures = 0

    def next(self) -> float:
        """The delay to wait now; the following one grows."""
        delay = self._policy.compute(self._failures)
        if self.initial * 2 ** self._failures < self.maximum:
            self._failures += 1  # stop counting once capped (no float overflow in long outages)
        return delay

    def reset(self) -> None:
        self._failures = 0


class RedisConnection:
    """One service's Redis client and the health of its link to Redis.

    ``url`` is a redis-py URL (``redis://[:password@]host:port/db``,
    ``rediss://`` for TLS, ``unix://``). The client is created lazily on
    first use and closed by :meth:`close`; all greenlets of the service share
    its connection pool. ``retries`` is how often redis-py itself repeats a
    command that hit a connection error (0 for at-most-once publishing).

    Callers run their commands inside :meth:`retrying`, which reports each
    outcome (:meth:`ok` after success, :meth:`failed` when Redis was
    unreachable, then the backoff wait); :meth:`call` repeats one command
    until it succeeds. The connection logs state *changes* only.

    Example::

        conn = RedisConnection("redis://:s3cret@127.0.0.1:6379/0", name="indexer")
        while True:
            with conn.retrying():
                conn.client.ping()
                break
        conn.call(conn.client.set, "k", "v")   # the same, for one command
        conn.health()   # {'url': 'redis://:********@127.0.0.1:6379/0', 'state': 'connected', ...}
        conn.close()
    """

    def __init__(self, url: str, *, name: str = "redis", connect_timeout: float = 2.0,
                 read_timeout: float = 10.0, health_check_interval: float = 5.0,
                 backoff_initial: float = 0.1, backoff_max: float = 2.0, retries: int = 1,
                 max_connections: Optional[int] = None) -> None:
        if not isinstance(url, str) or "://" not in url:
            raise ValueError(f"{name}: the Redis URL must look like 'redis://host:6379/0', got "
                             f"{mask_url(url)!r}. Set REDIS_URL (or pass url=...).")
        for label, value in (("connect_timeout", connect_timeout), ("read_timeout", read_timeout)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"{name}: {label} must be seconds > 0, got {value!r}.")
        self.url = url
        self.name = name
        self.connect_timeout: float = float(connect_timeout)
        self.read_timeout: float = float(read_timeout)
        self.health_check_interval: float = float(health_check_interval)
        self.max_connections = max_connections
        self.retries: int = int(retries)
        self._backoff = Backoff(backoff_initial, backoff_max)
        self._client: Any = None
        self._pool: Any = None
        self.state: str = "connecting"
        self.last_error: Optional[str] = None
        self.outages: int = 0
        self._down_since: Optional[float] = None
        self._up_since: Optional[float] = None
        self._failures_this_outage = 0

    # ---------------------------------------------------------------- client
    @property
    def display_url(self) -> str:
        """The URL with its password masked."""
        return mask_url(self.url)

    @property
    def client(self) -> Any:
        """The ``redis.Redis`` client (created on first use)."""
        if self._client is None:
            if self.state == "closed":
                raise RuntimeError(f"{self.name}: the Redis connection is closed; start the service again.")
            options: Dict[str, Any] = {
                "socket_connect_timeout": self.connect_timeout,
                "socket_timeout": self.read_timeout,
                "socket_keepalive": True,
                "health_check_interval": int(max(1, self.health_check_interval)),
                # at most a quick retry (``retries``), so real outages surface
                # fast and callers apply their own backoff and delivery rules
                "retry": Retry(ExponentialBackoff(cap=0.1, base=0.02), self.retries),
                "client_name": f"spoc:{self.name}"[:64].replace(" ", "_"),
            }
            if self.max_connections:
                options["max_connections"] = self.max_connections
            self._pool = redis.ConnectionPool.from_url(self.url, **options)
            self._client = redis.Redis(connection_pool=self._pool)
        return self._client

    def close(self) -> None:
        """Disconnect every pooled connection; idempotent."""
        pool, self._pool, self._client = self._pool, None, None
        self.state = "closed"
        if pool is not None:
            try:
                pool.disconnect()
            except Exception:  # pragma: no cover - closing sockets should not fail
                logger.debug("%s: disconnecting the Redis pool raised", self.name, exc_info=True)

    def reopen(self) -> None:
        """Allow use again after :meth:`close` (a restarted service)."""
        if self.state == "closed":
            self.state = "connecting"
            self._backoff.reset()

    # ----------------------------------------------------------------- state
    def ok(self) -> None:
        """Record a successful command: ends an outage (one INFO line)."""
        if self.state == "connected":
            return
        if self.state == "closed":
            return
        now = time.monotonic()
        if self.state == "reconnecting" and self._down_since is not None:
            logger.info("%s: Redis at %s is reachable again after %.1fs (%d failed attempt(s))",
                        self.name, self.display_url, now - self._down_since, self._failures_this_outage)
        self.state = "connected"
        self._up_since = now
        self._down_since = None
        self._failures_this_outage = 0
        self._backoff.reset()

    def failed(self, exc: BaseException) -> None:
        """Record that Redis was unreachable: the first failure of an outage
        logs one WARNING; later ones only count."""
        if self.state == "closed":
            return
        self.last_error = mask_url(f"{type(exc).__name__}: {exc}")
        self._failures_this_outage += 1
        if self.state == "reconnecting":
            logger.debug("%s: Redis still unreachable: %s", self.name, self.last_error)
            return
        self.outages += 1
        self._down_since = time.monotonic()
        self._up_since = None
        verb = "cannot reach" if self.state == "connecting" else "lost"
        self.state = "reconnecting"
        logger.warning("%s: %s Redis at %s (%s); retrying with backoff up to %.1fs, logging again "
                       "once it is back", self.name, verb, self.display_url, self.last_error,
                       self._backoff.maximum)

    def backoff_delay(self) -> float:
        """Seconds to wait before the next attempt of this outage."""
        return self._backoff.next()

    @contextmanager
    def retrying(self, on_failure: Optional[Callable[[BaseException], None]] = None, *,
                 report_success: bool = True) -> Iterator[None]:
        """One attempt at some Redis commands, for a loop that tries again.

        Success marks the link up (:meth:`ok`; pass ``report_success=False``
        when the block may finish without sending any command, so it cannot
        end an outage it never tested). A connection error (Redis
        unreachable, a timeout) is recorded (:meth:`failed`: one WARNING per
        outage), ``on_failure(exc)`` runs (reset what the outage invalidated),
        the backoff delay is waited, and the error is swallowed: the
        caller's loop simply goes round again. Anything else propagates."""
        try:
            yield
        except CONNECTION_ERRORS as exc:
            if on_failure is not None:
                on_failure(exc)
            self.failed(exc)
            gevent.sleep(self.backoff_delay())
        else:
            if report_success:
                self.ok()

    def call(self, command: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``command(*args, **kwargs)``, repeated with backoff until Redis
        answers (for work that must not be dropped, e.g. a dead letter)."""
        while True:
            with self.retrying():
                return command(*args, **kwargs)

    def probe(self) -> None:
        """One PING now (a service's ``require_at_boot``): raises RuntimeError
        saying what is wrong, the credentials or the reachability, with the
        URL masked; the failure is also recorded for health."""
        try:
            self.client.ping()
        except (AuthenticationError, AuthorizationError) as exc:
            self.failed(exc)
            raise RuntimeError(f"{self.name}: Redis at {self.display_url} refused the credentials "
                               f"({mask_url(exc)}): fix the user/password in the Redis URL (REDIS_URL).") from None
        except ResponseError as exc:
            if "NOAUTH" not in str(exc) and "WRONGPASS" not in str(exc):
                raise
            self.failed(exc)
            raise RuntimeError(f"{self.name}: Redis at {self.display_url} needs a password ({mask_url(exc)}): "
                               "put it in the Redis URL, redis://:PASSWORD@host:6379/0.") from None
        except CONNECTION_ERRORS as exc:
            self.failed(exc)
            raise RuntimeError(f"{self.name}: cannot reach Redis at {self.display_url} at boot "
                               f"({self.last_error}). Start Redis first, or leave REDIS_REQUIRED_AT_BOOT unset "
                               "to boot degraded and reconnect in the background.") from None
        self.ok()

    @property
    def connected(self) -> bool:
        return self.state == "connected"

    def health(self) -> Dict[str, Any]:
        """``url`` (masked), ``state`` (connecting / connected / reconnecting
        / closed), ``last_error`` (masked), ``outages`` and the seconds the
        current state has lasted."""
        now = time.monotonic()
        report: Dict[str, Any] = {
            "url": self.display_url,
            "state": self.state,
            "last_error": self.last_error,
            "outages": self.outages,
        }
        if self._down_since is not None:
            report["down_for"] = round(now - self._down_since, 3)
        if self._up_since is not None:
            report["up_for"] = round(now - self._up_since, 3)
        return report

    def __repr__(self) -> str:
        return f"<RedisConnection {self.name!r} {self.display_url} {self.state}>"
