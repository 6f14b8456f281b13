"""What makes runtimes shut down: atexit, SIGTERM, gunicorn worker exit.

Signals and atexit are process-wide, so the triggers are installed once per
process (by the first runtime that boots), shut down *every* booted runtime
(newest first), and are removed again when the last runtime is gone,
leaving the process as it found it.

- **gunicorn worker** (``-k geventwebsocket...GeventWebSocketWorker`` or
  ``-k gevent``): gunicorn installs its SIGTERM handler before it loads the
  app, so ours is chained in front: shut the runtimes down (clients get
  their final event while the listener still serves), then call gunicorn's
  handler so the worker stops. Without that, open websockets keep the worker
  busy until ``graceful_timeout``.
- **plain process** (``socketio.run(app)``, ``serve()``, a script): if
  SIGTERM still has its default action, it becomes: shut down, then
  ``SystemExit(0)`` in the main greenlet, so servers unwind and atexit runs.
- **atexit**: shut down whatever is still running at interpreter exit.
- **gunicorn --preload**: booting in the master, before fork, would start
  greenlets that the forked workers inherit half-alive: refused.

The runtimes are duck-typed (anything with ``shutdown()`` and ``booted``):
this module is process code and knows nothing of Flask.
"""
from __future__ import annotations

import atexit
import logging
import signal
import sys
import threading
import weakref
from types import FrameType
from typing import Any, Callable, List, Optional, Protocol

import gevent
import greenlet

__all__ = ["gunicorn_role", "PRELOAD_MESSAGE", "ProcessTriggers", "triggers"]

logger: logging.Logger = logging.getLogger("specter_spoc.runtime")


class ShutdownTarget(Protocol):
    """What the process triggers shut down: a Runtime (named by shape, since
    the runtime sits above this layer)."""

    @property
    def name(self) -> str: ...

    @property
    def booted(self) -> bool: ...

    def shutdown(self) -> object: ...


def gunicorn_role() -> Optional[str]:
    """'master' when called while gunicorn's arbiter loads the app (--preload),
    'worker' inside a worker's app loading, None outside gunicorn."""
    if "gunicorn.arbiter" not in sys.modules:
        return None
    in_arbiter = in_worker = False
    frame: Optional[FrameType] = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename.replace("\\", "/")
        if "/gunicorn/workers/" in filename:
            in_worker = True
        elif filename.endswith("/gunicorn/arbiter.py"):
            in_arbiter = True
        frame = frame.f_back
    if in_worker:
        return "worker"
    return "master" if in_arbiter else None


PRELOAD_MESSAGE = (
    "specter_spoc refuses to boot in the gunicorn master process (--preload): greenlets started "
    "before fork would be copied half-alive into every worker. Remove --preload so each worker calls "
    "your app factory (boot() runs once per worker), e.g. "
    "gunicorn -k geventwebsocket.gunicorn.workers.GeventWebSocketWorker -w 1 'pkg:create_app()'."
)


def _main_greenlet() -> Any:
    main = greenlet.getcurrent()
    while main.parent is not None:
        main = main.parent
    return main


class ProcessTriggers:
    """The process's teardown triggers and the runtimes they shut down."""

    def __init__(self) -> None:
        self._runtimes: List["weakref.ref[ShutdownTarget]"] = []
        self._undo: List[Callable[[], None]] = []
        self._signal_undo: Optional[Callable[[], None]] = None

    # ------------------------------------------------------------ runtimes
    def add(self, runtime: ShutdownTarget, *, signals: Optional[bool] = None) -> None:
        """Shut ``runtime`` down on the process's triggers. ``signals``:
        None installs the SIGTERM trigger when SIGTERM has its default action
        (or inside a gunicorn worker), True always, False never."""
        self._runtimes.append(weakref.ref(runtime))
        if not self._undo:
            self._install_atexit()
        if signals is not False and self._signal_undo is None:
            self._install_sigterm(force=bool(signals))

    def remove(self, runtime: ShutdownTarget) -> None:
        self._runtimes = [ref for ref in self._runtimes if ref() is not None and ref() is not runtime]
        if not self._runtimes:
            self.uninstall()

    def live(self) -> List[ShutdownTarget]:
        """Booted runtimes, newest first."""
        found = [ref() for ref in reversed(self._runtimes)]
        return [rt for rt in found if rt is not None and rt.booted]

    def shutdown_all(self, reason: str) -> None:
        """Shut every booted runtime down, newest first; never raises."""
        for runtime in self.live():
            logger.warning("%s: shutting down runtime %r", reason, runtime.name)
            try:
                runtime.shutdown()
            except BaseException:  # noqa: B036 - a trigger must reach every runtime
                logger.exception("shutting down runtime %r raised", runtime.name)

    # ------------------------------------------------------------- install
    def _install_atexit(self) -> None:
        def at_exit() -> None:
            self.shutdown_all("interpreter exit")

        atexit.register(at_exit)
        self._undo.append(lambda: atexit.unregister(at_exit))

    def _install_sigterm(self, *, force: bool) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        if gunicorn_role() == "worker":
            self._signal_undo = self._chain_sigterm()
        elif force or signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
            self._signal_undo = self._own_signal(signal.SIGTERM)

    def _chain_sigterm(self) -> Callable[[], None]:
        previous = signal.getsignal(signal.SIGTERM)

        def on_sigterm(signum: int, frame: Any) -> None:
            def shutdown_then_gunicorn() -> None:
                # gunicorn's own handler only marks the worker not alive, after
                # which it closes keep-alive connections and then its listener:
                # long-polling clients could no longer fetch the final event.
                try:
                    self.shutdown_all("SIGTERM")
                finally:
                    if callable(previous):
                        previous(signum, frame)
            gevent.spawn(shutdown_then_gunicorn)

        signal.signal(signal.SIGTERM, on_sigterm)

        def restore() -> None:
            if signal.getsignal(signal.SIGTERM) is on_sigterm:
                signal.signal(signal.SIGTERM, previous)

        return restore

    def _own_signal(self, signum: int) -> Callable[[], None]:
        main = _main_greenlet()
        name = signal.Signals(signum).name

        def on_signal() -> None:
            def run() -> None:
                self.shutdown_all(name)
                gevent.kill(main, SystemExit(0))  # servers in the main greenlet unwind; atexit runs
            gevent.spawn(run)

        watcher = gevent.signal_handler(signum, on_signal)
        cancel: Callable[[], None] = watcher.cancel
        return cancel

    def suspend_signals(self) -> Callable[[], None]:
        """Remove the SIGTERM trigger while a serve loop handles signals
        itself; returns the function that puts it back."""
        undo, self._signal_undo = self._signal_undo, None
        if undo is None:
            return lambda: None
        undo()

        def resume() -> None:
            if self._runtimes and self._signal_undo is None:
                self._install_sigterm(force=True)
        return resume

    def uninstall(self) -> None:
        undo_signal, self._signal_undo = self._signal_undo, None
        if undo_signal is not None:
            try:
                undo_signal()
            except Exception:
                logger.debug("removing the SIGTERM trigger failed", exc_info=True)
        while self._undo:
            undo = self._undo.pop()
            try:
                undo()
            except Exception:
                logger.debug("undoing a teardown trigger failed", exc_info=True)


#: the process's triggers (signals and atexit are process-wide by nature)
triggers: ProcessTriggers = ProcessTriggers()
