"""gunicorn config for the soak run (``gunicorn -c benchmarks/_soak_gunicorn.py``).

The example has no endpoint that reports the process's live greenlets (its
health endpoint counts only service-owned greenlets, and is off in
production), so this hook measures them from inside the worker without
touching the app: after the worker booted, one greenlet appends a JSON line
every ``SOAK_STATS_INTERVAL`` seconds to ``SOAK_STATS_FILE``::

    {"t": <time.monotonic()>, "pid": ..., "greenlets": ..., "rss": ..., "fds": ...}

``greenlets`` counts live (not dead) greenlet objects found by the garbage
collector; the scan takes some milliseconds with hundreds of connections,
which the soak's latency figures include.
"""
from __future__ import annotations

import os


def _stats() -> dict:
    import gc
    import time

    import greenlet

    live = sum(1 for obj in gc.get_objects() if isinstance(obj, greenlet.greenlet) and not obj.dead)
    rss = 0
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
    return {"t": time.monotonic(), "pid": os.getpid(), "greenlets": live, "rss": rss,
            "fds": len(os.listdir("/proc/self/fd"))}


def post_worker_init(worker) -> None:  # noqa: ANN001 - gunicorn's hook signature
    path = os.environ.get("SOAK_STATS_FILE")
    if not path:
        return
    interval = float(os.environ.get("SOAK_STATS_INTERVAL", "5"))

    import json

    import gevent

    def report() -> None:
        while True:
            try:
                line = json.dumps(_stats())
                with open(path, "a") as fh:
                    fh.write(line + "\n")
            except Exception as exc:  # never take the worker down for a measurement
                worker.log.warning("soak stats failed: %s", exc)
            gevent.sleep(interval)

    gevent.spawn(report)
