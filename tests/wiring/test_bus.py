from __future__ import annotations

import logging

import pytest

from specter_spoc import EventBus


def test_listeners_run_in_subscription_order() -> None:
    bus = EventBus()
    calls: list[str] = []
    for name in "abcdefghij":
        bus.on("e", lambda data, name=name: calls.append(name + str(data)))
    bus.emit("e", 1)
    assert calls == [c + "1" for c in "abcdefghij"]


def test_raising_listener_is_logged_and_others_still_run(caplog: pytest.LogCaptureFixture) -> None:
    bus = EventBus()
    seen: list[int] = []

    def bad(data: int) -> None:
        raise ValueError("boom")

    bus.on("e", seen.append)
    bus.on("e", bad)
    bus.on("e", lambda d: seen.append(d * 10))
    with caplog.at_level(logging.ERROR, logger="specter_spoc.bus"):
        bus.emit("e", 2)
    assert seen == [2, 20]
    assert "boom" in caplog.text and "'e'" in caplog.text


def test_unsubscribe_off_once_and_counts() -> None:
    bus = EventBus()
    seen: list[object] = []
    unsubscribe = bus.on("a", seen.append)
    bus.once("a", lambda d: seen.append(("once", d)))
    bus.on("b", seen.append)
    assert bus.listener_count() == 3 and bus.listener_count("a") == 2
    bus.emit("a", 1)
    bus.emit("a", 2)
    assert seen == [1, ("once", 1), 2]
    unsubscribe()
    bus.emit("a", 3)
    assert seen == [1, ("once", 1), 2]
    assert not bus.has_listeners("a") and bus.has_listeners("b")
    bus.off("b", seen.append)  # a different bound-method object: equal, not identical
    bus.clear("b")
    assert bus.listener_count() == 0


def test_off_removes_once_wrapper_by_original_callback() -> None:
    bus = EventBus()
    seen: list[int] = []
    cb = seen.append
    bus.once("a", cb)
    bus.off("a", cb)
    bus.emit("a", 1)
    assert seen == []


def test_subscribing_during_emit_applies_to_next_emit() -> None:
    bus = EventBus()
    seen: list[str] = []

    def first(_: object) -> None:
        seen.append("first")
        bus.on("e", lambda _: seen.append("late"))

    bus.on("e", first)
    bus.emit("e")
    assert seen == ["first"]
    bus.emit("e")
    assert seen == ["first", "first", "late"]


@pytest.mark.parametrize("bad", [None, 3, "not callable"])
def test_non_callable_listener_is_a_clear_type_error(bad: object) -> None:
    with pytest.raises(TypeError, match="callable listener"):
        EventBus().on("e", bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["", None, 5])
def test_bad_event_name_is_a_clear_type_error(bad: object) -> None:
    with pytest.raises(TypeError, match="event name"):
        EventBus().on(bad, print)  # type: ignore[arg-type]


def test_tap_sees_every_event_first_and_can_refuse_it() -> None:
    bus = EventBus()
    seen: list[tuple] = []
    bus.on("a", lambda d: seen.append(("listener", d)))
    untap = bus.tap(lambda event, data: seen.append(("tap", event, data)))
    bus.emit("a", 1)
    bus.emit("unheard", 2)
    assert seen == [("tap", "a", 1), ("listener", 1), ("tap", "unheard", 2)]

    def refuse(event: str, data: object) -> None:
        raise ValueError(f"cannot carry {event}")

    untap_refuse = bus.tap(refuse)
    with pytest.raises(ValueError, match="cannot carry a"):
        bus.emit("a", 3)
    untap_refuse()
    untap()
    seen.clear()
    bus.emit("a", 4)
    assert seen == [("listener", 4)]
    with pytest.raises(TypeError, match="bus.tap"):
        bus.tap("nope")  # type: ignore[arg-type]


def test_off_with_bound_method_and_once_of_bound_method() -> None:
    """``self.handler`` is a new object on each access: off() matches by equality."""
    bus = EventBus()

    class Owner:
        def __init__(self) -> None:
            self.heard: list = []

        def handler(self, data: object) -> None:
            self.heard.append(data)

    a, b = Owner(), Owner()
    bus.on("e", a.handler)
    bus.on("e", b.handler)
    bus.off("e", a.handler)
    bus.emit("e", 1)
    assert (a.heard, b.heard) == ([], [1])
    bus.once("o", a.handler)
    bus.off("o", a.handler)
    bus.emit("o", 2)
    assert a.heard == [] and bus.listener_count("o") == 0
