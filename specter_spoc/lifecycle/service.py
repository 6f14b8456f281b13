"""Service: the lifecycle owner of background work.

Everything a service starts (greenlets, intervals, timeouts, bus
subscriptions, registry entries, child services, processes, arbitrary
resources) is *owned* by it, and :meth:`Service.stop` releases all of it
before returning:

1. ``on_stop()`` runs first, while owned work is still alive, bounded by
   ``stop_timeout`` (a hang is cut off and reported);
2. every owned greenlet is killed **and joined** (not merely asked to die);
   one that outlives the deadline is reported as a straggler (log + health);
3. children, cleanups, subscriptions and registry entries are released in
   reverse order of acquisition (last in, first out), like a trio nursery
   exiting or an ``ExitStack`` unwinding.

A start that fails undoes whatever ``on_start`` had acquired, then re-raises.
Owned greenlets run inside the service's :class:`~specter_spoc.wiring.Scope`
(its runtime's bus, registry and Flask app context).
"""
from __future__ import annotations

import itertools
import logging
import time
from typing import Any, Callable, Dict, List, Optional, Set, Tuple, TypeVar

import gevent
from gevent import Greenlet, GreenletExit
from gevent import getcurrent

from ..wiring import signals
from ..wiring.scope import Scope, current_scope
from .ownership import resolve_cleanup
from .supervision import RestartTracker, check_policy

logger = logging.getLogger("specter_spoc.service")

R = TypeVar("R")
StateSubscriber = Callable[[Dict[str, Any], Any], Any]


def _check_callable(fn: object, what: str, owner: str) -> None:
    if not callable(fn):
        raise TypeError(
            f"Service {owner!r}: {what} needs a callable, got {type(fn).__name__}: {fn!r}."
        )


