"""Service: lifecycle, state, timers, bus, ownership (SPECTER guide §5, §7, §21)."""
from __future__ import annotations

import gevent
import pytest

from conformance_harness import ROW_TEARDOWN_LIFO, periods_elapse, wait_until


def test_start_stop_are_idempotent_and_call_hooks_once(impl):
    calls = []

    class Svc(impl.mod.Service):
        def on_start(self):
            calls.append("start")

        def on_stop(self):
            calls.append("stop")

    svc = Svc("svc")
    assert svc.running is False
    assert svc.start() is svc
    assert svc.start() is svc
    assert svc.running is True
    assert svc.stop() is svc
    assert svc.stop() is svc
    assert svc.running is False
    assert calls == ["start", "stop"]


def test_failing_on_start_raises_and_leaves_service_stopped(impl):
    class Broken(impl.mod.Service):
        def on_start(self):
            raise ValueError("no disk")

    svc = Broken("broken")
    with pytest.raises(ValueError, match="no disk"):
        svc.start()
    assert svc.running is False


def test_on_stop_exception_does_not_stop_teardown(impl):
    cleaned = []

    class Svc(impl.mod.Service):
        def on_start(self):
            self.add_cleanup(lambda: cleaned.append(True))

        def on_stop(self):
            raise RuntimeError("flush failed")

    svc = Svc("svc").start()
    svc.stop()
    assert cleaned == [True]
    assert svc.running is False


def test_initial_state_is_copied_and_set_state_is_a_shallow_merge(impl):
    initial = {"a": 1, "nested": {"x": 1}}
    svc = impl.mod.Service("svc", initial)
    initial["a"] = 99
    assert svc.state == {"a": 1, "nested": {"x": 1}}
    svc.set_state({"b": 2, "nested": {"y": 2}})
    assert svc.state == {"a": 1, "b": 2, "nested": {"y": 2}}
    copy = svc.get_state()
    copy["a"] = "changed"
    assert svc.get_state()["a"] == 1


def test_service_without_initial_state_has_empty_state(impl):
    assert impl.mod.Service("svc").state == {}


def test_subscribe_gets_state_and_service_and_can_unsubscribe(impl):
    svc = impl.mod.Service("svc", {"n": 0})
    seen = []
    unsub = svc.subscribe(lambda state, service: seen.append((state, service)))
    svc.set_state({"n": 1})
    assert seen == [({"n": 1}, svc)]
    unsub()
    svc.set_state({"n": 2})
    assert len(seen) == 1


def test_subscribe_immediate_fires_with_current_state(impl):
    svc = impl.mod.Service("svc", {"n": 5})
    seen = []
    svc.subscribe(lambda state, service: seen.append(state), immediate=True)
    assert seen == [{"n": 5}]


def test_raising_subscriber_does_not_break_set_state_or_others(impl):
    svc = impl.mod.Service("svc", {"n": 0})
    seen = []

    def bad(state, service):
        raise RuntimeError("subscriber bug")

    svc.subscribe(bad)
    svc.subscribe(lambda state, service: seen.append(state["n"]))
    svc.set_state({"n": 1})
    assert seen == [1]
    assert svc.state["n"] == 1


def test_subscribe_with_owner_unsubscribes_when_owner_stops(impl):
    svc = impl.mod.Service("svc", {"n": 0})
    owner = impl.mod.Service("owner").start()
    seen = []
    svc.subscribe(lambda state, service: seen.append(state["n"]), owner=owner)
    svc.set_state({"n": 1})
    owner.stop()
    svc.set_state({"n": 2})
    assert seen == [1]


def test_watch_is_immediate_and_ends_when_the_service_stops(impl):
    seen = []
    svc = impl.mod.Service("svc", {"n": 0}).start()
    svc.watch(lambda state, service: seen.append(state["n"]))
    assert seen == [0]
    svc.set_state({"n": 1})
    svc.stop()
    svc.set_state({"n": 2})
    assert seen == [0, 1]


def test_stop_clears_state_subscribers(impl):
    svc = impl.mod.Service("svc", {"n": 0}).start()
    seen = []
    svc.subscribe(lambda state, service: seen.append(state["n"]))
    svc.stop()
    svc.set_state({"n": 1})
    assert seen == []


def test_spawn_and_timers_require_a_running_service(impl):
    svc = impl.mod.Service("svc")
    for call in (lambda: svc.spawn(lambda: None), lambda: svc.spawn_later(0.01, lambda: None),
                 lambda: svc.interval(lambda: None, 0.01), lambda: svc.timeout(lambda: None, 0.01)):
        with pytest.raises(RuntimeError):
            call()


