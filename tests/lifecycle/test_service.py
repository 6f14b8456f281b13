from __future__ import annotations

import gc
import logging
import time

import gevent
import greenlet
import pytest
from gevent.event import Event

from specter_spoc import Service, signals
from specter_spoc.lifecycle.clock import ManualClock
from specter_spoc.testing import wait_until


def live_greenlets() -> int:
    current = greenlet.getcurrent()
    return sum(1 for o in gc.get_objects()
               if isinstance(o, greenlet.greenlet) and not o.dead and o is not current and o.parent is not None)


class Busy(Service):
    def on_start(self) -> None:
        self.interval(lambda: None, 0.001)
        self.spawn(gevent.sleep, 60)


def test_start_stop_are_idempotent_and_return_self() -> None:
    svc = Service("s")
    assert svc.start() is svc and svc.start() is svc and svc.running
    assert svc.stop() is svc and svc.stop() is svc and not svc.running


def test_stop_leaves_zero_live_greenlets_for_1000_services() -> None:
    before = live_greenlets()
    services = [Busy(f"busy{i}").start() for i in range(1000)]
    wait_until(lambda: live_greenlets() - before == 2000, what="2000 owned greenlets alive")
    for svc in services:
        svc.stop()
    assert live_greenlets() - before == 0


def test_teardown_order_on_stop_first_then_greenlets_then_lifo_stack() -> None:
    events: list[str] = []

    class Child(Service):
        def on_stop(self) -> None:
            events.append(f"child {self.name} on_stop")

    class Parent(Service):
        def on_start(self) -> None:
            self.add_cleanup(lambda: events.append("cleanup 1"))
            self.adopt(Child("c1"))
            self.add_cleanup(lambda: events.append("cleanup 2"))
            self.adopt(Child("c2"))
            self.spawn(self.worker)

        def worker(self) -> None:
            try:
                gevent.sleep(60)
            except gevent.GreenletExit:
                events.append("worker killed")
                raise

        def on_stop(self) -> None:
            events.append(f"on_stop sees worker alive={bool(self.live_greenlets())}")

    parent = Parent("p").start()
    gevent.sleep(0)
    parent.stop()
    assert events == [
        "on_stop sees worker alive=True",
        "worker killed",
        "child c2 on_stop",
        "cleanup 2",
        "child c1 on_stop",
        "cleanup 1",
    ]


def test_failed_start_releases_everything_and_reraises() -> None:
    released: list[str] = []
    child = Service("child")

    class Broken(Service):
        def on_start(self) -> None:
            self.spawn(gevent.sleep, 60)
            self.interval(lambda: None, 0.01)
            self.adopt(child)
            self.listen("evt", print)
            self.add_cleanup(lambda: released.append("cleanup"))
            raise RuntimeError("database unreachable")

    before = live_greenlets()
    broken = Broken("broken")
    with pytest.raises(RuntimeError, match="database unreachable"):
        broken.start()
    assert not broken.running and not child.running
    assert released == ["cleanup"]
    assert broken.scope.bus.listener_count("evt") == 0
    assert live_greenlets() == before


def test_hanging_on_stop_is_cut_off_and_reported(caplog: pytest.LogCaptureFixture) -> None:
    class Hangs(Service):
        stop_timeout = 0.1

        def on_stop(self) -> None:
            gevent.sleep(30)

    svc = Hangs("hangs").start()
    with caplog.at_level(logging.ERROR, logger="specter_spoc.service"):
        started = time.monotonic()
        svc.stop()
        elapsed = time.monotonic() - started
    assert elapsed < 2
    assert not svc.running
    assert "on_stop() still running" in caplog.text
    assert any("on_stop" in s for s in svc.health()["stragglers"])


def test_greenlet_ignoring_kill_is_reported_as_straggler(caplog: pytest.LogCaptureFixture) -> None:
    release = Event()

    class Stubborn(Service):
        stop_timeout = 0.1

        def on_start(self) -> None:
            self.refuser = self.spawn(self.refuse, label="refuser")

        def refuse(self) -> None:
            while not release.is_set():
                try:
                    release.wait()
                except gevent.GreenletExit:
                    continue

    svc = Stubborn("stubborn").start()
    gevent.sleep(0)
    with caplog.at_level(logging.ERROR):
        svc.stop()
    assert "stubborn:refuser" in caplog.text and "ignored kill" in caplog.text
    release.set()
    svc.refuser.join(5)
    assert svc.refuser.dead


