"""Core benchmarks: EventBus emit, and start/stop of 1000 services (the
module-level ``bus`` proxy in each context is measured by bench_bus).

    python -m benchmarks.bench_core

Baselines in the same run: a plain Python loop calling the same listeners,
and specter-runtime 0.1.2 (``specter``) when installed (pip install -e '.[dev]').
"""
from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import gc  # noqa: E402
from typing import Dict, List  # noqa: E402

import gevent  # noqa: E402
import greenlet  # noqa: E402

from benchmarks._harness import have_specter, interleaved, print_rows, row, timed  # noqa: E402

EMITS = 200_000


def _listeners(n: int) -> list:
    sink: list = []

    def make(i: int):
        def listener(data: object) -> None:
            pass
        return listener

    return [make(i) for i in range(n)] + [sink] * 0


def bus_rows(repeats: int = 5, counts=(1, 3, 10), emits: int = EMITS) -> List[Dict[str, object]]:
    from specter_spoc import EventBus

    rows = []
    for n in counts:
        listeners = _listeners(n)
        ours = EventBus()
        for fn in listeners:
            ours.on("e", fn)

        def plain() -> None:
            fns = listeners
            for _ in range(emits):
                for fn in fns:
                    fn(None)

        def ours_direct() -> None:
            emit = ours.emit
            for _ in range(emits):
                emit("e", None)

        candidates = {"plain": plain, "ours": ours_direct}
        if have_specter():
            from specter.core.bus import EventBus as SpecterBus
            theirs = SpecterBus()
            for fn in listeners:
                theirs.on("e", fn)

            def specter_emit() -> None:
                emit = theirs.emit
                for _ in range(emits):
                    emit("e", None)

            candidates["specter"] = specter_emit
        t = interleaved(candidates, repeats)
        per = lambda name: t[name] / emits * 1e9  # noqa: E731  ns per emit
        rows.append(row(f"bus emit, {n} listener(s): EventBus", per("ours"), "plain loop", per("plain"),
                        "ns/emit", repeats))
        if "specter" in t:
            rows.append(row(f"bus emit, {n} listener(s): EventBus", per("ours"), "specter 0.1.2",
                            per("specter"), "ns/emit", repeats))
            rows.append(row(f"bus emit, {n} listener(s): specter 0.1.2 itself", per("specter"), "plain loop",
                            per("plain"), "ns/emit", repeats))
    return rows


def _live_greenlets() -> int:
    current = greenlet.getcurrent()
    hub = gevent.get_hub()  # created lazily by the first cycle's sleep: not a leftover of stop()
    return sum(1 for o in gc.get_objects() if isinstance(o, greenlet.greenlet) and not o.dead
               and o is not current and o is not hub and o.parent is not None)


def _service_cycle(service_cls, n: int) -> Dict[str, float]:
    services = [service_cls(f"s{i}") for i in range(n)]
    base = _live_greenlets()
    start = timed(lambda: [s.start() for s in services])
    gevent.sleep(0.01)  # let every interval and spawned greenlet run once
    running = _live_greenlets() - base
    stop = timed(lambda: [s.stop() for s in services])
    after = _live_greenlets() - base
    gevent.sleep(0.01)
    after_10ms = _live_greenlets() - base
    return {"start": start, "stop": stop, "running": running, "after": after, "after_10ms": after_10ms}


def service_rows(repeats: int = 5, n: int = 1000) -> List[Dict[str, object]]:
    import statistics

    from specter_spoc import Service

    class Ours(Service):
        def on_start(self) -> None:
            self.interval(lambda: None, 1.0)
            self.spawn(gevent.sleep, 60)

    impls = {"ours": Ours}
    if have_specter():
        from specter import Service as SpecterService

        class Theirs(SpecterService):
            def on_start(self) -> None:
                self.interval(lambda: None, 1.0)
                self.spawn(gevent.sleep, 60)

        impls["specter"] = Theirs
    results: Dict[str, List[Dict[str, float]]] = {k: [] for k in impls}
    for _ in range(repeats):
        for name, cls in impls.items():
            results[name].append(_service_cycle(cls, n))
            gevent.sleep(0.05)  # let SPECTER's stragglers die before the next run

    def med(name: str, key: str) -> float:
        return statistics.median(r[key] for r in results[name])

    theirs = "specter" in results
    rows = [
        row(f"start {n} services (interval + spawned greenlet each)", med("ours", "start") * 1e3,
            "specter 0.1.2" if theirs else "n/a", med("specter", "start") * 1e3 if theirs else None, "ms", repeats),
        row(f"stop {n} services", med("ours", "stop") * 1e3,
            "specter 0.1.2" if theirs else "n/a", med("specter", "stop") * 1e3 if theirs else None, "ms", repeats),
        row(f"live greenlets right after the last stop() of {n}", med("ours", "after"),
            "specter 0.1.2" if theirs else "n/a", med("specter", "after") if theirs else None, "greenlets",
            repeats, note=f"{med('ours', 'running'):.0f} were running"),
        row(f"live greenlets 10 ms after the last stop() of {n}", med("ours", "after_10ms"),
            "specter 0.1.2" if theirs else "n/a", med("specter", "after_10ms") if theirs else None, "greenlets",
            repeats),
    ]
    return rows


def run(repeats: int = 5, quick: bool = False) -> List[Dict[str, object]]:
    if quick:
        return bus_rows(repeats, emits=20_000) + service_rows(repeats, n=200)
    return bus_rows(repeats) + service_rows(repeats)


if __name__ == "__main__":
    print_rows(run())
