"""Watcher: poll and stream modes, backoff and recovery, dedupe, ownership, scope."""
from __future__ import annotations

import time
from typing import Any, Iterator, List

import gevent
import pytest
from gevent.event import Event

from specter_spoc.lifecycle.service import Service
from specter_spoc.lifecycle.watcher import Watcher, WatcherError
from specter_spoc.wiring.proxies import bus
from specter_spoc.testing import wait_until
from specter_spoc.wiring.scope import Scope, default_scope


class Counter:
    def __init__(self, values: List[Any]) -> None:
        self.values = list(values)
        self.calls = 0

    def __call__(self) -> Any:
        self.calls += 1
        return self.values.pop(0) if len(self.values) > 1 else self.values[0]


def test_poll_mode_delivers_each_value_to_subscribers():
    seen: List[Any] = []
    poll = Counter([1, 2, 3])
    watcher = Watcher("counter", poll=poll, interval=0.01)
    unsubscribe = watcher.subscribe(lambda value, w: seen.append((value, w)))
    watcher.start()
    try:
        wait_until(lambda: len(seen) >= 3)
        assert [v for v, _ in seen[:3]] == [1, 2, 3]
        assert all(w is watcher for _, w in seen)
        assert watcher.last_value == 3 and watcher.running
        unsubscribe()
        count, calls = len(seen), poll.calls
        wait_until(lambda: poll.calls >= calls + 3, what="three more polls")
        assert len(seen) == count  # polled, but nobody is subscribed any more
    finally:
        watcher.stop()
    assert not watcher.running
    assert watcher.health()["status"] == "stopped"


def test_dedupe_skips_unchanged_values_and_transform_applies_first():
    seen: List[Any] = []
    poll = Counter([1, 1, 2, 2, 2, 3, 3])
    watcher = Watcher("dedupe", poll=poll, interval=0.005, dedupe=True, transform=lambda v: v * 10)
    watcher.subscribe(lambda value, w: seen.append(value))
    watcher.start()
    try:
        wait_until(lambda: poll.calls >= 10)
    finally:
        watcher.stop()
    assert seen == [10, 20, 30]
    assert watcher.health()["values"] == 3


def test_errors_back_off_exponentially_then_recover():
    attempts: List[float] = []
    values: List[str] = []

    def flaky() -> str:
        attempts.append(time.monotonic())
        if len(attempts) <= 3:
            raise ConnectionError(f"device busy ({len(attempts)})")
        return "online"

    watcher = Watcher("flaky", poll=flaky, interval=0.04, max_backoff=1.0)
    watcher.subscribe(lambda value, w: values.append(value))
    snapshots = []
    watcher.start()
    try:
        wait_until(lambda: len(attempts) >= 2)
        snapshots.append(watcher.health())
        wait_until(lambda: values == ["online"] or len(values) > 1)
        snapshots.append(watcher.health())
    finally:
        watcher.stop()
    during, after = snapshots
    assert during["status"] == "retrying" and during["consecutive_errors"] >= 1
    assert "ConnectionError: device busy" in during["last_error"]
    assert after["status"] == "ok" and after["consecutive_errors"] == 0
    assert after["error_count"] == 3
    gaps = [b - a for a, b in zip(attempts, attempts[1:4])]
    # 0.04, 0.08, 0.16: each wait doubles
    assert gaps[0] >= 0.038 and gaps[1] >= 0.078 and gaps[2] >= 0.158, gaps
    assert gaps[2] > gaps[0] * 2.5, gaps


def test_backoff_is_capped_by_max_backoff():
    attempts: List[float] = []

    def broken() -> None:
        attempts.append(time.monotonic())
        raise OSError("gone")

    watcher = Watcher("capped", poll=broken, interval=0.01, max_backoff=0.03).start()
    try:
        wait_until(lambda: len(attempts) >= 7)
    finally:
        watcher.stop()
    gaps = [b - a for a, b in zip(attempts, attempts[1:])]
    assert max(gaps[3:]) < 0.03 + 0.04, gaps   # capped (with scheduling slack)
    assert watcher.health()["error_count"] >= 6


def test_retry_false_stops_on_the_first_error():
    watcher = Watcher("fragile", poll=lambda: 1 / 0, interval=0.01, retry=False).start()
    wait_until(lambda: not watcher.running)
    health = watcher.health()
    assert health["status"] == "failed"
    assert "ZeroDivisionError" in health["last_error"]
    watcher.stop()


