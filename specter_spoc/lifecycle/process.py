"""ManagedProcess: a subprocess and its output readers under one owner.

The process is started with ``gevent.subprocess``, so ``wait()`` and the pipe
readers yield to the hub instead of blocking it. Reader greenlets are spawned
by the owning Service when there is one (so they run in its scope and are
joined when it stops), else by the ManagedProcess itself. :meth:`stop`
terminates, kills after a timeout, *reaps* (no zombie), then joins the
readers. Given an owner, ``stop`` is registered as the owner's cleanup.
"""
from __future__ import annotations

import logging
import signal
import time
from typing import Any, Callable, List, Optional, Set

import gevent
from gevent import Greenlet, GreenletExit, getcurrent
from gevent import subprocess as gsubprocess

from ..typing import AnyGreenlet, CleanupOwner
from ..typing import Owner as OwnerLike
from .._validate import check_int, check_seconds
from ..wiring.scope import current_scope
from .owner import Owner, kill_and_join, set_label

__all__ = ["ManagedProcess", "start_process"]

logger: logging.Logger = logging.getLogger("specter_spoc.process")

#: seconds ``stop()`` lets readers finish the output after the process exited
_READER_GRACE = 1.0


def _positive(value: object, what: str, name: str) -> float:
    return check_seconds(value, f"ManagedProcess {name!r}: {what}")


