"""The ownership core: one small primitive every owning class composes.

Everything that runs (greenlets, timers, subscriptions, registry entries,
child services, subprocesses, sockets) has exactly one owner. An
:class:`Owner` holds

- a **state machine**: ``idle -> starting -> running -> stopping ->
  stopped`` (or ``failed``), so "may I start work?" and "has stopping
  begun?" have one answer;
- the **greenlets** it spawned, in spawn order (like a gevent ``Group``, but
  ordered, so teardown is deterministic), killed and joined as one batch
  (one hub round trip, not one per greenlet);
- a **LIFO stack of releases**: cleanups, owned resources and child owners,
  undone last-in first-out like ``contextlib.ExitStack``.

:meth:`Owner.close` is *BaseException-safe*: a release that raises anything
(``gevent.Timeout``, a swallowed ``GreenletExit``, ``KeyboardInterrupt``,
``asyncio.CancelledError``) is reported and the remaining releases still
run; nothing escapes to the caller. Whatever outlives the shared deadline is
reported as a *straggler*, never left silently.

Service, Handler, Router, Watcher, ManagedProcess and the Runtime all build
on this one class instead of each keeping their own lists.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, Dict, Iterable, List, Optional, Protocol, Tuple, TypeVar, runtime_checkable

import gevent
from gevent import getcurrent

from ..typing import AnyGreenlet
from .._masking import mask_text

__all__ = ["Owner", "OwnerState", "release_for", "RELEASE_METHODS", "Stoppable", "format_exc", "set_label",
           "label_of"]

logger: logging.Logger = logging.getLogger("specter_spoc.owner")

R = TypeVar("R")

#: the lifecycle states, in the order an owner normally passes through them
OwnerState = str
IDLE, STARTING, RUNNING, STOPPING, STOPPED, FAILED = (
    "idle", "starting", "running", "stopping", "stopped", "failed")

#: method names ``own(resource)`` tries, in SPECTER's order of preference
RELEASE_METHODS = ("stop", "close", "disconnect", "destroy", "terminate", "kill")

#: how long the join of a killed batch may take at least (a greenlet needs
#: one hub turn to run its ``finally`` blocks even with no time left)
_MIN_JOIN = 0.05


@runtime_checkable
class Stoppable(Protocol):
    """A child owner: stopped with the parent's remaining deadline."""

    def _stop_by(self, deadline: float) -> Any: ...


def format_exc(exc: BaseException) -> str:
    """``"TypeName: message"`` for reports (health, logs), with secrets such
    as passwords in URLs masked: reports reach health endpoints and logs."""
    text = mask_text(str(exc))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _graceful_process_release(proc: Any) -> Callable[[float], None]:
    """``terminate()``, wait until the deadline, then ``kill()`` and reap:
    what a subprocess.Popen-like object gets instead of an immediate SIGKILL."""
    def release(deadline: float) -> None:
        if proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=max(_MIN_JOIN, deadline - time.monotonic()))
            return
        except Exception:  # TimeoutExpired (stdlib or gevent's)
            pass
        proc.kill()
        try:
            proc.wait(timeout=1.0)
        except Exception:
            logger.error("process %s still not reaped after kill()", getattr(proc, "pid", proc))
    return release


def release_for(resource: Any, stop_method: Optional[str] = None) -> Tuple[Callable[..., Any], bool]:
    """``(release, takes_deadline)`` for a resource handed to ``own()``.

    ``stop_method`` names the method; otherwise the first of
    :data:`RELEASE_METHODS` the resource has (a python-socketio ``Client`` is
    disconnected; an object with both ``close`` and ``destroy`` is closed),
    except that a process (``poll``/``terminate``/``kill``/``wait``) is
    terminated and killed only at the deadline. A plain callable is called.
    Raises TypeError naming the type and the fix when nothing fits: owning
    something you cannot release is a leak.
    """
    if stop_method is not None:
        method = getattr(resource, stop_method, None)
        if not callable(method):
            raise TypeError(
                f"own(..., stop_method={stop_method!r}): {type(resource).__name__} has no callable "
                f"{stop_method!r}. Name a method it has, or pass a cleanup to add_cleanup().")
        return method, False
    if isinstance(resource, Stoppable):
        return resource._stop_by, True
    if all(callable(getattr(resource, m, None)) for m in ("poll", "terminate", "kill", "wait")) \
            and not callable(getattr(resource, "stop", None)):
        return _graceful_process_release(resource), True
    for name in RELEASE_METHODS:
        method = getattr(resource, name, None)
        if callable(method):
            return method, False
    if callable(resource):
        return resource, False
    raise TypeError(
        f"own() cannot release a {type(resource).__name__}: it has none of "
        f"{', '.join(m + '()' for m in RELEASE_METHODS)} and is not callable. "
        "Pass stop_method='...' or register a cleanup with add_cleanup(fn).")


