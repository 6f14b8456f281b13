"""Socket.IO under a real gunicorn worker: broadcast fan-out, SIGTERM to
exit, and server memory per connected client — ours against bare
Flask-SocketIO, measured in the same run.

    python -m benchmarks.bench_socketio [--repeats 3] [--quick]

Method. Both variants of ``benchmarks/apps/socket_app.py`` (booted with
specter_spoc, and the same app with ``BARE=1``) are served side by side, each
by ``gunicorn -k geventwebsocket.gunicorn.workers.GeventWebSocketWorker -w 1
--graceful-timeout 10`` on a free 127.0.0.1 port, and each gets its own
client process (``benchmarks._ws_clients``: raw Engine.IO/Socket.IO over
websocket-client, one reader greenlet per connection). Per round:

1. read each worker's RSS (``/proc/<pid>/status`` VmRSS) with no client;
2. connect N clients (200) to each; after two warm-up broadcasts and a short
   settle, read RSS again: (after - before) / N is the memory per client;
3. E broadcasts per server, alternating ours and bare: the route records
   ``time.monotonic()`` just before ``socketio.emit`` (system-wide on Linux,
   so comparable across processes); the figure is the time from there to the
   last client's receipt;
4. close all but N/2 connections (100 stay open), SIGTERM both gunicorn
   masters at once and time each until it exited; the booted app's
   ``on_stop`` hooks append to a file, checked afterwards.

Every process is stopped and reaped whatever happens (try/finally), every
wait has a deadline, and the client processes exit by themselves after a
bounded time.

Fan-out at scale (1,000 and 5,000 clients). Both servers again side by
side, one gunicorn worker each; the clients are spread over several client
processes (at most 1,000 per process), and gunicorn's ``--worker-connections`` is
raised to the client count + 100 (each open websocket holds one of the
worker's connection slots). The benchmark raises its own
``RLIMIT_NOFILE`` soft limit (up to the hard limit) before starting anything,
so the worker and the client processes inherit room for every socket. Per
broadcast the driver arms every pool of the server, POSTs ``/emit/<seq>``
itself (the answer carries the server's ``t0``), then collects from each
pool; the figure is the last receipt over all pools minus ``t0``. Ours and
bare alternate (order reversed every other broadcast); p50 and p90 over the
broadcasts; server RSS per connected client from the same setup.

Goal (issue 16 #9): fan-out to 1,000 clients p50 <= 1.05x bare.
"""
from __future__ import annotations

if __name__ == "__main__":
    from gevent import monkey

    monkey.patch_all()

import signal
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Dict, List, Optional

import gevent

from benchmarks._harness import ScenarioSkipped, row, scenario_main
from benchmarks._procs import Server, gunicorn, http_json, pid_running, rss_bytes, ws_clients

#: clients per client process in the fan-out-at-scale rows
PER_PROCESS = 1000
FANOUT_GOAL = "issue 16 #9: fan-out to 1,000 clients <= 1.05x bare Flask-SocketIO (p50)"

APP = "benchmarks.apps.socket_app:create_app()"
VARIANTS = ("ours", "bare")
BARE = "bare Flask-SocketIO"


