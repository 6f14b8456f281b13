"""ThreadWorker / ProcessWorker / Server of ``specter_spoc.spoc.workers``, in process.

SPOC's contract (setup, ``while self.is_running`` main, teardown, lifecycle
events, ``self.context``) with this package's guarantees: stop() interrupts
a sleeping main, ``stop() + join_all(t)`` returns within ``t`` with every
teardown run and no child process left.
"""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import gevent
import pytest
from gevent import monkey

from specter_spoc.spoc.workers import ProcessWorker, Server, ThreadWorker
from specter_spoc.testing import wait_until


class Recorder(ThreadWorker):
    def __init__(self, interval: float = 60.0, fail: bool = False) -> None:
        super().__init__(name="recorder")
        self.events: list = []
        self.interval = interval
        self.fail = fail

    def setup(self) -> None:
        self.events.append("setup")
        self.context.loops = 0

    def main(self) -> None:
        self.events.append("main")
        while self.is_running:
            self.context.loops += 1
            if self.fail:
                raise ValueError("boom in main")
            time.sleep(self.interval)

    def teardown(self) -> None:
        self.events.append(("teardown", self.context.loops))

    def lifecycle(self, event_type: str, **data) -> None:
        self.events.append((event_type, type(data["exception"]).__name__) if data else event_type)


def test_thread_worker_runs_in_order_and_stop_interrupts_its_sleep():
    worker = Recorder(interval=60)
    worker.start()
    assert worker.events == ["startup", "setup", "main"]  # started up to its first wait, like a thread
    started = time.monotonic()
    worker.stop()
    worker.join(timeout=2)
    assert time.monotonic() - started < 1.0
    assert worker.events == ["startup", "setup", "main", ("teardown", 1), "shutdown"]
    assert not worker.alive and not worker.is_running


def test_thread_worker_error_is_a_lifecycle_event_and_teardown_still_runs():
    worker = Recorder(fail=True)
    worker.start()
    worker.join(timeout=2)
    assert worker.events == ["startup", "setup", "main", ("error", "ValueError"), ("teardown", 1), "shutdown"]


def test_thread_worker_refuses_an_unpatched_time_sleep(monkeypatch):
    monkeypatch.setattr(time, "sleep", monkey.get_original("time", "sleep"))
    worker = Recorder()
    with pytest.raises(RuntimeError, match=r"time\.sleep is the standard library's.*patch_all"):
        worker.start()
    assert worker.events == [] and not worker.alive


def test_thread_worker_refuses_a_sleep_imported_before_patching(monkeypatch):
    import sys
    import types

    module = types.ModuleType("early_import_worker")
    module.sleep = monkey.get_original("time", "sleep")   # what 'from time import sleep' left behind
    monkeypatch.setitem(sys.modules, module.__name__, module)
    worker_cls = type("EarlyWorker", (Recorder,), {"__module__": module.__name__})
    with pytest.raises(RuntimeError, match=r"early_import_worker holds the standard library's sleep as 'sleep'"):
        worker_cls().start()


class Indexer(ProcessWorker):
    """Writes its pid and loop count to a file from the child."""

    def __init__(self, path, ignore_term: bool = False) -> None:
        super().__init__(name="indexer")
        self.path = path
        self.ignore_term = ignore_term
        self.events: list = []

    def setup(self) -> None:
        self.events.append(("setup", os.getpid()))
        self.context.count = 0

    def main(self) -> None:
        if self.ignore_term:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while self.is_running:
            self.context.count += 1
            self.path.write_text(f"{os.getpid()} {self.context.count}")
            time.sleep(300)

    def teardown(self) -> None:
        self.events.append(("teardown", os.getpid(), self.context.count))

    def lifecycle(self, event_type: str, **data) -> None:
        self.events.append(event_type)


def _wait_for(predicate, timeout: float = 5.0) -> None:
    wait_until(predicate, timeout=timeout)


