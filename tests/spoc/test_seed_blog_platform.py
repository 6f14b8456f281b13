"""Seed 001's blog_platform, unchanged but for ``spoc`` -> ``specter_spoc.spoc`` in
its imports (and config/.env copied from .env.example), run as a real script.

The seed's "Expected Output" must appear in order (the schema hooks print
extra lines, which the seed's listing leaves out); the script must exit 0
within a few seconds of its 5 s worker run. The ProcessWorker's main prints
from its child process, so its lines are checked for presence only: the
order of two processes writing to one pipe is not the program's to decide.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).parent
PROJECT = HERE / "blog_platform"
EXPECTED = (HERE / "blog_platform_expected.txt").read_text().splitlines()
CHILD_LINES = ("[ContentIndexerWorker] Started content indexing",)

pytestmark = pytest.mark.e2e


def _normalise(line: str) -> str:
    return re.sub(r" at 0x[0-9a-fA-F.]+>", " at 0x...>", line.strip())


@pytest.fixture(scope="module")
def run() -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOC_", "PYTEST", "PYTHONUNBUFFERED"))}
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(Path(__file__).parents[2]), env.get("PYTHONPATH")] if p)
    started = time.monotonic()
    result = subprocess.run([sys.executable, "main.py"], cwd=PROJECT, env=env, capture_output=True, text=True,
                            timeout=30)
    result.elapsed = time.monotonic() - started  # type: ignore[attr-defined]
    return result


def test_exits_zero_within_a_few_seconds_of_its_five_second_run(run):
    assert run.returncode == 0, run.stderr
    # about 6.3 s on an idle machine: interpreter start and imports, the 5 s run, a prompt shutdown
    assert run.elapsed < 12.0, f"took {run.elapsed:.1f}s (SPOC 0.3.9 hangs 300 s on its process worker)"
    assert "Traceback" not in run.stderr, run.stderr


def test_prints_the_expected_output_in_order(run):
    actual = [_normalise(line) for line in run.stdout.splitlines() if line.strip()]
    wanted = [_normalise(line) for line in EXPECTED if line.strip() and line.strip() not in CHILD_LINES]
    position = 0
    for line in wanted:
        try:
            position = actual.index(line, position) + 1
        except ValueError:
            pytest.fail(f"expected line {line!r} not found (in order) after line {position} of:\n{run.stdout}")
    for line in CHILD_LINES:
        assert line in run.stdout


def test_hooks_receive_the_module_and_shutdown_runs_in_reverse(run):
    """SPOC 0.3.9 passes the hooks a set of components: ``module.__name__`` fails there."""
    lines = [line.strip() for line in run.stdout.splitlines()]
    assert lines.index("[Database] Initializing tables for: users.models") < \
        lines.index("[Database] Initializing tables for: blog.models")
    closing = [line for line in lines if line.startswith("[Database] Closing")]
    assert closing == ["[Database] Closing connections for: blog.models",
                       "[Database] Closing connections for: users.models"]


def test_differs_from_the_seed_only_in_its_imports():
    """Every Python file of the fixture imports specter_spoc.spoc where the seed imports spoc."""
    sources = {p.relative_to(PROJECT).as_posix(): p.read_text() for p in PROJECT.rglob("*.py")}
    assert not [name for name, text in sources.items() if re.search(r"^\s*(from|import) spoc\b", text, re.M)]
    assert "from specter_spoc.spoc import Framework, Schema, Hook" in sources["main.py"]
    assert "from specter_spoc.spoc.workers import ProcessWorker" in sources["apps/blog/workers.py"]
    assert (PROJECT / "config" / ".env").read_text() == (PROJECT / "config" / ".env.example").read_text()