def test_interval_repeats_survives_errors_and_stops_with_service(impl):
    ticks = []

    class Ticker(impl.mod.Service):
        def on_start(self):
            self.interval_id = self.interval(self.tick, 0.005)

        def tick(self):
            ticks.append(1)
            if len(ticks) == 2:
                raise RuntimeError("one bad tick")

    svc = Ticker("ticker").start()
    assert isinstance(svc.interval_id, str)
    wait_until(lambda: len(ticks) >= 4, message="4 ticks, past the raising one")
    svc.stop()
    after = len(ticks)
    periods_elapse(0.005, 6)
    assert len(ticks) == after


def test_cancel_interval_stops_ticks(impl):
    ticks = []
    svc = impl.mod.Service("svc").start()
    interval_id = svc.interval(lambda: ticks.append(1), 0.005)
    wait_until(lambda: ticks, message="first tick")
    svc.cancel_interval(interval_id)
    gevent.sleep(0)
    after = len(ticks)
    periods_elapse(0.005, 6)
    assert len(ticks) == after
    svc.stop()


def test_timeout_runs_once_and_cancel_timeout_prevents_it(impl):
    fired = []
    svc = impl.mod.Service("svc").start()
    svc.timeout(lambda: fired.append("a"), 0.005)
    cancelled = svc.timeout(lambda: fired.append("b"), 0.01)
    assert isinstance(cancelled, str)
    svc.cancel_timeout(cancelled)
    wait_until(lambda: fired, message="the timeout")
    periods_elapse(0.01, 3)                  # past the cancelled one's deadline
    assert fired == ["a"]
    svc.stop()


def test_timeouts_are_cancelled_by_stop(impl):
    fired = []
    svc = impl.mod.Service("svc").start()
    svc.timeout(lambda: fired.append(1), 0.01)
    svc.stop()
    periods_elapse(0.01, 3)                  # past the timeout's deadline
    assert fired == []


def test_spawn_returns_owned_greenlet_killed_on_stop(impl):
    svc = impl.mod.Service("svc").start()
    started = gevent.event.Event()

    def forever(tag, *, flag):
        flag.set()
        gevent.sleep(60)

    glet = svc.spawn(forever, "x", flag=started, label="forever")
    assert isinstance(glet, gevent.Greenlet)
    started.wait(2)
    svc.stop()
    wait_until(lambda: glet.dead, message="the spawned greenlet to die")


def test_spawn_logs_errors_instead_of_raising(impl):
    svc = impl.mod.Service("svc").start()

    def boom():
        raise ValueError("inside greenlet")

    glet = svc.spawn(boom)
    glet.join(2)
    assert glet.dead
    gevent.sleep(0)                          # the crash report runs in the greenlet itself: one hub turn
    assert svc.running and svc.health()["status"] == "ok"  # logged, nothing else happens
    svc.stop()


def test_spawn_later_runs_after_delay_with_args(impl):
    got = []
    svc = impl.mod.Service("svc").start()
    svc.spawn_later(0.005, lambda a, b=None: got.append((a, b)), 1, b=2)
    wait_until(lambda: got, message="the delayed call")
    assert got == [(1, 2)]
    svc.stop()


def test_cancel_greenlet_kills_it_and_returns_service(impl):
    svc = impl.mod.Service("svc").start()
    glet = svc.spawn(gevent.sleep, 60)
    assert svc.cancel_greenlet(glet) is svc
    wait_until(lambda: glet.dead, message="the cancelled greenlet")
    assert svc.cancel_greenlet(None) is svc
    svc.stop()


def test_listen_and_emit_use_the_bus_and_listen_ends_on_stop(impl):
    heard = []

    class Svc(impl.mod.Service):
        def on_start(self):
            assert self.listen("ping", heard.append) is self

    svc = Svc("svc").start()
    assert svc.emit("ping", 1) is svc
    impl.mod.bus.emit("ping", 2)
    svc.stop()
    impl.mod.bus.emit("ping", 3)
    assert heard == [1, 2]


def test_adopt_starts_child_and_stop_stops_children_in_reverse(impl):
    order = []

    class Child(impl.mod.Service):
        def on_stop(self):
            order.append(self.name)

    parent = impl.mod.Service("parent").start()
    a, b = Child("a"), Child("b")
    assert parent.adopt(a) is parent
    parent.adopt(b)
    assert a.running and b.running
    parent.stop()
    assert order == ["b", "a"]
    assert not a.running and not b.running


