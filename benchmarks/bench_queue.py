"""QueueService throughput, latency and drain accounting, side by side.

Compares, in one process and one run:

- a raw gevent ``JoinableQueue`` drained by 4 greenlets (the floor),
- ``specter_spoc.QueueService`` with ``worker_count=4``,
- SPECTER 0.1.2's ``QueueService`` (``specter-runtime``; "n/a" when absent),

all with a trivial handler. Then enqueue-to-handle latency (p50/p99) and a
drain run whose accepted / processed / handed-back figures must add up.

Run it standalone (it monkey-patches first)::

    .venv/bin/python benchmarks/bench_queue.py [--items 50000] [--repeats 5]

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
def _raw_run(items: int, handler: Callable[[Any], None] = _trivial) -> float:
    queue: JoinableQueue = JoinableQueue()

    def worker() -> None:
        get, done = queue.get, queue.task_done
        while True:
            handler(get())
            done()

    workers = [gevent.spawn(worker) for _ in range(WORKERS)]
    try:
        started = time.perf_counter()
        for i in range(items):
            queue.put(i)
        queue.join()
        return time.perf_counter() - started
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


def _service_run(base: type, items: int, handler: Callable[[Any], None] = _trivial) -> float:
    svc = _make(base, handler, "bench")
    svc.start()
    try:
        started = time.perf_counter()
        for i in range(items):
            svc.enqueue(i)
        svc.queue.join()
        return time.perf_counter() - started
    finally:
        svc.stop()


def _interleaved_medians(runs: Dict[str, Callable[[], float]], repeats: int) -> Dict[str, float]:
    """Median per contender, running them round-robin so machine noise hits all alike."""
    samples: Dict[str, List[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            samples[name].append(fn())
    return {name: statistics.median(values) for name, values in samples.items()}


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
def run(repeats: int = 5, items: int = 50_000) -> List[Dict[str, Any]]:
    """Run every measurement; returns rows with name, ours, baseline, ratio
    (ours / baseline: below 1 means ours is smaller, i.e. faster) and unit."""
    specter_cls = _specter_queue_service()
    _raw_run(2000), _service_run(QueueService, 2000)  # warm up
    runs: Dict[str, Callable[[], float]] = {
        "raw": lambda: _raw_run(items),
        "ours": lambda: _service_run(QueueService, items),
    }
    if specter_cls is not None:
        runs["specter"] = lambda: _service_run(specter_cls, items)
    medians = _interleaved_medians(runs, repeats)
    raw, ours, specter = medians["raw"], medians["ours"], medians.get("specter")
    rows: List[Dict[str, Any]] = [
        {"name": f"queue throughput, {WORKERS} workers, {items} items: vs raw gevent",
         "ours": ours, "baseline": raw, "ratio": ours / raw, "unit": "s"},
        {"name": f"queue throughput, {WORKERS} workers, {items} items: vs specter-runtime 0.1.2",
         "ours": ours, "baseline": specter, "ratio": (ours / specter) if specter else None, "unit": "s"},
    ]
    lat_items = max(1000, items // 5)
    raw_lat = _latency_run(_raw_latency, lat_items)
    our_lat = _latency_run(_service_latency(QueueService), lat_items)
    spec_lat = _latency_run(_service_latency(specter_cls), lat_items) if specter_cls else None
    for pct in ("p50", "p99"):
        rows.append({"name": f"enqueue-to-handle latency {pct}: vs raw gevent", "ours": our_lat[pct],
                     "baseline": raw_lat[pct], "ratio": our_lat[pct] / raw_lat[pct], "unit": "us"})
        rows.append({"name": f"enqueue-to-handle latency {pct}: vs specter-runtime 0.1.2",
                     "ours": our_lat[pct], "baseline": spec_lat[pct] if spec_lat else None,
                     "ratio": our_lat[pct] / spec_lat[pct] if spec_lat else None, "unit": "us"})
    drain = _drain_run()
    settled = drain["processed"] + drain["dead_lettered"] + drain["handed_back"]
    rows.append({"name": "drain: processed + dead-lettered + handed back vs accepted",
                 "ours": settled, "baseline": drain["accepted"],
                 "ratio": settled / drain["accepted"] if drain["accepted"] else None, "unit": "items",
                 **{k: drain[k] for k in ("accepted", "processed", "dead_lettered", "handed_back",
                                          "handed_to_hook", "pending", "in_flight")}})
    return rows


def _fmt(value: Optional[float], unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "s":
        return f"{value * 1000:9.1f} ms"
    if unit == "us":
        return f"{value:9.1f} us"
    return f"{value:9.0f} {unit}"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    rows = run(repeats=args.repeats, items=args.items)
    print(f"python {sys.version.split()[0]}, gevent {gevent.__version__}, "
          f"specter-runtime {'present' if _specter_queue_service() else 'n/a'}; medians of {args.repeats}")
    for row in rows:
        ratio = "n/a" if row["ratio"] is None else f"{row['ratio']:.2f}x"
        print(f"{row['name']:<68} ours {_fmt(row['ours'], row['unit'])}   "
              f"baseline {_fmt(row['baseline'], row['unit'])}   ours/baseline {ratio}")
    throughput_raw, throughput_specter = rows[0], rows[1]
    if throughput_specter["baseline"]:
        speedup = throughput_specter["baseline"] / throughput_specter["ours"]
        print(f"=> specter_spoc QueueService is {speedup:.1f}x "
              f"faster than SPECTER 0.1.2 and {throughput_raw['ratio']:.2f}x the raw gevent time")
    drain = rows[-1]
    ok = drain["ours"] == drain["baseline"] and drain["handed_back"] == drain["handed_to_hook"]
    print(f"drain: accepted {drain['accepted']} = processed {drain['processed']} + dead-lettered "
          f"{drain['dead_lettered']} + handed back {drain['handed_back']} -> {'OK' if ok else 'MISMATCH'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
