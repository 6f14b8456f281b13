"""The shapes specter_spoc's objects rely on, as protocols and typed dicts.

The lifecycle code does not care what an owner *is* (a Service, a Runtime, a
Router, a Handler), only what it can do: take a cleanup, spawn a greenlet,
say whether it runs. Naming those capabilities here lets a signature say
``owner: CleanupOwner`` instead of ``owner: Any`` and lets mypy and pyright
check every call site, while the layers stay independent: this module
imports nothing from the package (it sits below ``wiring``), so any layer
may use it.

Use them in your own code too::

    from specter_spoc.typing import Owner, ServiceHealth

    def start_poller(owner: Owner) -> None:
        owner.spawn(poll_forever)

Everything here is structural: an object conforms by having the members,
not by inheriting from anything. The ``runtime_checkable`` protocols also
work with ``isinstance`` (which checks only that the members exist).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, List, Literal, Optional, Protocol, TypedDict, Union
from typing import runtime_checkable

from typing import TypeAlias  # Python 3.10+

if TYPE_CHECKING:
    from gevent import Greenlet

__all__ = [
    "AnyGreenlet", "Cleanup", "Gate", "HealthStatus",
    "CleanupOwner", "Owner", "Closeable", "Stoppable",
    "SocketIOLike", "SocketIOServerLike",
    "ServiceHealth", "ServiceHealthError", "RuntimeHealth", "PublicHealth", "PublicServiceHealth",
]

AnyGreenlet: TypeAlias = "Greenlet[..., Any]"
"""A gevent greenlet of any signature and result: what owners spawn, track,
kill and join (they never read a greenlet's value, so its types stay open)."""

Cleanup = Callable[[], object]
"""A zero-argument callable run once when its owner stops (its result is ignored)."""

Gate = Callable[[], Optional[str]]
"""Decides whether a route or socket event may run: ``None`` lets it through,
a string refuses it with that reason (the client gets a 503 naming it).
The runtime gates on "draining"; a Controller on "not started yet / stopped"."""

HealthStatus = Literal["ok", "degraded", "failed", "stopping", "stopped", "draining", "error"]
"""Every value ``health()["status"]`` takes; ``stopping`` is a service's while
its stop runs, ``draining`` the runtime's own while it shuts down, ``error``
the runtime's entry for a service whose ``health()`` raised."""


@runtime_checkable
class CleanupOwner(Protocol):
    """Anything that releases what it is handed when it stops.

    What ``registry.provide(..., owner=)``, ``Store.subscribe(..., owner=)``
    and ``bus`` subscriptions need: the entry or subscription is undone by
    the cleanup when the owner stops (a Service, Controller, Runtime, Router
    or Handler all qualify).
    """

    def add_cleanup(self, fn: Cleanup) -> object:
        """Run ``fn`` when this owner stops, last-in first-out."""
        ...


@runtime_checkable
class Owner(CleanupOwner, Protocol):
    """An owner that also runs work: the parent of greenlets and children.

    Watchers, queue backends and offload pools take one of these: they spawn
    their greenlets in it (so the owner's stop kills and joins them) and
    check ``running`` before starting work.
    """

    @property
    def name(self) -> str:
        """Names the owner in log lines and error messages."""
        ...

    @property
    def running(self) -> bool:
        """True between a successful start and the beginning of stop."""
        ...

    def spawn(self, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> "Greenlet[..., Any]":
        """Run ``callback(*args, **kwargs)`` in a greenlet this owner kills and joins at stop."""
        ...


@runtime_checkable
class Closeable(Protocol):
    """A resource released with ``close()`` (connections, files, pools)."""

    def close(self) -> object:
        ...


@runtime_checkable
class Stoppable(Protocol):
    """A resource released with ``stop()`` (services, servers, processes).

    ``Service.own(resource)`` accepts anything with one of ``stop``,
    ``teardown``, ``destroy``, ``close`` or ``kill``, tried in that order.
    """

    def stop(self) -> object:
        ...


@runtime_checkable
class SocketIOServerLike(Protocol):
    """The python-socketio server behind Flask-SocketIO (``socketio.server``).

    Only what the runtime uses at shutdown: emit the final event to every
    client. ``eio`` (the Engine.IO server) and ``manager`` (rooms and
    namespaces) are python-socketio internals, typed loosely on purpose.
    """

    eio: Any
    manager: Any

    def emit(self, event: str, data: Any = None, *args: Any, **kwargs: Any) -> object:
        ...


@runtime_checkable
class SocketIOLike(Protocol):
    """What specter_spoc needs of a ``flask_socketio.SocketIO``.

    The ingress registers one dispatcher per event with ``on_event``;
    controllers and services broadcast with ``emit``; shutdown reaches the
    sessions through ``server``. A test double with these three members is
    enough to boot a runtime without a real Socket.IO server.
    """

    server: Optional[SocketIOServerLike]

    def emit(self, event: str, *args: Any, **kwargs: Any) -> object:
        ...

    def on_event(self, message: str, handler: Callable[..., Any], namespace: Optional[str] = None) -> None:
        ...


class _ServiceHealthRequired(TypedDict):
    status: HealthStatus
    name: str


class ServiceHealth(_ServiceHealthRequired, total=False):
    """``Service.health()``: status, lifecycle ``state`` and ownership counts.

    ``failed`` (why it failed), ``stragglers`` (greenlets that ignored the
    kill at stop) and ``teardown_errors`` (releases that raised) appear only
    when there is something to say. A
    subclass extends the report with keys of its own (a QueueService adds
    its queue), so readers should expect more keys than these.
    """

    state: str
    running: bool
    greenlets: int
    supervision: str
    crashes: int
    restarts: int
    last_error: Optional[str]
    failed: str
    stragglers: List[str]
    teardown_errors: List[str]


class ServiceHealthError(TypedDict):
    """What ``Runtime.health()`` reports for a service whose ``health()``
    raised: status ``error`` and the exception's text."""

    status: Literal["error"]
    error: str


class _RuntimeHealthRequired(TypedDict):
    status: HealthStatus
    name: str


class RuntimeHealth(_RuntimeHealthRequired, total=False):
    """``Runtime.health()``: the worst service status wins; ``draining`` while
    it shuts down. ``handlers`` maps each socket handler to whether it is
    registered; ``requests_in_flight`` counts HTTP requests being served.
    ``escalations`` (the last crashes children escalated), ``stragglers`` and
    ``teardown_errors`` appear only when there is something to say."""

    booted: bool
    draining: bool
    services: Dict[str, Union[ServiceHealth, ServiceHealthError]]
    handlers: Dict[str, Dict[str, bool]]
    clients: int
    requests_in_flight: int
    escalations: List[str]
    stragglers: List[str]
    teardown_errors: List[str]


class PublicServiceHealth(TypedDict, total=False):
    """One service in the public report: its status and restart count only."""

    status: HealthStatus
    restarts: int


class _PublicHealthRequired(TypedDict):
    status: HealthStatus


class PublicHealth(_PublicHealthRequired, total=False):
    """``Runtime.public_health()``, served by the health endpoint: statuses
    only, never error text (which may carry internals), unless debug."""

    services: Dict[str, PublicServiceHealth]
    skipped_apps: List[str]
