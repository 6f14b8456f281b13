"""specter_spoc._validate: the shared checks for seconds and counts."""
from __future__ import annotations

import math

import pytest

from specter_spoc._validate import check_int, check_seconds, is_number


@pytest.mark.parametrize("value", [0, 1, -3, 0.5, 1e9, math.inf])
def test_ints_and_floats_are_numbers(value: object) -> None:
    assert is_number(value)


@pytest.mark.parametrize("value", [True, False, "5", None, [1], 1j])
def test_bools_strings_and_others_are_not(value: object) -> None:
    assert not is_number(value)


def test_check_seconds_returns_a_float() -> None:
    assert check_seconds(2, "timeout()") == 2.0 and isinstance(check_seconds(2, "timeout()"), float)
    assert check_seconds(0.25, "x") == 0.25


def test_zero_needs_allow_zero() -> None:
    with pytest.raises(ValueError, match=r"interval\(\) needs seconds > 0, got 0"):
        check_seconds(0, "interval()")
    assert check_seconds(0, "timeout()", allow_zero=True) == 0.0


@pytest.mark.parametrize("value", [-1, -0.001, math.nan])
@pytest.mark.parametrize("allow_zero", [False, True])
def test_negative_and_nan_seconds_are_refused(value: float, allow_zero: bool) -> None:
    bound = ">= 0" if allow_zero else "> 0"
    with pytest.raises(ValueError, match=f"drain_timeout needs seconds {bound}, got"):
        check_seconds(value, "drain_timeout", allow_zero=allow_zero)


@pytest.mark.parametrize("value", [True, "5", None, [1]])
def test_non_numbers_are_a_type_error_naming_the_argument(value: object) -> None:
    with pytest.raises(TypeError, match=rf"Service 's': spawn_later\(\) needs seconds as a number, got {value!r}"
                       .replace("[", r"\[").replace("]", r"\]")):
        check_seconds(value, "Service 's': spawn_later()")


def test_none_passes_only_with_allow_none() -> None:
    assert check_seconds(None, "timeout", allow_none=True) is None
    with pytest.raises(TypeError):
        check_seconds(None, "timeout")


def test_check_int() -> None:
    assert check_int(3, "worker_count") == 3
    assert check_int(0, "max_retries", minimum=0) == 0
    with pytest.raises(ValueError, match="worker_count must be >= 1, got 0"):
        check_int(0, "worker_count", minimum=1)
    for bad in (True, 1.0, "1", None):
        with pytest.raises(TypeError, match=f"worker_count must be an int, got {bad!r}"):
            check_int(bad, "worker_count")
    assert check_int(-5, "offset") == -5  # no minimum, no bound