def test_adopt_start_false_and_none_and_type_check(impl):
    parent = impl.mod.Service("parent").start()
    child = impl.mod.Service("child")
    parent.adopt(child, start=False)
    assert child.running is False
    assert parent.adopt(None) is parent
    with pytest.raises(TypeError):
        parent.adopt(object())
    child.start()
    parent.stop()
    assert child.running is False


def test_cleanups_run_in_reverse_and_a_raising_one_does_not_stop_the_rest(impl):
    order = []
    svc = impl.mod.Service("svc").start()
    svc.add_cleanup(lambda: order.append(1))

    def bad():
        order.append(2)
        raise RuntimeError("cleanup failed")

    assert svc.add_cleanup(bad) is svc
    svc.add_cleanup(lambda: order.append(3))
    svc.stop()
    assert order == [3, 2, 1]


def test_own_uses_stop_method_or_explicit_name_and_returns_resource(impl):
    calls = []

    class WithStop:
        def stop(self):
            calls.append("stop")

    class WithRelease:
        def release(self):
            calls.append("release")

    svc = impl.mod.Service("svc").start()
    res = WithStop()
    assert svc.own(res) is res
    svc.own(WithRelease(), stop_method="release")
    assert svc.own(None) is None
    svc.stop()
    assert calls == ["release", "stop"]


def test_own_without_any_release_method_is_a_type_error(impl):
    svc = impl.mod.Service("svc").start()
    with pytest.raises(TypeError):
        svc.own(object())
    svc.stop()


@pytest.mark.parametrize("methods, expected", [
    pytest.param(("close", "destroy"), "close"),
    pytest.param(("disconnect", "kill"), "disconnect"),
    pytest.param(("terminate", "kill"), "terminate"),
    (("destroy", "kill"), "destroy"),
])
def test_own_picks_the_release_method_in_specter_order(impl, methods, expected):
    calls = []
    attrs = {name: (lambda self, n=name: calls.append(n)) for name in methods}
    Resource = type("Resource", (), attrs)
    svc = impl.mod.Service("svc").start()
    try:
        svc.own(Resource())
    finally:
        svc.stop()
    assert calls == [expected]


def test_own_disconnects_a_socketio_client(impl):
    import socketio

    client = socketio.Client()
    calls = []
    client.disconnect = lambda: calls.append("disconnect")  # not connected: observe the call
    svc = impl.mod.Service("svc").start()
    try:
        svc.own(client)
    finally:
        svc.stop()
    assert calls == ["disconnect"]


def test_teardown_order_of_children_and_cleanups(impl):
    order = []

    class Child(impl.mod.Service):
        def on_stop(self):
            order.append("child")

    parent = impl.mod.Service("parent").start()
    parent.add_cleanup(lambda: order.append("cleanup-before"))
    parent.adopt(Child("child"))
    parent.add_cleanup(lambda: order.append("cleanup-after"))
    parent.stop()
    if impl.difference(ROW_TEARDOWN_LIFO):
        # one stack: the last thing owned is the first released
        assert order == ["cleanup-after", "child", "cleanup-before"]
    else:
        # SPECTER: every child first, then every cleanup (each list reversed)
        assert order == ["child", "cleanup-after", "cleanup-before"]


def test_health_reports_status_and_name(impl):
    svc = impl.mod.Service("svc")
    assert svc.health()["status"] == "stopped"
    assert svc.health()["name"] == "svc"
    svc.start()
    assert svc.health()["status"] == "ok"
    svc.stop()
    assert svc.health()["status"] == "stopped"


def test_default_priority_is_100(impl):
    assert impl.mod.Service("svc").priority == 100


def test_start_process_is_owned_and_stopped_with_the_service(impl):
    import sys

    svc = impl.mod.Service("svc").start()
    proc = svc.start_process([sys.executable, "-c", "import time; time.sleep(60)"], name="sleeper")
    assert isinstance(proc, impl.mod.ManagedProcess)
    assert proc.running
    svc.stop()
    assert not proc.running


def test_own_terminates_an_owned_popen(impl):
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    svc = impl.mod.Service("svc").start()
    try:
        svc.own(proc)
    finally:
        svc.stop()
        proc.wait(10)
    assert proc.returncode == -signal.SIGTERM
