"""Boot and shutdown at scale: ``boot(app, socketio, services=[...])`` with
1,000 / 10,000 / 50,000 services against SPECTER's ``boot()``
(ServiceManager) at the same sizes, the growth law, and shutdown of 10,000
services against the floor: one batched ``gevent.killall`` of the same
greenlets.

    python -m benchmarks.bench_boot [--repeats 5] [--quick]

Method. One process, gevent-patched; each sample builds a fresh Flask app +
Flask-SocketIO server and N fresh services, and times (CPU time of the process, which other load
on a shared machine does not stretch — boot and teardown do no I/O; gc off
for the whole cycle, one full collection before it) the call
users make: ``boot(app, socketio, services=services)`` — registering and
starting all N — and then ``runtime.shutdown()`` (SPECTER:
``manager.shutdown()``). Each service's ``on_start`` sets one interval and
spawns one greenlet (two parked greenlets per service); before shutdown the
benchmark waits until every spawned greenlet has run, so shutdown kills
parked greenlets, not ones that never started. Ours and SPECTER alternate
every round (order reversed every other round); medians of the rounds; the
spread is the min-max of the per-round ratios. After each of our shutdowns
the live greenlets are counted and must be 0 (the run fails otherwise).

Growth law: boot time at 10k / boot time at 1k (linear is x10). A size
whose predicted time (from the growth between the two smaller sizes)
exceeds the per-sample budget is not run and its row says so (e.g. a
quadratic boot at 50k).

Teardown floor: at 10k, each round also spawns the same number and shape of
raw gevent greenlets (per service an interval-like loop and one parked
greenlet, 20,000 in all), lets them park, and times one
``gevent.killall(all, block=True)`` — the least any teardown of that many
greenlets can cost; our ``runtime.shutdown()`` figure of the same round is
compared with it.

Goals (issue 16 #1 and #3): growth 1k->10k <= x12; boot <= 1.5x SPECTER at
10k; shutdown of 10k services <= 3x the batched killall, 0 alive.
"""
from __future__ import annotations

if __name__ == "__main__":
    from gevent import monkey

    monkey.patch_all()

import gc
import logging
import math
import statistics
import time
import warnings
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import gevent
import greenlet

from benchmarks._harness import ScenarioSkipped, have_specter, paired_row, row, scenario_main

SIZES = (1_000, 10_000, 50_000)
QUICK_SIZES = (100, 1_000)
#: the size whose shutdown is compared with the batched-killall floor
TEARDOWN_SIZE = 10_000
#: seconds one boot + shutdown sample may be predicted to take before its size is skipped
BUDGET = 60.0
QUICK_BUDGET = 5.0
SPECTER = "specter 0.1.2 boot()/ServiceManager"
FLOOR = "gevent.killall of as many raw greenlets, one batch"


def _noop() -> None:
    return None


class _Started:
    """Counts spawned greenlets that have begun running (so shutdown is
    timed on parked greenlets, not never-started ones)."""

    def __init__(self) -> None:
        self.count = 0
        self.parked: List[greenlet.greenlet] = []

    def park(self) -> None:
        self.count += 1
        self.parked.append(greenlet.getcurrent())
        gevent.sleep(600)

    def all_dead(self) -> bool:
        return all(g.dead for g in self.parked)


def _service_class(base: type, started: _Started) -> type:
    class Bench(base):  # type: ignore[misc, valid-type]
        def on_start(self) -> None:
            self.interval(_noop, 600)
            self.spawn(started.park)
    return Bench


def _app() -> Tuple[Any, Any]:
    from flask import Flask
    from flask_socketio import SocketIO

    app = Flask("bench_boot")
    return app, SocketIO(app, async_mode="gevent")


