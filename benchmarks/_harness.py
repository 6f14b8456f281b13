"""Shared helpers for the benchmark scripts: medians of repeats, ratio rows,
spreads and goal verdicts.

Every scenario measures ours and a baseline in the same process and run, so
the ratio means something on a noisy machine even when absolute times do not.
Rows built from paired samples (:func:`paired_row`) also carry the min-max of
the per-repeat ratios (ours_i / baseline_i, taken from the same interleaved
round) and, when they have a goal, a verdict from :func:`judge`: PASS, FAIL,
or "spread too wide to judge" when the per-repeat ratios straddle the goal
and vary by more than :data:`WIDE_SPREAD`.
"""
from __future__ import annotations

import gc
import statistics
import time
from typing import Any, Callable, Dict, List, Optional, Tuple


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


def interleaved_samples(fns: Dict[str, Callable[[], Optional[float]]], repeats: int,
                        timer: Optional[Callable[[Callable[[], object]], float]] = None) -> Dict[str, List[float]]:
    """Every sample per name (not only the median), alternating the
    candidates each repeat and reversing their order every other repeat, so
    neither drift nor "who runs first after a gc" favours one of them.

    A candidate returning a float reports its own measurement (say, seconds
    it timed itself); otherwise ``timer(fn)`` (default :func:`timed`) times it.
    """
    measure = timer or timed
    samples: Dict[str, List[float]] = {name: [] for name in fns}
    names = list(fns)
    for i in range(repeats):
        for name in (names if i % 2 == 0 else names[::-1]):
            fn = fns[name]
            if getattr(fn, "reports_own_time", False):
                value = fn()
                samples[name].append(float(value))  # type: ignore[arg-type]
            else:
                samples[name].append(measure(fn))
    return samples


def self_timed(fn: Callable[[], float]) -> Callable[[], float]:
    """Mark ``fn`` as returning its own measurement for :func:`interleaved_samples`."""
    fn.reports_own_time = True  # type: ignore[attr-defined]
    return fn


def cpu_timed(fn: Callable[[], object]) -> float:
    """CPU seconds (``time.process_time``) one call of ``fn`` takes, gc off:
    robust to other processes on a shared machine, for single-threaded work."""
    gc.collect()
    gc.disable()
    try:
        start = time.process_time()
        fn()
        return time.process_time() - start
    finally:
        gc.enable()


#: relative width (max - min) / median of the per-repeat ratios above which a
#: row whose ratios straddle its goal is reported as too noisy to judge
WIDE_SPREAD = 0.25


def judge(ratio: Optional[float], goal_max: Optional[float], spread: Optional[Tuple[float, float]] = None,
          value: Optional[float] = None, goal_of: str = "ratio") -> str:
    """``PASS`` / ``FAIL`` for a row with a goal ("ours / baseline <=
    goal_max", or "ours <= goal_max" with ``goal_of="ours"``); ``spread too
    wide to judge`` when the per-repeat ratios straddle the goal and their
    spread is wider than :data:`WIDE_SPREAD` of the median; '' without a goal
    or a figure."""
    if goal_max is None:
        return ""
    if goal_of == "ours":
        if value is None:
            return ""
        return "PASS" if value <= goal_max else "FAIL"
    if ratio is None:
        return ""
    if spread is not None and ratio > 0:
        low, high = spread
        if low <= goal_max <= high and (high - low) / ratio > WIDE_SPREAD:
            return "spread too wide to judge"
    return "PASS" if ratio <= goal_max else "FAIL"


def row(scenario: str, ours: Optional[float], baseline_name: str, baseline: Optional[float], unit: str,
        repeats: int, note: str = "", *, goal: str = "", goal_max: Optional[float] = None,
        goal_of: str = "ratio", spread: Optional[Tuple[float, float]] = None,
        better: Optional[str] = None) -> Dict[str, object]:
    """One result row. ``goal`` is the text of the goal (e.g. "issue 16 #2:
    <= 1.0x SPECTER"), ``goal_max`` the bound on the ratio (or on ``ours``
    with ``goal_of="ours"``); ``spread`` the (min, max) per-repeat ratio;
    ``better`` "lower" or "higher" when the unit alone would mislead (a unit
    ending in ``/s`` reads as a rate, higher is better, unless told)."""
    ratio = (ours / baseline) if ours is not None and baseline else None
    out: Dict[str, object] = {"scenario": scenario, "ours": ours, "baseline": baseline_name,
                              "baseline_value": baseline, "ratio": ratio, "unit": unit, "repeats": repeats,
                              "note": note}
    if goal:
        out.update(goal=goal, goal_max=goal_max, goal_of=goal_of)
    if spread is not None:
        out["spread"] = [spread[0], spread[1]]
    if better is not None:
        out["better"] = better
    return out


def paired_row(scenario: str, ours: List[float], baseline_name: str, baseline: List[float], unit: str, *,
               scale: float = 1.0, note: str = "", goal: str = "", goal_max: Optional[float] = None,
               goal_of: str = "ratio") -> Dict[str, object]:
    """A row from interleaved samples (same length, sample i of each taken in
    the same round): medians scaled by ``scale`` (e.g. 1e3 for ms), and the
    min-max of the per-round ratios as the spread."""
    if len(ours) != len(baseline) or not ours:
        raise ValueError(f"{scenario}: paired_row needs as many ours as baseline samples, "
                         f"got {len(ours)} and {len(baseline)}")
    ratios = [o / b for o, b in zip(ours, baseline) if b]
    spread = (min(ratios), max(ratios)) if ratios else None
    return row(scenario, statistics.median(ours) * scale, baseline_name, statistics.median(baseline) * scale,
               unit, len(ours), note, goal=goal, goal_max=goal_max, goal_of=goal_of, spread=spread)


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


def fmt_spread(spread: Any) -> str:
    """``[0.91-1.07]``, or '' without a spread."""
    if not spread:
        return ""
    return f"[{fmt(spread[0])}-{fmt(spread[1])}]"


def goal_text(r: Dict[str, Any]) -> str:
    """``goal <text>: PASS`` for a row with a goal, else ''."""
    if not r.get("goal"):
        return ""
    status = r.get("status") or judge(r.get("ratio"), r.get("goal_max"), r.get("spread"), r.get("ours"),
                                      r.get("goal_of", "ratio"))
    return f"goal {r['goal']}: {status or 'n/a'}"


def print_rows(rows: List[Dict[str, Any]]) -> None:
    header = f"{'scenario':62} {'ours':>10} {'baseline':>10} {'ratio':>7} {'spread':>13}  unit / baseline"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{str(r['scenario'])[:62]:62} {fmt(r['ours']):>10} {fmt(r['baseline_value']):>10} "
              f"{fmt(r['ratio']):>7} {fmt_spread(r.get('spread')):>13}  {r['unit']} vs {r['baseline']}"
              + (f"  [{goal_text(r)}]" if r.get("goal") else "")
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
