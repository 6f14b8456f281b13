"""Run CPU-bound functions in worker processes without blocking the gevent hub.

A greenlet that computes for two seconds freezes every other greenlet (HTTP,
Socket.IO, timers) for two seconds. :class:`ProcessPool` runs the function
in a separate Python process instead and *waits cooperatively* on a pipe, so
the hub keeps serving. This is what SPOC's ``ProcessWorker`` was for.

Why not ``concurrent.futures.ProcessPoolExecutor``? It relies on threads
and multiprocessing queues, which are fragile under gevent monkey-patching
(deadlocks at fork, a blocked hub while it waits). Here a worker is a plain
child started with ``gevent.subprocess`` that exchanges length-prefixed
pickles over its stdin/stdout: every wait is a gevent wait.

Rules:

- the function must be picklable by reference: a module-level function (or
  class, builtin, ``functools.partial`` of one) in an importable module, not a
  lambda, a nested function or something defined in ``__main__``;
  otherwise :class:`TypeError` names it before anything is started;
- arguments and the return value must be picklable;
- an exception raised in the child is re-raised in the caller, same type when
  it can be pickled (else :class:`OffloadError`), with the child's traceback
  attached as a note and as ``exc.remote_traceback``;
- the pool is owned: :func:`offload_pool` creates it lazily for a service and
  stops it when the service stops: no child process, no zombie is left.
"""
from __future__ import annotations

import logging
import os
import pickle
import struct
import sys
from contextvars import ContextVar
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from .._validate import check_int, check_seconds

from gevent import subprocess as gsubprocess
from gevent.lock import Semaphore

from ..typing import CleanupOwner

__all__ = ["OffloadError", "ProcessPool", "bind_offload_owner", "offload", "offload_pool"]

logger: logging.Logger = logging.getLogger("specter_spoc.offload")

_HEADER = struct.Struct(">Q")
_WORKER_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_offload_worker.py")
# run the worker by path so the child does not import this package (or Flask)
_BOOTSTRAP = "import runpy, sys; runpy.run_path(sys.argv[1], run_name='__main__')"
_POOL_ATTR = "_spoc_offload_pool"

#: the service whose pool ``offload()`` uses in the current greenlet
_owner: ContextVar[Optional[CleanupOwner]] = ContextVar("specter_spoc.offload_owner", default=None)


class OffloadError(RuntimeError):
    """A function run in a worker process failed in a way that cannot be
    re-raised as its own exception (unpicklable exception, worker died, pool
    closed). ``remote_traceback`` holds the child's traceback when known."""

    def __init__(self, message: str, remote_traceback: Optional[str] = None) -> None:
        super().__init__(message)
        self.remote_traceback = remote_traceback


def _describe(fn: Any) -> str:
    module = getattr(fn, "__module__", None) or "?"
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)
    return f"{module}.{name}"


