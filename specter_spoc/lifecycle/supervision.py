"""What a Service does when a greenlet it owns dies of an uncaught exception.

Borrowed from OTP: every crash is *someone's* problem.

- ``"log"`` (default, SPECTER's behaviour): log it, count it, carry on.
- ``"restart"``: stop the whole service and start it again after a backoff
  (``restart_backoff`` doubling up to ``max_backoff``); after
  ``max_restarts`` restarts within ``restart_window`` seconds, give up: the
  service stops and its health says ``failed``.
- ``"escalate"``: hand the crash to the owner (the service that adopted this
  one, or the runtime), which applies *its* policy.
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Deque, Optional

POLICIES = ("log", "restart", "escalate")


@dataclass
class RestartTracker:
    """Counts restarts in a sliding window and computes the next backoff."""

    max_restarts: int
    window: float
    base_backoff: float
    max_backoff: float
    total: int = 0
    _recent: Deque[float] = field(default_factory=deque)

    def next_delay(self, now: Optional[float] = None) -> Optional[float]:
        """Record a restart request; the delay before it, or None to give up."""
        now = time.monotonic() if now is None else now
        while self._recent and now - self._recent[0] > self.window:
            self._recent.popleft()
        if len(self._recent) >= self.max_restarts:
            return None
        delay = min(self.max_backoff, self.base_backoff * (2 ** len(self._recent)))
        self._recent.append(now)
        self.total += 1
        return delay


def check_policy(policy: object, owner_name: str) -> str:
    if policy not in POLICIES:
        raise ValueError(
            f"Service {owner_name!r}: supervision={policy!r} is not a policy. "
            f"Use one of {', '.join(repr(p) for p in POLICIES)}."
        )
    return policy  # type: ignore[return-value]