class _Release:
    """One entry of the release stack."""

    __slots__ = ("fn", "takes_deadline", "label", "child")

    def __init__(self, fn: Callable[..., Any], takes_deadline: bool, label: str, child: Any = None) -> None:
        self.fn = fn
        self.takes_deadline = takes_deadline
        self.label = label
        self.child = child


class Owner:
    """State, greenlets and releases of one owning object.

    Example::

        owner = Owner("uploader")
        owner.begin_start(); owner.started()
        owner.spawn(pump)                       # joined by close()
        owner.push(conn.close, "connection")    # released LIFO by close()
        owner.begin_stop()
        owner.close(deadline=time.monotonic() + 5)
        owner.finish_stop()
        assert owner.state == "stopped"
    """

    __slots__ = ("name", "state", "_greenlets", "_stack", "stragglers", "errors", "_log")

    def __init__(self, name: str, log: Optional[logging.Logger] = None) -> None:
        self.name: str = name
        self.state: OwnerState = IDLE
        self._greenlets: Dict[AnyGreenlet, None] = {}
        self._stack: List[_Release] = []
        #: what outlived a deadline (greenlets, hooks, releases), newest last
        self.stragglers: List[str] = []
        #: what raised during teardown, newest last
        self.errors: List[str] = []
        self._log = log or logger

    # ---------------------------------------------------------------- states
    @property
    def active(self) -> bool:
        """True while work may be started (running, or starting up)."""
        return self.state in (RUNNING, STARTING)

    @property
    def stopping(self) -> bool:
        return self.state == STOPPING

    def begin_start(self) -> None:
        self.state = STARTING

    def started(self) -> None:
        self.state = RUNNING

    def begin_stop(self) -> None:
        self.state = STOPPING

    def finish_stop(self, failed: bool = False) -> None:
        self.state = FAILED if failed else STOPPED

    # ------------------------------------------------------------- greenlets
    def adopt_greenlet(self, glet: AnyGreenlet) -> AnyGreenlet:
        """Track ``glet`` (created, not necessarily started) so close() kills
        and joins it; it is forgotten when it exits."""
        self._greenlets[glet] = None
        glet.rawlink(self._forget)
        return glet

    def _forget(self, glet: AnyGreenlet) -> None:
        self._greenlets.pop(glet, None)

    def discard_greenlet(self, glet: AnyGreenlet) -> None:
        self._greenlets.pop(glet, None)

    def live_greenlets(self) -> List[AnyGreenlet]:
        """Owned greenlets not exited yet, in spawn order."""
        return [g for g in self._greenlets if not g.dead]

    def kill_greenlets(self, deadline: float, *, exclude: Optional[AnyGreenlet] = None) -> List[AnyGreenlet]:
        """Kill every owned greenlet as one batch and join them until
        ``deadline``; returns (and reports) the ones still alive."""
        current = getcurrent() if exclude is None else exclude
        live = [g for g in self._greenlets if not g.dead and g is not current]
        if not live:
            return []
        return kill_and_join(live, deadline, self)

    # -------------------------------------------------------------- releases
    def push(self, fn: Callable[..., Any], label: Optional[str] = None, *, takes_deadline: bool = False,
             child: Any = None) -> None:
        """Add a release; run LIFO by :meth:`unwind`."""
        self._stack.append(_Release(fn, takes_deadline, label or _describe(fn), child))

    def own(self, resource: R, stop_method: Optional[str] = None) -> R:
        fn, takes_deadline = release_for(resource, stop_method)
        self.push(fn, f"{type(resource).__name__}.{getattr(fn, '__name__', 'release')}",
                  takes_deadline=takes_deadline)
        return resource

    def discard_child(self, child: Any) -> None:
        self._stack = [r for r in self._stack if r.child is not child]

    def children(self) -> List[Any]:
        return [r.child for r in self._stack if r.child is not None]

    def releases(self) -> List[Tuple[str, Any]]:
        """(label, child or None) of every pending release, oldest first."""
        return [(r.label, r.child) for r in self._stack]

    def unwind(self, deadline: float) -> None:
        """Run every release LIFO. BaseException-safe: a release that raises
        anything is reported and the rest still run."""
        while self._stack:
            entry = self._stack.pop()
            try:
                if entry.takes_deadline:
                    entry.fn(deadline)
                else:
                    entry.fn()
            except BaseException as exc:  # noqa: B036 - teardown must go on, see module docstring
                self.report_error(f"releasing {entry.label} raised {format_exc(exc)}", exc)

    def close(self, deadline: float) -> None:
        """Kill and join the greenlets, then unwind the releases."""
        self.kill_greenlets(deadline)
        self.unwind(deadline)

    # ------------------------------------------------------------- reporting
    def report_straggler(self, what: str) -> None:
        self.stragglers.append(what)
        del self.stragglers[:-20]
        self._log.error("%s: %s", self.name, what)

    def report_error(self, what: str, exc: Optional[BaseException] = None) -> None:
        self.errors.append(what)
        del self.errors[:-20]
        self._log.error("%s: %s; teardown continues", self.name, what,
                        exc_info=exc if isinstance(exc, Exception) else None)


