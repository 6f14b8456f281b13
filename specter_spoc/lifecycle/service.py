"""Service: the lifecycle owner of background work.

Everything a service starts (greenlets, intervals, timeouts, bus
subscriptions, registry entries, child services, processes, arbitrary
resources) is *owned* by it through one :class:`~.owner.Owner`, and
:meth:`Service.stop` releases all of it before returning:

1. ``on_stop()`` runs first, while owned work is still alive, in its own
   greenlet bounded by the deadline: a hook that hangs, or that swallows the
   kill with a bare ``except:``, is cut off and reported, never waited out;
2. every owned greenlet is killed **and joined** as one batch; one that
   outlives the deadline is reported as a straggler (log + health);
3. children, cleanups, subscriptions and registry entries are released last
   in, first out, like a trio nursery exiting or an ``ExitStack`` unwinding.

Nothing raised by user code during teardown (even ``gevent.Timeout``,
``KeyboardInterrupt`` or ``asyncio.CancelledError``) escapes ``stop()``: it
is reported and the rest is still released. A start that fails undoes
whatever ``on_start`` had acquired, then re-raises; ``start_timeout`` bounds
a blocking ``on_start``. Owned greenlets run inside the service's
:class:`~specter_spoc.wiring.Scope` (its runtime's bus, registry and Flask
app context).
"""
from __future__ import annotations

import itertools
import logging
import time
from typing import Any, Callable, Dict, List, Optional, Protocol, Tuple, TypeVar, overload

import gevent
from gevent import Greenlet, GreenletExit, getcurrent
from gevent.event import Event

from ..typing import AnyGreenlet, CleanupOwner
from ..wiring import signals
from ..wiring.scope import Scope, current_scope
from .clock import MONOTONIC, Clock
from .owner import (FAILED, IDLE, RUNNING, STARTING, STOPPED, STOPPING, Owner, format_exc, label_of, run_bounded,
                    set_label)
from .supervision import RestartTracker, check_policy
from .._validate import check_seconds

logger: logging.Logger = logging.getLogger("specter_spoc.service")

R = TypeVar("R")
StateSubscriber = Callable[[Dict[str, Any], Any], Any]

#: exceptions that are gevent's business, not a crash of user code
_SYSTEM_ERRORS = (GreenletExit, SystemExit, KeyboardInterrupt)


class ServiceParent(Protocol):
    """What a child service needs of the service or runtime that adopted it:
    the scope its start runs in, and who takes a crash it escalates."""

    @property
    def scope(self) -> Scope:
        """The bus, registry and app context the child starts in."""
        ...

    def _child_crashed(self, child: "Service", exc: BaseException) -> None:
        """Take a crash ``child`` escalated (supervision="escalate")."""
        ...


class ServiceStartTimeout(TimeoutError):
    """``on_start()`` did not return within the service's start timeout."""


def _check_callable(fn: object, what: str, owner: str) -> None:
    if not callable(fn):
        raise TypeError(
            f"Service {owner!r}: {what} needs a callable, got {type(fn).__name__}: {fn!r}."
        )


