"""The benchmark runner cannot rot: one tiny scenario through it, row shape,
ratios computed by the runner, and missing modules reported, not dropped."""
from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

_REPO = str(Path(__file__).resolve().parent.parent)
if _REPO not in sys.path:  # benchmarks/ is not an installed package; it lives next to tests/
    sys.path.insert(0, _REPO)

from benchmarks import runner  # noqa: E402

ROW_KEYS = set(runner.ROW_KEYS) | {"better", "verdict"}


def test_tiny_http_scenario_in_process_gives_rows_with_computed_ratios() -> None:
    result = runner.collect_module("http", repeats=1, quick=True, isolate=False,
                                   options={"requests": 20, "server": False})
    assert result["status"] == "ok", result
    rows = result["rows"]
    assert len(rows) == 1
    row = rows[0]
    assert ROW_KEYS <= set(row)
    assert row["unit"] == "us/request" and row["baseline"] == "bare Flask view" and row["repeats"] == 1
    assert row["ours"] > 0 and row["baseline_value"] > 0
    assert math.isclose(row["ratio"], row["ours"] / row["baseline_value"])
    assert row["verdict"] in ("ahead", "par", "behind")
    table = runner.render_markdown(runner.machine_info(), [result])
    assert "| http | HTTP JSON POST + validation, in-process WSGI call" in table
    assert "python -m benchmarks" in table


def test_a_missing_module_becomes_a_row_saying_so() -> None:
    result = runner.collect_module("no_such_scenario", repeats=1, quick=True, timeout=60)
    assert result["status"] == "missing"
    [row] = result["rows"]
    assert "not run" in row["scenario"] and "benchmarks.bench_no_such_scenario" in row["note"]
    assert row["ratio"] is None
    text = runner.render_text(runner.machine_info(), [result])
    assert "no_such_scenario: not run" in text


@pytest.mark.parametrize("raw, expected", [
    # bench_queue's shape: seconds become ms, the baseline name comes from "...: vs X"
    ({"name": "queue throughput: vs raw gevent", "ours": 0.05, "baseline": 0.025, "ratio": 9.9, "unit": "s"},
     {"scenario": "queue throughput", "baseline": "raw gevent", "unit": "ms", "ours": 50.0,
      "baseline_value": 25.0, "ratio": 2.0, "verdict": "behind"}),
    # _harness.row(): the ratio is recomputed, a rate unit means higher is better
    ({"scenario": "req", "ours": 900, "baseline": "bare", "baseline_value": 1000, "ratio": None,
      "unit": "req/s", "repeats": 3, "note": ""},
     {"ratio": 0.9, "better": "higher", "verdict": "behind", "repeats": 3}),
])
def test_rows_of_every_shape_are_normalised(raw, expected) -> None:
    [row] = runner.normalize_rows([raw], repeats=5)
    assert ROW_KEYS <= set(row)
    for key, value in expected.items():
        assert row[key] == pytest.approx(value) if isinstance(value, float) else row[key] == value, key


def test_case_rows_are_compared_with_their_baseline_case() -> None:
    rows = runner.normalize_rows([
        {"case": "import the modules (baseline)", "median_ms": 200.0, "ratio": 1.0, "runs": 3},
        {"case": "boot", "median_ms": 300.0, "ratio": 1.5, "runs": 3},
    ], repeats=5)
    assert [(r["scenario"], r["baseline"], r["baseline_value"], r["ratio"]) for r in rows] == [
        ("boot", "import the modules", 200.0, 1.5)]


def test_a_run_that_returns_garbage_is_refused() -> None:
    with pytest.raises(TypeError, match="list of row dicts"):
        runner.normalize_rows({"not": "a list"}, repeats=1)


@pytest.mark.parametrize("ratio, goal_max, spread, expected", [
    (0.9, 1.0, (0.85, 0.95), "PASS"),
    (1.2, 1.0, (1.1, 1.3), "FAIL"),
    (1.0, 1.05, (1.0, 1.0), "PASS"),
    # the per-round ratios straddle the goal and vary by 60 % of the median: no verdict
    (1.0, 1.05, (0.7, 1.3), "spread too wide to judge"),
    # wide, but every round is above the goal: still a clear FAIL
    (2.0, 1.05, (1.5, 2.8), "FAIL"),
    (None, 1.0, None, ""),
])
def test_a_goal_is_judged_from_the_ratio_and_the_spread(ratio, goal_max, spread, expected) -> None:
    from benchmarks._harness import judge

    assert judge(ratio, goal_max, spread) == expected


