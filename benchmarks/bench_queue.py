"""QueueService throughput, latency and drain accounting, side by side.

Compares, in one process and one run:

- a raw gevent ``JoinableQueue`` drained by 4 greenlets (the floor),
- ``specter_spoc.QueueService`` with ``worker_count=4``,
- SPECTER 0.1.2's ``QueueService`` (``specter-runtime``; "n/a" when absent),

all with a trivial handler. Then enqueue-to-handle latency (p50/p99) and a
drain run whose accepted / processed / handed-back figures must add up.

Run it standalone (it monkey-patches first)::

    python -m benchmarks.bench_queue [--items 30000] [--repeats 5] [--quick]

or import it and call ``run(repeats=5)`` for a list of result rows.
"""
from __future__ import annotations

if __name__ == "__main__":  # a script must patch before anything imports socket/threading
    from gevent import monkey

    monkey.patch_all()

import argparse
import logging
import os
import statistics
import sys
import time
import warnings
from typing import Any, Callable, Dict, List, Optional

import gevent
from gevent.queue import JoinableQueue

from benchmarks._harness import interleaved_samples, paired_row, print_rows, row, self_timed

try:
    from specter_spoc.lifecycle.queue import QueueService
except ImportError:  # run from a checkout with another interpreter (e.g. SPECTER's venv)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from specter_spoc.lifecycle.queue import QueueService

WORKERS = 4


def _specter_queue_service() -> Optional[type]:
    try:
        from specter import QueueService as SpecterQueueService
    except Exception:
        return None
    return SpecterQueueService


def _trivial(item: Any) -> None:
    return None


# ------------------------------------------------------------------ throughput
def _raw_run(items: int, handler: Callable[[Any], None] = _trivial, clock: Callable[[], float] = time.perf_counter
             ) -> float:
    queue: JoinableQueue = JoinableQueue()

    def worker() -> None:
        get, done = queue.get, queue.task_done
        while True:
            handler(get())
            done()

    workers = [gevent.spawn(worker) for _ in range(WORKERS)]
    try:
        started = clock()
        for i in range(items):
            queue.put(i)
        queue.join()
        return clock() - started
    finally:
        gevent.killall(workers)


def _service_class(base: type, handler: Callable[[Any], None]) -> type:
    if handler is _trivial:
        class Trivial(base):  # type: ignore[misc, valid-type]
            def handle_item(self, item: Any) -> None:
                return None
        return Trivial

    class Bench(base):  # type: ignore[misc, valid-type]
        def handle_item(self, item: Any) -> None:
            handler(item)

    return Bench


def _make(base: type, handler: Callable[[Any], None], name: str) -> Any:
    with warnings.catch_warnings():  # SPECTER builds JoinableQueue(0), which gevent deprecates
        warnings.simplefilter("ignore", DeprecationWarning)
        return _service_class(base, handler)(name, worker_count=WORKERS)


def _service_run(base: type, items: int, handler: Callable[[Any], None] = _trivial,
                 clock: Callable[[], float] = time.perf_counter) -> float:
    svc = _make(base, handler, "bench")
    svc.start()
    try:
        started = clock()
        for i in range(items):
            svc.enqueue(i)
        svc.queue.join()
        return clock() - started
    finally:
        svc.stop()




