"""Memory per idle Service and per idle QueueService: ours against a raw
gevent greenlet doing the same waiting, and against specter-runtime 0.1.2.

    python -m benchmarks.bench_memory [--repeats 3] [--quick]

Method. Every measurement runs in a fresh interpreter (this module with
``--child``), so one candidate's garbage never counts against another:
import everything, ``gc.collect()``, read the RSS (``/proc/self/status``
VmRSS), create and start N objects, let every greenlet run once
so each is parked with its stack saved (until the reading stops changing),
``gc.collect()``, read again; the figure is (after - before) / N. A second child per
candidate does the same under ``tracemalloc`` (Python allocations only,
deterministic; it slows every allocation, so it is measured once, with N/5
objects).

Candidates (N = 10,000 by default):

- Service: a subclass whose ``on_start`` sets one ``interval(noop, 60)``;
  raw baseline: one ``gevent.spawn`` of a ``while True: sleep(60)`` loop;
- QueueService: default ``worker_count=1``, started, empty;
  raw baseline: a gevent ``JoinableQueue`` plus one greenlet blocked in get().

Candidates alternate in every round (a fresh process each); medians of the
rounds, spread = min-max of the per-round ratios.

Idle wake-ups. A third kind of child starts 200 idle QueueServices (ours,
then SPECTER's), lets them settle, and counts with ``greenlet.settrace``
every switch into a greenlet other than the hub and the main greenlet during
a window of several poll intervals: the figure is wake-ups per second per
idle QueueService (an idle service should cost nothing until work arrives).

Goals (issue 16 #4): RSS per idle QueueService <= 1.1x SPECTER's, and no
periodic wake-up when idle (0 per second).
"""
from __future__ import annotations

if __name__ == "__main__":
    from gevent import monkey

    monkey.patch_all()

import argparse
import gc
import json
import statistics
import subprocess
import sys
import warnings
from typing import Any, Callable, Dict, List, Optional

from benchmarks._harness import paired_row, print_rows, row, scenario_parser

SPECTER = "specter 0.1.2"
RAW = "raw gevent greenlet"
KINDS = ("raw-service", "ours-service", "specter-service", "raw-queue", "ours-queue", "specter-queue")


# ------------------------------------------------------------- child process
def _noop() -> None:
    return None


def _factory(kind: str) -> Callable[[int], Any]:
    """A function starting the i-th idle object of ``kind`` and returning it."""
    import gevent
    from gevent.queue import JoinableQueue

    if kind == "raw-service":
        def idle_loop() -> None:
            while True:
                gevent.sleep(60)
                _noop()
        return lambda i: gevent.spawn(idle_loop)
    if kind == "raw-queue":
        def make_queue(i: int) -> Any:
            queue: JoinableQueue = JoinableQueue()
            return queue, gevent.spawn(queue.get)
        return make_queue
    if kind.startswith("ours"):
        from specter_spoc import QueueService, Service
    else:
        from specter import QueueService, Service  # type: ignore[no-redef]
    if kind.endswith("service"):
        class Idle(Service):  # type: ignore[valid-type, misc]
            def on_start(self) -> None:
                self.interval(_noop, 60)
        return lambda i: Idle(f"idle-{i}").start()

    class IdleQueue(QueueService):  # type: ignore[valid-type, misc]
        def handle_item(self, item: Any) -> None:
            return None

    def make(i: int) -> Any:
        with warnings.catch_warnings():  # SPECTER builds JoinableQueue(0), which gevent deprecates
            warnings.simplefilter("ignore", DeprecationWarning)
            return IdleQueue(f"idle-q-{i}").start()
    return make


def _rss() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def _settled(read: Callable[[], int], tolerance: int, limit: float = 10.0) -> int:
    """``read()`` once every greenlet has run and parked: three readings
    0.1 s apart within ``tolerance`` bytes of each other (a fixed sleep is
    too short for 10,000 first runs on a busy machine, and an interval's
    tick allocates a little for a moment). Bounded by ``limit`` seconds."""
    import time

    import gevent

    deadline = time.monotonic() + limit
    last, same = -(10**12), 0
    while time.monotonic() < deadline and same < 2:
        gevent.sleep(0.1)
        gc.collect()
        value = read()
        same = same + 1 if abs(value - last) <= tolerance else 0
        last = value
    return last


def _measure(kind: str, count: int, method: str) -> Dict[str, float]:
    import gevent

    make = _factory(kind)
    warm = [make(-i - 1) for i in range(50)]  # first-use costs (class caches, hub) out of the figure
    gevent.sleep(0.05)
    gc.collect()
    if method == "tracemalloc":
        import tracemalloc
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
    else:
        before = _rss()
    objects = [make(i) for i in range(count)]
    read = (lambda: tracemalloc.get_traced_memory()[0]) if method == "tracemalloc" else _rss
    after = _settled(read, tolerance=16 * count)  # 16 bytes per object
    alive = len(objects) + len(warm)
    return {"per_object": (after - before) / count, "alive": alive}