def _check_seconds(seconds: object, what: str, owner: str, *, allow_zero: bool) -> float:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"Service {owner!r}: {what} needs seconds as a number, got {seconds!r}.")
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise ValueError(
            f"Service {owner!r}: {what} needs seconds {'>= 0' if allow_zero else '> 0'}, got {seconds}."
        )
    return float(seconds)


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
        self._running = False
        self._stopping = False
        self._scope: Optional[Scope] = None
        self._owner: Optional[Any] = None
        self._greenlets: Set[Greenlet] = set()
        self._timers: Dict[str, Greenlet] = {}
        self._stack: List[Tuple[str, Any]] = []
        self._subscribers: Tuple[StateSubscriber, ...] = ()
        self._ids = itertools.count(1)
        self._supervisor: Optional[Greenlet] = None
        self._restarts: Optional[RestartTracker] = None
        self._crashes = 0
        self._last_error: Optional[str] = None
        self._failed: Optional[str] = None
        self._stragglers: List[str] = []

    # ------------------------------------------------------------------ hooks
    def on_start(self) -> None:
        """Acquire resources and start work. Runs inside the service's scope."""

    def on_stop(self) -> None:
        """Release what automatic cleanup does not cover. Runs before owned
        greenlets are cancelled, bounded by ``stop_timeout``."""

    # -------------------------------------------------------------- lifecycle
    @property
    def running(self) -> bool:
        return self._running

    @property
    def scope(self) -> Scope:
        """The scope (bus, registry, app context) this service runs in."""
        return self._scope or self._scope_for_start()

    @property
    def owner(self) -> Optional[Any]:
        """The service (or runtime) that adopted this one, if any."""
        return self._owner

    def _scope_for_start(self) -> Scope:
        owner_scope = getattr(self._owner, "_scope", None) or getattr(self._owner, "scope", None)
        return owner_scope if isinstance(owner_scope, Scope) else current_scope()

    def start(self) -> "Service":
        """Run ``on_start``; idempotent. On failure, release whatever
        ``on_start`` acquired, then re-raise."""
        if self._running:
            return self
        check_policy(self.supervision, self.name)
        self._scope = self._scope_for_start()
        self._running = True
        self._failed = None
        try:
            with self._scope.activate():
                self.on_start()
        except BaseException as exc:
            logger.error("Service %r failed to start: %s: %s; releasing what it had started",
                         self.name, type(exc).__name__, exc)
            self._stopping = True
            try:
                with self._scope.activate():
                    self._release(time.monotonic() + self.stop_timeout)
            finally:
                self._running = False
                self._stopping = False
            raise
        signals.service_started.send(self)
        return self

    def stop(self) -> "Service":
        """Stop and release everything owned; idempotent. When it returns,
        every owned greenlet has exited (or is reported as a straggler)."""
        return self._stop(None)

    def _stop(self, deadline: Optional[float]) -> "Service":
        if getcurrent() is not self._supervisor:
            self._cancel_supervisor()
        if not self._running or self._stopping:
            return self
        own_deadline = time.monotonic() + self.stop_timeout
        deadline = own_deadline if deadline is None else min(deadline, own_deadline)
        self._stopping = True
        scope = self._scope or current_scope()
        try:
            with scope.activate():
                self._run_on_stop(deadline)
                self._release(deadline)
        finally:
            self._running = False
            self._stopping = False
        signals.service_stopped.send(self)
        return self

    def _run_on_stop(self, deadline: float) -> None:
        budget = max(0.0, deadline - time.monotonic())
        timer = gevent.Timeout(budget)
        timer.start()
        try:
            self.on_stop()
        except gevent.Timeout as exc:
            if exc is not timer:
                raise
            self._report_straggler(f"on_stop() still running after {budget:.2f}s; cut off")
        except Exception:
            logger.exception("Service %r: on_stop() raised; teardown continues", self.name)
        finally:
            timer.close()

    def _release(self, deadline: float) -> None:
        """Kill+join owned greenlets, then unwind the ownership stack LIFO."""
        current = getcurrent()
        live = [g for g in self._greenlets if not g.dead and g is not current]
        if live:
            with gevent.Timeout(max(0.01, deadline - time.monotonic()), False):
                gevent.killall(live, block=True)
            for glet in live:
                if not glet.dead:
                    self._report_straggler(f"greenlet {self._label(glet)} ignored kill; still alive")
        self._greenlets.clear()
        self._timers.clear()
        while self._stack:
            kind, item = self._stack.pop()
            try:
                if kind == "child":
                    item._stop(deadline)
                else:
                    item()
            except Exception:
                logger.exception("Service %r: releasing %r raised; the rest is still released",
                                 self.name, item)

    def _report_straggler(self, what: str) -> None:
        self._stragglers.append(what)
        del self._stragglers[:-20]
        logger.error("Service %r: %s", self.name, what)

    # ------------------------------------------------------------------ state
    def set_state(self, partial: Dict[str, Any]) -> None:
        """Merge ``partial`` into ``state`` and notify subscribers."""
        if not isinstance(partial, dict):
            raise TypeError(f"Service {self.name!r}: set_state() needs a dict, got {type(partial).__name__}.")
        self.state.update(partial)
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
                  owner: Optional[Any] = None) -> Callable[[], None]:
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
        if not self._running or self._stopping or self._scope is None:
            state = "stopping" if self._stopping else "not running"
            raise RuntimeError(
                f"Service {self.name!r} is {state}: {what} would start work nobody owns. "
                "Call it from on_start() or after start()."
            )
        return self._scope

    def _track(self, glet: Greenlet) -> Greenlet:
        self._greenlets.add(glet)
        glet.rawlink(self._greenlets.discard)
        return glet

    @staticmethod
    def _label(glet: Greenlet) -> str:
        return getattr(glet, "spoc_label", None) or repr(glet)

    def spawn(self, callback: Callable[..., R], *args: Any, label: Optional[str] = None,
              **kwargs: Any) -> Greenlet:
        """Run ``callback(*args, **kwargs)`` in an owned greenlet.

        An uncaught exception is handled by the ``supervision`` policy.
        """
        scope = self._require_running("spawn()")
        _check_callable(callback, "spawn()", self.name)
        glet = Greenlet(self._run_supervised, scope, label or getattr(callback, "__name__", "task"),
                        callback, args, kwargs)
        glet.spoc_label = f"{self.name}:{label or getattr(callback, '__name__', 'task')}"
        self._track(glet).start()
        return glet

    def spawn_later(self, seconds: float, callback: Callable[..., R], *args: Any,
                    label: Optional[str] = None, **kwargs: Any) -> Greenlet:
        """Like :meth:`spawn`, after ``seconds``."""
        scope = self._require_running("spawn_later()")
        _check_callable(callback, "spawn_later()", self.name)
        delay = _check_seconds(seconds, "spawn_later()", self.name, allow_zero=True)
        glet = Greenlet(self._run_supervised, scope, label or getattr(callback, "__name__", "task"),
                        callback, args, kwargs)
        glet.spoc_label = f"{self.name}:{label or getattr(callback, '__name__', 'task')}"
        self._track(glet).start_later(delay)
        return glet

    def _run_supervised(self, scope: Scope, label: str, callback: Callable[..., Any],
                        args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Any:
        with scope.activate():
            try:
                return callback(*args, **kwargs)
            except GreenletExit:
                raise
            except Exception as exc:
                self._crashed(exc, label)
                return None

    def interval(self, callback: Callable[[], Any], seconds: float) -> str:
        """Call ``callback()`` every ``seconds`` (drift-free); returns an id for
        :meth:`cancel_interval`. A raising callback is logged; the loop goes on."""
        scope = self._require_running("interval()")
        _check_callable(callback, "interval()", self.name)
        period = _check_seconds(seconds, "interval()", self.name, allow_zero=False)
        timer_id = f"interval_{next(self._ids)}"
        glet = Greenlet(self._run_interval, scope, timer_id, callback, period)
        glet.spoc_label = f"{self.name}:{timer_id}"
        self._timers[timer_id] = glet
        self._track(glet).start()
        return timer_id

    def _run_interval(self, scope: Scope, timer_id: str, callback: Callable[[], Any],
                      period: float) -> None:
        with scope.activate():
            due = time.monotonic() + period
            while timer_id in self._timers:
                gevent.sleep(max(0.0, due - time.monotonic()))
                if timer_id not in self._timers:
                    return
                try:
                    callback()
                except Exception:
                    logger.exception("Service %r: %s callback %r raised; the interval keeps running",
                                     self.name, timer_id, callback)
                due += period
                now = time.monotonic()
                if due < now:  # fell behind: skip missed ticks instead of bursting
                    due = now + period

    def timeout(self, callback: Callable[[], Any], seconds: float) -> str:
        """Call ``callback()`` once after ``seconds``; returns an id for
        :meth:`cancel_timeout`."""
        scope = self._require_running("timeout()")
        _check_callable(callback, "timeout()", self.name)
        delay = _check_seconds(seconds, "timeout()", self.name, allow_zero=True)
        timer_id = f"timeout_{next(self._ids)}"
        glet = Greenlet(self._run_timeout, scope, timer_id, callback)
        glet.spoc_label = f"{self.name}:{timer_id}"
        self._timers[timer_id] = glet
        self._track(glet).start_later(delay)
        return timer_id

    def _run_timeout(self, scope: Scope, timer_id: str, callback: Callable[[], Any]) -> None:
        with scope.activate():
            try:
                callback()
            except Exception:
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
        self._greenlets.discard(glet)
        return self

    # ------------------------------------------------------------- supervision
    def _crashed(self, exc: BaseException, label: str) -> None:
        self._crashes += 1
        self._last_error = f"{label}: {type(exc).__name__}: {exc}"
        policy = self.supervision
        logger.error("Service %r: greenlet %r crashed (%s: %s); supervision=%r",
                     self.name, label, type(exc).__name__, exc, policy, exc_info=exc)
        signals.service_crashed.send(self, error=exc, label=label, action=policy)
        if policy == "restart":
            self._schedule_restart()
        elif policy == "escalate":
            handler = getattr(self._owner, "_child_crashed", None)
            if callable(handler):
                handler(self, exc)
            else:
                self._give_up(f"escalated crash with no owner to take it: {self._last_error}")

    def _child_crashed(self, child: "Service", exc: BaseException) -> None:
        """A child escalated: treat it as a crash of this service."""
        self._crashed(exc, f"child {child.name!r}")

    def _schedule_restart(self) -> None:
        if self._supervisor is not None and not self._supervisor.dead:
            return  # a restart is already on its way
        if self._restarts is None:
            self._restarts = RestartTracker(self.max_restarts, self.restart_window,
                                            self.restart_backoff, self.max_backoff)
        delay = self._restarts.next_delay()
        if delay is None:
            self._give_up(f"gave up after {self.max_restarts} restarts in {self.restart_window}s; "
                          f"last error: {self._last_error}")
            return
        scope = self._scope or current_scope()
        self._supervisor = Greenlet(scope.wrap(self._restart), delay)
        self._supervisor.spoc_label = f"{self.name}:supervisor"
        self._supervisor.start()

    def _restart(self, delay: float) -> None:
        logger.warning("Service %r: restarting in %.2fs (restart %d)", self.name, delay,
                       self._restarts.total if self._restarts else 0)
        self._stop(None)
        gevent.sleep(delay)
        try:
            self.start()
        except Exception as exc:
            self._crashed(exc, "restart")

    def _give_up(self, reason: str) -> None:
        logger.error("Service %r: %s; stopping it", self.name, reason)
        self._failed = reason
        scope = self._scope or current_scope()
        # stop from outside the crashing greenlet so it can be joined too
        self._supervisor = Greenlet(scope.wrap(self._stop), None)
        self._supervisor.spoc_label = f"{self.name}:give-up"
        self._supervisor.start()

    def _cancel_supervisor(self) -> None:
        sup = self._supervisor
        if sup is not None and not sup.dead and sup is not getcurrent():
            sup.kill(block=True)
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
        self._stack.append(("cleanup", self.scope.bus.on(event, handler)))
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
            self._stack.append(("child", child))
        if start and not child.running:
            child.start()
        return self

    def own(self, resource: Optional[R], stop_method: Optional[str] = None) -> Optional[R]:
        """Release ``resource`` when this service stops; returns it.

        Services are adopted without being started; anything else is released
        with ``stop_method`` or the first of stop/teardown/destroy/close/kill.
        """
        if resource is None:
            return None
        if isinstance(resource, Service) and stop_method is None:
            self.adopt(resource, start=False)
            return resource
        self._stack.append(("cleanup", resolve_cleanup(resource, stop_method)))
        return resource

    def add_cleanup(self, fn: Callable[[], Any]) -> "Service":
        """Run ``fn()`` when this service stops (LIFO with everything owned)."""
        _check_callable(fn, "add_cleanup()", self.name)
        self._stack.append(("cleanup", fn))
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
        return offload_pool(self).run(fn, *args, **kwargs)

    # ---------------------------------------------------------------- health
    def health(self) -> Dict[str, Any]:
        """Status and ownership counts. Override and extend ``super().health()``."""
        if self._failed:
            status = "failed"
        elif self._running:
            status = "degraded" if self._stragglers else "ok"
        else:
            status = "stopped"
        report: Dict[str, Any] = {
            "status": status,
            "name": self.name,
            "running": self._running,
            "greenlets": sum(1 for g in self._greenlets if not g.dead),
            "supervision": self.supervision,
            "crashes": self._crashes,
            "restarts": self._restarts.total if self._restarts else 0,
            "last_error": self._last_error,
        }
        if self._failed:
            report["failed"] = self._failed
        if self._stragglers:
            report["stragglers"] = list(self._stragglers)
        return report

    def tree(self) -> Dict[str, Any]:
        """The ownership tree below this service (for health pages and the CLI)."""
        return {
            "name": self.name,
            "type": type(self).__name__,
            "running": self._running,
            "greenlets": sorted(self._label(g) for g in self._greenlets if not g.dead),
            "owned": [item.tree() if kind == "child" else getattr(item, "__qualname__", repr(item))
                      for kind, item in self._stack],
        }

    def live_greenlets(self) -> List[Greenlet]:
        """Owned greenlets that have not exited yet."""
        return [g for g in self._greenlets if not g.dead]

    def __repr__(self) -> str:
        state = "running" if self._running else "stopped"
        return f"<{type(self).__name__} {self.name!r} {state}>"