def _wait_started(started: _Started, n: int, limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    while started.count < n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {started.count} of {n} spawned greenlets ran within {limit:.0f} s of boot")
        gevent.sleep(0.005)


def _live_greenlets() -> List[greenlet.greenlet]:
    """Every live greenlet but this one and the hub (gevent's Greenlets and
    raw ones), found through gc."""
    current, hub = greenlet.getcurrent(), gevent.get_hub()
    return [o for o in gc.get_objects() if isinstance(o, greenlet.greenlet) and not o.dead
            and o is not current and o is not hub and o.parent is not None]


#: wall-clock seconds of every timed call, by label (reported in the notes:
#: a wait that burns no CPU would hide from the CPU figure, not from this)
WALL: Dict[str, List[float]] = {}


def _timed(fn: Callable[[], Any], label: str = "") -> Tuple[float, Any]:
    """(CPU seconds, result) of one call of ``fn`` (inside a :func:`_cycle_without_gc`)."""
    wall, start = time.perf_counter(), time.process_time()
    value = fn()
    cpu = time.process_time() - start
    WALL.setdefault(label, []).append(time.perf_counter() - wall)
    return cpu, value


@contextmanager
def _cycle_without_gc() -> Iterator[None]:
    """One full collection before a cycle, none during it: with 50,000
    services (a few million objects) a collection takes seconds, and
    allocating them would trigger many; what they leave is collected before
    the next cycle. The timed calls never include a collection."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _wall_ms(label: str) -> str:
    values = WALL.get(label)
    return f"{statistics.median(values) * 1e3:,.0f} ms" if values else "n/a"


def _ours_cycle(n: int) -> Dict[str, float]:
    with _cycle_without_gc():
        return _ours_cycle_body(n)


def _ours_cycle_body(n: int) -> Dict[str, float]:
    from specter_spoc import Service, boot

    started = _Started()
    cls = _service_class(Service, started)
    app, socketio = _app()
    services = [cls(f"bench.s{i}") for i in range(n)]
    before = len(_live_greenlets())
    boot_s, runtime = _timed(lambda: boot(app, socketio, services=services), f"ours boot {n}")
    try:
        _wait_started(started, n)
    finally:
        shutdown_s, _ = _timed(runtime.shutdown, f"ours shutdown {n}")
    alive = len(_live_greenlets()) - before
    if alive > 0:
        raise RuntimeError(f"{alive} greenlets still alive right after runtime.shutdown() of {n} services")
    return {"boot": boot_s, "shutdown": shutdown_s, "alive": alive}


def _specter_cycle(n: int) -> Dict[str, float]:
    with _cycle_without_gc():
        return _specter_cycle_body(n)


def _specter_cycle_body(n: int) -> Dict[str, float]:
    from specter import Service as SpecterService
    from specter import boot as specter_boot

    started = _Started()
    cls = _service_class(SpecterService, started)
    app, socketio = _app()
    services = [cls(f"bench.s{i}") for i in range(n)]
    before = len(_live_greenlets())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        boot_s, manager = _timed(lambda: specter_boot(app, socketio, services=services), f"specter boot {n}")
    try:
        _wait_started(started, n)
    finally:
        shutdown_s, _ = _timed(manager.shutdown, f"specter shutdown {n}")
    alive = len(_live_greenlets()) - before
    deadline = time.monotonic() + 30  # SPECTER kills without joining: let its greenlets die before the next sample
    while not started.all_dead() and time.monotonic() < deadline:
        gevent.sleep(0.01)
    gevent.sleep(0.05)
    return {"boot": boot_s, "shutdown": shutdown_s, "alive": alive}


def _floor_cycle(n: int) -> Dict[str, float]:
    with _cycle_without_gc():
        return _floor_cycle_body(n)


def _floor_cycle_body(n: int) -> Dict[str, float]:
    """The same number and shape of parked greenlets as n booted services
    own (per service: an interval-like loop and one parked greenlet), raw
    gevent, killed in one batch: (CPU seconds, greenlets)."""
    started = _Started()

    def loop() -> None:
        while True:
            gevent.sleep(600)
            _noop()

    owned = [gevent.spawn(loop) for _ in range(n)] + [gevent.spawn(started.park) for _ in range(n)]
    _wait_started(started, n)
    gevent.sleep(0)
    kill_s, _ = _timed(lambda: gevent.killall(owned, block=True), f"floor {n}")
    alive = sum(1 for g in owned if not g.dead)
    if alive:
        raise RuntimeError(f"{alive} of {len(owned)} greenlets survived the batched killall")
    return {"kill": kill_s, "greenlets": len(owned)}


def _predicted(times: Dict[int, float], n: int) -> Optional[float]:
    """Seconds a sample at ``n`` should take, extrapolating the growth between
    the two largest sizes measured so far (at least linear)."""
    done = sorted(times)
    if not done:
        return None
    if len(done) == 1:
        return times[done[0]] * n / done[0]
    a, b = done[-2], done[-1]
    exponent = max(1.0, math.log(max(times[b], 1e-9) / max(times[a], 1e-9)) / math.log(b / a))
    return times[b] * (n / b) ** exponent


def _size_rows(repeats: int, sizes: Tuple[int, ...], budget: float, floor_at: int
               ) -> Tuple[List[Dict[str, Any]], Dict[str, Dict[int, float]], List[Dict[str, Any]]]:
    rows: List[Dict[str, Any]] = []
    teardown: List[Dict[str, Any]] = []
    ours_boot: Dict[int, float] = {}
    theirs_boot: Dict[int, float] = {}
    ours_total: Dict[int, float] = {}
    theirs_total: Dict[int, float] = {}
    for n in sizes:
        guess_ours, guess_theirs = _predicted(ours_total, n), _predicted(theirs_total, n)
        skip = []
        if guess_ours is not None and guess_ours > budget:
            measured = sorted(ours_total)[-2:]
            skip.append(f"ours would take ~{guess_ours:.0f} s per sample at the growth measured between "
                        + " and ".join(f"{m:,}" for m in measured) + " services")
        if guess_theirs is not None and guess_theirs > budget:
            skip.append(f"SPECTER would take ~{guess_theirs:.0f} s per sample")
        if skip:
            theirs_only = [] if guess_theirs is not None and guess_theirs > budget else [
                _specter_cycle(n) for _ in range(repeats)]
            boot_t = statistics.median(s["boot"] for s in theirs_only) * 1e3 if theirs_only else None
            tot_t = statistics.median(s["boot"] + s["shutdown"] for s in theirs_only) * 1e3 if theirs_only else None
            why = "; ".join(skip) + f" (budget {budget:.0f} s per sample)"
            rows.append(row(f"boot(app, socketio, services=[{n:,} services]): ours not run", None, SPECTER, boot_t,
                            "ms", len(theirs_only), note=why))
            rows.append(row(f"boot + shutdown of {n:,} services: ours not run", None, SPECTER, tot_t, "ms",
                            len(theirs_only), note=why))
            continue
        samples: Dict[str, List[Dict[str, float]]] = {"ours": [], "specter": [], "floor": []}
        cycles = {"ours": _ours_cycle, "specter": _specter_cycle}
        if n == floor_at:
            cycles["floor"] = _floor_cycle
        for i in range(repeats):
            for name in (list(cycles) if i % 2 == 0 else list(cycles)[::-1]):
                samples[name].append(cycles[name](n))
        if n == floor_at:
            teardown = _teardown_row(n, [s["shutdown"] for s in samples["ours"]], samples["floor"])
        boot_o = [s["boot"] for s in samples["ours"]]
        boot_t = [s["boot"] for s in samples["specter"]]
        tot_o = [s["boot"] + s["shutdown"] for s in samples["ours"]]
        tot_t = [s["boot"] + s["shutdown"] for s in samples["specter"]]
        ours_boot[n], theirs_boot[n] = statistics.median(boot_o), statistics.median(boot_t)
        ours_total[n], theirs_total[n] = statistics.median(tot_o), statistics.median(tot_t)
        goal = {"goal": "issue 16 #1: boot <= 1.5x SPECTER at 10k", "goal_max": 1.5} if n == 10_000 else {}
        rows.append(paired_row(f"boot(app, socketio, services=[{n:,} services])", boot_o, SPECTER, boot_t, "ms",
                               scale=1e3, note=f"register + start; 2 greenlets per service; CPU time; wall medians {_wall_ms(f'ours boot {n}')} "
                                    f"vs {_wall_ms(f'specter boot {n}')}", **goal))
        left = max(s["alive"] for s in samples["specter"])
        rows.append(paired_row(f"boot + shutdown of {n:,} services", tot_o, SPECTER, tot_t, "ms", scale=1e3,
                               note=f"0 of ours alive after shutdown; SPECTER left up to {left:,.0f} greenlets "
                                    f"alive (it kills without joining)"))
    if not teardown:
        teardown = [row(f"runtime.shutdown() of {floor_at:,} services: not run", None, FLOOR, None, "ms", 0,
                        note=f"boot of {floor_at:,} services was not run (see above)",
                        goal="issue 16 #3: <= 3x the batched killall, 0 alive", goal_max=3.0)]
    return rows, {"ours": ours_boot, "specter": theirs_boot}, teardown


def _growth_rows(boots: Dict[str, Dict[int, float]], sizes: Tuple[int, ...]) -> List[Dict[str, Any]]:
    ours, theirs = boots["ours"], boots["specter"]
    small, big = sizes[0], sizes[1]
    factor = big / small
    if small not in ours or big not in ours:
        return [row(f"boot growth {small:,} -> {big:,} services", None, "linear", factor, "x", 0,
                    note="not measured", goal=f"issue 16 #1: growth <= x{factor * 1.2:g}",
                    goal_max=factor * 1.2, goal_of="ours")]
    growth = ours[big] / ours[small]
    law = ", ".join(f"{n:,}: {ours[n] * 1e3:,.0f} ms" for n in sorted(ours))
    theirs_growth = theirs[big] / theirs[small] if small in theirs and big in theirs else None
    note = f"ours {law}" + (f"; SPECTER x{theirs_growth:.1f}" if theirs_growth else "")
    if len(ours) > 2:
        n3 = sorted(ours)[2]
        note += f"; {big:,} -> {n3:,}: x{ours[n3] / ours[big]:.1f} (linear x{n3 / big:g})"
    return [row(f"boot growth {small:,} -> {big:,} services (boot time ratio)", growth, "linear", factor, "x", 1,
                note=note, goal=f"issue 16 #1: growth {small:,} -> {big:,} <= x{factor * 1.2:g}",
                goal_max=factor * 1.2, goal_of="ours")]


def _teardown_row(n: int, ours: List[float], floor: List[Dict[str, float]]) -> List[Dict[str, Any]]:
    greenlets = int(floor[0]["greenlets"])
    return [paired_row(f"runtime.shutdown() of {n:,} services (2 parked greenlets each)", ours, FLOOR,
                       [f["kill"] for f in floor], "ms", scale=1e3,
                       goal="issue 16 #3: <= 3x the batched killall, 0 alive", goal_max=3.0,
                       note=f"0 alive after every shutdown (checked); the floor kills {greenlets:,} raw greenlets "
                            f"of the same shape in one batch; CPU time; wall medians "
                            f"{_wall_ms(f'ours shutdown {n}')} vs {_wall_ms(f'floor {n}')}")]


def run(repeats: int = 5, quick: bool = False, sizes: Optional[Tuple[int, ...]] = None,
        budget: Optional[float] = None) -> List[Dict[str, Any]]:
    if not have_specter():
        raise ScenarioSkipped("specter-runtime 0.1.2 is not installed: pip install -e '.[dev]'")
    logging.getLogger("specter_spoc").setLevel(logging.WARNING)
    logging.getLogger("specter").setLevel(logging.WARNING)
    logging.getLogger("SPECTER").setLevel(logging.WARNING)
    sizes = sizes or (QUICK_SIZES if quick else SIZES)
    budget = budget or (QUICK_BUDGET if quick else BUDGET)
    _ours_cycle(100), _specter_cycle(100), _floor_cycle(100)  # warm up (imports, first-use caches)
    floor_at = TEARDOWN_SIZE if TEARDOWN_SIZE in sizes else sizes[-1]
    rows, boots, teardown = _size_rows(repeats, sizes, budget, floor_at)
    return _growth_rows(boots, sizes) + rows + teardown


def main(argv: Optional[List[str]] = None) -> int:
    return scenario_main(run, __doc__, repeats=5, argv=argv)


if __name__ == "__main__":
    raise SystemExit(main())
