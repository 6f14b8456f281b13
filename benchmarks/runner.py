"""The benchmark suite: every scenario module, each with its baselines
measured in the same run, printed as one table.

    python -m benchmarks [--repeats N] [--only NAME ...] [--json out.json]
                         [--markdown out.md] [--quick]

Why one runner: figures from different runs on a shared machine are not
comparable; a ratio measured in one run is. Each scenario module exposes
``run(repeats=5) -> list[dict]`` and measures ours and its baselines side by
side; the runner runs each module in a fresh interpreter (gevent-patched
first) with a time limit, so one module's leftovers, monkey-patching or crash
never touch another, then prints one row per scenario: our figure, the
baseline's figure, their ratio (ours / baseline, computed here), the number
of repeats the medians are taken over, and the unit.

A module that is not in the checkout, whose optional dependency is not
installed, or that raises :class:`~benchmarks._harness.ScenarioSkipped`
gets one row saying so; one that fails or runs out of time gets one row
with the reason. The runner installs nothing.

Example::

    from benchmarks import runner
    result = runner.collect_module("http", repeats=1, quick=True)
    print(runner.render_text(runner.machine_info(), [result]))
"""
from __future__ import annotations

import argparse
import datetime
import importlib
import inspect
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from benchmarks._harness import ScenarioSkipped, fmt, fmt_spread, judge

REPO = Path(__file__).resolve().parent.parent
REPRODUCE = "pip install -e '.[dev]' && python -m benchmarks"


@dataclass(frozen=True)
class Scenario:
    name: str
    module: str
    what: str
    #: seconds the module may run (None: :data:`TIMEOUT`); the big ones get more
    timeout: Optional[float] = None


SCENARIOS = (
    Scenario("bus", "benchmarks.bench_bus",
             "module-level bus.emit in a request, socket handlers, a service greenlet, outside a runtime; "
             "runtime.bus.emit (vs SPECTER and a plain loop)"),
    Scenario("boot", "benchmarks.bench_boot",
             "boot + shutdown through boot() at 1k/10k/50k services vs SPECTER, growth law, shutdown vs "
             "batched killall", timeout=1800.0),
    Scenario("core", "benchmarks.bench_core",
             "EventBus emit with 1/3/10 listeners; start/stop of 1000 services and live greenlets after stop"),
    Scenario("queue", "benchmarks.bench_queue",
             "QueueService throughput (4 workers), enqueue-to-handle latency p50/p99, drain accounting"),
    Scenario("events", "benchmarks.bench_events",
             "inbound Socket.IO event CPU through a Handler vs bare Flask-SocketIO (small and 200 KB)"),
    Scenario("http", "benchmarks.bench_http",
             "JSON POST through a Controller route vs a bare Flask view (in-process WSGI; pywsgi on loopback)"),
    Scenario("socketio", "benchmarks.bench_socketio",
             "Socket.IO fan-out to 200, 1,000 and 5,000 clients, SIGTERM with 100 open websockets, RSS per client "
             "(gunicorn)", timeout=1800.0),
    Scenario("project", "benchmarks.bench_project",
             "boot + shutdown of a generated 50-app project with 50 controllers / 100 routes vs importing its "
             "modules"),
    Scenario("memory", "benchmarks.bench_memory",
             "memory per idle Service and QueueService (10,000 started); idle QueueService wake-ups"),
    Scenario("redis", "benchmarks.bench_redis", "cross-process latency and a durable queue over Redis"),
    Scenario("login", "benchmarks.bench_login",
             "blog example: failed login time, unknown username vs wrong password (same scrypt work)"),
)

#: seconds one module may run before it is stopped
TIMEOUT = 900.0
QUICK_TIMEOUT = 240.0
#: distributions whose versions the header shows
VERSIONS = ("gevent", "greenlet", "flask", "werkzeug", "flask-socketio", "python-socketio", "python-engineio",
            "gunicorn", "gevent-websocket", "specter-runtime", "specter-spoc")

ROW_KEYS = ("scenario", "ours", "baseline", "baseline_value", "ratio", "unit", "repeats", "note")
#: keys a row may add: the goal's text and bound, the per-repeat ratio spread
GOAL_KEYS = ("goal", "goal_max", "goal_of", "spread")


