"""Soak the blog platform example: hundreds of Socket.IO clients, periodic
broadcasts with sequence numbers and HTTP traffic, for minutes.

    python -m benchmarks.soak                      # 500 clients, 120 s (about 2.5 minutes in all)
    python -m benchmarks.soak --clients 200 --seconds 30 --json /tmp/soak.json

Not part of the test run (``python -m benchmarks`` does not run it either).

What runs, all on 127.0.0.1, all stopped and reaped in ``finally``:

1. the example under ``gunicorn -k geventwebsocket.gunicorn.workers.GeventWebSocketWorker
   -w 1`` (production mode, a fixed SECRET_KEY, an SQLite file in a temporary
   folder), with ``benchmarks/_soak_gunicorn.py`` as gunicorn config: a
   ``post_worker_init`` hook that records the worker's live greenlets, RSS
   and open files every ``--sample-every`` seconds (the example has no
   endpoint for that; nothing is added to the example);
2. ``--clients`` websocket clients in one child process
   (``benchmarks._soak_clients``), all connected before the first broadcast;
3. in this process: a publisher that logs in once and publishes a post
   titled ``"soak <seq>"`` every ``--interval`` seconds over HTTP -- the
   example broadcasts ``post_published`` to every client, so the title
   carries the sequence number -- and ``--http-workers`` greenlets that keep
   ``GET /api/posts`` and ``GET /api/search?q=soak`` going at ``--http-rate``
   requests per second in all.

Checked and reported:

- per client: every sequence number received exactly once and in order
  (lost, duplicated, reordered counts; clients the server closed);
- broadcast latency: from just before the publishing request is sent to each
  client's receipt (p50, p99, max over every client and broadcast) -- it
  includes the request's database write;
- HTTP latency (p50, p99) and errors, per kind of request;
- the worker's RSS and live greenlets: the median of the first three samples
  after ``--warmup`` seconds against the median of the last three (goal:
  RSS growth under 5 %, no growth in greenlets).

Exit status 0 when no event was lost or reordered, no request failed and the
RSS grew less than ``--max-rss-growth`` percent; 1 otherwise.
"""
from __future__ import annotations

if __name__ == "__main__":
    from gevent import monkey

    monkey.patch_all()

import argparse
import http.client
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import gevent

from benchmarks._procs import REPO, VENV_BIN, WS_WORKER, Child, _gunicorn_extra, free_port, pid_running, rss_bytes

EXAMPLE_DIR = REPO / "examples" / "blog_platform"
GUNICORN_CONFIG = REPO / "benchmarks" / "_soak_gunicorn.py"
USER = {"username": "soaker", "email": "soaker@example.com", "password": "soak-password-1"}


# ---------------------------------------------------------------- helpers
def _percentile(values: List[float], pct: float) -> Optional[float]:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def _request(port: int, method: str, path: str, body: Optional[Dict[str, Any]] = None,
             token: Optional[str] = None, timeout: float = 10) -> Tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        try:
            return response.status, json.loads(raw)
        except ValueError:
            return response.status, raw[:200]
    finally:
        conn.close()


def _wait_ready(server: Child, port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.proc.returncode}:\n{server.log()}")
        try:
            if _request(port, "GET", "/api/posts?limit=1", timeout=2)[0] == 200:
                return
        except OSError:
            pass
        gevent.sleep(0.1)
    raise RuntimeError(f"the example did not answer on 127.0.0.1:{port} within {timeout}s:\n{server.log()}")


def _read_stats(path: Path) -> List[Dict[str, Any]]:
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue  # a line being written
    return rows


class _Latencies:
    def __init__(self) -> None:
        self.seconds: Dict[str, List[float]] = {}
        self.errors: Dict[str, List[str]] = {}

    def add(self, kind: str, seconds: float, error: Optional[str] = None) -> None:
        if error is None:
            self.seconds.setdefault(kind, []).append(seconds)
        else:
            self.errors.setdefault(kind, []).append(error)

    def summary(self) -> Dict[str, Any]:
        kinds = sorted(set(self.seconds) | set(self.errors))
        return {kind: {"requests": len(self.seconds.get(kind, [])) + len(self.errors.get(kind, [])),
                       "errors": len(self.errors.get(kind, [])),
                       "first_errors": self.errors.get(kind, [])[:3],
                       "p50_ms": _ms(_percentile(self.seconds.get(kind, []), 50)),
                       "p99_ms": _ms(_percentile(self.seconds.get(kind, []), 99))} for kind in kinds}