def _written(path):
    """The child's "pid count" line once it is completely written."""
    def ready() -> bool:
        return path.exists() and len(path.read_text().split()) == 2
    return ready


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_process_worker_main_runs_in_a_child_setup_and_teardown_in_the_parent(tmp_path):
    out = tmp_path / "child.txt"
    worker = Indexer(out)
    worker.start()
    _wait_for(_written(out))
    child_pid, count = map(int, out.read_text().split())
    assert child_pid != os.getpid() and worker.pid == child_pid and count == 1
    started = time.monotonic()
    worker.stop()
    worker.join(timeout=2)
    assert time.monotonic() - started < 1.0, "SIGTERM must end the child's time.sleep(300)"
    # the parent's context is the parent's: the child counted in its own copy (as in SPOC)
    assert worker.events == ["startup", ("setup", os.getpid()), ("teardown", os.getpid(), 0), "shutdown"]
    assert _gone(child_pid) and worker.pid is None and worker.exitcode == 0


def test_process_worker_that_ignores_sigterm_is_killed_at_the_join_timeout(tmp_path):
    out = tmp_path / "child.txt"
    worker = Indexer(out, ignore_term=True)
    worker.start()
    _wait_for(_written(out))
    child_pid = int(out.read_text().split()[0])
    started = time.monotonic()
    worker.stop()
    worker.join(timeout=0.5)
    elapsed = time.monotonic() - started
    assert 0.4 < elapsed < 1.5
    assert _gone(child_pid) and worker.exitcode == -signal.SIGKILL
    assert worker.events[-2:] == [("teardown", os.getpid(), 0), "shutdown"]


def test_server_stop_and_join_all_return_within_the_timeout_with_everything_torn_down(tmp_path):
    out = tmp_path / "child.txt"
    thread_worker, process_worker = Recorder(interval=60), Indexer(out)
    server = Server("jobs")
    server.add_worker(thread_worker)
    server.add_worker(process_worker)
    server.start()
    _wait_for(_written(out))
    child_pid = process_worker.pid
    started = time.monotonic()
    server.stop()
    server.join_all(timeout=2)
    assert time.monotonic() - started < 2.0
    assert thread_worker.events[-2:] == [("teardown", 1), "shutdown"]
    assert process_worker.events[-1] == "shutdown" and _gone(child_pid)
    assert signal.getsignal(signal.SIGTERM) != server._on_signal  # handlers restored


def test_run_forever_stops_on_sigterm():
    worker = Recorder(interval=60)
    server = Server("forever")
    server.add_worker(worker)
    gevent.spawn_later(0.2, os.kill, os.getpid(), signal.SIGTERM)
    started = time.monotonic()
    server.run_forever()
    assert time.monotonic() - started < 3.0
    assert worker.events[-1] == "shutdown" and not worker.alive


def test_add_worker_rejects_other_objects():
    with pytest.raises(TypeError, match="ThreadWorker or ProcessWorker"):
        Server("x").add_worker(object())


ORPHAN_SCRIPT = '''
import os, signal, sys, time
import specter_spoc.spoc
from specter_spoc.spoc.workers import ProcessWorker

class Sleeper(ProcessWorker):
    def main(self):
        while self.is_running:
            time.sleep(300)

worker = Sleeper("sleeper")
worker.start()
print(worker.pid, flush=True)
if sys.argv[1] == "sigkill":
    os.kill(os.getpid(), signal.SIGKILL)
# "exit": the script ends without stopping or joining its worker
'''


@pytest.mark.e2e
@pytest.mark.parametrize("how", ["exit", "sigkill"])
def test_no_child_outlives_its_parent(tmp_path, how):
    import subprocess
    import sys

    script = tmp_path / "orphan.py"
    script.write_text(ORPHAN_SCRIPT)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(Path(__file__).parents[2]), env.get("PYTHONPATH")] if p)
    proc = subprocess.Popen([sys.executable, str(script), how], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env=env, text=True)
    try:
        child = int(proc.stdout.readline())
        proc.wait(timeout=20)
        _wait_for(lambda: _gone(child), timeout=10)
    finally:
        proc.stdout.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