class Service:
    """A named owner of background work with a deterministic lifecycle.

    Override :meth:`on_start` / :meth:`on_stop`; use :meth:`spawn`,
    :meth:`interval`, :meth:`timeout`, :meth:`listen`, :meth:`adopt` and
    :meth:`own` so everything is released on :meth:`stop`.

    Example::

        class Ticker(Service):
            def __init__(self):
                super().__init__("ticker", {"ticks": 0})

            def on_start(self):
                self.interval(self.tick, 1.0)

            def tick(self):
                self.set_state({"ticks": self.state["ticks"] + 1})

        ticker = Ticker().start()
        ticker.stop()          # the interval greenlet has exited here
    """

    #: boot order inside a runtime: lower starts earlier (SPECTER's default)
    priority: int = 100
    #: seconds ``stop()`` may take (on_stop + joining owned greenlets)
    stop_timeout: float = 5.0
    #: seconds ``on_start()`` may take; None: the runtime's default
    #: (``boot(start_timeout=...)``, 30 s), unbounded outside a runtime
    start_timeout: Optional[float] = None
    #: what to do when an owned greenlet crashes: "log", "restart" or "escalate"
    supervision: str = "log"
    #: an optional service that fails to start does not fail the runtime's
    #: boot: it is reported as failed (health "degraded") and the app serves on
    optional: bool = False
    #: restart policy limits (used when supervision == "restart")
    max_restarts: int = 3
    restart_window: float = 60.0
    restart_backoff: float = 0.1
    max_backoff: float = 5.0
    #: the clock intervals, timeouts and restart backoffs wait on (tests
    #: inject :class:`~specter_spoc.lifecycle.clock.ManualClock`)
    clock: Clock = MONOTONIC

    def __init__(self, name: str, initial_state: Optional[Dict[str, Any]] = None) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"Service name must be a non-empty str, got {name!r}.")
        if initial_state is not None and not isinstance(initial_state, dict):
            raise TypeError(
                f"Service {name!r}: initial_state must be a dict or None, got {type(initial_state).__name__}."
            )
        self.name = name
        self.state: Dict[str, Any] = dict(initial_state) if initial_state else {}
        self.priority = type(self).priority
        self._life = Owner(f"Service {name!r}", logger)
        self._scope: Optional[Scope] = None
        self._owner: Optional[ServiceParent] = None
        self._timers: Dict[str, AnyGreenlet] = {}
        self._subscribers: Tuple[StateSubscriber, ...] = ()
        self._ids = itertools.count(1)
        self._supervisor: Optional[AnyGreenlet] = None
        self._restarts: Optional[RestartTracker] = None
        self._crashes = 0
        self._last_error: Optional[str] = None
        self._failed: Optional[str] = None
        self._stop_done: Optional[Event] = None
        self._stopper: Optional[Any] = None
        self._hook: Optional[AnyGreenlet] = None
        #: default start timeout given by the runtime that registered this service
        self._default_start_timeout: Optional[float] = None
        self._restart_cancelled = False

    # ------------------------------------------------------------------ hooks
    def on_start(self) -> None:
        """Acquire resources and start work. Runs inside the service's scope."""

    def on_stop(self) -> None:
        """Release what automatic cleanup does not cover. Runs before owned
        greenlets are cancelled, bounded by ``stop_timeout``."""

    on_stop._spoc_noop = True  # type: ignore[attr-defined]

    def _after_start(self) -> None:
        """Internal hook after ``on_start`` (QueueService starts its workers
        here, so subclasses need no ``super()`` call)."""

    def _before_stop(self, deadline: float) -> None:
        """Internal hook before ``on_stop`` (QueueService drains here)."""

    # -------------------------------------------------------------- lifecycle
    @property
    def running(self) -> bool:
        """True from the start of ``start()`` until ``stop()`` finished."""
        return self._life.state in (STARTING, RUNNING, STOPPING)

    @property
    def lifecycle_state(self) -> str:
        """idle, starting, running, stopping, stopped or failed."""
        return self._life.state

    @property
    def _running(self) -> bool:  # kept for subclasses written against 0.1
        return self.running

    @property
    def _stopping(self) -> bool:
        return self._life.state == STOPPING

    @property
    def scope(self) -> Scope:
        """The scope (bus, registry, app context) this service runs in."""
        return self._scope or self._scope_for_start()

    @property
    def owner(self) -> Optional[ServiceParent]:
        """The service (or runtime) that adopted this one, if any."""
        return self._owner

    def _scope_for_start(self) -> Scope:
        return self._owner.scope if self._owner is not None else current_scope()

    def start(self) -> "Service":
        """Run ``on_start``; idempotent. On failure (or when ``on_start``
        outlives ``start_timeout``), release whatever it acquired, then raise."""
        if self._life.state in (STARTING, RUNNING):
            return self
        if self._life.state == STOPPING:
            raise RuntimeError(f"Service {self.name!r} is stopping; start() it again after stop() returned.")
        check_policy(self.supervision, self.name)
        timeout = self.start_timeout if self.start_timeout is not None else self._default_start_timeout
        self._scope = self._scope_for_start()
        self._failed = None
        self._life.begin_start()
        started_at = time.monotonic()
        try:
            with self._scope.activate():
                if timeout is None:
                    self.on_start()
                else:
                    self._start_bounded(timeout, started_at)
                self._after_start()
        except BaseException as exc:
            logger.error("Service %r failed to start: %s; releasing what it had started",
                         self.name, format_exc(exc))
            self._life.begin_stop()
            try:
                with self._scope.activate():
                    self._life.close(time.monotonic() + self.stop_timeout)
            finally:
                self._life.finish_stop()
            raise
        self._life.started()
        signals.service_started.send(self)
        return self

    def _start_bounded(self, timeout: float, started_at: float) -> None:
        timer = gevent.Timeout(timeout)
        timer.start()
        try:
            self.on_start()
        except gevent.Timeout as exc:
            if exc is not timer:
                raise
            raise self._start_timed_out(timeout) from None
        finally:
            timer.close()
        if time.monotonic() - started_at > timeout:  # the hook swallowed the timeout
            raise self._start_timed_out(timeout)

    def _start_timed_out(self, timeout: float) -> ServiceStartTimeout:
        return ServiceStartTimeout(
            f"Service {self.name!r}: on_start() did not return within {timeout:g}s (start_timeout). "
            "Move blocking work into self.spawn(...) or raise start_timeout.")

    def stop(self) -> "Service":
        """Stop and release everything owned; idempotent. When it returns,
        every owned greenlet has exited (or is reported as a straggler).
        A second caller waits until the first caller's stop has finished."""
        return self._stop_by(time.monotonic() + self.stop_timeout)

    def _stop_by(self, deadline: float) -> "Service":
        """Stop within ``deadline`` (a ``time.monotonic()`` value; the
        runtime shares one deadline among all its services)."""
        current = getcurrent()
        if current is not self._supervisor:
            self._cancel_supervisor()
        state = self._life.state
        if state == STOPPING:
            done = self._stop_done
            if done is not None and current is not self._stopper and current is not self._hook:
                done.wait(max(0.0, deadline - time.monotonic()))
            return self
        if state not in (STARTING, RUNNING):
            return self
        deadline = min(deadline, time.monotonic() + self.stop_timeout)
        self._begin_stop(current)
        try:
            with (self._scope or current_scope()).activate():
                self._stop_hooks(deadline)
                self._life.close(deadline)
        finally:
            self._finish_stop(current)
        return self

    # the steps of a stop, separate so the runtime can batch plain services
    def _begin_stop(self, stopper: Any) -> None:
        self._life.begin_stop()
        self._stop_done = Event()
        self._stopper = stopper

    def _stop_hooks(self, deadline: float) -> None:
        try:
            self._before_stop(deadline)
        except BaseException as exc:  # noqa: B036 - teardown must go on
            self._life.report_error(f"stopping raised {format_exc(exc)}", exc)
        if not getattr(type(self).on_stop, "_spoc_noop", False):
            run_bounded(self.on_stop, deadline, "on_stop()", self._life, self._spawn_hook)
            self._hook = None

    def _finish_stop(self, stopper: Any) -> None:
        self._subscribers = ()  # SPECTER's teardown: state subscribers are cleared
        self._timers.clear()
        self._life.finish_stop(failed=self._failed is not None)
        done, self._stop_done, self._stopper = self._stop_done, None, None
        if done is not None:
            done.set()
        if stopper is not self._supervisor:
            self._cancel_supervisor()
        signals.service_stopped.send(self)

    @property
    def _plain_stop(self) -> bool:
        """No stop hooks: the runtime may kill this service's greenlets in a
        batch with its neighbours' (one hub round trip for all)."""
        cls = type(self)
        return getattr(cls.on_stop, "_spoc_noop", False) and cls._before_stop is Service._before_stop

    def _spawn_hook(self, body: Callable[[], Any]) -> AnyGreenlet:
        scope = self._scope or current_scope()
        glet = Greenlet(scope.wrap(body))
        set_label(glet, f"{self.name}:on_stop")
        self._hook = glet
        glet.start()
        return glet

    # ------------------------------------------------------------------ state
    def set_state(self, partial: Dict[str, Any]) -> None:
        """Merge ``partial`` into ``state`` and notify subscribers."""
        if not isinstance(partial, dict):
            raise TypeError(f"Service {self.name!r}: set_state() needs a dict, got {type(partial).__name__}.")
        self.state.update(partial)
        self._notify()

    def _notify(self) -> None:
        if self._subscribers:
            snapshot = dict(self.state)
            for fn in self._subscribers:
                try:
                    fn(snapshot, self)
                except Exception:
                    logger.exception("Service %r: state subscriber %r raised", self.name, fn)

    def get_state(self) -> Dict[str, Any]:
        """A copy of the current state."""
        return dict(self.state)

    def subscribe(self, fn: StateSubscriber, immediate: bool = False,
                  owner: Optional[CleanupOwner] = None) -> Callable[[], None]:
        """Call ``fn(state, service)`` on every ``set_state``; returns unsubscribe.
        With ``owner``, the subscription ends when the owner stops."""
        _check_callable(fn, "subscribe()", self.name)
        self._subscribers = self._subscribers + (fn,)

        def unsubscribe() -> None:
            subs = list(self._subscribers)
            if fn in subs:
                subs.remove(fn)
                self._subscribers = tuple(subs)

        if owner is not None:
            owner.add_cleanup(unsubscribe)
        if immediate:
            fn(dict(self.state), self)
        return unsubscribe

    def watch(self, fn: StateSubscriber, immediate: bool = True) -> Callable[[], None]:
        """``subscribe(fn, immediate=immediate, owner=self)``."""
        return self.subscribe(fn, immediate=immediate, owner=self)

    # -------------------------------------------------------------- greenlets
    def _require_running(self, what: str) -> Scope:
        if not self._life.active or self._scope is None:
            state = "stopping" if self._life.state == STOPPING else "not running"
            raise RuntimeError(
                f"Service {self.name!r} is {state}: {what} would start work nobody owns. "
                "Call it from on_start() or after start()."
            )
        return self._scope

    def _own_greenlet(self, glet: AnyGreenlet, label: str) -> AnyGreenlet:
        set_label(glet, f"{self.name}:{label}")
        return self._life.adopt_greenlet(glet)

    @staticmethod
    def _label(glet: AnyGreenlet) -> str:
        return label_of(glet)

    def spawn(self, callback: Callable[..., R], *args: Any, label: Optional[str] = None,
              **kwargs: Any) -> AnyGreenlet:
        """Run ``callback(*args, **kwargs)`` in an owned greenlet.

        An uncaught exception is handled by the ``supervision`` policy.
        """
        scope = self._require_running("spawn()")
        _check_callable(callback, "spawn()", self.name)
        name = label or str(getattr(callback, "__name__", "task"))
        glet = Greenlet(self._run_supervised, scope, name, callback, args, kwargs)
        self._own_greenlet(glet, name).start()
        return glet

    def spawn_later(self, seconds: float, callback: Callable[..., R], *args: Any,
                    label: Optional[str] = None, **kwargs: Any) -> AnyGreenlet:
        """Like :meth:`spawn`, after ``seconds``."""
        scope = self._require_running("spawn_later()")
        _check_callable(callback, "spawn_later()", self.name)
        delay = check_seconds(seconds, f"Service {self.name!r}: spawn_later()", allow_zero=True)
        name = label or str(getattr(callback, "__name__", "task"))
        glet = Greenlet(self._run_later, scope, name, delay, callback, args, kwargs)
        self._own_greenlet(glet, name).start()
        return glet

    def _run_later(self, scope: Scope, label: str, delay: float, callback: Callable[..., Any],
                   args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Any:
        self.clock.sleep(delay)
        return self._run_supervised(scope, label, callback, args, kwargs)

    def _run_supervised(self, scope: Scope, label: str, callback: Callable[..., Any],
                        args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Any:
        with scope.activate():
            try:
                return callback(*args, **kwargs)
            except _SYSTEM_ERRORS:
                raise
            except BaseException as exc:  # noqa: B036 - CancelledError & co. are crashes too
                self._crashed(exc, label)
                return None

    def interval(self, callback: Callable[[], Any], seconds: float) -> str:
        """Call ``callback()`` every ``seconds`` (drift-free); returns an id for
        :meth:`cancel_interval`. A raising callback is logged; the loop goes on."""
        scope = self._require_running("interval()")
        _check_callable(callback, "interval()", self.name)
        period = check_seconds(seconds, f"Service {self.name!r}: interval()", allow_zero=False)
        timer_id = f"interval_{next(self._ids)}"
        glet = Greenlet(self._run_interval, scope, timer_id, callback, period)
        self._timers[timer_id] = glet
        self._own_greenlet(glet, timer_id).start()
        return timer_id

    def _run_interval(self, scope: Scope, timer_id: str, callback: Callable[[], Any],
                      period: float) -> None:
        clock = self.clock
        with scope.activate():
            due = clock.now() + period
            while timer_id in self._timers:
                clock.sleep(max(0.0, due - clock.now()))
                if timer_id not in self._timers:
                    return
                try:
                    callback()
                except _SYSTEM_ERRORS:
                    raise
                except BaseException:  # noqa: B036
                    logger.exception("Service %r: %s callback %r raised; the interval keeps running",
                                     self.name, timer_id, callback)
                due += period
                now = clock.now()
                if due < now:  # fell behind: skip missed ticks instead of bursting
                    due = now + period

    def timeout(self, callback: Callable[[], Any], seconds: float) -> str:
        """Call ``callback()`` once after ``seconds``; returns an id for
        :meth:`cancel_timeout`."""
        scope = self._require_running("timeout()")
        _check_callable(callback, "timeout()", self.name)
        delay = check_seconds(seconds, f"Service {self.name!r}: timeout()", allow_zero=True)
        timer_id = f"timeout_{next(self._ids)}"
        glet = Greenlet(self._run_timeout, scope, timer_id, callback, delay)
        self._timers[timer_id] = glet
        self._own_greenlet(glet, timer_id).start()
        return timer_id

    def _run_timeout(self, scope: Scope, timer_id: str, callback: Callable[[], Any], delay: float) -> None:
        with scope.activate():
            try:
                self.clock.sleep(delay)
                callback()
            except _SYSTEM_ERRORS:
                raise
            except BaseException:  # noqa: B036
                logger.exception("Service %r: %s callback %r raised", self.name, timer_id, callback)
            finally:
                self._timers.pop(timer_id, None)

    def _cancel_timer(self, timer_id: str) -> None:
        glet = self._timers.pop(timer_id, None)
        if glet is not None and glet is not getcurrent():
            glet.kill(block=True)

    def cancel_interval(self, interval_id: str) -> None:
        """Stop an interval; when it returns, its greenlet has exited (unless
        called from that interval's own callback, which then ends after it returns)."""
        self._cancel_timer(interval_id)

    def cancel_timeout(self, timeout_id: str) -> None:
        """Cancel a pending timeout (no-op when it already ran)."""
        self._cancel_timer(timeout_id)

    def cancel_greenlet(self, glet: Any) -> "Service":
        """Kill and join a greenlet this service spawned."""
        if glet is not None and not glet.dead and glet is not getcurrent():
            glet.kill(block=True)
        if glet is not None:
            self._life.discard_greenlet(glet)
        return self

    # ------------------------------------------------------------- supervision
    def _crashed(self, exc: BaseException, label: str) -> None:
        self._crashes += 1
        self._last_error = f"{label}: {format_exc(exc)}"
        policy = self.supervision
        stopping = self._life.state not in (RUNNING, STARTING)
        logger.error("Service %r: greenlet %r crashed (%s); supervision=%r%s", self.name, label,
                     format_exc(exc), policy, " (ignored: the service is stopping)" if stopping else "",
                     exc_info=exc if isinstance(exc, Exception) else None)
        signals.service_crashed.send(self, error=exc, label=label, action=policy)
        if stopping:
            return  # no restart, no escalation once stopping has begun
        if policy == "restart":
            self._schedule_restart()
        elif policy == "escalate":
            if self._owner is not None:
                self._owner._child_crashed(self, exc)
            else:
                self._give_up(f"escalated crash with no owner to take it: {self._last_error}")

    def _child_crashed(self, child: "Service", exc: BaseException) -> None:
        """A child escalated: treat it as a crash of this service."""
        self._crashed(exc, f"child {child.name!r}")

    def _tracker(self) -> RestartTracker:
        if self._restarts is None:
            self._restarts = RestartTracker(self.max_restarts, self.restart_window,
                                            self.restart_backoff, self.max_backoff, clock=self.clock)
        return self._restarts

    def _schedule_restart(self) -> None:
        if self._supervisor is not None and not self._supervisor.dead:
            return  # a restart is already on its way
        self._restart_cancelled = False
        delay = self._tracker().next_delay()
        if delay is None:
            self._give_up(f"gave up after {self.max_restarts} restarts in {self.restart_window}s; "
                          f"last error: {self._last_error}")
            return
        self._start_supervisor(self._restart_loop, delay, "supervisor")

    def _start_supervisor(self, fn: Callable[..., Any], arg: Any, label: str) -> None:
        scope = self._scope or current_scope()
        self._supervisor = Greenlet(scope.wrap(fn), arg)
        set_label(self._supervisor, f"{self.name}:{label}")
        self._supervisor.start()

    def _restart_loop(self, delay: Optional[float]) -> None:
        """Stop, wait the backoff, start again; a start that fails counts as
        a crash against the same limit, until the limit says give up."""
        while delay is not None:
            logger.warning("Service %r: restarting in %.2fs (restart %d)", self.name, delay,
                           self._tracker().total)
            self._stop_by(time.monotonic() + self.stop_timeout)
            self.clock.sleep(delay)
            if self._restart_cancelled:
                return
            try:
                self.start()
                return
            except _SYSTEM_ERRORS:
                raise
            except BaseException as exc:  # noqa: B036
                self._crashes += 1
                self._last_error = f"restart: {format_exc(exc)}"
                signals.service_crashed.send(self, error=exc, label="restart", action="restart")
                delay = self._tracker().next_delay()
        self._failed = (f"gave up after {self.max_restarts} restarts in {self.restart_window}s; "
                        f"last error: {self._last_error}")
        logger.error("Service %r: %s", self.name, self._failed)
        self._life.finish_stop(failed=True)

    def _give_up(self, reason: str) -> None:
        logger.error("Service %r: %s; stopping it", self.name, reason)
        self._failed = reason
        # stop from outside the crashing greenlet so it can be joined too
        self._start_supervisor(self._stop_by_now, None, "give-up")

    def _stop_by_now(self, _: Any) -> None:
        self._stop_by(time.monotonic() + self.stop_timeout)

    def _cancel_supervisor(self) -> None:
        """No restart after this: a supervisor in the middle of its own stop
        is let finish that stop (killing it there would cut the teardown
        short), then it sees the flag; one waiting or starting is killed."""
        sup: Any = self._supervisor
        self._restart_cancelled = True
        if sup is None or sup is getcurrent():
            return
        mid_stop = self._life.state == STOPPING and self._stopper is sup
        if mid_stop and not sup.dead:
            sup.join(timeout=self.stop_timeout)
        if not sup.dead:
            sup.kill(block=True, timeout=self.stop_timeout)
        self._supervisor = None

    def join_supervisor(self, timeout: Optional[float] = None) -> None:
        """Wait for a pending restart/give-up to finish (tests use this)."""
        sup = self._supervisor
        if sup is not None and sup is not getcurrent():
            sup.join(timeout)

    # -------------------------------------------------------------- bus & co
    def listen(self, event: str, handler: Callable[[Any], Any]) -> "Service":
        """Subscribe ``handler`` to a bus event until this service stops."""
        _check_callable(handler, f"listen({event!r})", self.name)
        self._life.push(self.scope.bus.on(event, handler), f"bus listener {event!r}")
        return self

    def emit(self, event: str, data: Any = None) -> "Service":
        """Emit on this service's bus (its runtime's bus)."""
        self.scope.bus.emit(event, data)
        return self

    def adopt(self, child: Optional["Service"], start: bool = True) -> "Service":
        """Own ``child``: it stops when this service stops (LIFO); returns self."""
        if child is None:
            return self
        if not isinstance(child, Service):
            raise TypeError(
                f"Service {self.name!r}: adopt() takes a Service, got {type(child).__name__}. "
                "Use own(resource) for other things that need stopping."
            )
        if child is self or child._owner not in (None, self):
            who = "itself" if child is self else f"{child._owner!r}"
            raise RuntimeError(f"Service {self.name!r}: cannot adopt {child.name!r}, already owned by {who}.")
        if child._owner is None:
            child._owner = self
            self._life.push(child._stop_by, f"child {child.name!r}", takes_deadline=True, child=child)
        if start and not child.running:
            child.start()
        return self

    @overload
    def own(self, resource: None, stop_method: Optional[str] = None) -> None: ...
    @overload
    def own(self, resource: R, stop_method: Optional[str] = None) -> R: ...

    def own(self, resource: Optional[R], stop_method: Optional[str] = None) -> Optional[R]:
        """Release ``resource`` when this service stops; returns it.

        Services are adopted without being started; anything else is released
        with ``stop_method`` or the first of stop/close/disconnect/destroy/
        terminate/kill (a process is terminated, and killed only if it is
        still alive at the deadline).
        """
        if resource is None:
            return None
        if isinstance(resource, Service) and stop_method is None:
            self.adopt(resource, start=False)
            return resource
        return self._life.own(resource, stop_method)

    def add_cleanup(self, fn: Callable[[], Any]) -> "Service":
        """Run ``fn()`` when this service stops (LIFO with everything owned)."""
        _check_callable(fn, "add_cleanup()", self.name)
        self._life.push(fn)
        return self

    def start_process(self, args: Any, *, name: Optional[str] = None, **popen_kwargs: Any) -> Any:
        """Start a subprocess owned by this service (see :class:`ManagedProcess`)."""
        from .process import ManagedProcess
        self._require_running("start_process()")
        proc = ManagedProcess(name or f"{self.name}:process")
        return proc.start(args, owner=self, **popen_kwargs)

    def offload(self, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        """Run a CPU-bound ``fn(*args, **kwargs)`` in this service's process
        pool and wait cooperatively: the gevent hub keeps serving meanwhile.
        ``fn`` must be an importable module-level function; the pool starts
        lazily and its processes stop with the service."""
        from .offload import offload_pool
        self._require_running("offload()")
        result: R = offload_pool(self).run(fn, *args, **kwargs)
        return result

    # ---------------------------------------------------------------- health
    def health(self) -> Dict[str, Any]:
        """Status and ownership counts. Override and extend ``super().health()``."""
        state = self._life.state
        if self._failed or state == FAILED:
            status = "failed"
        elif state in (RUNNING, STARTING):
            status = "degraded" if self._life.stragglers else "ok"
        elif state == STOPPING:
            status = "stopping"
        else:
            status = "stopped"
        report: Dict[str, Any] = {
            "status": status,
            "name": self.name,
            "state": state,
            "running": self.running,
            "greenlets": len(self._life.live_greenlets()),
            "supervision": self.supervision,
            "crashes": self._crashes,
            "restarts": self._restarts.total if self._restarts else 0,
            "last_error": self._last_error,
        }
        if self._failed:
            report["failed"] = self._failed
        if self._life.stragglers:
            report["stragglers"] = list(self._life.stragglers)
        if self._life.errors:
            report["teardown_errors"] = list(self._life.errors)
        return report

    def tree(self) -> Dict[str, Any]:
        """The ownership tree below this service (for health pages and the CLI)."""
        return {
            "name": self.name,
            "type": type(self).__name__,
            "state": self._life.state,
            "running": self.running,
            "greenlets": sorted(self._label(g) for g in self._life.live_greenlets()),
            "owned": [child.tree() if isinstance(child, Service) else label
                      for label, child in self._life.releases()],
        }

    def live_greenlets(self) -> List[AnyGreenlet]:
        """Owned greenlets that have not exited yet."""
        return self._life.live_greenlets()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self._life.state}>"


__all__ = ["Service", "ServiceParent", "ServiceStartTimeout", "IDLE", "STOPPED"]
