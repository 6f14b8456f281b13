"""SPOC's workers (``spoc.workers``) on greenlets and owned child processes.

The contract is SPOC's: subclass, call ``super().__init__(name=..., daemon=...)``,
override ``setup()``, ``main()`` (looping ``while self.is_running:``),
``teardown()`` and ``lifecycle(event_type, **data)`` (called with
``"startup"``, ``"shutdown"`` and ``"error"``, ``exception=...``); keep state
on ``self.context``. A :class:`Server` starts, stops and joins them.

What runs where, and why:

- :class:`ThreadWorker`: ``lifecycle("startup")``, ``setup``, ``main``,
  ``teardown``, ``lifecycle("shutdown")`` run in one greenlet owned by a
  :class:`~specter_spoc.Service` (no OS thread). ``stop()`` sets
  ``is_running`` to False *and* interrupts the wait the loop is in (its
  ``time.sleep(60)`` ends at once with ``GreenletExit``), so shutdown never
  waits out a sleep; ``teardown`` still runs. The process must be
  monkey-patched (``import specter_spoc.spoc`` does it in a script); a worker
  refuses to start on the standard library's ``time.sleep`` (or a
  ``from time import sleep`` taken before patching), which would freeze
  every greenlet.
- :class:`ProcessWorker`: ``lifecycle("startup")`` and ``setup`` run in the
  parent, then ``main`` runs in a forked child process (it sees a copy of
  ``self.context``, as a SPOC child does), owned by a Service that reaps it;
  ``teardown`` and ``lifecycle("shutdown")`` run in the parent once the child
  has exited, with the parent's ``context``. ``stop()`` sends the child
  SIGTERM, which ends ``main`` (also inside ``time.sleep``); ``join(timeout)``
  kills it (SIGKILL) when the timeout runs out. No child outlives ``join``,
  nor the parent: children still running at interpreter exit are killed,
  and a child whose parent died (even by SIGKILL) stops itself soon after
  (a thread in it checks every half second whether it was re-parented).
  The child runs ``main`` with the standard library's blocking ``time.sleep``
  and a fresh gevent hub: none of the parent's greenlets run in it.

``Server.stop()`` + ``Server.join_all(2)`` returns well within the 2 s
(SPOC 0.3.9 waits out each worker's sleep: 300 s for the blog platform's
indexer). ``Server.run_forever()`` stops on SIGINT/SIGTERM.
"""
from __future__ import annotations

import atexit
import logging
import os
import signal
import sys
import time
import traceback
from types import FrameType, SimpleNamespace
from typing import Any, Callable, Dict, List, Optional, Union

import gevent
import gevent.os
from gevent import GreenletExit
from gevent.event import Event

from ..lifecycle.service import Service
from ..typing import AnyGreenlet
from ._gevent import require_cooperative_sleep

logger: logging.Logger = logging.getLogger("specter_spoc.spoc")

#: what signal.getsignal() returns and signal.signal() takes back at restore
_SignalHandler = Union[Callable[[int, Optional[FrameType]], Any], int, signal.Handlers, None]

#: seconds join() gives a worker that ignored stop() before it is killed
KILL_GRACE = 0.5
#: seconds ProcessWorker.start() waits for its child to reach main()
CHILD_READY_TIMEOUT = 5.0


class WorkerError(RuntimeError):
    """A worker failed outside ``main`` (a ProcessWorker's child exited badly)."""


class _WorkerStop(BaseException):
    """Raised in a ProcessWorker's child by SIGTERM/SIGINT to end ``main``."""


class _Owner(Service):
    """The Service a worker runs under: owns its greenlet or child process."""

    stop_timeout = 2.0

    def __init__(self, worker: "AbstractWorker") -> None:
        super().__init__(f"spoc-worker:{worker.name}")
        self.worker = worker

    def on_start(self) -> None:
        self.worker._launch(self)

    def health(self) -> Dict[str, Any]:
        report = super().health()
        report["worker"] = type(self.worker).__name__
        return report


