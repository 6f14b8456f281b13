"""ManagedProcess: owned readers, terminate/kill/reap, no zombie left behind."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any, List

import gevent
import pytest
from gevent.event import Event

from specter_spoc.lifecycle.process import ManagedProcess, start_process
from specter_spoc.lifecycle.service import Service

PY = sys.executable
LINES = "import sys\nfor i in range(3): print(f'out {i}', flush=True)\nprint('oops', file=sys.stderr)"
LONG = "import time\nprint('ready', flush=True)\ntime.sleep(30)"
STUBBORN = ("import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            "print('ready', flush=True)\ntime.sleep(30)")


def gone(pid: int) -> bool:
    """True when the pid no longer exists, not even as a zombie."""
    return not os.path.exists(f"/proc/{pid}")


def wait_for(event: Event, timeout: float = 5.0) -> None:
    assert event.wait(timeout), "timed out waiting for the child"


def test_reads_stdout_and_stderr_lines_and_reports_the_exit_code():
    out: List[str] = []
    err: List[str] = []
    proc = ManagedProcess("lines").start([PY, "-c", LINES], stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, text=True)
    readers = proc.follow_output(stdout_handler=out.append, stderr_handler=err.append)
    assert proc.wait(5) == 0
    gevent.joinall(readers, timeout=2)
    proc.stop()
    assert out == ["out 0", "out 1", "out 2"] and err == ["oops"]
    assert proc.returncode == 0 and not proc.running and proc.poll() == 0
    assert all(r.dead for r in readers)


def test_owner_stop_terminates_reaps_and_joins_readers():
    ready = Event()
    lines: List[str] = []

    class Tunnel(Service):
        def on_start(self) -> None:
            self.proc = self.start_process([PY, "-c", LONG], name="tunnel", stdout=subprocess.PIPE,
                                           text=True)
            self.readers = self.proc.follow_output(stdout_handler=self.on_line)

        def on_line(self, line: str) -> None:
            lines.append(line)
            ready.set()

    svc = Tunnel("tunnel-svc").start()
    wait_for(ready)
    pid = svc.proc.pid
    assert svc.proc.running and not gone(pid)
    assert any("tunnel:stdout" in label for label in svc.tree()["greenlets"])  # owned by the service
    svc.stop()
    assert gone(pid)                                  # no process, no zombie
    assert svc.proc.returncode == -signal.SIGTERM
    assert all(r.dead for r in svc.readers)
    assert lines == ["ready"]


def test_a_child_ignoring_sigterm_is_killed_after_the_timeout():
    ready = Event()
    proc = ManagedProcess("stubborn", terminate_timeout=0.3, kill_timeout=2.0)
    proc.start([PY, "-c", STUBBORN], stdout=subprocess.PIPE)
    proc.watch_stream("stdout", lambda line: ready.set())
    wait_for(ready)
    started = time.monotonic()
    proc.stop()
    elapsed = time.monotonic() - started
    assert 0.25 <= elapsed < 5.0, elapsed  # waited terminate_timeout (0.3 s), then killed
    assert proc.returncode == -signal.SIGKILL
    assert gone(proc.pid)


def test_stop_timeout_argument_overrides_terminate_timeout():
    ready = Event()
    proc = ManagedProcess("stubborn2", terminate_timeout=30).start([PY, "-c", STUBBORN],
                                                                   stdout=subprocess.PIPE)
    proc.watch_stream("stdout", lambda line: ready.set())
    wait_for(ready)
    started = time.monotonic()
    proc.stop(timeout=0.1)
    assert time.monotonic() - started < 5  # not the 30 s terminate_timeout
    assert proc.returncode == -signal.SIGKILL


def test_start_process_with_owner_registers_cleanup_and_wait_times_out():
    owner = Service("owner").start()
    proc = start_process("sleeper", [PY, "-c", LONG], owner=owner, stdout=subprocess.DEVNULL)
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=0.05)
        with pytest.raises(RuntimeError, match="already running"):
            proc.start([PY, "-c", LONG])
    finally:
        owner.stop()
    assert gone(proc.pid)
    assert not proc.running


def test_chunk_mode_and_strip_false_deliver_raw_output():
    chunks: List[bytes] = []
    proc = ManagedProcess("chunks").start([PY, "-c", "import sys; sys.stdout.write('abcdefg\\n')"],
                                          stdout=subprocess.PIPE)
    reader = proc.watch_stream("stdout", chunks.append, chunk_size=3)
    proc.wait(5)
    reader.join(2)
    proc.stop()
    assert b"".join(chunks) == b"abcdefg\n" and all(len(c) <= 3 for c in chunks)

    lines: List[Any] = []
    proc = ManagedProcess("raw").start([PY, "-c", "print('x')"], stdout=subprocess.PIPE)
    reader = proc.watch_stream("stdout", lines.append, strip=False)
    proc.wait(5)
    reader.join(2)
    proc.stop()
    assert lines == [b"x\n"]


def test_self_owned_readers_are_killed_when_a_grandchild_keeps_the_pipe_open():
    # the child exits at once but leaves a grandchild holding stdout open
    script = ("import subprocess, sys\n"
              "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(20)'])\n"
              "print('spawned', flush=True)")
    seen = Event()
    proc = ManagedProcess("leaky", kill_timeout=0.5).start([PY, "-c", script], stdout=subprocess.PIPE)
    reader = proc.watch_stream("stdout", lambda line: seen.set())
    wait_for(seen)
    proc.wait(5)
    started = time.monotonic()
    proc.stop()
    assert time.monotonic() - started < 10  # not held by the grandchild (20 s) that keeps the pipe open
    assert reader.dead


def test_misuse_gives_clear_errors():
    proc = ManagedProcess("idle")
    with pytest.raises(RuntimeError, match="not been started|start"):
        proc.wait()
    assert proc.poll() is None and proc.pid is None and proc.returncode is None and not proc.running
    proc.stop()   # stopping a never-started process is a no-op
    with pytest.raises(TypeError, match="owner"):
        proc.start([PY, "-c", "pass"], owner=object())
    with pytest.raises(TypeError, match="args"):
        proc.start(42)
    proc.start([PY, "-c", "pass"])
    try:
        with pytest.raises(ValueError, match="stream_name"):
            proc.watch_stream("stdin", print)
        with pytest.raises(ValueError, match="PIPE"):
            proc.watch_stream("stdout", print)
    finally:
        proc.wait(5)
        proc.stop()


@pytest.mark.parametrize("kwargs, exc, word", [
    ({"terminate_timeout": 0}, ValueError, "terminate_timeout"),
    ({"terminate_timeout": "5"}, TypeError, "terminate_timeout"),
    ({"kill_timeout": -1}, ValueError, "kill_timeout"),
])
def test_bad_constructor_arguments_name_the_argument(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        ManagedProcess("p", **kwargs)
    with pytest.raises(TypeError, match="name"):
        ManagedProcess("")