def test_interval_and_timeout_callbacks_that_raise_keep_the_loop(caplog: pytest.LogCaptureFixture) -> None:
    ticks: list[int] = []
    done = Event()

    class Flaky(Service):
        def on_start(self) -> None:
            self.interval(self.tick, 0.002)
            self.timeout(self.boom, 0)

        def tick(self) -> None:
            ticks.append(1)
            if len(ticks) == 5:
                done.set()
            raise ValueError("tick failed")

        def boom(self) -> None:
            raise KeyError("timeout failed")

    svc = Flaky("flaky").start()
    with caplog.at_level(logging.ERROR):
        assert done.wait(2)
    svc.stop()
    assert len(ticks) >= 5
    assert "'flaky'" in caplog.text and "tick failed" in caplog.text and "timeout failed" in caplog.text


def test_cancel_interval_timeout_and_greenlet() -> None:
    count: list[int] = []

    class S(Service):
        pass

    clock = ManualClock()
    svc = S("s")
    svc.clock = clock
    svc.start()
    iid = svc.interval(lambda: count.append(1), 1.0)
    tid = svc.timeout(lambda: count.append(100), 10)
    glet = svc.spawn(gevent.sleep, 10)
    clock.advance(3.0)
    assert count == [1, 1, 1]
    svc.cancel_interval(iid)
    svc.cancel_timeout(tid)
    svc.cancel_greenlet(glet)
    clock.advance(60.0)  # past the timeout's deadline and many more periods
    assert count == [1, 1, 1]
    assert glet.dead and svc.live_greenlets() == []
    svc.cancel_interval("interval_unknown")
    svc.stop()


def test_interval_can_cancel_itself_from_its_callback() -> None:
    calls: list[int] = []

    class S(Service):
        def on_start(self) -> None:
            self.iid = self.interval(self.once, 1.0)

        def once(self) -> None:
            calls.append(1)
            self.cancel_interval(self.iid)
            calls.append(2)

    clock = ManualClock()
    svc = S("s")
    svc.clock = clock
    svc.start()
    clock.advance(10.0)
    assert calls == [1, 2]
    svc.stop()


def test_state_subscribe_watch_and_owner() -> None:
    svc = Service("s", {"n": 0}).start()
    owner = Service("owner").start()
    seen: list[tuple[int, str]] = []
    unsubscribe = svc.subscribe(lambda st, s: seen.append((st["n"], "sub")))
    svc.subscribe(lambda st, s: seen.append((st["n"], "owned")), owner=owner)
    svc.watch(lambda st, s: seen.append((st["n"], "watch")))
    assert seen == [(0, "watch")]
    svc.set_state({"n": 1})
    unsubscribe()
    owner.stop()
    svc.set_state({"n": 2})
    assert seen == [(0, "watch"), (1, "sub"), (1, "owned"), (1, "watch"), (2, "watch")]
    assert svc.get_state() == {"n": 2} and svc.get_state() is not svc.state
    svc.stop()
    svc.set_state({"n": 3})
    assert seen[-1] == (2, "watch")


def test_own_releases_resources_with_their_stop_method() -> None:
    released: list[str] = []

    class Res:
        def close(self) -> None:
            released.append("close")

    class Custom:
        def shutdown(self) -> None:
            released.append("shutdown")

    svc = Service("s").start()
    assert svc.own(None) is None
    res = svc.own(Res())
    svc.own(Custom(), stop_method="shutdown")
    assert isinstance(res, Res)
    svc.stop()
    assert released == ["shutdown", "close"]


def test_crash_with_log_policy_keeps_service_running(caplog: pytest.LogCaptureFixture) -> None:
    crashes: list[str] = []

    def on_crash(sender: Service, error: BaseException, label: str, action: str) -> None:
        crashes.append(f"{sender.name}:{label}:{action}:{error}")

    signals.service_crashed.connect(on_crash)
    try:
        svc = Service("s").start()
        with caplog.at_level(logging.ERROR):
            svc.spawn(lambda: 1 / 0, label="divider").join()
        assert svc.running
        health = svc.health()
        assert health["crashes"] == 1 and "ZeroDivisionError" in health["last_error"]
        assert crashes == ["s:divider:log:division by zero"]
        svc.stop()
    finally:
        signals.service_crashed.disconnect(on_crash)


def test_restart_policy_restarts_with_backoff_then_gives_up() -> None:
    starts: list[float] = []

    class Crashy(Service):
        supervision = "restart"
        max_restarts = 3
        restart_window = 10.0
        restart_backoff = 0.01

        def on_start(self) -> None:
            starts.append(self.clock.now())
            self.spawn(self.crash)

        def crash(self) -> None:
            raise RuntimeError("always")

    clock = ManualClock()
    svc = Crashy("crashy")
    svc.clock = clock
    svc.start()
    clock.advance(1.0)  # covers the three backoffs (0.01 + 0.02 + 0.04)
    svc.join_supervisor(2)
    health = svc.health()
    assert len(starts) == 4  # first start + 3 restarts
    assert health["status"] == "failed" and health["restarts"] == 3
    assert "gave up after 3 restarts" in health["failed"]
    assert not svc.running
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert gaps == pytest.approx([0.01, 0.02, 0.04])  # the backoff doubles
    svc.stop()


