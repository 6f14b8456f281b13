"""QueueService, ManagedProcess and Watcher (SPECTER guide §8, §15, §22, §25, §30)."""
from __future__ import annotations

import importlib.metadata
import subprocess
import sys

import gevent
import pytest
from gevent.event import Event

from conformance_harness import ROW_PROCESS_PID, wait_until


# ------------------------------------------------------------- QueueService
def _queue(impl, *, handled, gate=None, hooks=None, **kwargs):
    class Thumbs(impl.mod.QueueService):
        def handle_item(self, item):
            if gate is not None:
                gate.wait(5)
            if item == "bad":
                raise ValueError("cannot thumbnail")
            handled.append(item)

        def on_workers_started(self):
            if hooks is not None:
                hooks.append("started")

        def on_workers_stopping(self):
            if hooks is not None:
                hooks.append("stopping")

    return Thumbs("thumbnails", **kwargs)


def test_queue_state_constructor_and_hooks(impl):
    hooks = []
    q = _queue(impl, handled=[], hooks=hooks, worker_count=2, maxsize=200, initial_state={"extra": 1})
    assert q.state == {"queue_size": 0, "worker_count": 2, "extra": 1}
    assert q.worker_count == 2
    q.start()
    assert hooks == ["started"]
    q.stop()
    assert hooks == ["started", "stopping"]


def test_queue_workers_handle_items_and_survive_errors(impl):
    handled = []
    q = _queue(impl, handled=handled).start()
    assert q.enqueue({"path": "/media/a.jpg"}) is True
    assert q.enqueue("bad") is True
    assert q.enqueue("after") is True
    wait_until(lambda: len(handled) == 2, message="both good items")
    assert handled == [{"path": "/media/a.jpg"}, "after"]
    wait_until(lambda: q.pending_count() == 0, message="an empty queue")
    q.stop()


def test_queue_enqueue_returns_false_when_full(impl):
    gate = Event()
    q = _queue(impl, handled=[], gate=gate, maxsize=1).start()
    assert q.enqueue(1) is True
    wait_until(lambda: q.pending_count() == 0, message="the worker to take item 1")
    assert q.enqueue(2) is True
    assert q.enqueue(3) is False
    assert q.enqueue(3, block=True, timeout=0.01) is False
    assert q.pending_count() == 1
    gate.set()
    q.stop()


def test_queue_size_is_updated_on_enqueue_and_heard_by_subscribers(impl):
    gate = Event()
    q = _queue(impl, handled=[], gate=gate).start()
    try:
        heard = []
        q.subscribe(lambda state, service: heard.append(state["queue_size"]))
        q.enqueue(1)
        wait_until(lambda: q.pending_count() == 0, message="the worker to take item 1 and block")
        heard.clear()
        q.enqueue(2)
        q.enqueue(3)
        # on enqueue: well before a worker's poll_interval (0.5 s) could refresh it
        wait_until(lambda: heard and heard[-1] == 2, timeout=0.2, message="subscribers to hear queue_size 2")
        assert q.state["queue_size"] == 2
    finally:
        gate.set()
        q.stop()


def test_queue_handle_item_must_be_overridden(impl):
    q = impl.mod.QueueService("raw")
    with pytest.raises(NotImplementedError):
        q.handle_item(1)


# ----------------------------------------------------------- ManagedProcess
PRINTER = [sys.executable, "-u", "-c", "print('one'); print('two'); import sys; sys.exit(3)"]
SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def test_managed_process_reads_lines_and_exits(impl):
    lines = []
    proc = impl.mod.ManagedProcess("printer")
    assert proc.pid is None and proc.poll() is None and not proc.running
    assert proc.start(PRINTER, stdout=subprocess.PIPE, text=True) is proc
    assert isinstance(proc.pid, int)
    reader = proc.watch_stream("stdout", lines.append)
    assert proc.wait(timeout=10) == 3
    reader.join(5)
    assert lines == ["one", "two"]
    assert proc.returncode == 3 and proc.poll() == 3 and not proc.running
    proc.stop()