def scenario(name: str) -> Scenario:
    """The scenario called ``name`` (``core`` or ``bench_core``); any other
    name maps to ``benchmarks.bench_<name>`` (reported missing if absent)."""
    short = name[len("bench_"):] if name.startswith("bench_") else name
    for known in SCENARIOS:
        if known.name == short:
            return known
    return Scenario(short, f"benchmarks.bench_{short}", "(not in the runner's list)")


# ------------------------------------------------------------------ rows
def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _ratio(ours: Optional[float], baseline: Optional[float]) -> Optional[float]:
    if ours is None or baseline is None:
        return None
    if baseline == 0:
        return 1.0 if ours == 0 else None
    return ours / baseline


def _extra_note(raw: Dict[str, Any], used: Iterable[str]) -> str:
    extra = {k: v for k, v in raw.items() if k not in set(used) and not isinstance(v, (dict, list))}
    return ", ".join(f"{k} {v}" for k, v in extra.items())


def _from_named(raw: Dict[str, Any], repeats: int) -> Dict[str, Any]:
    """``{"name": "what: vs baseline", "ours", "baseline" (a number), "unit"}``
    (bench_queue's shape); seconds become milliseconds."""
    name = str(raw["name"])
    scenario_name, _, baseline_name = name.partition(": vs ")
    ours, base, unit = _number(raw.get("ours")), _number(raw.get("baseline")), str(raw.get("unit", ""))
    if unit == "s":
        ours = ours * 1e3 if ours is not None else None
        base = base * 1e3 if base is not None else None
        unit = "ms"
    used = ("name", "ours", "baseline", "ratio", "unit", "repeats", "note")
    note = "; ".join(filter(None, [str(raw.get("note") or ""), _extra_note(raw, used)]))
    return {"scenario": scenario_name, "ours": ours, "baseline": baseline_name or "n/a", "baseline_value": base,
            "unit": unit, "repeats": raw.get("repeats", repeats), "note": note}


def _from_cases(rows: List[Dict[str, Any]], repeats: int) -> List[Dict[str, Any]]:
    """``{"case", "median_ms", "ratio", "runs"}`` rows where one case is
    marked "(baseline)" (bench_project's shape)."""
    base = next((r for r in rows if "(baseline)" in str(r.get("case"))), None)
    base_name = str(base["case"]).replace("(baseline)", "").strip() if base else "n/a"
    base_value = _number(base.get("median_ms")) if base else None
    out = []
    for raw in rows:
        if raw is base:
            continue
        ours = _number(raw.get("median_ms"))
        if base_value is None and ours is not None and _number(raw.get("ratio")):
            base_value = ours / float(raw["ratio"])
        used = ("case", "median_ms", "ratio", "runs", "note")
        out.append({"scenario": str(raw["case"]), "ours": ours, "baseline": base_name, "baseline_value": base_value,
                    "unit": "ms", "repeats": raw.get("runs", repeats),
                    "note": "; ".join(filter(None, [str(raw.get("note") or ""), _extra_note(raw, used)]))})
    return out


def normalize_rows(raw_rows: Any, *, repeats: int) -> List[Dict[str, Any]]:
    """Rows of any scenario module in one shape (:data:`ROW_KEYS` plus
    ``better`` and ``verdict``), with the ratio computed here as ours /
    baseline so every row's ratio means the same thing."""
    if not isinstance(raw_rows, list):
        raise TypeError(f"run() must return a list of row dicts, got {type(raw_rows).__name__}")
    dicts = [r for r in raw_rows if isinstance(r, dict)]
    if len(dicts) != len(raw_rows):
        raise TypeError("run() returned a list with items that are not dicts; return row(...) dicts")
    if dicts and all("case" in r for r in dicts):
        shaped = _from_cases(dicts, repeats)
    else:
        shaped = []
        for raw in dicts:
            if "scenario" in raw:
                shaped.append({**raw, "ours": _number(raw.get("ours")),
                               "baseline_value": _number(raw.get("baseline_value"))})
            elif "name" in raw:
                shaped.append(_from_named(raw, repeats))
            else:
                shaped.append({"scenario": "unrecognised row", "ours": None, "baseline": "n/a",
                               "baseline_value": None, "unit": "", "note": json.dumps(raw, default=str)[:200]})
    out = []
    for r in shaped:
        r = dict(r)
        r.setdefault("baseline", "n/a")
        r.setdefault("unit", "")
        r.setdefault("note", "")
        r["repeats"] = r.get("repeats") or repeats
        r["ratio"] = _ratio(r.get("ours"), r.get("baseline_value"))
        r["better"] = r.get("better") or ("higher" if str(r["unit"]).endswith("/s") else "lower")
        r["verdict"] = verdict(r["ratio"], r["better"])
        r["status"] = judge(r["ratio"], _number(r.get("goal_max")), _spread(r.get("spread")), r.get("ours"),
                            str(r.get("goal_of") or "ratio")) if r.get("goal") else ""
        out.append(r)
    return out


