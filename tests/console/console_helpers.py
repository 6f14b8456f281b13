"""Helpers for the console tests (fixtures are in conftest.py)."""
from __future__ import annotations

import os
import signal
from typing import Set


def worker_pids(master_pid: int) -> Set[int]:
    """Live child processes of a gunicorn master."""
    out = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master_pid and fields[0] != "Z":
            out.add(int(entry))
    return out


def kill_pid(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
