"""Benchmark: loading/booting a generated project vs merely importing it.

Generates a project of 50 apps x 5 module kinds (models, services, workers,
views, controllers) in a temporary folder: 5 components per module (models:
dataclasses, services: plain classes, workers: Service subclasses the
runtime boots, views: functions) and one Controller per app with 2 routes
(50 controllers, 100 routes). Each repeat runs in a fresh interpreter
(subprocess), which first imports gevent/specter_spoc (a fixed cost every
variant pays), then times (CPU time of the child, ``time.process_time``:
robust to other load on a shared machine; wall time in the notes) one of:

- ``import``: ``importlib.import_module`` of the same 300 modules (baseline);
- ``load``: ``load_project()`` + ``project.close()``;
- ``boot``: ``load_project()`` + ``create_app()`` (Flask + Socket.IO + 200
  services and 50 controllers started, 100 routes registered) +
  ``runtime.shutdown()`` + ``project.close()``.

One untimed warm-up run per variant writes the ``.pyc`` files first (as a
deployed project has them). The variants alternate every round; medians of
``repeats`` rounds, spread = min-max of the per-round ratios against the
import baseline. Goal (issue 16 #7): boot <= 1.3x import.
Run: ``python -m benchmarks.bench_project [--repeats 5] [--quick]``.
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
from typing import Dict, List, Optional

from benchmarks._harness import paired_row, scenario_main

APPS = 50
KINDS = ("models", "services", "workers", "views", "controllers")
PER_MODULE = 5

_TEMPLATES = {
    "models": "@model\n@dataclasses.dataclass\nclass Model{i}:\n    id: int = {i}\n    name: str = 'm{i}'\n",
    "services": "@service\nclass Service{i}:\n    def handle(self, value):\n        return value + {i}\n",
    "workers": ("@worker\nclass Worker{i}(Service):\n    def __init__(self):\n"
                "        super().__init__('{app}.worker{i}')\n"),
    "views": "@view\ndef view{i}(request=None):\n    return {{'view': {i}}}\n",
    "controllers": ("@controller\nclass Controller{i}(Controller):\n    name = '{app}_c{i}'\n"
                    "    url_prefix = '/{app}/c{i}'\n\n"
                    "    def build_routes(self, router):\n"
                    "        @router.route('/items', methods=['GET'])\n"
                    "        def items():\n            return {{'app': '{app}', 'items': []}}\n\n"
                    "        @router.route('/items', methods=['POST'])\n"
                    "        def create():\n            return {{'created': True}}, 201\n"),
}
#: components per module kind (one controller per app: 50 controllers, 100 routes)
PER_KIND = {"models": PER_MODULE, "services": PER_MODULE, "workers": PER_MODULE, "views": PER_MODULE,
            "controllers": 1}
ROUTES_PER_CONTROLLER = 2
_HEADERS = {
    "models": "import dataclasses\nfrom specter_spoc.project import model\n\n",
    "services": "from specter_spoc.project import service\n\n",
    "workers": "from specter_spoc import Service\nfrom specter_spoc.project import worker\n\n",
    "views": "from specter_spoc.project import view\n\n",
    "controllers": "from specter_spoc import Controller\nfrom specter_spoc.project import controller\n\n",
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
                _TEMPLATES[kind].format(i=i, app=app) for i in range(PER_KIND[kind]))
            (folder / f"{kind}.py").write_text(body)
            modules.append(f"{app}.{kind}")
    config = root / "config"
    config.mkdir()
    (config / "settings.py").write_text(textwrap.dedent(f"""
        INSTALLED_APPS = {names!r}
        SECRET_KEY = "bench"
        DEBUG = False
        HEALTH_ENDPOINT = ""
        SPOC_VIEW_ROUTES = False  # the views stay components: 50 controllers, 100 routes
    """))
    return modules


_CHILD = r'''
import sys, time, json, importlib
from gevent import monkey
monkey.patch_all()
import specter_spoc, specter_spoc.project, flask_socketio  # fixed cost, not timed
mode, root = sys.argv[1], sys.argv[2]
modules = json.loads(sys.argv[3])
apps, routes_per_app = int(sys.argv[4]), int(sys.argv[5])
import logging
logging.disable(logging.WARNING)
start, cpu = time.perf_counter(), time.process_time()
if mode == "import":
    sys.path[:0] = [root + "/apps", root]
    for name in modules:
        importlib.import_module(name)
elif mode == "load":
    project = specter_spoc.project.load_project(root, mode="test")
    assert len(project.installed_apps) == apps, project.diagnostics
    project.close()
else:
    project = specter_spoc.project.load_project(root, mode="test")
    app = specter_spoc.create_app(project)
    runtime = app.extensions["specter_spoc"]
    routes = [r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/app")]
    assert len(routes) == apps * routes_per_app, (len(routes), routes[:5])
    runtime.shutdown()
    project.close()
print(json.dumps({"seconds": time.process_time() - cpu, "wall": time.perf_counter() - start}))
'''


def _child(mode: str, root: Path, modules: List[str], apps: int) -> Dict[str, float]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "SPOC_MODE")}
    started = time.perf_counter()
    routes_per_app = PER_KIND["controllers"] * ROUTES_PER_CONTROLLER
    out = subprocess.run([sys.executable, "-c", _CHILD, mode, str(root), json.dumps(modules), str(apps),
                          str(routes_per_app)], capture_output=True, text=True, timeout=120, check=False, env=env)
    process = time.perf_counter() - started
    if out.returncode != 0:
        raise RuntimeError(f"benchmark child {mode!r} failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return {"seconds": result["seconds"], "wall": result["wall"], "process": process}


GOAL = "issue 16 #7: project boot <= 1.3x importing its modules"


def run(repeats: int = 5, quick: bool = False, apps: Optional[int] = None) -> List[Dict[str, object]]:
    """Paired rows for load and boot against the import baseline (a fresh
    interpreter per sample; CPU time of the timed part)."""
    apps = apps or (10 if quick else APPS)
    with tempfile.TemporaryDirectory(prefix="spoc-bench-") as tmp:
        root = Path(tmp) / "bench_project"
        modules = generate(root, apps)
        results: Dict[str, List[Dict[str, float]]] = {"import": [], "load": [], "boot": []}
        for mode in results:  # warm-up: writes the .pyc files, as a deployed project has them
            _child(mode, root, modules, apps)
        order = list(results)
        for i in range(repeats):
            for mode in (order if i % 2 == 0 else order[::-1]):  # interleaved, so drift hits every case alike
                results[mode].append(_child(mode, root, modules, apps))
    base = [r["seconds"] for r in results["import"]]
    what = (f"{apps} apps, {len(modules)} modules, {apps * PER_MODULE * 4} components, {apps} controllers / "
            f"{apps * ROUTES_PER_CONTROLLER} routes")

    def wall(mode: str) -> str:
        return f"{statistics.median(r['wall'] for r in results[mode]) * 1e3:,.0f} ms"

    baseline = f"import the {len(modules)} modules"
    return [
        paired_row("project: load_project + close", [r["seconds"] for r in results["load"]], baseline, base, "ms",
                   scale=1e3, note=f"{what}; CPU time; wall medians {wall('load')} vs {wall('import')}"),
        paired_row("project: load_project + create_app boot + shutdown + close",
                   [r["seconds"] for r in results["boot"]], baseline, base, "ms", scale=1e3, goal=GOAL, goal_max=1.3,
                   note=f"{what}; CPU time; wall medians {wall('boot')} vs {wall('import')}"),
    ]


def main(argv: Optional[List[str]] = None) -> int:
    return scenario_main(run, __doc__, repeats=5, argv=argv)


if __name__ == "__main__":
    raise SystemExit(main())