class AbstractWorker:
    """Common part of :class:`ThreadWorker` and :class:`ProcessWorker`."""

    def __init__(self, name: str = "Worker", daemon: bool = True) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"worker name must be a non-empty str, got {name!r}.")
        self.name = name
        self.daemon = daemon
        self.context: SimpleNamespace = SimpleNamespace()
        self._stop_requested = False
        self._owner: Optional[_Owner] = None
        self._finished = Event()
        self._finished.set()  # not started: nothing to wait for

    # -------------------------------------------------------- SPOC contract
    @property
    def is_running(self) -> bool:
        """False once :meth:`stop` was called (what ``main``'s loop checks)."""
        return not self._stop_requested

    def setup(self) -> None:
        """Prepare before ``main`` (override)."""

    def main(self) -> Any:
        """The work loop: ``while self.is_running: ...`` (override)."""
        raise NotImplementedError(f"{type(self).__name__} must define main()")

    def teardown(self) -> None:
        """Clean up after ``main`` (override)."""

    def lifecycle(self, event_type: str, **data: Any) -> None:
        """Called with ``"startup"``, ``"shutdown"`` and ``"error"`` (override)."""

    # ------------------------------------------------------------- control
    @property
    def alive(self) -> bool:
        """True between :meth:`start` and the end of ``teardown``."""
        return not self._finished.is_set()

    def start(self) -> None:
        """Start the worker (once; a second call while it runs is ignored)."""
        if self.alive:
            return
        self._stop_requested = False
        self._finished.clear()
        self._owner = _Owner(self)
        try:
            self._owner.start()
        except BaseException:
            self._finished.set()
            self._owner = None
            raise

    def stop(self) -> None:
        """Ask the worker to stop: ``is_running`` turns False and the wait
        ``main`` is in is interrupted. Returns at once; :meth:`join` waits."""
        self._stop_requested = True
        self._interrupt()

    def join(self, timeout: Optional[float] = None) -> None:
        """Wait until the worker finished (teardown included), at most
        ``timeout`` seconds; then force it (kill) so nothing is left running."""
        self._finished.wait(timeout)
        owner = self._owner
        if owner is not None and (not self._finished.is_set() or owner.running):
            if not self._finished.is_set():
                logger.warning("worker %r did not finish within %ss of stop(); killing it", self.name, timeout)
                self._stop_requested = True
                self._force()
            owner.stop()
        if self._finished.is_set():
            self._owner = None

    # ----------------------------------------------------------- internals
    def _emit(self, event_type: str, **data: Any) -> None:
        try:
            self.lifecycle(event_type, **data)
        except Exception:
            logger.exception("worker %r: lifecycle(%r) raised", self.name, event_type)

    def _finish(self) -> None:
        """SPOC's end of a run, for both kinds: ``teardown()`` (an error in
        it is reported, not raised), ``lifecycle("shutdown")``, then done."""
        try:
            self.teardown()
        except Exception as exc:
            self._emit("error", exception=exc)
        self._emit("shutdown")
        self._finished.set()

    def _launch(self, owner: _Owner) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _interrupt(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _force(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class ThreadWorker(AbstractWorker):
    """A SPOC thread worker whose whole run is one owned greenlet."""

    def __init__(self, name: str = "ThreadWorker", daemon: bool = True) -> None:
        super().__init__(name, daemon)
        self._greenlet: Optional[AnyGreenlet] = None

    def start(self) -> None:
        require_cooperative_sleep(self.name, type(self))
        super().start()
        gevent.sleep(0)  # let it run up to its first wait, as a new thread would

    def _launch(self, owner: _Owner) -> None:
        self._greenlet = owner.spawn(self._run, label=f"{self.name}.main")

    def _run(self) -> None:
        self._emit("startup")
        try:
            self.setup()
            self.main()
        except (GreenletExit, KeyboardInterrupt):
            pass
        except Exception as exc:
            self._emit("error", exception=exc)
        finally:
            self._finish()

    def _interrupt(self) -> None:
        glet = self._greenlet
        if glet is not None and not glet.dead and glet is not gevent.getcurrent():
            glet.kill(block=False)

    def _force(self) -> None:
        glet = self._greenlet
        if glet is not None and not glet.dead:
            glet.kill(block=True, timeout=KILL_GRACE)
        self._finished.set()


class ProcessWorker(AbstractWorker):
    """A SPOC process worker: ``main`` in a forked child, the rest in the parent."""

    def __init__(self, name: str = "ProcessWorker", daemon: bool = True) -> None:
        super().__init__(name, daemon)
        #: pid of the child running ``main`` (None before start / after it was reaped)
        self.pid: Optional[int] = None
        self.exitcode: Optional[int] = None

    def _launch(self, owner: _Owner) -> None:
        self._emit("startup")
        try:
            self.setup()
        except Exception as exc:
            self._emit("error", exception=exc)
            self._finish_in_parent()
            return
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()  # or the child would print the parent's buffered text again
            except Exception:
                pass
        ready_r, ready_w = os.pipe()
        parent = os.getpid()
        pid = gevent.os.fork_and_watch()
        if pid == 0:  # pragma: no cover - runs in the child (covered by subprocess tests)
            os.close(ready_r)
            _run_child(self, ready_w, parent)
        os.close(ready_w)
        self.pid = pid
        _LIVE_CHILDREN[pid] = self
        owner.add_cleanup(self._force)
        owner.spawn(self._reap, pid, label=f"{self.name}.reaper")
        # return once the child is about to run main(), as a started thread would be
        gevent.os.make_nonblocking(ready_r)
        try:
            # exception=False: the timeout ends the block silently (gevent documents it; its stubs omit it)
            with gevent.Timeout(CHILD_READY_TIMEOUT, False):  # type: ignore[arg-type]
                gevent.os.nb_read(ready_r, 1)
        finally:
            os.close(ready_r)

    def _reap(self, pid: int) -> None:
        try:
            _, status = gevent.os.waitpid(pid, 0)
            self.exitcode = os.waitstatus_to_exitcode(status)
        except ChildProcessError:
            self.exitcode = None
        finally:
            _LIVE_CHILDREN.pop(pid, None)
            self.pid = None
            self._finish_in_parent()

    def _finish_in_parent(self) -> None:
        if self.exitcode not in (None, 0) and not self._stop_requested:
            self._emit("error", exception=WorkerError(
                f"process worker {self.name!r}: its child exited with status {self.exitcode} "
                "(see the traceback it printed above)."))
        self._finish()

    def _signal(self, signum: int) -> None:
        if self.pid is not None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass

    def _interrupt(self) -> None:
        self._signal(signal.SIGTERM)

    def _force(self) -> None:
        if self.pid is None:
            return
        self._signal(signal.SIGKILL)
        self._finished.wait(KILL_GRACE)


#: pid -> worker of every child still running; killed at interpreter exit so a
#: script that never joins its server leaves no orphan behind
_LIVE_CHILDREN: Dict[int, ProcessWorker] = {}


@atexit.register
def _kill_live_children() -> None:
    for pid in list(_LIVE_CHILDREN):
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
    _LIVE_CHILDREN.clear()


#: seconds between a child's checks that its parent is still alive
PARENT_CHECK_INTERVAL = 0.5


def _die_with_parent(parent: int) -> None:  # pragma: no cover - runs in the child
    """SIGTERM this child once its parent is gone, however the parent died
    (SIGKILL included): a thread notices the child was re-parented."""
    from gevent import monkey

    start_thread = monkey.get_original("_thread", "start_new_thread")
    sleep = monkey.get_original("time", "sleep")

    def watch() -> None:
        while os.getppid() == parent:
            sleep(PARENT_CHECK_INTERVAL)
        os.kill(os.getpid(), signal.SIGTERM)

    start_thread(watch, ())


def _run_child(worker: ProcessWorker, ready_fd: int, parent: int) -> None:  # pragma: no cover - child
    """Body of the forked child: run ``main`` and exit without returning."""
    code = 0
    try:
        _become_plain_process()
        worker._stop_requested = False

        def on_signal(signum: int, frame: Optional[FrameType]) -> None:
            worker._stop_requested = True
            raise _WorkerStop()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        _die_with_parent(parent)
        os.write(ready_fd, b"1")
        os.close(ready_fd)
        try:
            worker.main()
        except (_WorkerStop, KeyboardInterrupt):
            pass
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _become_plain_process() -> None:  # pragma: no cover - runs in the child
    """Leave the parent's greenlets behind: a fresh hub, blocking time.sleep,
    line-buffered output (a killed child loses no printed line)."""
    from gevent import monkey

    try:
        gevent.get_hub().destroy(destroy_loop=True)
    except Exception:
        pass
    original_sleep = monkey.get_original("time", "sleep")
    time.sleep = original_sleep
    for stream in (sys.stdout, sys.stderr):
        reconfigure: Optional[Callable[..., Any]] = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:  # whole lines per write: a line never interleaves with the parent's output
                reconfigure(line_buffering=True, write_through=False)
            except Exception:
                pass


class Server:
    """Starts, stops and joins a group of workers (SPOC's ``Server``).

    ``Server(name)`` installs SIGINT/SIGTERM handlers that call :meth:`stop`
    (restored once :meth:`join_all` has seen every worker finish).

    Example::

        server = Server("jobs")
        server.add_worker(EmailWorker())
        server.start()
        ...
        server.stop()
        server.join_all(timeout=2)    # teardowns ran, no child process left
    """

    def __init__(self, name: str = "Server") -> None:
        self.name = name
        self._workers: List[AbstractWorker] = []
        self._stopped = Event()
        self._previous_handlers: Dict[int, _SignalHandler] = {}
        self._install_signals()

    @property
    def workers(self) -> List[AbstractWorker]:
        return list(self._workers)

    def add_worker(self, worker: AbstractWorker) -> None:
        if not isinstance(worker, AbstractWorker):
            raise TypeError(f"Server.add_worker() takes a ThreadWorker or ProcessWorker, got {worker!r}.")
        self._workers.append(worker)

    def start(self) -> None:
        """Start every worker, in the order added. If one fails to start, the
        ones already started are stopped and joined, then the error is raised."""
        self._stopped.clear()
        started: List[AbstractWorker] = []
        for worker in self._workers:
            try:
                worker.start()
            except BaseException:
                for done in reversed(started):
                    done.stop()
                for done in reversed(started):
                    done.join(2.0)
                raise
            started.append(worker)

    def stop(self) -> None:
        """Ask every worker to stop (returns at once; :meth:`join_all` waits)."""
        for worker in self._workers:
            worker.stop()
        self._stopped.set()

    def join_all(self, timeout: float = 5) -> None:
        """Wait for every worker, sharing ``timeout`` seconds; a worker still
        running when its share is gone is killed, so none is left behind."""
        deadline = time.monotonic() + max(0.0, float(timeout))
        for worker in self._workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        if not any(w.alive for w in self._workers):
            self._restore_signals()

    def run_forever(self) -> None:
        """Start the workers and run until SIGINT/SIGTERM (or :meth:`stop`)."""
        self._install_signals()
        self.start()
        try:
            self._stopped.wait()
        finally:
            self.stop()
            self.join_all()

    # ------------------------------------------------------------ signals
    def _install_signals(self) -> None:
        import threading

        if threading.current_thread() is not threading.main_thread() or self._previous_handlers:
            return
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous_handlers[signum] = signal.getsignal(signum)
            signal.signal(signum, self._on_signal)

    def _on_signal(self, signum: int, frame: Optional[FrameType]) -> None:
        logger.warning("server %r: %s received; stopping its workers", self.name, signal.Signals(signum).name)
        gevent.get_hub().loop.run_callback(self.stop)

    def _restore_signals(self) -> None:
        for signum, previous in self._previous_handlers.items():
            if signal.getsignal(signum) == self._on_signal:
                signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
        self._previous_handlers.clear()


__all__ = ["AbstractWorker", "ProcessWorker", "Server", "ThreadWorker", "WorkerError"]