def test_managed_process_follow_output(impl):
    out, err = [], []
    proc = impl.mod.ManagedProcess("both").start(
        [sys.executable, "-u", "-c", "import sys; print('o'); print('e', file=sys.stderr)"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    readers = proc.follow_output(stdout_handler=out.append, stderr_handler=err.append)
    assert len(readers) == 2
    proc.wait(timeout=10)
    gevent.joinall(readers, timeout=5)
    assert out == ["o"] and err == ["e"]
    proc.stop()


def test_managed_process_stop_terminates_and_pid_afterwards(impl):
    proc = impl.mod.ManagedProcess("sleeper", terminate_timeout=5.0)
    proc.start(SLEEPER)
    pid = proc.pid
    with pytest.raises(RuntimeError):
        proc.start(SLEEPER)  # already running
    assert proc.stop() is proc
    assert not proc.running
    if impl.difference(ROW_PROCESS_PID):
        assert proc.pid == pid and proc.returncode is not None
    else:
        assert proc.pid is None and proc.returncode is None


def test_managed_process_errors_before_start_and_bad_stream(impl):
    proc = impl.mod.ManagedProcess("p")
    with pytest.raises(RuntimeError):
        proc.watch_stream("stdout", print)
    with pytest.raises(RuntimeError):
        proc.wait()
    proc.start(PRINTER)  # no pipes
    try:
        with pytest.raises(ValueError):
            proc.watch_stream("stdout", print)
        with pytest.raises(TypeError):
            impl.mod.ManagedProcess("q").attach(object())
    finally:
        proc.stop()


def test_managed_process_attached_to_an_owner_stops_with_it(impl):
    owner = impl.mod.Service("owner").start()
    proc = impl.mod.start_process("sleeper", SLEEPER, owner=owner)
    assert isinstance(proc, impl.mod.ManagedProcess) and proc.running
    other = impl.mod.ManagedProcess("other").start(SLEEPER)
    assert other.attach(owner) is other
    owner.stop()
    assert not proc.running and not other.running


# ------------------------------------------------------------------ Watcher
def test_watcher_requires_exactly_one_source(impl):
    with pytest.raises(ValueError):
        impl.mod.Watcher("w")
    with pytest.raises(ValueError):
        impl.mod.Watcher("w", poll=lambda: 1, stream=lambda: iter(()))


def test_watcher_poll_delivers_value_and_watcher(impl):
    seen = []
    w = impl.mod.Watcher("hdmi-status", poll=lambda: "on", interval=0.1, transform=str.upper)
    unsub = w.subscribe(lambda value, watcher: seen.append((value, watcher)))
    assert callable(unsub)
    assert w.start() is w and w.running
    wait_until(lambda: seen, message="the first poll")
    assert seen[0] == ("ON", w) and w.last_value == "ON"
    health = w.health()
    assert health["name"] == "hdmi-status" and health["running"] is True and health["mode"] == "poll"
    assert health["subscribers"] == 1 and health["error_count"] == 0
    assert w.stop() is w and not w.running
    w.stop()


def _stream(values, done):
    """A stream source: yields ``values`` once, then waits for ``done`` (a
    stream that ends is re-read at once by the watcher loop)."""
    def source():
        for value in values:
            yield value
        done.wait(10)
    return source


def test_watcher_stream_dedupe_and_teardown(impl):
    seen = []
    done = Event()
    w = impl.mod.Watcher("tail", stream=_stream([1, 1, 2, 2, 3], done), dedupe=True, retry=False)
    w.subscribe(lambda value, watcher: seen.append(value))
    w.start()
    wait_until(lambda: seen == [1, 2, 3], message="deduplicated values")
    assert w.health()["mode"] == "stream"
    done.set()
    w.teardown()
    assert not w.running


def test_watcher_retry_false_stops_after_the_first_error(impl):
    calls = []

    def poll():
        calls.append(1)
        raise IOError("device gone")

    w = impl.mod.Watcher("dev", poll=poll, retry=False)
    w.start()
    wait_until(lambda: not w.running, message="the watcher to give up")
    assert calls == [1] and w.health()["error_count"] == 1
    w.stop()


def test_watcher_subscriber_error_is_isolated_and_owned_watcher_stops(impl):
    seen = []

    def bad(value, watcher):
        raise RuntimeError("subscriber bug")

    done = Event()
    svc = impl.mod.Service("svc").start()
    w = svc.own(impl.mod.Watcher("w", stream=_stream([1, 2], done), retry=False))
    w.subscribe(bad)
    w.subscribe(lambda value, watcher: seen.append(value))
    w.start()
    wait_until(lambda: seen == [1, 2], message="both values past the raising subscriber")
    done.set()
    svc.stop()
    assert not w.running


# ------------------------------------------------------------- the surface
def test_every_specter_export_exists(impl):
    import specter

    missing = [name for name in specter.__all__ if not hasattr(impl.mod, name)]
    assert missing == []


def test_version_and_compat_level(impl):
    version = impl.mod.__version__
    assert isinstance(version, str) and version
    if impl.ours:
        assert version == importlib.metadata.version("specter_spoc")
        assert impl.mod.SPECTER_COMPAT == "0.1.2"
        assert "SPECTER_COMPAT" in impl.mod.__all__
