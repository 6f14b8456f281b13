"""The injectable clock, for the lifecycle layer (defined at the bottom of the
layer order in :mod:`specter_spoc._clock`, so stores and caches use it too)."""
from __future__ import annotations

from .._clock import MONOTONIC, Clock, ManualClock, MonotonicClock

__all__ = ["Clock", "MonotonicClock", "ManualClock", "MONOTONIC"]