def _spread(value: Any) -> Optional[Tuple[float, float]]:
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(_number(v) is not None for v in value):
        return float(value[0]), float(value[1])
    return None


def verdict(ratio: Optional[float], better: str = "lower", tolerance: float = 0.05) -> str:
    """'ahead', 'par' or 'behind' the baseline ('' without a ratio)."""
    if ratio is None:
        return ""
    if abs(ratio - 1) <= tolerance:
        return "par"
    ahead = ratio < 1 if better == "lower" else ratio > 1
    return "ahead" if ahead else "behind"


def _status_row(result: Dict[str, Any]) -> Dict[str, Any]:
    label = {"missing": "not run: module not in this checkout", "skipped": "skipped",
             "failed": "FAILED", "timeout": "STOPPED: time limit"}[result["status"]]
    return {"scenario": f"{result['name']}: {label}", "ours": None, "baseline": "n/a", "baseline_value": None,
            "ratio": None, "unit": "", "repeats": 0, "note": result.get("reason", ""), "better": "lower",
            "verdict": "", "status": ""}


# ------------------------------------------------------------- execution
def _run_here(sc: Scenario, repeats: int, quick: bool, options: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    try:
        module = importlib.import_module(sc.module)
    except ModuleNotFoundError as exc:
        if exc.name == sc.module:
            return {"status": "missing", "reason": f"{sc.module} is not in this checkout"}
        return {"status": "skipped", "reason": f"optional dependency {exc.name!r} is not installed "
                                               f"(pip install -e '.[dev]' installs the benchmark extras)"}
    except ImportError as exc:
        return {"status": "skipped", "reason": f"import failed: {exc}"}
    run = getattr(module, "run", None)
    if not callable(run):
        return {"status": "failed", "reason": f"{sc.module} has no run(repeats) function"}
    params = inspect.signature(run).parameters
    kwargs: Dict[str, Any] = {}
    if quick and "quick" in params:
        kwargs["quick"] = True
    for key, value in (options or {}).items():
        if key not in params:
            raise TypeError(f"{sc.module}.run() has no parameter {key!r}; it takes {list(params)}")
        kwargs[key] = value
    try:
        raw = run(repeats=repeats, **kwargs) if "repeats" in params else run(repeats, **kwargs)
    except ScenarioSkipped as exc:
        return {"status": "skipped", "reason": str(exc)}
    except Exception as exc:
        tail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)[-3:])
        return {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"[:500], "log": tail[-3000:]}
    return {"status": "ok", "raw_rows": raw}


def _group_members(pgid: int) -> List[int]:
    """Processes still in the process group (and session) ``pgid``."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and int(fields[3]) == pgid:
            members.append(int(entry))
    return members


def _end_group(proc: subprocess.Popen, grace: float = 5) -> None:
    """Stop the child and everything it started in its session, by pid."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    for pid in _group_members(proc.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _run_isolated(sc: Scenario, repeats: int, quick: bool, timeout: float) -> Dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-runner-") as tmp:
        out_path, log_path = Path(tmp) / "result.json", Path(tmp) / "output.log"
        cmd = [sys.executable, "-m", "benchmarks", "--child", sc.name, "--repeats", str(repeats),
               "--child-out", str(out_path)] + (["--quick"] if quick else [])
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(cmd, cwd=str(REPO), env=env, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return {"status": "timeout", "reason": f"did not finish within {timeout:.0f} s and was stopped "
                                                   f"(raise the limit with --timeout)"}
        finally:
            _end_group(proc)
        output = log_path.read_text(errors="replace")
        if not out_path.exists():
            return {"status": "failed", "reason": f"the scenario process exited with {proc.returncode} "
                                                  f"without a result", "log": output[-3000:]}
        result = json.loads(out_path.read_text())
        if result.get("status") == "failed":
            result["log"] = (result.get("log") or "") + output[-2000:]
        return result


def collect_module(name: str, *, repeats: int = 5, quick: bool = False, isolate: bool = True,
                   timeout: Optional[float] = None, options: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Run one scenario module; ``{"name", "module", "status", "reason",
    "seconds", "rows"}`` with ``status`` one of ok / missing / skipped /
    failed / timeout and ``rows`` normalised (a status row unless ok).

    ``isolate=False`` runs it in this process (which must be gevent-patched)
    and allows ``options``: extra keyword arguments for its ``run()``.
    """
    sc = scenario(name)
    started = time.monotonic()
    if isolate:
        if options:
            raise ValueError("options= needs isolate=False (they are passed to run() in this process)")
        limit = timeout if timeout is not None else (QUICK_TIMEOUT if quick else (sc.timeout or TIMEOUT))
        result = _run_isolated(sc, repeats, quick, limit)
    else:
        result = _run_here(sc, repeats, quick, options)
    result.update(name=sc.name, module=sc.module, what=sc.what, seconds=time.monotonic() - started)
    if result["status"] == "ok":
        try:
            result["rows"] = normalize_rows(result.pop("raw_rows"), repeats=repeats)
        except TypeError as exc:
            result.update(status="failed", reason=str(exc))
    if result["status"] != "ok":
        result.pop("raw_rows", None)
        result["rows"] = [_status_row(result)]
    return result


# ---------------------------------------------------------------- report
def _version(dist: str) -> str:
    from importlib import metadata
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _commit() -> str:
    try:
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=str(REPO), capture_output=True,
                              text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip() or "unknown"


def machine_info() -> Dict[str, Any]:
    """What the figures were measured on (shown above the table)."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {dist: _version(dist) for dist in VERSIONS},
        "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "commit": _commit(),
    }


def _header_lines(machine: Dict[str, Any]) -> List[str]:
    versions = ", ".join(f"{k} {v}" for k, v in machine["versions"].items())
    load = machine.get("load_average")
    return [
        f"date: {machine['date']} (commit {machine['commit']})",
        f"machine: {machine['cores']} cores ({machine['usable_cores']} usable), {machine['cpu']}, "
        f"{machine['platform']}" + (f", load average at start {load[0]}" if load else "")
        + (f", at end {machine['load_average_end'][0]}" if machine.get("load_average_end") else "")
        + (f", run took {machine['run_minutes']:.1f} min" if machine.get("run_minutes") else ""),
        f"python {machine['python']}; {versions}",
        f"reproduce: {REPRODUCE}",
    ]


def all_rows(results: Sequence[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [{**r, "suite": res["name"]} for res in results for r in res["rows"]]


def render_text(machine: Dict[str, Any], results: Sequence[Dict[str, Any]]) -> str:
    """The terminal table: one row per scenario, notes indented below."""
    lines = _header_lines(machine)
    lines.append("figures are medians of n interleaved repeats; ratio = ours / baseline (lower is better unless "
                 "the unit is a rate); spread = min-max of the per-repeat ratios")
    head = (f"{'suite':9} {'scenario':72} {'ours':>9} {'baseline':>9} {'ratio':>6} {'spread':>13} {'n':>3}  "
            f"{'unit':11} vs")
    lines += ["", head, "-" * len(head)]
    for r in all_rows(results):
        lines.append(f"{r['suite']:9} {str(r['scenario'])[:72]:72} {fmt(r['ours']):>9} "
                     f"{fmt(r['baseline_value']):>9} {fmt(r['ratio']):>6} {fmt_spread(r.get('spread')):>13} "
                     f"{r['repeats'] or '':>3}  {str(r['unit'])[:11]:11} {r['baseline']}"
                     + (f"  [{r['verdict']}]" if r["verdict"] else ""))
        if r.get("goal"):
            lines.append(f"{'':10}  goal {r['goal']}: {r.get('status') or 'n/a'}")
        if r.get("note"):
            lines.append(f"{'':10}  note: {r['note']}")
    if any(r.get("goal") for r in all_rows(results)):
        lines += ["", "goals: " + goal_counts(results)]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def goal_counts(results: Sequence[Dict[str, Any]]) -> str:
    """``"3 PASS, 20 FAIL, 1 spread too wide to judge"`` over the rows with a goal."""
    goals = [r for r in all_rows(results) if r.get("goal")]
    counts = {k: sum(1 for r in goals if r.get("status") == k) for k in ("PASS", "FAIL", "spread too wide to judge")}
    text = ", ".join(f"{n} {k}" for k, n in counts.items())
    missing = len(goals) - sum(counts.values())
    return text + (f", {missing} without a figure" if missing else "")


def render_markdown(machine: Dict[str, Any], results: Sequence[Dict[str, Any]]) -> str:
    """The Markdown table (for docs), with the machine and the command."""
    out = ["- " + line for line in _header_lines(machine)]
    out += ["", "| Suite | Scenario | Ours | Baseline | Baseline figure | Ours / baseline | Spread | Goal | Result "
                "| n | Unit | Notes |",
            "| --- | --- | ---: | --- | ---: | ---: | --- | --- | --- | ---: | --- | --- |"]
    for r in all_rows(results):
        out.append("| " + " | ".join(_cell(c) for c in (
            r["suite"], r["scenario"], fmt(r["ours"]), r["baseline"], fmt(r["baseline_value"]), fmt(r["ratio"]),
            fmt_spread(r.get("spread")), r.get("goal", ""), r.get("status") or r["verdict"], r["repeats"] or "",
            r["unit"], r.get("note", ""))) + " |")
    out += ["", f"Goals: {goal_counts(results)}."]
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------- CLI
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Run every benchmark scenario with its baselines in the same run and print one table.",
        epilog="scenarios: " + ", ".join(s.name for s in SCENARIOS))
    parser.add_argument("--repeats", type=int, default=None, help="repeats per measurement (default 5; 1 with "
                                                                  "--quick)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these scenarios (e.g. core http)")
    parser.add_argument("--json", metavar="PATH", help="also write machine + rows as JSON")
    parser.add_argument("--markdown", metavar="PATH", help="also write the Markdown table")
    parser.add_argument("--quick", action="store_true", help="small sizes and one repeat: a smoke run")
    parser.add_argument("--timeout", type=float, default=None,
                        help=f"seconds per scenario module (default {TIMEOUT:.0f}, boot and socketio 1800; "
                             f"{QUICK_TIMEOUT:.0f} quick)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    return parser


def _child(name: str, repeats: int, quick: bool, out_path: str) -> int:
    from gevent import monkey

    monkey.patch_all()
    result = _run_here(scenario(name), repeats, quick, None)
    Path(out_path).write_text(json.dumps(result, default=str))
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    repeats = args.repeats if args.repeats is not None else (1 if args.quick else 5)
    if repeats < 1:
        _parser().error("--repeats must be at least 1")
    if args.child:
        return _child(args.child, repeats, args.quick, args.child_out)
    known = {s.name for s in SCENARIOS}
    names = [scenario(n).name for n in args.only] if args.only else [s.name for s in SCENARIOS]
    unknown = [n for n in names if n not in known]
    if unknown:
        _parser().error(f"unknown scenario(s) {unknown}; choose from {sorted(known)}")
    machine = machine_info()
    started = time.monotonic()
    results = []
    for name in names:
        print(f"[{name}] running ({scenario(name).what}) ...", file=sys.stderr, flush=True)
        result = collect_module(name, repeats=repeats, quick=args.quick, timeout=args.timeout)
        print(f"[{name}] {result['status']} in {result['seconds']:.0f} s"
              + (f": {result.get('reason')}" if result["status"] != "ok" else ""), file=sys.stderr, flush=True)
        if result.get("log") and result["status"] in ("failed", "timeout"):
            print(result["log"], file=sys.stderr)
        results.append(result)
    if hasattr(os, "getloadavg"):
        machine["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    machine["run_minutes"] = (time.monotonic() - started) / 60
    print(render_text(machine, results))
    if args.markdown:
        Path(args.markdown).write_text(render_markdown(machine, results))
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine, "repeats": repeats, "quick": args.quick,
                                               "results": results}, indent=2, default=str))
    return 1 if any(r["status"] in ("failed", "timeout") for r in results) else 0
