"""Shared helpers for the benchmark scripts: medians of repeats, ratio rows.

Every scenario measures ours and a baseline in the same process and run, so
the ratio means something on a noisy machine even when absolute times do not.
"""
from __future__ import annotations

import gc
import statistics
import time
from typing import Any, Callable, Dict, List, Optional


class ScenarioSkipped(Exception):
    """Raise from a scenario's ``run()`` when something outside Python that
    it needs is missing (say, no ``redis-server`` on PATH): the runner shows
    the message in the table instead of a failure."""


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call of ``fn`` takes (gc disabled during the call)."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start
    finally:
        gc.enable()


def median_time(fn: Callable[[], object], repeats: int) -> float:
    return statistics.median(timed(fn) for _ in range(repeats))


def interleaved(fns: Dict[str, Callable[[], object]], repeats: int) -> Dict[str, float]:
    """Median seconds per name, alternating the candidates each repeat so
    machine noise hits them alike."""
    samples: Dict[str, List[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            samples[name].append(timed(fn))
    return {name: statistics.median(values) for name, values in samples.items()}


def row(scenario: str, ours: Optional[float], baseline_name: str, baseline: Optional[float], unit: str,
        repeats: int, note: str = "") -> Dict[str, object]:
    ratio = (ours / baseline) if ours is not None and baseline else None
    return {"scenario": scenario, "ours": ours, "baseline": baseline_name, "baseline_value": baseline,
            "ratio": ratio, "unit": unit, "repeats": repeats, "note": note}


def fmt(value: Optional[float]) -> str:
    if value is None:
        return "n/a"
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def print_rows(rows: List[Dict[str, object]]) -> None:
    header = f"{'scenario':58} {'ours':>10} {'baseline':>10} {'ratio':>7}  unit / baseline"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{str(r['scenario'])[:58]:58} {fmt(r['ours']):>10} {fmt(r['baseline_value']):>10} "
              f"{fmt(r['ratio']):>7}  {r['unit']} vs {r['baseline']}"
              + (f"  ({r['note']})" if r.get("note") else ""))


def have_specter() -> bool:
    try:
        import specter  # noqa: F401
        return True
    except ImportError:
        return False


def scenario_parser(doc: Optional[str], repeats: int) -> Any:
    """The command line every scenario module shares: --repeats and --quick."""
    import argparse

    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=repeats)
    parser.add_argument("--quick", action="store_true")
    return parser


def scenario_main(run: Callable[..., List[Dict[str, object]]], doc: Optional[str], repeats: int,
                  argv: Optional[List[str]] = None) -> int:
    """``python -m benchmarks.bench_x``: run the scenario and print its rows."""
    args = scenario_parser(doc, repeats).parse_args(argv)
    print_rows(run(args.repeats, quick=args.quick))
    return 0
