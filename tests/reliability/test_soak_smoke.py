"""benchmarks/soak.py cannot rot: a few clients for a few seconds through the
real script (gunicorn, the client process, the worker-stats hook), checked
end to end. The real soak (500 clients, 2 minutes) is run by hand; its
figures are in docs/parts/reliability.md."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.e2e
def test_a_tiny_soak_runs_end_to_end_and_reports_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    proc = subprocess.run([sys.executable, "-m", "benchmarks.soak", "--clients", "5", "--seconds", "4",
                           "--warmup", "1", "--interval", "0.25", "--http-rate", "10", "--sample-every", "0.5",
                           "--json", str(out)], cwd=str(ROOT), capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(out.read_text())
    broadcast = result["broadcast"]
    assert broadcast["clients"] == 5 and broadcast["broadcasts"] >= 10
    assert broadcast["deliveries"] == broadcast["expected_deliveries"] == 5 * broadcast["broadcasts"]
    assert broadcast["lost"] == broadcast["reordered"] == broadcast["duplicated"] == 0
    assert broadcast["latency_ms"]["p99"] is not None
    assert {"GET /api/posts", "GET /api/search", "POST /api/posts (publish)"} <= set(result["http"])
    assert all(h["errors"] == 0 for h in result["http"].values())
    resources = result["resources"]
    assert resources["samples_after_warmup"] >= 2 and resources["greenlets"]["end"] > 5
    assert resources["rss_mb"]["end"] > 10
    assert result["server_log_tracebacks"] == 0
    assert "lost 0, duplicated 0, reordered 0" in proc.stdout
