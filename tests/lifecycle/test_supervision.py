"""specter_spoc.lifecycle.supervision: the restart window, backoff and limit,
driven with an explicit ``now`` (and a ManualClock when ``now`` is omitted)."""
from __future__ import annotations

import pytest

from specter_spoc.lifecycle.clock import MONOTONIC, ManualClock
from specter_spoc.lifecycle.supervision import POLICIES, RestartTracker, check_policy


def tracker(**overrides: float) -> RestartTracker:
    options = dict(max_restarts=3, window=10.0, base_backoff=0.5, max_backoff=2.0)
    options.update(overrides)
    return RestartTracker(**options)  # type: ignore[arg-type]


def test_backoff_doubles_per_restart_inside_the_window_and_is_capped() -> None:
    t = tracker(max_restarts=5)
    assert [t.next_delay(now=float(i)) for i in range(4)] == [0.5, 1.0, 2.0, 2.0]
    assert t.total == 4


def test_gives_up_after_max_restarts_within_the_window() -> None:
    t = tracker()
    assert [t.next_delay(now=n) for n in (0.0, 1.0, 2.0)] == [0.5, 1.0, 2.0]
    assert t.next_delay(now=3.0) is None
    assert t.next_delay(now=9.9) is None  # still inside the window of the first restart
    assert t.total == 3  # refused requests are not restarts


def test_restarts_older_than_the_window_are_forgotten() -> None:
    t = tracker()
    for n in (0.0, 1.0, 2.0):
        t.next_delay(now=n)
    # at 10.5 the restart at 0.0 is 10.5 s old (> window): one slot frees up,
    # and the backoff counts only the two restarts still in the window
    assert t.next_delay(now=10.5) == 2.0
    assert t.next_delay(now=10.6) is None
    # long after, every slot is free and the backoff is back at its base
    assert t.next_delay(now=100.0) == 0.5
    assert t.total == 5


def test_the_window_edge_is_inclusive() -> None:
    t = tracker(max_restarts=1)
    assert t.next_delay(now=0.0) == 0.5
    assert t.next_delay(now=10.0) is None  # exactly `window` old: still counted
    assert t.next_delay(now=10.0001) == 0.5


def test_without_now_the_tracker_reads_its_clock() -> None:
    clock = ManualClock()
    t = RestartTracker(max_restarts=1, window=5.0, base_backoff=1.0, max_backoff=8.0, clock=clock)
    assert t.next_delay() == 1.0
    clock.advance(4.0)
    assert t.next_delay() is None
    clock.advance(1.5)
    assert t.next_delay() == 1.0
    assert RestartTracker(1, 1.0, 1.0, 1.0).clock is MONOTONIC


def test_zero_max_restarts_never_restarts() -> None:
    assert tracker(max_restarts=0).next_delay(now=0.0) is None


@pytest.mark.parametrize("policy", POLICIES)
def test_check_policy_accepts_the_three_policies(policy: str) -> None:
    assert check_policy(policy, "svc") == policy


def test_policies_are_log_restart_escalate() -> None:
    assert POLICIES == ("log", "restart", "escalate")


@pytest.mark.parametrize("bad", ["Restart", "retry", "", None, 1])
def test_check_policy_rejects_anything_else_naming_the_service_and_the_choices(bad: object) -> None:
    with pytest.raises(ValueError) as info:
        check_policy(bad, "mailer")
    message = str(info.value)
    assert "'mailer'" in message and f"supervision={bad!r}" in message
    assert "'log', 'restart', 'escalate'" in message