def test_stream_mode_iterates_and_reopens_after_an_error():
    opened: List[int] = []

    def stream() -> Iterator[str]:
        opened.append(1)
        yield f"line-{len(opened)}a"
        if len(opened) == 1:
            raise EOFError("pipe broke")
        yield f"line-{len(opened)}b"
        Event().wait()   # a quiet stream: blocks until stopped

    seen: List[str] = []
    watcher = Watcher("stream", stream=stream, interval=0.01)
    watcher.subscribe(lambda value, w: seen.append(value))
    watcher.start()
    try:
        wait_until(lambda: len(seen) == 3)
        assert seen == ["line-1a", "line-2a", "line-2b"]
        assert watcher.health()["mode"] == "stream"
        assert watcher.health()["error_count"] == 1
    finally:
        watcher.stop()
    assert not watcher.running


def test_a_stream_that_ends_is_reopened_unless_retry_is_false():
    opened: List[int] = []

    def short() -> List[int]:
        opened.append(1)
        return [len(opened)]

    again = Watcher("again", stream=short, interval=0.01).start()
    try:
        wait_until(lambda: len(opened) >= 3)
    finally:
        again.stop()
    assert again.last_value >= 3
    opened.clear()
    once = Watcher("once", stream=short, interval=0.01, retry=False).start()
    # the loop clears `running` as it exits; a retry would keep it set (and reopen)
    wait_until(lambda: not once.running, what="the retry=False watcher to end")
    assert opened == [1] and once.last_value == 1
    once.stop()


def test_a_raising_subscriber_does_not_end_the_loop():
    good: List[Any] = []

    def bad(value: Any, w: Watcher) -> None:
        raise RuntimeError("subscriber bug")

    watcher = Watcher("robust", poll=Counter([1, 2, 3]), interval=0.005)
    watcher.subscribe(bad)
    watcher.subscribe(lambda value, w: good.append(value))
    watcher.start()
    try:
        wait_until(lambda: len(good) >= 3)
    finally:
        watcher.stop()
    assert good[:3] == [1, 2, 3]
    assert watcher.health()["error_count"] == 0


def test_stop_from_a_subscriber_ends_the_loop():
    def stop_me(value: Any, w: Watcher) -> None:
        w.stop()

    watcher = Watcher("self-stop", poll=lambda: 1, interval=0.005)
    watcher.subscribe(stop_me)
    watcher.start()
    wait_until(lambda: not watcher.running)
    watcher.stop()   # joins the finished loop greenlet


def test_owned_watcher_stops_with_its_service_and_uses_its_scope():
    scope = Scope("watched-runtime")
    got: List[Any] = []
    scope.bus.on("hdmi:changed", got.append)
    default_hits: List[Any] = []
    default_scope().bus.on("hdmi:changed", default_hits.append)

    class Display(Service):
        def on_start(self) -> None:
            self.watcher = self.own(Watcher("hdmi", poll=lambda: "connected", interval=0.01, dedupe=True))
            self.watcher.subscribe(lambda value, w: bus.emit("hdmi:changed", value))
            self.watcher.start()

    with scope.activate():
        svc = Display("display").start()
    try:
        wait_until(lambda: got == ["connected"])
        loop = svc.watcher._greenlet
        assert loop is not None and not loop.dead
    finally:
        svc.stop()
    assert not svc.watcher.running
    assert loop.dead
    assert default_hits == []


@pytest.mark.parametrize("kwargs, exc, word", [
    ({}, ValueError, "poll= .*or stream="),
    ({"poll": lambda: 1, "stream": lambda: []}, ValueError, "not both"),
    ({"poll": 5}, TypeError, "poll"),
    ({"stream": "abc"}, TypeError, "stream"),
    ({"poll": lambda: 1, "interval": 0}, ValueError, "interval"),
    ({"poll": lambda: 1, "interval": "1"}, TypeError, "interval"),
    ({"poll": lambda: 1, "max_backoff": -1}, ValueError, "max_backoff"),
    ({"poll": lambda: 1, "transform": "upper"}, TypeError, "transform"),
])
def test_bad_constructor_arguments_name_the_argument(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        Watcher("bad", **kwargs)


def test_bad_name_and_subscriber_are_refused():
    with pytest.raises(TypeError, match="name"):
        Watcher("", poll=lambda: 1)
    watcher = Watcher("w", poll=lambda: 1)
    with pytest.raises(TypeError, match="subscribe"):
        watcher.subscribe("not callable")  # type: ignore[arg-type]
    assert issubclass(WatcherError, Exception)
