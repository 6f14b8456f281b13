"""specter_spoc.lifecycle.backoff: the one exponential backoff."""
from __future__ import annotations

import pytest

from specter_spoc.lifecycle.backoff import Backoff, backoff_delay


@pytest.mark.parametrize("attempt, expected", [(0, 0.1), (1, 0.2), (2, 0.4), (3, 0.8), (4, 1.0), (10, 1.0)])
def test_delay_doubles_from_base_and_stops_at_the_cap(attempt: int, expected: float) -> None:
    assert backoff_delay(attempt, 0.1, 1.0) == pytest.approx(expected)


def test_huge_attempt_numbers_give_the_cap_without_overflow() -> None:
    assert backoff_delay(64, 0.5, 30.0) == 30.0
    assert backoff_delay(10_000, 0.5, 30.0) == 30.0
    assert backoff_delay(63, 0.5, 30.0) == 30.0
    assert isinstance(backoff_delay(10_000, 1, 7), float)


def test_a_cap_below_the_base_wins() -> None:
    assert backoff_delay(0, 5.0, 2.0) == 2.0


def test_stateful_backoff_grows_then_resets() -> None:
    backoff = Backoff(base=0.5, cap=3)
    assert (backoff.base, backoff.cap, backoff.attempt) == (0.5, 3.0, 0)
    assert backoff.current == 0.5  # reading does not advance
    assert [backoff.next() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert backoff.attempt == 5 and backoff.current == 3.0
    backoff.reset()
    assert backoff.attempt == 0 and backoff.next() == 0.5


def test_backoff_has_no_instance_dict() -> None:
    with pytest.raises(AttributeError):
        Backoff(1, 2).typo = 3  # type: ignore[attr-defined]