def _ms(seconds: Optional[float]) -> Optional[float]:
    return None if seconds is None else round(seconds * 1000, 2)


# ------------------------------------------------------------------ phases
def _publisher(port: int, token: str, interval: float, stop_at: float, sent: Dict[int, float],
               latencies: _Latencies) -> None:
    seq = 0
    next_at = time.monotonic()
    while time.monotonic() < stop_at:
        seq += 1
        t0 = time.monotonic()
        sent[seq] = t0
        try:
            status, body = _request(port, "POST", "/api/posts", {"title": f"soak {seq}",
                                                                 "content": f"soak broadcast number {seq}",
                                                                 "publish": True}, token)
            latencies.add("POST /api/posts (publish)", time.monotonic() - t0,
                          None if status == 201 else f"{status}: {body!r:.120}")
        except OSError as exc:
            latencies.add("POST /api/posts (publish)", 0, f"{type(exc).__name__}: {exc}")
        next_at += interval
        gevent.sleep(max(0.0, next_at - time.monotonic()))


def _http_worker(port: int, period: float, stop_at: float, latencies: _Latencies, offset: int) -> None:
    paths = [("GET /api/posts", "/api/posts?limit=20"), ("GET /api/search", "/api/search?q=soak&limit=10")]
    n = offset
    while time.monotonic() < stop_at:
        kind, path = paths[n % len(paths)]
        n += 1
        t0 = time.monotonic()
        try:
            status, body = _request(port, "GET", path)
            latencies.add(kind, time.monotonic() - t0, None if status == 200 else f"{status}: {body!r:.120}")
        except OSError as exc:
            latencies.add(kind, 0, f"{type(exc).__name__}: {exc}")
        gevent.sleep(max(0.0, period - (time.monotonic() - t0)))


def _check_clients(report: Dict[str, Any], sent: Dict[int, float]) -> Dict[str, Any]:
    expected = sorted(sent)
    lost = duplicated = reordered = closed = 0
    latencies: List[float] = []
    spread: Dict[int, List[float]] = {}
    bad_examples: List[str] = []
    for index, client in enumerate(report["clients"]):
        seqs, times = client["seqs"], client["times"]
        closed += bool(client["closed_by_server"])
        missing = set(expected) - set(seqs)
        dupes = len(seqs) - len(set(seqs))
        out_of_order = sum(1 for a, b in zip(seqs, seqs[1:]) if b <= a)
        lost += len(missing)
        duplicated += dupes
        reordered += out_of_order
        if (missing or dupes or out_of_order) and len(bad_examples) < 3:
            bad_examples.append(f"client {index}: missing {sorted(missing)[:5]}, {dupes} duplicates, "
                                f"{out_of_order} out of order, error {client['error']}")
        for seq, received in zip(seqs, times):
            if seq in sent:
                latencies.append(received - sent[seq])
                spread.setdefault(seq, []).append(received)
    fanout = [max(ts) - min(ts) for ts in spread.values() if ts]
    return {"clients": len(report["clients"]), "broadcasts": len(expected),
            "deliveries": len(latencies), "expected_deliveries": len(expected) * len(report["clients"]),
            "lost": lost, "duplicated": duplicated, "reordered": reordered, "closed_by_server": closed,
            "problems": bad_examples,
            "latency_ms": {"p50": _ms(_percentile(latencies, 50)), "p99": _ms(_percentile(latencies, 99)),
                           "max": _ms(max(latencies) if latencies else None)},
            "fanout_spread_ms": {"p50": _ms(_percentile(fanout, 50)), "p99": _ms(_percentile(fanout, 99))}}


