"""Module-level functions run in offload worker processes by test_offload.py
(the child imports this module by name, so it must stay light and importable)."""
from __future__ import annotations

import os
import time


def square(x: int) -> int:
    return x * x


def burn_cpu(seconds: float) -> int:
    """Busy-loop (no sleeping, no I/O) for ``seconds``; returns iterations."""
    end = time.monotonic() + seconds
    count = 0
    while time.monotonic() < end:
        count += 1
    return count


def burn_cpu_until(started: str, stop: str, limit: float) -> bool:
    """Create ``started``, then busy-loop (no sleeping, no I/O but a stat)
    until the file ``stop`` exists; False if ``limit`` seconds pass first."""
    open(started, "w").close()
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if os.path.exists(stop):
            return True
    return False


def sleep_then(seconds: float, value: object) -> object:
    time.sleep(seconds)
    return value


def worker_pid() -> int:
    return os.getpid()


def fail_with(message: str) -> None:
    raise KeyError(message)


class Unpicklable(Exception):
    def __init__(self, message: str, handle: object) -> None:
        super().__init__(message)
        self.handle = handle

    def __reduce__(self):  # type: ignore[override]
        raise TypeError("this exception cannot be pickled")


def fail_unpicklably() -> None:
    raise Unpicklable("locked", object())


def die(code: int) -> None:
    os._exit(code)


def chatty(value: int) -> int:
    print("printing to stdout in the worker must not corrupt the protocol")
    return value + 1