def _encode_call(fn: Callable[..., Any], args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> bytes:
    if not callable(fn):
        raise TypeError(f"offload(): fn must be callable, got {type(fn).__name__}: {fn!r}.")
    target = getattr(fn, "func", fn)  # functools.partial
    if getattr(target, "__module__", None) == "__main__":
        raise TypeError(
            f"offload(): {_describe(target)} is defined in __main__, which the worker process "
            "cannot import. Move it into an importable module."
        )
    try:
        pickle.dumps(fn, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        raise TypeError(
            f"offload(): {_describe(fn)} cannot be sent to a worker process ({exc}). Only "
            "module-level functions importable by name work: not lambdas, nested functions "
            "or bound methods of unpicklable objects."
        ) from None
    try:
        body = pickle.dumps(("call", fn, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        raise TypeError(
            f"offload(): the arguments to {_describe(fn)} cannot be pickled ({exc}). "
            "Pass plain data (str, numbers, lists, dicts, picklable objects)."
        ) from None
    return _HEADER.pack(len(body)) + body


class _Worker:
    """One child process and its pipes (used by one caller at a time)."""

    __slots__ = ("proc",)

    def __init__(self, sys_path: List[str]) -> None:
        self.proc = gsubprocess.Popen(
            [sys.executable, "-c", _BOOTSTRAP, _WORKER_PATH],
            stdin=gsubprocess.PIPE, stdout=gsubprocess.PIPE, close_fds=True,
        )
        init = pickle.dumps(("init", sys_path), protocol=pickle.HIGHEST_PROTOCOL)
        self.send(_HEADER.pack(len(init)) + init)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def send(self, frame: bytes) -> None:
        stdin: Any = self.proc.stdin
        stdin.write(frame)
        stdin.flush()

    def receive(self) -> Optional[Tuple[Any, ...]]:
        stdout: Any = self.proc.stdout
        header = stdout.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return None
        size = _HEADER.unpack(header)[0]
        body = stdout.read(size)
        if len(body) < size:
            return None
        reply: Tuple[Any, ...] = pickle.loads(body)
        return reply

    def close(self, timeout: float) -> None:
        """Ask the child to exit (EOF), then kill it; always reap it."""
        proc = self.proc
        try:
            if proc.stdin is not None and not proc.stdin.closed:
                proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=timeout)
        except gsubprocess.TimeoutExpired:
            self.kill()
        finally:
            if proc.stdout is not None:
                try:
                    proc.stdout.close()
                except OSError:
                    pass

    def kill(self, close_streams: bool = True) -> None:
        """SIGKILL and reap. ``close_streams=False`` when another greenlet may
        be reading the pipe: it sees EOF and cleans up itself."""
        proc = self.proc
        if proc.poll() is None:
            try:
                proc.kill()
            except OSError:
                pass
        try:
            proc.wait(timeout=5.0)
        except gsubprocess.TimeoutExpired:  # pragma: no cover - SIGKILL is not ignorable
            logger.error("offload worker pid %s did not exit after SIGKILL", proc.pid)
        if not close_streams:
            return
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass


class ProcessPool:
    """Up to ``size`` worker processes running functions for greenlets.

    Workers start on demand and are reused. :meth:`run` blocks only the
    calling greenlet. Close the pool (or let its owner do it) to stop them.

    Example::

        pool = service.own(ProcessPool(size=2, name="thumbnails"))
        digest = pool.run(hashlib_helpers.slow_digest, data)   # cooperative wait
    """

    def __init__(self, size: Optional[int] = None, *, name: str = "offload",
                 close_timeout: float = 2.0) -> None:
        if size is None:
            size = max(1, min(4, os.cpu_count() or 1))
        size = check_int(size, f"ProcessPool {name!r}: size", 1)
        close_timeout = check_seconds(close_timeout, f"ProcessPool {name!r}: close_timeout")
        self.name = name
        self.size = size
        self.close_timeout: float = float(close_timeout)
        self._slots = Semaphore(size)
        self._idle: List[_Worker] = []
        self._all: Set[_Worker] = set()
        self._closed = False
        self._calls = 0
        self._failures = 0
        self._started = 0

    @property
    def closed(self) -> bool:
        return self._closed

    def pids(self) -> List[int]:
        """Pids of the live worker processes."""
        return sorted(w.proc.pid for w in self._all if w.alive)

    def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call ``fn(*args, **kwargs)`` in a worker process; return its result
        or re-raise its exception. Only the calling greenlet waits."""
        frame = _encode_call(fn, args, kwargs)
        if self._closed:
            raise OffloadError(f"ProcessPool {self.name!r} is closed: its owner stopped. "
                               "Offload from running services only.")
        with self._slots:
            worker = self._checkout()
            try:
                worker.send(frame)
                reply = worker.receive()
            except BaseException:
                # interrupted (killed caller, timeout) or broken pipe: the child
                # may still be computing, so it cannot be reused
                self._discard(worker)
                raise
            if reply is None:
                try:  # EOF usually comes just before the exit status
                    code = worker.proc.wait(timeout=1.0)
                except gsubprocess.TimeoutExpired:
                    code = None
                self._discard(worker)
                self._failures += 1
                raise OffloadError(
                    f"ProcessPool {self.name!r}: the worker process running {_describe(fn)} exited "
                    f"(code {code}) before replying"
                    + (": the pool was closed." if self._closed else ".")
                )
            self._checkin(worker)
        self._calls += 1
        if reply[0] == "ok":
            return reply[1]
        self._failures += 1
        raise _rebuild_error(reply, fn, worker.proc.pid)

    def _checkout(self) -> _Worker:
        if self._closed:
            raise OffloadError(f"ProcessPool {self.name!r} was closed while this call waited for "
                               "a free worker.")
        while self._idle:
            worker = self._idle.pop()
            if worker.alive:
                return worker
            self._discard(worker)
        worker = _Worker(list(sys.path))
        self._all.add(worker)
        self._started += 1
        return worker

    def _checkin(self, worker: _Worker) -> None:
        if self._closed:
            self._discard(worker)
        else:
            self._idle.append(worker)

    def _discard(self, worker: _Worker) -> None:
        self._all.discard(worker)
        worker.kill()

    def close(self) -> None:
        """Stop every worker process and reap it; idempotent. Calls still
        running fail with :class:`OffloadError`."""
        self._closed = True
        idle, self._idle = self._idle, []
        busy = [w for w in self._all if w not in idle]
        for worker in busy:  # their callers see EOF and raise OffloadError
            worker.kill(close_streams=False)
        for worker in idle:  # EOF first so they all exit in parallel
            try:
                if worker.proc.stdin is not None:
                    worker.proc.stdin.close()
            except OSError:
                pass
        for worker in idle:
            self._all.discard(worker)
            worker.close(self.close_timeout)

    stop = close

    def health(self) -> Dict[str, Any]:
        return {
            "name": self.name,
            "size": self.size,
            "closed": self._closed,
            "processes": len(self.pids()),
            "started": self._started,
            "calls": self._calls,
            "failures": self._failures,
        }

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{len(self._all)}/{self.size} processes"
        return f"<ProcessPool {self.name!r} {state}>"


def _rebuild_error(reply: Tuple[Any, ...], fn: Any, pid: int) -> BaseException:
    _, payload, type_name, message, text, where = reply
    exc: Optional[BaseException] = None
    if payload is not None:
        try:
            exc = pickle.loads(payload)
        except Exception:
            exc = None
    if not isinstance(exc, BaseException):
        exc = OffloadError(f"{_describe(fn)} failed in worker pid {pid} while {where}: "
                           f"{type_name}: {message}", text)
    exc.remote_traceback = text  # type: ignore[attr-defined]
    exc.add_note(f"--- raised in offload worker pid {pid} while {where} ---\n{text.rstrip()}")
    return exc


# ------------------------------------------------------------ owner helpers
def offload_pool(owner: CleanupOwner, size: Optional[int] = None) -> ProcessPool:
    """The process pool owned by ``owner`` (a running Service), created on
    first use and closed when the owner stops.

    Works for any Service::

        digest = offload_pool(self).run(slow_digest, data)
    """
    existing: Optional[ProcessPool] = getattr(owner, _POOL_ATTR, None)
    if existing is not None and not existing.closed:
        return existing
    if not isinstance(owner, CleanupOwner) or not callable(owner.add_cleanup):
        raise TypeError(f"offload_pool(): owner must be a Service (something with add_cleanup()), "
                        f"got {type(owner).__name__}.")
    if not getattr(owner, "running", False):
        raise RuntimeError(
            f"offload_pool(): {owner!r} is not running, so nothing would stop the worker "
            "processes. Offload from on_start(), a worker or an owned greenlet."
        )
    pool = ProcessPool(size, name=f"{getattr(owner, 'name', 'owner')}:offload")
    setattr(owner, _POOL_ATTR, pool)

    def close_pool() -> None:
        pool.close()
        if getattr(owner, _POOL_ATTR, None) is pool:
            setattr(owner, _POOL_ATTR, None)

    close_pool.__qualname__ = f"ProcessPool({pool.name!r}).close"
    owner.add_cleanup(close_pool)
    return pool


def bind_offload_owner(owner: Optional[CleanupOwner]) -> None:
    """Make :func:`offload` in the *current greenlet* use ``owner``'s pool.
    QueueService workers call this; call it at the top of your own greenlets."""
    _owner.set(owner)


def offload(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run ``fn(*args, **kwargs)`` in a worker process of the current owner's
    pool and wait cooperatively.

    Inside a QueueService worker (``handle_item``) the owner is that service;
    elsewhere call :func:`bind_offload_owner` first, or use
    ``QueueService.offload`` / ``offload_pool(service).run(...)``.
    """
    owner = _owner.get()
    if owner is None:
        raise RuntimeError(
            "offload() called outside a greenlet bound to a service: call it from "
            "QueueService.handle_item(), use self.offload(...) on a QueueService, "
            "offload_pool(service).run(...), or bind_offload_owner(service) first."
        )
    size = getattr(owner, "offload_workers", None)
    return offload_pool(owner, size=size).run(fn, *args, **kwargs)
