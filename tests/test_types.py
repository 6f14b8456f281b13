"""Types that are checked: the protocols in specter_spoc.typing fit the real
classes, and the package passes mypy (strict) and pyright's --verifytypes.

The two whole-package checks are marked ``typecheck`` (``pytest -m typecheck``
runs just them; .ci/run runs the same tools); their failure message lists
the errors per file.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path
from typing import List, get_type_hints

import pytest

from specter_spoc.typing import (HealthStatus, Owner, PublicHealth, RuntimeHealth, ServiceHealth, ServiceHealthError,
                                 SocketIOLike, SocketIOServerLike)

ROOT = Path(__file__).resolve().parent.parent
STATUSES = set(HealthStatus.__args__)  # type: ignore[attr-defined]


def _run(args: List[str], cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> List[str]:
    """One mypy cache for this module's runs (same options: pyproject.toml's), so the
    first run analyses the package and the next one reuses it."""
    return ["--cache-dir", str(tmp_path_factory.mktemp("mypy_cache"))]


def _per_file(output: str, pattern: str) -> str:
    counts = Counter(str(Path(m.group(1)).resolve().relative_to(ROOT)) if m.group(1).startswith("/")
                     else m.group(1) for m in re.finditer(pattern, output, re.M))
    return "\n".join(f"{n:4d}  {path}" for path, n in counts.most_common())


def _conforms(report: dict, typed: type) -> List[str]:
    """Keys missing from a report, unknown to the TypedDict, or statuses out of range."""
    problems = [f"missing {k!r}" for k in typed.__required_keys__ if k not in report]  # type: ignore[attr-defined]
    problems += [f"unknown key {k!r}" for k in report if k not in get_type_hints(typed)]
    if "status" in report and report["status"] not in STATUSES:
        problems.append(f"status {report['status']!r} not in {sorted(STATUSES)}")
    return problems


# -- the protocols describe the real objects -----------------------------------------------------


def test_protocols_accept_the_real_classes_under_mypy(tmp_path: Path, mypy_cache: List[str]) -> None:
    """A snippet that passes real objects where the protocols are expected
    type-checks; a wrong one is reported (so the check can fail)."""
    good = tmp_path / "good.py"
    good.write_text(textwrap.dedent("""
        from specter_spoc import Handler, Router, Runtime, Service, QueueService, Controller
        from specter_spoc.typing import CleanupOwner, Gate, Owner, Stoppable

        def needs_owner(owner: Owner) -> None: ...
        def needs_cleanup_owner(owner: CleanupOwner) -> None: ...
        def needs_stoppable(thing: Stoppable) -> None: ...
        def gate() -> str | None: return None

        needs_owner(Service("s"))
        needs_owner(QueueService("q"))
        needs_owner(Controller())
        needs_cleanup_owner(Router("r"))
        needs_cleanup_owner(Handler())
        needs_stoppable(Service("s"))
        g: Gate = gate
    """))
    bad = tmp_path / "bad.py"
    bad.write_text(textwrap.dedent("""
        from specter_spoc.typing import Owner
        def needs_owner(owner: Owner) -> None: ...
        needs_owner(object())
    """))
    args = [sys.executable, "-m", "mypy", *mypy_cache]  # pyproject.toml's options, strict included

    def errors_in(snippet: Path) -> List[str]:
        result = _run(args + [str(snippet)], ROOT)
        assert "error: " in result.stdout or result.returncode == 0, result.stdout + result.stderr
        return [line for line in result.stdout.splitlines() if line.startswith(str(snippet))]

    assert errors_in(good) == []
    wrong = errors_in(bad)
    assert len(wrong) == 1 and '"object"' in wrong[0] and '"Owner"' in wrong[0], wrong


def test_a_service_is_an_owner_at_run_time() -> None:
    from specter_spoc import Service

    assert isinstance(Service("s"), Owner)
    assert not isinstance(object(), Owner)


def test_flask_socketio_fits_socketio_like() -> None:
    from flask import Flask
    from flask_socketio import SocketIO

    socketio = SocketIO(Flask(__name__), async_mode="gevent")
    assert isinstance(socketio, SocketIOLike)
    assert isinstance(socketio.server, SocketIOServerLike)


def test_health_reports_have_the_documented_keys() -> None:
    from flask import Flask
    from flask_socketio import SocketIO

    from specter_spoc import Service, boot

    class Worker(Service):
        def __init__(self) -> None:
            super().__init__("worker")

    service = Worker()
    app = Flask(__name__)
    with boot(app, SocketIO(app, async_mode="gevent"), services=[service], install_signals=False) as runtime:
        _check_health(service, runtime)


def test_a_service_whose_health_raises_is_reported_in_the_documented_shape() -> None:
    from flask import Flask
    from flask_socketio import SocketIO

    from specter_spoc import Service, boot

    class Broken(Service):
        def __init__(self) -> None:
            super().__init__("broken")

        def health(self) -> dict:
            raise RuntimeError("probe failed")

    app = Flask(__name__)
    with boot(app, SocketIO(app, async_mode="gevent"), services=[Broken()], install_signals=False) as runtime:
        entry = runtime.health()["services"]["broken"]
        assert entry["status"] == "error"
        assert _conforms(entry, ServiceHealthError) == []


def _check_health(service, runtime) -> None:
    assert _conforms(service.health(), ServiceHealth) == []
    report = runtime.health()
    assert _conforms(report, RuntimeHealth) == []
    assert all(_conforms(h, ServiceHealth) == [] for h in report["services"].values())
    assert _conforms(runtime.public_health(), PublicHealth) == []
    # and the check itself notices drift
    assert _conforms({"status": "fine", "extra": 1}, ServiceHealth) == [
        "missing 'name'", "unknown key 'extra'", "status 'fine' not in " + str(sorted(STATUSES))]


# -- whole-package checks (CI: pytest -m typecheck) ----------------------------------------------


@pytest.mark.typecheck
def test_mypy_strict_passes_on_the_package(mypy_cache: List[str]) -> None:
    result = _run([sys.executable, "-m", "mypy", *mypy_cache], ROOT)
    summary = result.stdout.strip().splitlines()[-1:] if result.stdout.strip() else [result.stderr]
    assert result.returncode == 0, (
        f"mypy (strict, pyproject.toml [tool.mypy]): {summary[0]}\nerrors per file:\n"
        + _per_file(result.stdout, r"^(specter_spoc/[^:]+):\d+: error:"))


@pytest.mark.typecheck
def test_pyright_verifytypes_reports_a_complete_public_api(tmp_path: Path) -> None:
    pyright = shutil.which("pyright", path=str(Path(sys.executable).parent)) or shutil.which("pyright")
    assert pyright is not None, "pyright is not installed: pip install -e '.[types]' (it needs node on PATH)"
    # run outside the source tree so pyright resolves the package through PYTHONPATH, like a user would
    result = _run([pyright, "--pythonpath", sys.executable, "--verifytypes", "specter_spoc", "--ignoreexternal"],
                  tmp_path)
    score = re.search(r"Type completeness score: ([\d.]+%)", result.stdout)
    assert "No py.typed file found" not in result.stdout, result.stdout[:2000]
    assert result.returncode == 0, (
        f"pyright --verifytypes: completeness {score.group(1) if score else '?'}\nerrors per file:\n"
        + _per_file(result.stdout, r"^\s*(/\S+?\.py):\d+:\d+ - error:"))