def test_restart_policy_recovers_when_the_crash_was_transient() -> None:
    attempts: list[int] = []

    class Transient(Service):
        supervision = "restart"
        restart_backoff = 0.01

        def on_start(self) -> None:
            attempts.append(1)
            if len(attempts) == 1:
                self.spawn(self.crash)

        def crash(self) -> None:
            raise RuntimeError("once")

    clock = ManualClock()
    svc = Transient("t")
    svc.clock = clock
    svc.start()
    clock.advance(0.005)  # before the backoff: not restarted yet
    assert attempts == [1] and not svc.running
    clock.advance(0.005)
    svc.join_supervisor(2)
    assert attempts == [1, 1]
    assert svc.running and svc.health()["status"] == "ok" and svc.health()["restarts"] == 1
    svc.stop()


def test_escalate_hands_the_crash_to_the_owner() -> None:
    class Child(Service):
        supervision = "escalate"

        def on_start(self) -> None:
            self.spawn(self.crash)

        def crash(self) -> None:
            raise ValueError("child broke")

    class Parent(Service):
        def on_start(self) -> None:
            self.child = Child("child")
            self.adopt(self.child)

    parent = Parent("parent").start()
    wait_until(lambda: parent.health()["crashes"] == 1, timeout=5, what="the escalated crash")
    assert "child 'child'" in parent.health()["last_error"]
    assert "child broke" in parent.health()["last_error"]
    parent.stop()
    assert not parent.child.running


def test_escalate_without_owner_gives_up() -> None:
    class Orphan(Service):
        supervision = "escalate"

    svc = Orphan("orphan").start()
    svc.spawn(lambda: [][1])
    wait_until(lambda: svc.health()["status"] == "failed", timeout=5, what="the service to give up")
    svc.join_supervisor(2)
    assert not svc.running and svc.health()["status"] == "failed"


def test_stop_from_inside_an_owned_greenlet() -> None:
    class SelfStopping(Service):
        def on_start(self) -> None:
            self.spawn(gevent.sleep, 60)
            self.timeout(self.stop, 0)

    svc = SelfStopping("s").start()
    wait_until(lambda: not svc.running, timeout=5, what="the service to stop itself")
    assert svc.live_greenlets() == []


def test_lifecycle_signals_are_sent() -> None:
    seen: list[str] = []
    started = lambda s: seen.append(f"started {s.name}")  # noqa: E731
    stopped = lambda s: seen.append(f"stopped {s.name}")  # noqa: E731
    signals.service_started.connect(started)
    signals.service_stopped.connect(stopped)
    try:
        Service("x").start().stop()
    finally:
        signals.service_started.disconnect(started)
        signals.service_stopped.disconnect(stopped)
    assert seen == ["started x", "stopped x"]


def test_tree_shows_the_ownership_tree() -> None:
    class Parent(Service):
        def on_start(self) -> None:
            self.adopt(Busy("kid"))
            self.spawn(gevent.sleep, 10, label="napper")

    parent = Parent("root").start()
    gevent.sleep(0)
    tree = parent.tree()
    assert tree["name"] == "root" and tree["greenlets"] == ["root:napper"]
    assert tree["owned"][0]["name"] == "kid" and len(tree["owned"][0]["greenlets"]) == 2
    parent.stop()


# ------------------------------------------------------------------ bad input
def test_bad_input_errors_say_what_to_do() -> None:
    with pytest.raises(TypeError, match="non-empty str"):
        Service("")
    with pytest.raises(TypeError, match="initial_state must be a dict"):
        Service("s", initial_state=[1])  # type: ignore[arg-type]
    idle = Service("idle")
    with pytest.raises(RuntimeError, match="'idle' is not running.*on_start"):
        idle.spawn(print)
    with pytest.raises(RuntimeError, match="not running"):
        idle.interval(print, 1)
    svc = Service("s").start()
    with pytest.raises(TypeError, match="adopt\\(\\) takes a Service"):
        svc.adopt("nope")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="needs a callable"):
        svc.spawn(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="needs a callable"):
        svc.add_cleanup(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="> 0"):
        svc.interval(print, 0)
    with pytest.raises(TypeError, match="seconds as a number"):
        svc.timeout(print, "soon")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="set_state\\(\\) needs a dict"):
        svc.set_state([("a", 1)])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="stop_method"):
        svc.own(object())
    with pytest.raises(TypeError, match="needs a callable"):
        svc.listen("e", "handler")  # type: ignore[arg-type]
    svc.stop()


def test_unknown_supervision_policy_is_rejected() -> None:
    class Bad(Service):
        supervision = "reboot"

    with pytest.raises(ValueError, match="'log', 'restart', 'escalate'"):
        Bad("bad").start()
