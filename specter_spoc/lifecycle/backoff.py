"""Exponential backoff, written once.

Supervised restarts, QueueService retries and Watcher error recovery all
wait ``base * 2**attempt`` seconds, capped at ``cap``. (The Redis
connection uses redis-py's own backoff classes instead.)
"""
from __future__ import annotations

__all__ = ["backoff_delay", "Backoff"]


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """The delay before retry number ``attempt`` (0-based): ``min(cap, base * 2**attempt)``."""
    if attempt >= 64:  # 2**64 * base overflows nothing useful: it is the cap
        return float(cap)
    return float(min(cap, base * (2 ** attempt)))


class Backoff:
    """Stateful form: :meth:`next` grows the delay, :meth:`reset` after a success."""

    __slots__ = ("base", "cap", "attempt")

    def __init__(self, base: float, cap: float) -> None:
        self.base: float = float(base)
        self.cap: float = float(cap)
        self.attempt: int = 0

    @property
    def current(self) -> float:
        return backoff_delay(self.attempt, self.base, self.cap)

    def next(self) -> float:
        """The delay to wait now; the following call returns double (capped)."""
        delay = self.current
        self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0
