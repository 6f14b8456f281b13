"""What makes a runtime shut down: atexit, signals, gunicorn worker exit.

Why this is its own module: each trigger touches process-wide machinery
(atexit, signal handlers), so each one is installed per runtime, remembered,
and removed again at shutdown, leaving the process as it found it.

- **gunicorn worker** (``-k geventwebsocket...GeventWebSocketWorker`` or
  ``-k gevent``): gunicorn installs its SIGTERM handler before it loads the
  app, so we chain ours in front: shut the runtime down (which disconnects
  Socket.IO clients), then call gunicorn's handler so the worker stops.
  Without that, open websockets keep the worker busy until
  ``graceful_timeout``.
- **plain process** (``socketio.run(app)``, a script): if SIGTERM still has
  its default action, it becomes: shut down, then ``SystemExit`` in the main
  greenlet, so servers unwind normally and atexit runs.
- **atexit**: shut down whatever is still running at interpreter exit.
- **gunicorn --preload**: booting in the master, before fork, would start
  greenlets that the forked workers inherit half-alive: refused.
"""
from __future__ import annotations

import atexit
import logging
import signal
import sys
import threading
import weakref
from typing import Any, Callable, List, Optional

import gevent
import greenlet

logger = logging.getLogger("specter_spoc.runtime")


def gunicorn_role() -> Optional[str]:
    """'master' when called while gunicorn's arbiter loads the app (--preload),
    'worker' inside a worker's app loading, None outside gunicorn."""
    if "gunicorn.arbiter" not in sys.modules:
        return None
    in_arbiter = in_worker = False
    frame = sys._getframe(1)
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


class Triggers:
    """The teardown triggers installed for one runtime."""

    def __init__(self, runtime: Any) -> None:
        self._runtime_ref = weakref.ref(runtime)
        self._undo: List[Callable[[], None]] = []

    def _shutdown_from_signal(self, signum: int) -> None:
        runtime = self._runtime_ref()
        if runtime is not None:
            logger.warning("signal %s: shutting down runtime %r", signal.Signals(signum).name, runtime.name)
            runtime.shutdown()

    def install(self, *, signals: Optional[bool]) -> None:
        self._install_atexit()
        if signals is False or threading.current_thread() is not threading.main_thread():
            return
        role = gunicorn_role()
        if role == "worker":
            self._chain_sigterm()
        elif signals or signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
            self._own_sigterm()

    def _install_atexit(self) -> None:
        ref = self._runtime_ref

        def at_exit() -> None:
            runtime = ref()
            if runtime is not None and runtime.booted:
                runtime.shutdown()

        atexit.register(at_exit)
        self._undo.append(lambda: atexit.unregister(at_exit))

    def _chain_sigterm(self) -> None:
        previous = signal.getsignal(signal.SIGTERM)

        def on_sigterm(signum: int, frame: Any) -> None:
            def shutdown_then_gunicorn() -> None:
                # gunicorn's own handler only marks the worker not alive, after
                # which it closes keep-alive connections and then its listener:
                # long-polling clients could no longer fetch the final event.
                # So shut down first (routes answer 503 meanwhile), then hand over.
                try:
                    self._shutdown_from_signal(signum)
                finally:
                    if callable(previous):
                        previous(signum, frame)
            gevent.spawn(shutdown_then_gunicorn)

        signal.signal(signal.SIGTERM, on_sigterm)

        def restore() -> None:
            if signal.getsignal(signal.SIGTERM) is on_sigterm:
                signal.signal(signal.SIGTERM, previous)

        self._undo.append(restore)

    def _own_sigterm(self) -> None:
        main = greenlet.getcurrent()
        while main.parent is not None:
            main = main.parent

        def on_sigterm() -> None:
            def run() -> None:
                self._shutdown_from_signal(signal.SIGTERM)
                gevent.kill(main, SystemExit(0), block=False)
            gevent.spawn(run)

        watcher = gevent.signal_handler(signal.SIGTERM, on_sigterm)
        self._undo.append(watcher.cancel)

    def uninstall(self) -> None:
        while self._undo:
            undo = self._undo.pop()
            try:
                undo()
            except Exception:
                logger.debug("undoing a teardown trigger failed", exc_info=True)

