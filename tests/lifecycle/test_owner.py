"""The ownership core: state machine, ordered greenlets, LIFO releases,
BaseException-safe teardown, stragglers reported."""
from __future__ import annotations

import asyncio
import time
from typing import List

import gevent
import pytest
from gevent.event import Event

from specter_spoc.lifecycle.owner import Owner, release_for, run_bounded


def test_state_machine_passes_through_every_state() -> None:
    owner = Owner("o")
    seen = [owner.state]
    owner.begin_start()
    seen.append(owner.state)
    assert owner.active
    owner.started()
    seen.append(owner.state)
    owner.begin_stop()
    seen.append(owner.state)
    assert owner.stopping and not owner.active
    owner.finish_stop()
    seen.append(owner.state)
    assert seen == ["idle", "starting", "running", "stopping", "stopped"]
    owner.finish_stop(failed=True)
    assert owner.state == "failed"


def test_releases_run_last_in_first_out() -> None:
    owner = Owner("o")
    order: List[int] = []
    for i in range(5):
        owner.push(lambda i=i: order.append(i))
    owner.unwind(time.monotonic() + 1)
    assert order == [4, 3, 2, 1, 0]
    assert owner.releases() == []


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), asyncio.CancelledError(), gevent.Timeout(1),
                                 gevent.GreenletExit(), SystemExit(3), ValueError("boom")])
def test_a_release_raising_any_base_exception_does_not_stop_the_others(exc: BaseException) -> None:
    owner = Owner("o")
    order: List[str] = []
    owner.push(lambda: order.append("first"))

    def bad() -> None:
        raise exc

    owner.push(bad, "bad release")
    owner.push(lambda: order.append("last"))
    owner.unwind(time.monotonic() + 1)  # must not raise
    assert order == ["last", "first"]
    assert owner.errors and "bad release" in owner.errors[0] and type(exc).__name__ in owner.errors[0]


def test_greenlets_are_killed_and_joined_in_one_batch() -> None:
    owner = Owner("o")
    exited: List[int] = []

    def work(i: int) -> None:
        try:
            gevent.sleep(60)
        finally:
            exited.append(i)

    glets = [owner.adopt_greenlet(gevent.Greenlet(work, i)) for i in range(20)]
    for g in glets:
        g.start()
    gevent.sleep(0)
    assert owner.kill_greenlets(time.monotonic() + 2) == []
    assert sorted(exited) == list(range(20)) and all(g.dead for g in glets)
    assert owner.live_greenlets() == []


def test_a_greenlet_that_swallows_the_kill_is_a_reported_straggler_not_a_hang() -> None:
    owner = Owner("o")
    release = Event()

    def stubborn() -> None:
        while not release.is_set():
            try:
                release.wait()
            except BaseException:  # noqa: B036 - the point of the test
                pass

    glet = owner.adopt_greenlet(gevent.Greenlet(stubborn))
    glet.start()
    gevent.sleep(0)
    started = time.monotonic()
    stuck = owner.kill_greenlets(time.monotonic() + 0.3)
    assert time.monotonic() - started < 3  # the 0.3 s deadline bounds it; generous for a loaded CI
    assert stuck == [glet]
    assert owner.stragglers and "ignored kill" in owner.stragglers[0]
    release.set()
    glet.join(2)
    assert glet.dead


def test_run_bounded_cuts_off_a_hook_that_catches_everything() -> None:
    owner = Owner("o")
    release = Event()
    exited = Event()

    def hook() -> None:
        while not release.is_set():
            try:
                gevent.sleep(0.01)
            except BaseException:  # noqa: B036
                pass
        exited.set()

    started = time.monotonic()
    finished = run_bounded(hook, time.monotonic() + 0.3, "on_stop()", owner, gevent.spawn)
    assert not finished and time.monotonic() - started < 3  # cut off at its 0.3 s deadline
    assert any("on_stop() still running" in s for s in owner.stragglers)
    release.set()
    assert exited.wait(5)  # the straggler ends once released


def test_run_bounded_reports_what_the_hook_raised_without_reraising() -> None:
    owner = Owner("o")

    def hook() -> None:
        raise asyncio.CancelledError("from user code")

    assert run_bounded(hook, time.monotonic() + 1, "on_stop()", owner, gevent.spawn)
    assert owner.errors == ["on_stop() raised CancelledError: from user code"]


class _Client:
    def __init__(self) -> None:
        self.calls: List[str] = []

    def disconnect(self) -> None:
        self.calls.append("disconnect")


class _Both:
    def close(self) -> None: ...

    def destroy(self) -> None: ...


def test_release_names_follow_specter_order() -> None:
    client = _Client()
    fn, _ = release_for(client)
    fn()
    assert client.calls == ["disconnect"]
    both = _Both()
    assert release_for(both)[0] == both.close
    with pytest.raises(TypeError, match="stop_method"):
        release_for(object())


def test_an_owned_process_is_terminated_then_killed_only_at_the_deadline() -> None:
    import subprocess
    import sys

    ignores_term = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(60)"
    polite = "import time; print('up', flush=True); time.sleep(60)"
    for code, expect_kill in ((polite, False), (ignores_term, True)):
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"up"
        owner = Owner("o")
        owner.own(proc)
        started = time.monotonic()
        owner.unwind(time.monotonic() + 0.5)
        assert proc.poll() is not None
        proc.stdout.close()
        if expect_kill:
            assert proc.returncode == -9 and time.monotonic() - started >= 0.4
        else:
            assert proc.returncode == -15