class ManagedProcess:
    """Own a child process and the greenlets that read its output.

    Example::

        class Tunnel(Service):
            def on_start(self):
                self.proc = self.start_process(["cloudflared", "tunnel"],
                                               stdout=PIPE, stderr=PIPE, text=True)
                self.proc.follow_output(stdout_handler=self.on_line,
                                        stderr_handler=self.on_line)
            # Tunnel.stop(): readers joined, process terminated (killed if it
            # ignores SIGTERM) and reaped.

    Without a Service::

        proc = start_process("ping", ["ping", "-c", "3", "127.0.0.1"], stdout=PIPE)
        proc.watch_stream("stdout", print)
        proc.wait(10)
        proc.stop()
    """

    def __init__(self, name: str, *, terminate_timeout: float = 5.0, kill_timeout: float = 1.0) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"ManagedProcess name must be a non-empty str, got {name!r}.")
        self.name = name
        self.terminate_timeout: float = _positive(terminate_timeout, "terminate_timeout", name)
        self.kill_timeout: float = _positive(kill_timeout, "kill_timeout", name)
        #: the ``gevent.subprocess.Popen`` object once started (kept after stop)
        self.process: Optional[gsubprocess.Popen[Any]] = None
        self._owner: Optional[CleanupOwner] = None
        #: reader greenlets spawned without a running Service owner
        self._life = Owner(f"ManagedProcess {name!r}", logger)
        self._readers: Set[AnyGreenlet] = set()

    # -------------------------------------------------------------- starting
    def start(self, args: Any, *, owner: Optional[CleanupOwner] = None, **popen_kwargs: Any) -> "ManagedProcess":
        """Start ``args`` (as for ``subprocess.Popen``); returns self. With
        ``owner``, the process is stopped when the owner stops."""
        if owner is not None:
            self._check_owner(owner)
        if self.running:
            raise RuntimeError(f"ManagedProcess {self.name!r} is already running (pid {self.pid}); "
                               "stop() it before starting it again.")
        if not isinstance(args, (str, bytes, list, tuple)) and not hasattr(args, "__fspath__"):
            raise TypeError(f"ManagedProcess {self.name!r}: args must be a command list or string, "
                            f"got {type(args).__name__}.")
        self._readers = {g for g in self._readers if not g.dead}
        self.process = gsubprocess.Popen(args, **popen_kwargs)
        if owner is not None:
            self.attach(owner)
        return self

    def attach(self, owner: Optional[CleanupOwner]) -> "ManagedProcess":
        """Register :meth:`stop` as ``owner``'s cleanup (anything with
        ``add_cleanup()``, usually a Service); returns self."""
        if owner is None:
            return self
        self._check_owner(owner)
        self._owner = owner
        owner.add_cleanup(self.stop)  # stop() is idempotent: registering twice is harmless
        return self

    def _require_process(self) -> "gsubprocess.Popen[Any]":
        if self.process is None:
            raise RuntimeError(f"ManagedProcess {self.name!r} has not been started: call start(args) first.")
        return self.process

    def _check_owner(self, owner: object) -> None:
        if not isinstance(owner, CleanupOwner) or not callable(owner.add_cleanup):
            raise TypeError(f"ManagedProcess {self.name!r}: owner must have add_cleanup() (a Service "
                            f"or Runtime), got {type(owner).__name__}.")

    # --------------------------------------------------------------- readers
    def watch_stream(
        self,
        stream_name: str,
        handler: Callable[[Any], Any],
        *,
        chunk_size: Optional[int] = None,
        strip: bool = True,
        label: Optional[str] = None,
        close_on_exit: bool = False,
    ) -> AnyGreenlet:
        """Read ``stdout`` or ``stderr`` line by line (or ``chunk_size`` bytes
        at a time) in a greenlet, calling ``handler`` with each; returns the
        greenlet. Lines have their line ending stripped unless ``strip=False``.
        The stream must have been opened with ``stdout=PIPE`` / ``stderr=PIPE``."""
        process = self._require_process()
        if stream_name not in ("stdout", "stderr"):
            raise ValueError(f"ManagedProcess {self.name!r}: stream_name must be 'stdout' or 'stderr', "
                             f"got {stream_name!r}.")
        stream = getattr(process, stream_name)
        if stream is None:
            raise ValueError(f"ManagedProcess {self.name!r}: {stream_name} is not a pipe; start the "
                             f"process with {stream_name}=subprocess.PIPE to read it.")
        if not callable(handler):
            raise TypeError(f"ManagedProcess {self.name!r}: handler must be callable, "
                            f"got {type(handler).__name__}.")
        if chunk_size is not None:
            check_int(chunk_size, f"ManagedProcess {self.name!r}: chunk_size (a positive int or None)", 1)
        reader_label = label or f"{stream_name}_reader"
        body = self._reader(stream, handler, chunk_size, strip, reader_label, close_on_exit)
        glet = self._spawn_reader(body, reader_label)
        self._readers.add(glet)
        glet.rawlink(self._readers.discard)
        return glet

    def _spawn_reader(self, body: Callable[[], None], label: str) -> AnyGreenlet:
        owner = self._owner
        if isinstance(owner, OwnerLike) and owner.running:
            try:
                return owner.spawn(body, label=f"{self.name}:{label}")
            except RuntimeError:
                pass  # owner is stopping: the reader is ours to join
        glet = Greenlet(current_scope().wrap(body))
        set_label(glet, f"{self.name}:{label}")
        self._life.adopt_greenlet(glet).start()
        return glet

    def _reader(self, stream: Any, handler: Callable[[Any], Any], chunk_size: Optional[int],
                strip: bool, label: str, close_on_exit: bool) -> Callable[[], None]:
        def read() -> None:
            try:
                if chunk_size:
                    read_chunk = getattr(stream, "read1", stream.read)
                    while True:
                        chunk = read_chunk(chunk_size)
                        if not chunk:
                            break
                        handler(chunk)
                else:
                    for line in stream:
                        if strip:
                            line = line.rstrip("\r\n" if isinstance(line, str) else b"\r\n")
                        handler(line)
            except GreenletExit:
                raise
            except Exception as exc:
                if not getattr(stream, "closed", False):
                    logger.error("ManagedProcess %r: reader %s failed: %s: %s", self.name, label,
                                 type(exc).__name__, exc, exc_info=exc)
            finally:
                if close_on_exit:
                    try:
                        stream.close()
                    except Exception:
                        pass

        read.__name__ = label
        return read

    def follow_output(
        self,
        *,
        stdout_handler: Optional[Callable[[Any], Any]] = None,
        stderr_handler: Optional[Callable[[Any], Any]] = None,
        stdout_label: str = "stdout",
        stderr_label: str = "stderr",
    ) -> List[AnyGreenlet]:
        """``watch_stream`` for stdout and/or stderr; returns the reader greenlets."""
        readers = []
        if stdout_handler is not None:
            readers.append(self.watch_stream("stdout", stdout_handler, label=stdout_label))
        if stderr_handler is not None:
            readers.append(self.watch_stream("stderr", stderr_handler, label=stderr_label))
        return readers

    # --------------------------------------------------------------- waiting
    def wait(self, timeout: Optional[float] = None) -> int:
        """Wait (cooperatively) for the process to exit; returns its exit code.
        Raises ``subprocess.TimeoutExpired`` after ``timeout`` seconds."""
        return int(self._require_process().wait(timeout=timeout))

    def poll(self) -> Optional[int]:
        """The exit code, or None while running (or before start)."""
        return self.process.poll() if self.process is not None else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> Optional[int]:
        return self.process.pid if self.process is not None else None

    @property
    def returncode(self) -> Optional[int]:
        """Exit code once exited (negative: killed by that signal), else None."""
        return self.process.poll() if self.process is not None else None

    # -------------------------------------------------------------- stopping
    def stop(self, timeout: Optional[float] = None) -> "ManagedProcess":
        """Terminate (SIGTERM), wait ``timeout`` (default ``terminate_timeout``),
        kill (SIGKILL) if still alive, wait ``kill_timeout``, then join the
        readers and close the pipes; idempotent. When it returns the process
        has been reaped: no zombie is left."""
        process = self.process
        if process is not None and process.poll() is None:
            grace = self.terminate_timeout if timeout is None else _positive(timeout, "timeout", self.name)
            try:
                process.terminate()
                process.wait(timeout=grace)
            except gsubprocess.TimeoutExpired:
                logger.warning("ManagedProcess %r: pid %s ignored SIGTERM for %.2fs; killing it",
                               self.name, process.pid, grace)
                self._kill(process)
            except OSError as exc:  # already gone
                logger.debug("ManagedProcess %r: terminate failed: %s", self.name, exc)
                self._kill(process)
        self._join_readers()
        if process is not None:
            for stream in (process.stdin, process.stdout, process.stderr):
                if stream is not None:
                    try:
                        stream.close()
                    except Exception:
                        pass
        return self

    def _kill(self, process: Any) -> None:
        try:
            process.send_signal(signal.SIGKILL)
        except OSError:
            pass
        try:
            process.wait(timeout=self.kill_timeout)
        except gsubprocess.TimeoutExpired:
            logger.error("ManagedProcess %r: pid %s still not reaped %.2fs after SIGKILL",
                         self.name, process.pid, self.kill_timeout)

    def _join_readers(self) -> None:
        current = getcurrent()
        readers = [g for g in self._readers if not g.dead and g is not current]
        if readers:
            # the process has exited: readers hit EOF unless a grandchild holds the pipe
            gevent.joinall(readers, timeout=_READER_GRACE)
            kill_and_join(readers, time.monotonic() + self.kill_timeout, self._life)
        self._readers = {g for g in self._readers if not g.dead}

    def __repr__(self) -> str:
        if self.process is None:
            state = "not started"
        elif self.running:
            state = f"running pid={self.pid}"
        else:
            state = f"exited rc={self.returncode}"
        return f"<ManagedProcess {self.name!r} {state}>"


def start_process(name: str, args: Any, *, owner: Optional[CleanupOwner] = None,
                  **popen_kwargs: Any) -> ManagedProcess:
    """``ManagedProcess(name).start(args, owner=owner, **popen_kwargs)``."""
    return ManagedProcess(name).start(args, owner=owner, **popen_kwargs)
