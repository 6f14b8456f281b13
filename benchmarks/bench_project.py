"""Benchmark: loading/booting a generated project vs merely importing it.

Generates a project of 50 apps x 4 module kinds (models, services, workers,
views) x 5 components per module (models: dataclasses, services: plain
classes, workers: Service subclasses the runtime boots, views: functions)
in a temporary folder. Each repeat runs in a fresh interpreter (subprocess),
which first imports gevent/specter_spoc (a fixed cost every variant pays),
then times one of:

- ``import``: ``importlib.import_module`` of the same 250 modules (baseline);
- ``load``: ``load_project()`` + ``project.close()``;
- ``boot``: ``load_project()`` + ``create_app()`` (Flask + Socket.IO + 200
  services started) + ``runtime.shutdown()`` + ``project.close()``.

One untimed warm-up run per variant writes the ``.pyc`` files first (as a
deployed project has them). Medians of ``repeats`` runs; ``ratio`` is against
the import baseline (goal: <= 1.5x). Run: ``python benchmarks/bench_project.py``.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Dict, List

APPS = 50
KINDS = ("models", "services", "workers", "views")
PER_MODULE = 5

_TEMPLATES = {
    "models": "@model\n@dataclasses.dataclass\nclass Model{i}:\n    id: int = {i}\n    name: str = 'm{i}'\n",
    "services": "@service\nclass Service{i}:\n    def handle(self, value):\n        return value + {i}\n",
    "workers": ("@worker\nclass Worker{i}(Service):\n    def __init__(self):\n"
                "        super().__init__('{app}.worker{i}')\n"),
    "views": "@view\ndef view{i}(request=None):\n    return {{'view': {i}}}\n",
}
_HEADERS = {
    "models": "import dataclasses\nfrom specter_spoc.project import model\n\n",
    "services": "from specter_spoc.project import service\n\n",
    "workers": "from specter_spoc import Service\nfrom specter_spoc.project import worker\n\n",
    "views": "from specter_spoc.project import view\n\n",
}


def generate(root: Path, apps: int = APPS) -> List[str]:
    """Write the project under ``root``; returns the module names to import."""
    modules: List[str] = []
    names = [f"app{n:02d}" for n in range(apps)]
    for index, app in enumerate(names):
        folder = root / "apps" / app
        folder.mkdir(parents=True)
        depends = f"DEPENDS_ON = [{names[index - 1]!r}]\n" if index % 5 else ""
        (folder / "__init__.py").write_text(depends)
        modules.append(app)
        for kind in KINDS:
            body = _HEADERS[kind] + "\n".join(
                _TEMPLATES[kind].format(i=i, app=app) for i in range(PER_MODULE))
            (folder / f"{kind}.py").write_text(body)
            modules.append(f"{app}.{kind}")
    config = root / "config"
    config.mkdir()
    (config / "settings.py").write_text(textwrap.dedent(f"""
        INSTALLED_APPS = {names!r}
        SECRET_KEY = "bench"
        DEBUG = False
        HEALTH_ENDPOINT = ""
    """))
    return modules


_CHILD = r'''
import sys, time, json, importlib
from gevent import monkey
monkey.patch_all()
import specter_spoc, specter_spoc.project, specter_spoc.runtime, flask_socketio  # fixed cost, not timed
mode, root = sys.argv[1], sys.argv[2]
modules = json.loads(sys.argv[3])
import logging
logging.disable(logging.WARNING)
start = time.perf_counter()
if mode == "import":
    sys.path[:0] = [root + "/apps", root]
    for name in modules:
        importlib.import_module(name)
elif mode == "load":
    project = specter_spoc.project.load_project(root, mode="test")
    assert len(project.installed_apps) == len(modules) // 5, project.diagnostics
    project.close()
else:
    project = specter_spoc.project.load_project(root, mode="test")
    app = specter_spoc.runtime.create_app(project)
    runtime = app.extensions["specter_spoc"]
    assert len(runtime.services) == 1 + len(project.installed_apps) * 5, len(runtime.services)
    runtime.shutdown()
    project.close()
elapsed = time.perf_counter() - start
print(json.dumps({"seconds": elapsed}))
'''


def _child(mode: str, root: Path, modules: List[str]) -> Dict[str, float]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "SPOC_MODE")}
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _CHILD, mode, str(root), json.dumps(modules)],
                         capture_output=True, text=True, timeout=120, check=False, env=env)
    wall = time.perf_counter() - started
    if out.returncode != 0:
        raise RuntimeError(f"benchmark child {mode!r} failed:\n{out.stderr}")
    return {"seconds": json.loads(out.stdout.strip().splitlines()[-1])["seconds"], "wall": wall}


def run(repeats: int = 5) -> List[Dict[str, object]]:
    """Rows ``{case, median_ms, wall_median_ms, ratio, runs}`` (fresh interpreter per run)."""
    with tempfile.TemporaryDirectory(prefix="spoc-bench-") as tmp:
        root = Path(tmp) / "bench_project"
        modules = generate(root)
        results: Dict[str, List[Dict[str, float]]] = {"import": [], "load": [], "boot": []}
        for mode in results:  # warm-up: writes the .pyc files, as a deployed project has them
            _child(mode, root, modules)
        for _ in range(repeats):
            for mode in results:  # interleaved, so drift hits every case alike
                results[mode].append(_child(mode, root, modules))
    base = statistics.median(r["seconds"] for r in results["import"])
    labels = {"import": "import the 250 modules (baseline)", "load": "load_project + close",
              "boot": "load_project + create_app boot + shutdown + close"}
    rows: List[Dict[str, object]] = []
    for mode, runs in results.items():
        median = statistics.median(r["seconds"] for r in runs)
        rows.append({
            "case": labels[mode],
            "median_ms": round(median * 1000, 1),
            "wall_median_ms": round(statistics.median(r["wall"] for r in runs) * 1000, 1),
            "ratio": round(median / base, 2),
            "runs": len(runs),
        })
    return rows


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    print(f"project: {APPS} apps x {len(KINDS)} module kinds x {PER_MODULE} components; "
          f"{repeats} fresh-interpreter runs each, medians")
    for row in run(repeats):
        print(f"  {row['case']:<52} {row['median_ms']:>8.1f} ms  x{row['ratio']:<5} "
              f"(process wall {row['wall_median_ms']:.0f} ms)")


if __name__ == "__main__":
    main()
