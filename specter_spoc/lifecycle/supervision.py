"""What a Service does when a greenlet it owns dies of an uncaught exception.

Borrowed from OTP: every crash is *someone's* problem.

- ``"log"`` (default, SPECTER's behaviour): log it, count it, carry on.
- ``"restart"``: stop the whole service and start it again after a backoff
  (``restart_backoff`` doubling up to ``max_backoff``); after
  ``max_restarts`` restarts within ``restart_window`` seconds, give up: the
  service stops and its health says ``failed``. A restart whose own
  ``start()`` fails counts against the same limit.
- ``"escalate"``: hand the crash to the owner (the service that adopted this
  one, or the runtime), which applies *its* policy.

Nothing is restarted once the service (or its runtime) has begun stopping.
"""
from __future__ import annotations

from collections import deque
from typing import Deque, Optional

from .backoff import backoff_delay
from .clock import MONOTONIC, Clock

POLICIES = ("log", "restart", "escalate")


class RestartTracker:
    """Counts restarts in a sliding window and computes the next backoff."""

    def __init__(self, max_restarts: int, window: float, base_backoff: float, max_backoff: float,
                 clock: Clock = MONOTONIC) -> None:
        self.max_restarts = max_restarts
        self.window = window
        self.base_backoff = base_backoff
        self.max_backoff = max_backoff
        self.clock = clock
        self.total: int = 0
        self._recent: Deque[float] = deque()

    def next_delay(self, now: Optional[float] = None) -> Optional[float]:
        """Record a restart request; the delay before it, or None to give up."""
        now = self.clock.now() if now is None else now
        while self._recent and now - self._recent[0] > self.window:
            self._recent.popleft()
        if len(self._recent) >= self.max_restarts:
            return None
        delay = backoff_delay(len(self._recent), self.base_backoff, self.max_backoff)
        self._recent.append(now)
        self.total += 1
        return delay


def check_policy(policy: object, owner_name: str) -> str:
    if policy not in POLICIES:
        raise ValueError(
            f"Service {owner_name!r}: supervision={policy!r} is not a policy. "
            f"Use one of {', '.join(repr(p) for p in POLICIES)}."
        )
    return str(policy)