def test_a_goal_on_our_own_figure_ignores_the_ratio() -> None:
    from benchmarks._harness import judge

    assert judge(0.1, 0.0, None, value=2.0, goal_of="ours") == "FAIL"
    assert judge(None, 0.0, None, value=0.0, goal_of="ours") == "PASS"


def test_paired_rows_carry_the_per_round_ratio_spread() -> None:
    from benchmarks._harness import paired_row

    r = paired_row("x", [2.0, 3.0, 4.0], "base", [1.0, 2.0, 2.0], "ms", scale=1e3, goal="g", goal_max=2.5)
    assert r["ours"] == 3000.0 and r["baseline_value"] == 2000.0 and r["repeats"] == 3
    assert r["spread"] == [1.5, 2.0]
    [normalised] = runner.normalize_rows([r], repeats=3)
    assert normalised["ratio"] == 1.5 and normalised["status"] == "PASS"
    [straddling] = runner.normalize_rows([dict(r, goal_max=1.6)], repeats=3)
    assert straddling["status"] == "spread too wide to judge"
    with pytest.raises(ValueError, match="as many ours as baseline"):
        paired_row("x", [1.0], "base", [1.0, 2.0], "ms")


@pytest.mark.e2e
def test_quick_suite_of_the_issue_16_rows_gives_a_verdict_for_every_goal(tmp_path) -> None:
    """``python -m benchmarks --quick`` on the in-process issue-16 scenarios
    (bus proxy per context, boot/shutdown at scale, inbound events): every
    row with a goal gets PASS, FAIL or 'spread too wide to judge', and the
    rows the issue asks for are there."""
    import json
    import subprocess
    import time

    out = tmp_path / "quick.json"
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--only", "bus", "boot", "events",
                           "--json", str(out), "--timeout", "120"], cwd=_REPO, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert [r["status"] for r in result["results"]] == ["ok", "ok", "ok"], [
        (r["name"], r.get("reason")) for r in result["results"]]
    rows = [row for r in result["results"] for row in r["rows"]]
    goals = [row for row in rows if row.get("goal")]
    assert goals and all(row["status"] in ("PASS", "FAIL", "spread too wide to judge") for row in goals), [
        (row["scenario"], row["status"]) for row in goals]
    names = {row["scenario"] for row in rows}
    for context in ("inside a Flask request (view)", "in a socket handler (Handler event method)",
                    "in a socket handler (@socketio.on function)", "in a service greenlet",
                    "outside any runtime (none booted)"):
        for n in (0, 3):
            assert f"`bus.emit` proxy {context}, {n} listeners" in names
    assert any(name.startswith("boot growth") for name in names)
    [teardown] = [row for row in rows if row["scenario"].startswith("runtime.shutdown() of")]
    assert teardown["baseline"].startswith("gevent.killall") and teardown["spread"]
    assert {row["scenario"] for row in rows if row["scenario"].startswith("inbound socket event")} == {
        "inbound socket event, small payload, Handler on a booted app",
        "inbound socket event, 200 KB payload, Handler on a booted app"}
    assert "goals:" in done.stdout and "spread" in done.stdout
    assert time.monotonic() - started < 60, "the quick issue-16 rows should stay a smoke test (< 20 s on a quiet machine)"


def test_a_per_second_count_that_should_be_low_is_not_read_as_a_rate() -> None:
    from benchmarks._harness import row

    [r] = runner.normalize_rows([row("wake-ups", 0.0, "specter", 2.0, "wake-ups/s", 1, better="lower",
                                     goal="none when idle", goal_max=0.0, goal_of="ours")], repeats=1)
    assert r["better"] == "lower" and r["verdict"] == "ahead" and r["status"] == "PASS"