def _wakeups(kind: str, count: int, window: float) -> Dict[str, float]:
    """Switches per second per object into greenlets other than the hub and
    the main one, while ``count`` idle objects of ``kind`` sit for ``window``
    seconds (after they settled)."""
    import gevent
    import greenlet

    make = _factory(kind)
    objects = [make(i) for i in range(count)]
    gevent.sleep(0.3)  # every greenlet ran once and parked
    main, hub = greenlet.getcurrent(), gevent.get_hub()
    switches = [0]

    def trace(event: str, args: Any) -> None:
        if event in ("switch", "throw"):
            target = args[1]
            if target is not hub and target is not main:
                switches[0] += 1

    greenlet.settrace(trace)
    try:
        gevent.sleep(window)
    finally:
        greenlet.settrace(None)
    return {"per_object": switches[0] / count / window, "alive": len(objects)}


def _child_main(kind: str, count: int, method: str, window: float = 2.0) -> int:
    result = _wakeups(kind, count, window) if method == "wakeups" else _measure(kind, count, method)
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    import os
    os._exit(0)  # the objects are still running: skip teardown, the figure is taken


# ------------------------------------------------------------------- parent
def _have_specter() -> bool:
    try:
        import specter  # noqa: F401
    except ImportError:
        return False
    return True


def _spawn(kind: str, count: int, method: str, window: float = 2.0) -> float:
    cmd = [sys.executable, "-m", "benchmarks.bench_memory", "--child", kind, "--count", str(count),
           "--method", method, "--window", str(window)]
    from benchmarks._procs import REPO
    done = subprocess.run(cmd, cwd=str(REPO), capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"memory child {kind} ({method}) failed with {done.returncode}:\n{done.stderr[-2000:]}")
    return float(json.loads(done.stdout.strip().splitlines()[-1])["per_object"])


QUEUE_GOAL = "issue 16 #4: <= 1.1x SPECTER's RSS per idle QueueService"
WAKEUP_GOAL = "issue 16 #4: no periodic wake-up of an idle QueueService (0/s)"


def _wakeup_rows(quick: bool) -> List[Dict[str, Any]]:
    count, window = (50, 1.2) if quick else (200, 3.0)
    ours = _spawn("ours-queue", count, "wakeups", window)
    theirs = _spawn("specter-queue", count, "wakeups", window) if _have_specter() else None
    return [row(f"wake-ups per second of an idle QueueService ({count} idle, {window:g} s window)", ours, SPECTER,
                theirs, "wake-ups/s", 1, goal=WAKEUP_GOAL, goal_max=0.0, goal_of="ours", better="lower",
                note="switches into any greenlet but the hub and main (greenlet.settrace), per service; "
                     "SPECTER's worker wakes from get(timeout=poll_interval)")]


def run(repeats: int = 5, quick: bool = False, count: Optional[int] = None) -> List[Dict[str, Any]]:
    """RSS rows (median of ``repeats`` rounds of fresh processes), tracemalloc
    rows (one process each) for Service and QueueService, idle wake-ups."""
    count = count or (500 if quick else 10_000)
    rounds = 1 if quick else max(1, repeats)
    kinds = [k for k in KINDS if _have_specter() or not k.startswith("specter")]
    rss: Dict[str, List[float]] = {k: [] for k in kinds}
    for i in range(rounds):
        for kind in (kinds if i % 2 == 0 else kinds[::-1]):
            rss[kind].append(_spawn(kind, count, "rss") / 1024)
    traced_count = max(100, count // 5)  # per-object figures; tracemalloc slows every allocation
    traced = {kind: _spawn(kind, traced_count, "tracemalloc") for kind in kinds} if not quick else {}
    tr = {k: v / 1024 for k, v in traced.items()}
    rows: List[Dict[str, Any]] = []
    for what, label, interval in (("service", "Service (one interval)", True), ("queue", "QueueService", False)):
        ours, raw, theirs = f"ours-{what}", f"raw-{what}", f"specter-{what}"
        raw_name = RAW if interval else "raw gevent JoinableQueue + greenlet"
        head = f"RSS per idle {label}, {count:,} started"
        rows.append(paired_row(head, rss[ours], raw_name, rss[raw], "KiB"))
        if theirs in rss:
            goal = {"goal": QUEUE_GOAL, "goal_max": 1.1} if what == "queue" else {}
            rows.append(paired_row(head, rss[ours], SPECTER, rss[theirs], "KiB", **goal))
        else:
            rows.append(row(head, statistics.median(rss[ours]), SPECTER, None, "KiB", rounds,
                            note="specter-runtime not installed"))
        if quick:  # the smoke run skips the tracemalloc children
            continue
        head = f"Python allocations (tracemalloc) per idle {label}, {traced_count:,} started"
        rows.append(row(head, tr[ours], raw_name, tr[raw], "KiB", 1))
        rows.append(row(head, tr[ours], SPECTER, tr.get(theirs), "KiB", 1,
                        note="" if theirs in tr else "specter-runtime not installed"))
    return rows + _wakeup_rows(quick)


def main(argv: Optional[List[str]] = None) -> int:
    parser = scenario_parser(__doc__, repeats=5)
    parser.add_argument("--child", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=10_000, help=argparse.SUPPRESS)
    parser.add_argument("--method", choices=("rss", "tracemalloc", "wakeups"), default="rss",
                        help=argparse.SUPPRESS)
    parser.add_argument("--window", type=float, default=2.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child_main(args.child, args.count, args.method, args.window)
    print_rows(run(args.repeats, quick=args.quick))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