# --------------------------------------------------------------------- latency
def _latency_run(make_put: Callable[[Callable[[Any], None]], Any], items: int) -> Dict[str, float]:
    """Enqueue ``items`` timestamps in bursts of 16, yielding between bursts;
    the handler records ``now - enqueued``."""
    samples: List[float] = []
    clock = time.perf_counter

    def handler(stamp: float) -> None:
        samples.append(clock() - stamp)

    put, wait_done, close = make_put(handler)
    try:
        for i in range(items):
            put(clock())
            if i % 16 == 15:
                gevent.sleep(0)
        wait_done()
    finally:
        close()
    samples.sort()
    return {"p50": samples[len(samples) // 2] * 1e6,
            "p99": samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1e6}


def _raw_latency(handler: Callable[[Any], None]) -> Any:
    queue: JoinableQueue = JoinableQueue()

    def worker() -> None:
        while True:
            handler(queue.get())
            queue.task_done()

    workers = [gevent.spawn(worker) for _ in range(WORKERS)]
    return queue.put, queue.join, lambda: gevent.killall(workers)


def _service_latency(base: type) -> Callable[[Callable[[Any], None]], Any]:
    def make(handler: Callable[[Any], None]) -> Any:
        svc = _make(base, handler, "latency")
        svc.start()
        return svc.enqueue, svc.queue.join, svc.stop
    return make


# ----------------------------------------------------------------------- drain
class _DrainBench(QueueService):
    drain_timeout = 0.25

    def __init__(self) -> None:
        super().__init__("drain-bench", worker_count=WORKERS)
        self.handed: List[Any] = []

    def handle_item(self, item: Any) -> None:
        gevent.sleep(0.001)
        if item % 97 == 0:
            raise ValueError("every 97th item fails")

    def on_dead_letter(self, item: Any, exc: BaseException) -> None:
        pass

    def on_undelivered(self, items: List[Any]) -> None:
        self.handed.extend(items)


def _drain_run(items: int = 5000) -> Dict[str, int]:
    logging.getLogger("specter_spoc.queue").setLevel(logging.ERROR)  # the drain warning is expected
    svc = _DrainBench().start()
    for i in range(items):
        svc.enqueue(i)
    gevent.sleep(0.05)
    svc.stop()
    stats = svc.stats()
    stats["handed_to_hook"] = len(svc.handed)
    return stats


# ------------------------------------------------------------------------ run
THROUGHPUT_GOAL = "issue 16 #5: <= 1.5x raw gevent"


def throughput_rows(repeats: int, items: int) -> List[Dict[str, Any]]:
    """Time to push ``items`` trivial items through 4 workers, in CPU time
    (``time.process_time``: one process, no I/O, so other load on a shared
    machine does not stretch it), interleaved rounds; paired rows with the
    min-max of the per-round ratios."""
    specter_cls = _specter_queue_service()
    cpu = time.process_time
    _raw_run(2000), _service_run(QueueService, 2000)  # warm up
    runs: Dict[str, Callable[[], float]] = {
        "raw": self_timed(lambda: _raw_run(items, clock=cpu)),
        "ours": self_timed(lambda: _service_run(QueueService, items, clock=cpu)),
    }
    if specter_cls is not None:
        runs["specter"] = self_timed(lambda: _service_run(specter_cls, items, clock=cpu))
    samples = interleaved_samples(runs, repeats)
    what = f"QueueService throughput, {WORKERS} workers, {items:,} trivial items (CPU time)"
    rows = [paired_row(what, samples["ours"], "raw gevent JoinableQueue + 4 greenlets", samples["raw"], "ms",
                       scale=1e3, goal=THROUGHPUT_GOAL, goal_max=1.5,
                       note=f"{items / statistics.median(samples['ours']):,.0f} vs "
                            f"{items / statistics.median(samples['raw']):,.0f} items per CPU second")]
    if "specter" in samples:
        rows.append(paired_row(what, samples["ours"], "specter-runtime 0.1.2 QueueService", samples["specter"],
                               "ms", scale=1e3))
    return rows


def run(repeats: int = 5, items: Optional[int] = None, quick: bool = False) -> List[Dict[str, Any]]:
    """Run every measurement; returns rows with name, ours, baseline, ratio
    (ours / baseline: below 1 means ours is smaller, i.e. faster) and unit."""
    items = items or (3_000 if quick else 30_000)
    specter_cls = _specter_queue_service()
    rows = throughput_rows(repeats, items)
    lat_items = max(1000, items // 5)
    raw_lat = _latency_run(_raw_latency, lat_items)
    our_lat = _latency_run(_service_latency(QueueService), lat_items)
    spec_lat = _latency_run(_service_latency(specter_cls), lat_items) if specter_cls else None
    for pct in ("p50", "p99"):
        rows.append(row(f"enqueue-to-handle latency {pct}", our_lat[pct], "raw gevent", raw_lat[pct], "us", 1,
                        note=f"{lat_items:,} items, wall clock"))
        rows.append(row(f"enqueue-to-handle latency {pct}", our_lat[pct], "specter-runtime 0.1.2",
                        spec_lat[pct] if spec_lat else None, "us", 1, note=f"{lat_items:,} items, wall clock"))
    drain = _drain_run(1000 if quick else 5000)
    settled = drain["processed"] + drain["dead_lettered"] + drain["handed_back"]
    rows.append(row("drain: processed + dead-lettered + handed back vs accepted", settled, "accepted",
                    drain["accepted"], "items", 1,
                    note=", ".join(f"{k} {drain[k]}" for k in ("accepted", "processed", "dead_lettered",
                                                                "handed_back", "handed_to_hook", "pending",
                                                                "in_flight"))))
    return rows


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    rows = run(repeats=args.repeats, items=args.items, quick=args.quick)
    print_rows(rows)
    drain = rows[-1]
    return 0 if drain["ours"] == drain["baseline_value"] else 1


if __name__ == "__main__":
    sys.exit(main())
