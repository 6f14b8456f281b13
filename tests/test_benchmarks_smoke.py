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
