"""Measure what the console costs on request throughput (not a test; run it
by hand, figures go into the docs and the issue's closing note):

    python tests/console/cost_measure.py [--requests 20000] [--repeats 3] [--in-process]

Variants, alternated each repeat so machine noise hits all alike, each
served by gevent's pywsgi in its own process (tests/console/apps/cost_app.py):
``none`` (no console), ``console`` (installed, nobody watching),
``watched`` (installed, one Socket.IO console client connected),
``metrics`` (console + Prometheus metrics installed, nobody watching).
The route emits one bus event per request (so the bus tap shows).
Figures: requests/s seen by 8 keep-alive client connections, and the
server's CPU time per request (from /proc/<pid>/stat), median of repeats.
"""
from __future__ import annotations

if __name__ == "__main__":
    from gevent import monkey

    monkey.patch_all()

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

import gevent
import requests

APPS = Path(__file__).parent / "apps"
REQUEST = b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _drive(port: int, total: int, connections: int = 8) -> float:
    def worker(count: int) -> None:
        sock = socket.create_connection(("127.0.0.1", port))
        try:
            buf = b""
            for _ in range(count):
                sock.sendall(REQUEST)
                while True:
                    head, sep, rest = buf.partition(b"\r\n\r\n")
                    if sep:
                        length = int([line.split(b":")[1] for line in head.split(b"\r\n")
                                      if line.lower().startswith(b"content-length")][0])
                        if len(rest) >= length:
                            buf = rest[length:]
                            break
                    buf += sock.recv(65536)
        finally:
            sock.close()

    started = time.perf_counter()
    gevent.joinall([gevent.spawn(worker, total // connections) for _ in range(connections)], raise_error=True)
    return time.perf_counter() - started


def run_variant(variant: str, total: int) -> Dict[str, float]:
    port = _free_port()
    app_variant = "console" if variant == "watched" else variant
    proc = subprocess.Popen([sys.executable, "cost_app.py", str(port), app_variant], cwd=APPS,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = None
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}/ping", timeout=1)
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        if variant == "watched":
            import socketio

            client = socketio.Client(reconnection=False)
            client.connect(f"http://127.0.0.1:{port}", namespaces=["/_spoc"], transports=["websocket"])
        _drive(port, 2000)  # warm up
        cpu0 = _cpu(proc.pid)
        elapsed = _drive(port, total)
        cpu = _cpu(proc.pid) - cpu0
        return {"rps": total / elapsed, "cpu_us": cpu / total * 1e6}
    finally:
        if client is not None:
            client.disconnect()
        proc.terminate()
        proc.wait(10)


def in_process(total: int, repeats: int) -> None:
    """The same variants as WSGI callables in this process: CPU time per
    request (``time.process_time``), insensitive to other load on the machine.
    "watched" runs the real pusher greenlet (a console client registered),
    which pushes a snapshot every second; the loop yields to it every 100 requests."""
    sys.path.insert(0, str(APPS))
    from werkzeug.test import EnvironBuilder

    from cost_app import create_app

    apps = {v: create_app("console" if v == "watched" else v) for v in ("none", "console", "watched", "metrics")}
    apps["watched"].extensions["specter_spoc.console"].client_connected("measuring")
    builder = EnvironBuilder(path="/ping", base_url="http://127.0.0.1/")
    environ = builder.get_environ()
    builder.close()

    def call(app: object) -> None:
        body = app(environ.copy(), lambda *a, **k: None)  # type: ignore[operator]
        b"".join(body)
        body.close()

    results: Dict[str, List[float]] = {v: [] for v in apps}
    for _ in range(repeats):
        for variant, app in apps.items():
            for _ in range(500):
                call(app)
            started = time.process_time()
            for index in range(total):
                call(app)
                if index % 100 == 0:
                    gevent.sleep(0)
            results[variant].append((time.process_time() - started) / total * 1e6)
    base = statistics.median(results["none"])
    print(f"{'variant':10} {'CPU us/req':>11} {'vs none':>8}   (in-process WSGI, median of {repeats})")
    for variant, values in results.items():
        cpu = statistics.median(values)
        print(f"{variant:10} {cpu:11.1f} {100 * (cpu / base - 1):+7.1f}%")
    for app in apps.values():
        app.extensions["specter_spoc"].shutdown()


def main(argv: List[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--in-process", action="store_true", help="WSGI calls in this process (CPU time)")
    args = parser.parse_args(argv)
    if args.in_process:
        in_process(args.requests, args.repeats)
        return
    variants = ["none", "console", "watched", "metrics"]
    results: Dict[str, List[Dict[str, float]]] = {v: [] for v in variants}
    for _ in range(args.repeats):
        for variant in variants:
            results[variant].append(run_variant(variant, args.requests))
    base = statistics.median(r["rps"] for r in results["none"])
    print(f"{'variant':10} {'req/s':>9} {'vs none':>8} {'server CPU us/req':>18}")
    for variant in variants:
        rps = statistics.median(r["rps"] for r in results[variant])
        cpu = statistics.median(r["cpu_us"] for r in results[variant])
        print(f"{variant:10} {rps:9.0f} {100 * (rps / base - 1):+7.1f}% {cpu:18.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])