def _resources(stats: List[Dict[str, Any]], warm_from: float) -> Dict[str, Any]:
    after = [s for s in stats if s["t"] >= warm_from]
    if len(after) < 2:
        return {"samples": len(stats), "note": "too few samples after warm-up"}

    def med(rows: List[Dict[str, Any]], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    first, last = after[:3], after[-3:]
    rss0, rss1 = med(first, "rss"), med(last, "rss")
    return {"samples": len(stats), "samples_after_warmup": len(after),
            "rss_mb": {"start": round(stats[0]["rss"] / 2 ** 20, 1), "after_warmup": round(rss0 / 2 ** 20, 1),
                       "end": round(rss1 / 2 ** 20, 1), "max": round(max(s["rss"] for s in after) / 2 ** 20, 1)},
            "rss_growth_pct": round((rss1 - rss0) / rss0 * 100, 2),
            "greenlets": {"after_warmup": med(first, "greenlets"), "end": med(last, "greenlets"),
                          "min": min(s["greenlets"] for s in after), "max": max(s["greenlets"] for s in after)},
            "open_files": {"after_warmup": med(first, "fds"), "end": med(last, "fds")}}


# -------------------------------------------------------------------- main
def run(clients: int, seconds: float, interval: float, http_rate: float, http_workers: int, warmup: float,
        sample_every: float) -> Dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="spoc-soak-"))
    port = free_port()
    stats_file = tmp / "worker-stats.jsonl"
    env = {"DATABASE_URL": f"sqlite:///{tmp / 'soak.db'}", "SECRET_KEY": "soak-secret-key-" + "x" * 32,
           "SPOC_MODE": "production", "PASSWORD_SCRYPT_N": "1024", "SOAK_STATS_FILE": str(stats_file),
           "SOAK_STATS_INTERVAL": str(sample_every)}
    cmd = [str(VENV_BIN / "gunicorn"), "-k", WS_WORKER, "-w", "1", "-b", f"127.0.0.1:{port}",
           "--chdir", str(EXAMPLE_DIR), "-c", str(GUNICORN_CONFIG), "--graceful-timeout", "30",
           "--timeout", "120", *_gunicorn_extra(), "wsgi:create_app()"]
    server = Child(cmd, env=env, log_path=tmp / "gunicorn.log", name="gunicorn (example)")
    pool: Optional[Child] = None
    result: Dict[str, Any] = {"clients_requested": clients, "seconds": seconds, "interval": interval,
                              "http_rate": http_rate, "warmup": warmup}
    try:
        _wait_ready(server, port)
        status, body = _request(port, "POST", "/api/users", USER)
        if status != 201:
            raise RuntimeError(f"registering the soak user answered {status}: {body!r:.200}")
        status, body = _request(port, "POST", "/api/login", {k: USER[k] for k in ("username", "password")})
        token = body["token"]

        pool = Child([sys.executable, "-m", "benchmarks._soak_clients", "--url", f"http://127.0.0.1:{port}",
                      "--count", str(clients), "--max-seconds", str(seconds + warmup + 300)],
                     log_path=tmp / "clients.log", pipes=True, name="soak clients")
        hello = pool.read_json(timeout=120)
        result["connect"] = hello
        if hello.get("connected") != clients:
            raise RuntimeError(f"only {hello.get('connected')} of {clients} clients connected: {hello.get('errors')}")

        sent: Dict[int, float] = {}
        latencies = _Latencies()
        started = time.monotonic()
        stop_at = started + seconds
        workers = [gevent.spawn(_publisher, port, token, interval, stop_at, sent, latencies)]
        period = http_workers / http_rate if http_rate > 0 else None
        if period is not None:
            workers += [gevent.spawn(_http_worker, port, period, stop_at, latencies, i) for i in range(http_workers)]
        while time.monotonic() < stop_at:
            gevent.sleep(min(5.0, max(0.0, stop_at - time.monotonic())))
            if server.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited during the soak:\n{server.log()}")
            progress = pool.ask("status", timeout=30)
            print(f"  {time.monotonic() - started:5.0f}s: {len(sent)} broadcasts, {progress['open']} clients open, "
                  f"{progress['received']} deliveries", file=sys.stderr, flush=True)
        gevent.joinall(workers, timeout=30, raise_error=True)
        gevent.sleep(max(2.0, interval * 2))  # the last broadcast's deliveries
        report = pool.ask("report", timeout=120)
        result["broadcast"] = _check_clients(report, sent)
        result["http"] = latencies.summary()
        result["resources"] = _resources(_read_stats(stats_file), started + warmup)
        result["worker_pid"] = (_read_stats(stats_file) or [{}])[0].get("pid")
        if result["worker_pid"] and pid_running(int(result["worker_pid"])):
            result["worker_rss_mb_now"] = round(rss_bytes(int(result["worker_pid"])) / 2 ** 20, 1)
        t_stop = time.monotonic()
        pool.send("quit")
        pool.proc.wait(30)
        server.stop(timeout=30)
        result["server_stop_seconds"] = round(time.monotonic() - t_stop, 2)
        result["server_log_tracebacks"] = (tmp / "gunicorn.log").read_text(errors="replace").count("Traceback")
        return result
    finally:
        if pool is not None:
            pool.stop()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def _print(result: Dict[str, Any]) -> None:
    b, r = result.get("broadcast", {}), result.get("resources", {})
    print(f"soak: {b.get('clients')} clients, {result['seconds']:.0f} s, {b.get('broadcasts')} broadcasts "
          f"({b.get('deliveries')} of {b.get('expected_deliveries')} deliveries)")
    print(f"  lost {b.get('lost')}, duplicated {b.get('duplicated')}, reordered {b.get('reordered')}, "
          f"clients closed by the server {b.get('closed_by_server')}")
    for problem in b.get("problems", []):
        print(f"  ! {problem}")
    lat, spread = b.get("latency_ms", {}), b.get("fanout_spread_ms", {})
    print(f"  broadcast latency ms: p50 {lat.get('p50')}, p99 {lat.get('p99')}, max {lat.get('max')} "
          f"(first-to-last client spread p50 {spread.get('p50')}, p99 {spread.get('p99')})")
    for kind, h in result.get("http", {}).items():
        print(f"  {kind}: {h['requests']} requests, {h['errors']} errors, p50 {h['p50_ms']} ms, p99 {h['p99_ms']} ms"
              + (f" {h['first_errors']}" if h["errors"] else ""))
    if "rss_mb" in r:
        print(f"  worker RSS MB: start {r['rss_mb']['start']}, after warm-up {r['rss_mb']['after_warmup']}, "
              f"end {r['rss_mb']['end']} (growth {r['rss_growth_pct']} %), max {r['rss_mb']['max']}")
        g = r["greenlets"]
        print(f"  live greenlets: after warm-up {g['after_warmup']}, end {g['end']} (min {g['min']}, max {g['max']}); "
              f"open files {r['open_files']['after_warmup']} -> {r['open_files']['end']}")
    print(f"  server stopped in {result.get('server_stop_seconds')} s; tracebacks in its log: "
          f"{result.get('server_log_tracebacks')}")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Soak the blog platform example (loopback only, bounded).")
    parser.add_argument("--clients", type=int, default=500, help="websocket clients (default 500)")
    parser.add_argument("--seconds", type=float, default=120.0, help="length of the run (default 120)")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between broadcasts (default 0.5)")
    parser.add_argument("--http-rate", type=float, default=20.0, help="GET requests per second (default 20)")
    parser.add_argument("--http-workers", type=int, default=4, help="greenlets sending them (default 4)")
    parser.add_argument("--warmup", type=float, default=20.0, help="seconds before the RSS baseline (default 20)")
    parser.add_argument("--sample-every", type=float, default=5.0, help="seconds between worker samples")
    parser.add_argument("--max-rss-growth", type=float, default=5.0, help="percent; above it the exit status is 1")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.seconds <= 0 or args.interval <= 0 or args.warmup >= args.seconds:
        parser.error("need --clients >= 1, --seconds > 0, --interval > 0 and --warmup < --seconds")
    result = run(args.clients, args.seconds, args.interval, args.http_rate, args.http_workers, args.warmup,
                 args.sample_every)
    _print(result)
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2))
    b, r = result["broadcast"], result["resources"]
    http_errors = sum(h["errors"] for h in result["http"].values())
    ok = (b["lost"] == 0 and b["reordered"] == 0 and b["duplicated"] == 0 and http_errors == 0
          and r.get("rss_growth_pct", 0) < args.max_rss_growth)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