def _percentile(values: List[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def _expected_stops() -> List[str]:
    from benchmarks.apps.socket_app import EXPECTED_STOPS
    return list(EXPECTED_STOPS)


def _sigterm_both(servers: Dict[str, Server], limit: float) -> Dict[str, Dict[str, float]]:
    """SIGTERM every master at once; seconds until each master (and its
    worker) exited, polled every 5 ms up to ``limit``."""
    started = time.monotonic()
    for server in servers.values():
        server.child.proc.send_signal(signal.SIGTERM)
    exits: Dict[str, Dict[str, float]] = {name: {} for name in servers}
    while time.monotonic() - started < limit:
        now = time.monotonic() - started
        for name, server in servers.items():
            if "worker" not in exits[name] and not pid_running(server.worker_pid):
                exits[name]["worker"] = now
            if "master" not in exits[name] and server.child.proc.poll() is not None:
                exits[name]["master"] = now
        if all("master" in e and "worker" in e for e in exits.values()):
            break
        gevent.sleep(0.005)
    return exits


def _round(log_dir: Path, clients: int, emits: int, keep_open: int, graceful: float,
           seq_base: int) -> Dict[str, Any]:
    stop_file = log_dir / f"stops-{seq_base}.txt"
    out: Dict[str, Any] = {"latency_ms": {v: [] for v in VARIANTS}}
    with ExitStack() as stack:
        servers = {
            "ours": stack.enter_context(gunicorn(APP, log_dir=log_dir, graceful_timeout=graceful,
                                                 env={"STOP_FILE": str(stop_file)})),
            "bare": stack.enter_context(gunicorn(APP, log_dir=log_dir, graceful_timeout=graceful,
                                                 env={"BARE": "1"})),
        }
        gevent.sleep(0.3)
        idle = {v: rss_bytes(s.worker_pid) for v, s in servers.items()}
        pools = {v: stack.enter_context(ws_clients(s.url, clients, log_dir=log_dir)) for v, s in servers.items()}
        seq = seq_base
        for _ in range(2):  # warm-up broadcasts, not recorded
            for v in VARIANTS:
                seq += 1
                pools[v].ask(f"emit {seq}", timeout=20)
        gevent.sleep(0.3)
        loaded = {v: rss_bytes(s.worker_pid) for v, s in servers.items()}
        out["idle_rss"] = idle
        out["per_client"] = {v: (loaded[v] - idle[v]) / clients for v in VARIANTS}
        for i in range(emits):
            for v in (VARIANTS if i % 2 == 0 else VARIANTS[::-1]):
                seq += 1
                result = pools[v].ask(f"emit {seq}", timeout=20)
                if result["received"] != result["expected"]:
                    raise RuntimeError(f"{v}: broadcast {seq} reached {result['received']} of "
                                       f"{result['expected']} clients within 10 s")
                out["latency_ms"][v].append(result["last"] * 1e3)
        for v in VARIANTS:
            pools[v].ask(f"close {clients - keep_open}", timeout=20)
        exits = _sigterm_both(servers, limit=graceful + 15)
        out["exit"] = exits
        out["shutdown_events"] = {v: pools[v].ask("wait_closed 3", timeout=10).get("shutdown_events")
                                  for v in VARIANTS}
        for v, server in servers.items():
            if "master" not in exits[v]:
                raise RuntimeError(f"{v}: gunicorn still running {graceful + 15}s after SIGTERM:\n"
                                   f"{server.child.log()}")
        logs = {v: s.child.log(100_000) for v, s in servers.items()}
    lines = stop_file.read_text().splitlines() if stop_file.exists() else []
    out["stops_ok"] = lines == _expected_stops()
    out["stops"] = lines
    out["tracebacks"] = {v: "Traceback" in text for v, text in logs.items()}
    return out


def raise_nofile(needed: int) -> int:
    """Raise this process's soft RLIMIT_NOFILE to ``needed`` (children
    inherit it); ScenarioSkipped when the hard limit is lower."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            raise ScenarioSkipped(f"needs {needed:,} open files per process but the hard RLIMIT_NOFILE is "
                                  f"{hard:,}; raise it (ulimit -Hn / limits.conf) to run this row")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _fanout_once(server: Server, pools: List[Any], seq: int, limit: float) -> float:
    """One broadcast to every pool of ``server``: seconds from the server's
    ``t0`` to the last receipt over all pools."""
    for pool in pools:
        pool.ask(f"arm {seq}", timeout=20)
    t0 = float(http_json(server.port, "POST", f"/emit/{seq}", timeout=limit)["t0"])
    results = [pool.ask(f"collect {seq} {limit:g}", timeout=limit + 20) for pool in pools]
    received, expected = sum(r["received"] for r in results), sum(r["expected"] for r in results)
    if received != expected:
        raise RuntimeError(f"broadcast {seq} on :{server.port} reached {received} of {expected} clients "
                           f"within {limit:g} s")
    return max(r["last"] for r in results) - t0


def fanout_rows(clients: int, emits: int, log_dir: Path, goal: bool) -> List[Dict[str, Any]]:
    """Broadcast fan-out to ``clients`` websocket clients (several client
    processes per server), ours vs bare side by side; p50/p90 rows and RSS
    per client."""
    limit = raise_nofile(clients + 1024)
    processes = -(-clients // PER_PROCESS)
    sizes = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    connect_limit = 60 + clients * 0.05
    latency: Dict[str, List[float]] = {v: [] for v in VARIANTS}
    with ExitStack() as stack:
        servers = {  # room in gunicorn's connection pool for every websocket and the /emit requests
            v: stack.enter_context(gunicorn(APP, log_dir=log_dir, graceful_timeout=3,
                                            env={"BARE": "1"} if v == "bare" else None,
                                            worker_connections=clients + 100))
            for v in VARIANTS
        }
        gevent.sleep(0.3)
        idle = {v: rss_bytes(s.worker_pid) for v, s in servers.items()}
        pools: Dict[str, List[Any]] = {v: [] for v in VARIANTS}
        for v, server in servers.items():
            for i, size in enumerate(sizes):
                pools[v].append(stack.enter_context(ws_clients(
                    server.url, size, log_dir=log_dir, timeout=connect_limit, tag=f"-{clients}-{i}",
                    max_seconds=connect_limit + 120 + emits * 30, concurrency=50)))
        seq = 0
        for _ in range(2):  # warm-up broadcasts, not recorded
            for v in VARIANTS:
                seq += 1
                _fanout_once(servers[v], pools[v], seq, limit=30)
        gevent.sleep(0.3)
        loaded = {v: rss_bytes(s.worker_pid) for v, s in servers.items()}
        for i in range(emits):
            for v in (VARIANTS if i % 2 == 0 else VARIANTS[::-1]):
                seq += 1
                latency[v].append(_fanout_once(servers[v], pools[v], seq, limit=30) * 1e3)
    where = (f"gunicorn GeventWebSocketWorker -w 1; clients in {processes} process(es) per server; "
             f"{emits} broadcasts; RLIMIT_NOFILE {limit:,}")
    p50 = {v: _percentile(latency[v], 50) for v in VARIANTS}
    ratios = [o / b for o, b in zip(latency["ours"], latency["bare"]) if b]
    spread = (min(ratios), max(ratios)) if ratios else None
    goal_args: Dict[str, Any] = {"goal": FANOUT_GOAL, "goal_max": 1.05} if goal else {}
    return [
        row(f"Socket.IO broadcast to {clients:,} clients: emit to last receipt, p50", p50["ours"], BARE,
            p50["bare"], "ms", emits, note=where + "; spread = per-pair ratios of consecutive broadcasts",
            spread=spread, **goal_args),
        row(f"Socket.IO broadcast to {clients:,} clients: emit to last receipt, p90",
            _percentile(latency["ours"], 90), BARE, _percentile(latency["bare"], 90), "ms", emits, note=where),
        row(f"server RSS per connected websocket client ({clients:,} clients)",
            (loaded["ours"] - idle["ours"]) / clients / 1024, BARE,
            (loaded["bare"] - idle["bare"]) / clients / 1024, "KiB", 1),
    ]


def run(repeats: int = 5, quick: bool = False, clients: Optional[int] = None,
        emits: Optional[int] = None, rounds: Optional[int] = None,
        scale: Optional[List[int]] = None) -> List[Dict[str, Any]]:
    """Rows for fan-out (p50/p90), SIGTERM-to-exit and RSS per client.

    ``rounds`` (server restarts) defaults to min(repeats, 3): a bare round
    waits out the whole graceful timeout, so rounds are the costly part.
    """
    clients = clients or (20 if quick else 200)
    emits = emits or (5 if quick else 15)
    rounds = rounds or (1 if quick else max(1, min(repeats, 3)))
    graceful = 3.0 if quick else 10.0
    keep_open = clients // 2
    results: List[Dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-socketio-") as tmp:
        for r in range(rounds):
            results.append(_round(Path(tmp), clients, emits, keep_open, graceful, seq_base=r * 1000))
    lat = {v: [x for res in results for x in res["latency_ms"][v]] for v in VARIANTS}
    samples = len(lat["ours"])
    where = f"gunicorn GeventWebSocketWorker -w 1, {rounds} round(s) x {emits} broadcasts"

    def per_round(key: str, v: str, sub: Optional[str] = None) -> float:
        values = [res[key][v][sub] if sub else res[key][v] for res in results]
        return statistics.median(values)

    stops_ok = sum(res["stops_ok"] for res in results)
    shutdown_events = [res["shutdown_events"]["ours"] for res in results]
    rows = [
        row(f"Socket.IO broadcast to {clients} clients: emit to last receipt, p50",
            _percentile(lat["ours"], 50), BARE, _percentile(lat["bare"], 50), "ms", samples, note=where),
        row(f"Socket.IO broadcast to {clients} clients: emit to last receipt, p90",
            _percentile(lat["ours"], 90), BARE, _percentile(lat["bare"], 90), "ms", samples, note=where),
        row(f"SIGTERM to gunicorn exit, {keep_open} open websockets, graceful-timeout {graceful:g}",
            per_round("exit", "ours", "master"), BARE, per_round("exit", "bare", "master"), "s", rounds,
            note=(f"on_stop hooks all ran in {stops_ok}/{rounds} rounds; clients got server_shutdown "
                  f"{min(shutdown_events)}/{keep_open}; worker exited after "
                  f"{per_round('exit', 'ours', 'worker'):.2f} s vs {per_round('exit', 'bare', 'worker'):.2f} s")),
        row(f"server RSS per connected websocket client ({clients} clients)",
            per_round("per_client", "ours") / 1024, BARE, per_round("per_client", "bare") / 1024, "KiB",
            rounds),
        row("server worker RSS, app booted, no client connected",
            per_round("idle_rss", "ours") / 2**20, BARE, per_round("idle_rss", "bare") / 2**20, "MiB", rounds),
    ]
    if any(res["tracebacks"]["ours"] for res in results):
        rows[2]["note"] += "; a traceback appeared in our server log"
    sizes = scale if scale is not None else ([] if quick else [1000, 5000])
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp:
        for n in sizes:
            rows += fanout_rows(n, emits=max(5, repeats) * 2 if n <= 1000 else max(5, repeats), log_dir=Path(tmp),
                                goal=n == 1000)
    return rows


def main(argv: Optional[List[str]] = None) -> int:
    return scenario_main(run, __doc__, repeats=3, argv=argv)

if __name__ == "__main__":
    raise SystemExit(main())