def _describe(fn: Any) -> str:
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


#: the attribute a greenlet's label is kept in (gevent greenlets take attributes)
_LABEL_ATTR = "spoc_label"


def set_label(glet: AnyGreenlet, label: str) -> None:
    """Name ``glet`` for straggler reports and ``health()["greenlets"]``
    (``owner:callback``), so a report says which work outlived the deadline."""
    setattr(glet, _LABEL_ATTR, label)


def label_of(glet: object) -> str:
    """The label :func:`set_label` gave ``glet``, else its repr (any greenlet,
    including ones the package did not spawn)."""
    label = getattr(glet, _LABEL_ATTR, None)
    return label if isinstance(label, str) and label else repr(glet)


def kill_and_join(greenlets: Iterable[AnyGreenlet], deadline: float, reporter: Optional[Owner] = None
                  ) -> List[AnyGreenlet]:
    """Kill ``greenlets`` without blocking per greenlet, then join them all
    until ``deadline``. Returns the ones still alive (a greenlet that swallows
    ``GreenletExit`` or blocks in ``finally``), reported through ``reporter``.
    Never raises: the join waits with a timeout instead of a ``gevent.Timeout``."""
    live = [g for g in greenlets if not g.dead]
    if not live:
        return []
    gevent.killall(live, block=False)
    gevent.joinall(live, timeout=max(_MIN_JOIN, deadline - time.monotonic()))
    stuck = [g for g in live if not g.dead]
    if stuck and reporter is not None:
        for glet in stuck:
            reporter.report_straggler(f"greenlet {label_of(glet)} ignored kill; still alive at the deadline")
    return stuck


def run_bounded(fn: Callable[[], Any], deadline: float, what: str, reporter: Owner,
                spawn: Callable[[Callable[[], Any]], AnyGreenlet]) -> bool:
    """Run a user hook in its own greenlet and wait for it until ``deadline``.

    A hook that blocks past the deadline (even one that swallows the kill
    with a bare ``except:``) cannot hold the caller: it is killed, reported
    as a straggler, and the caller goes on. Anything the hook raises is
    reported. Returns True when the hook finished by itself.
    """
    raised: List[BaseException] = []

    def body() -> None:
        try:
            fn()
        except gevent.GreenletExit:
            raise
        except BaseException as exc:  # noqa: B036 - reported below, never re-raised into the hub
            raised.append(exc)

    glet = spawn(body)
    glet.join(timeout=max(0.0, deadline - time.monotonic()))
    if not glet.dead:
        reporter.report_straggler(f"{what} still running at the deadline; cut off")
        glet.kill(block=False)
        glet.join(timeout=_MIN_JOIN)
        if not glet.dead:
            reporter.report_straggler(f"{what} ignored the kill; left to finish on its own")
        return False
    for exc in raised:
        reporter.report_error(f"{what} raised {format_exc(exc)}", exc)
    return True
