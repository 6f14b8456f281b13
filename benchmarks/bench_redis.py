"""Scale-out benchmarks: cross-process latency and durable queue throughput.

    .venv/bin/python -m benchmarks.bench_redis [--repeats 5]

Starts its own ``redis-server`` on a free loopback port (persistence off)
and, for the Socket.IO rows, three ``serve()`` processes of
benchmarks/_redis_app.py: A and B share Redis, C has no message queue.

- Socket.IO: an emit in process A reaching a python-socketio client
  connected to process B (through Flask-SocketIO's Redis message queue),
  beside an emit in C reaching a client of C (the in-process path).
  Latency = receipt time - emit time (same machine clock), p50 and p99.
- Bus: an event emitted on one runtime's bus reaching a listener of another
  runtime through two RedisBusBridges (one Redis round trip, JSON both
  ways), beside a plain in-process ``bus.emit`` to a listener.
- Durable queue: items/s through a QueueService on RedisQueueBackend
  (XADD, XREADGROUP, XACK + XDEL per item; 4 workers) beside the
  in-process QueueService, trivial handler, enqueue + drain.

``run(repeats=5)`` returns the result rows (see benchmarks/_harness.py).
"""
from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from contextlib import ExitStack, contextmanager  # noqa: E402
from typing import Callable, Dict, Iterator, List  # noqa: E402

import gevent  # noqa: E402
from gevent.event import Event  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks._harness import print_rows, row  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TICKS = 200          # Socket.IO events per repeat
BUS_EVENTS = 500     # bus events per repeat
QUEUE_ITEMS = 5000   # queue items per repeat
WARMUP = 10


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"benchmark setup: timed out waiting for {what}")
        time.sleep(0.02)


def _percentile(values: List[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _latency_rows(scenario: str, ours: List[float], baseline: str, base: List[float],
                  repeats: int) -> List[Dict[str, object]]:
    """p50 and p99 rows (ms) of a cross-process path beside its in-process one."""
    return [row(f"{scenario}, {label}", _percentile(ours, q), baseline, _percentile(base, q), "ms",
                repeats, f"{len(ours)} events") for label, q in (("p50", 0.5), ("p99", 0.99))]


@contextmanager
def _redis() -> Iterator[str]:
    import redis

    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = _free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    try:
        def up() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False
        _wait(up, 10, "redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        proc.terminate()
        proc.wait(10)


@contextmanager
def _server(redis_url: str) -> Iterator[str]:
    import requests

    port = _free_port()
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "_redis_app.py"), str(port), redis_url],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        def up() -> bool:
            try:
                return requests.get(url + "/ready", timeout=1).ok
            except requests.RequestException:
                return False
        _wait(up, 30, f"server on port {port}")
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _socket_latencies(emitter: str, receiver: str, repeats: int) -> List[float]:
    """Milliseconds from emit in ``emitter`` to receipt by a client of ``receiver``."""
    import requests
    import socketio

    samples: List[float] = []
    client = socketio.Client(reconnection=False)
    client.on("tick", lambda data: samples.append((time.time() - data["t"]) * 1000.0))
    client.connect(receiver, transports=["websocket"])
    try:
        requests.post(emitter + f"/ticks?n={WARMUP}", timeout=30)
        _wait(lambda: len(samples) >= WARMUP, 10, "warm-up ticks")
        del samples[:]
        for _ in range(repeats):
            before = len(samples)
            requests.post(emitter + f"/ticks?n={TICKS}&gap=0.002", timeout=60)
            _wait(lambda: len(samples) >= before + TICKS, 10, "ticks")
    finally:
        client.disconnect()
    return samples


def socket_rows(redis_url: str, repeats: int) -> List[Dict[str, object]]:
    import redis
    import socketio

    with ExitStack() as stack:
        a = stack.enter_context(_server(redis_url))
        b = stack.enter_context(_server(redis_url))
        c = stack.enter_context(_server(""))
        local = _socket_latencies(c, c, repeats)
        probe = redis.Redis.from_url(redis_url)
        stack.callback(probe.close)
        watcher = socketio.Client(reconnection=False)  # a first client makes B subscribe
        watcher.connect(b, transports=["websocket"])
        _wait(lambda: dict(probe.pubsub_numsub("flask-socketio")).get(b"flask-socketio", 0) >= 1, 10,
              "B subscribed to the message queue")
        watcher.disconnect()
        cross_samples = _socket_latencies(a, b, repeats)
    return _latency_rows("socket.io emit in A -> client of B (Redis)", cross_samples,
                         "emit -> client, same process", local, repeats)


def bus_rows(redis_url: str, repeats: int) -> List[Dict[str, object]]:
    from specter_spoc.contrib.redis import RedisBusBridge
    from specter_spoc.wiring.scope import Scope

    a, b = Scope("bench-a"), Scope("bench-b")
    bridges = [RedisBusBridge(redis_url, ["bench:*"], channel="bench:bus", name=f"bus-{s.name}") for s in (a, b)]
    for scope, bridge in zip((a, b), bridges):
        with scope.activate():
            bridge.start()
    try:
        for bridge in bridges:
            bridge.wait_ready(5)
        remote: List[float] = []
        local: List[float] = []
        done = Event()
        b.bus.on("bench:tick", lambda data: (remote.append((time.perf_counter() - data["t"]) * 1000.0),
                                             len(remote) >= data["want"] and done.set()))
        a.bus.on("bench:local", lambda data: local.append((time.perf_counter() - data["t"]) * 1000.0))
        want = 0
        for repeat in range(repeats + 1):          # the first round warms up
            count = WARMUP if repeat == 0 else BUS_EVENTS
            want += count
            done.clear()
            for _ in range(count):
                a.bus.emit("bench:tick", {"t": time.perf_counter(), "want": want})
                a.bus.emit("bench:local", {"t": time.perf_counter()})
                gevent.sleep(0.001)
            if not done.wait(10):
                raise RuntimeError("bus benchmark: events did not arrive")
            if repeat == 0:
                del remote[:], local[:]
                want = 0
    finally:
        for bridge in bridges:
            bridge.stop()
    return _latency_rows("bus event A -> listener of B (RedisBusBridge)", remote,
                         "bus.emit -> listener, same runtime", local, repeats)


PRODUCERS = 4


def _queue_rate(make: Callable[[Event, List[int]], object], items: int, backlog: bool) -> float:
    """items/s: ``backlog`` enqueues everything before start() and times the
    drain; otherwise PRODUCERS greenlets enqueue while the workers run."""
    done = Event()
    count = [0]
    service = make(done, count)
    try:
        if backlog:
            backend = getattr(service, "backend", None)
            for i in range(items):     # straight into the stream / the in-process queue
                backend.enqueue(service.name, i) if hasattr(backend, "enqueue") else service.enqueue(i)
            started = time.perf_counter()
            service.start()
        else:
            service.start()
            started = time.perf_counter()
            share = items // PRODUCERS
            gevent.joinall([gevent.spawn(lambda k: [service.enqueue(k * share + i) for i in range(share)], k)
                            for k in range(PRODUCERS)], raise_error=True)
        if not done.wait(120):
            raise RuntimeError("queue benchmark: items were not processed")
        return items / (time.perf_counter() - started)
    finally:
        service.stop()


def queue_rows(redis_url: str, repeats: int) -> List[Dict[str, object]]:
    from specter_spoc import QueueService
    from specter_spoc.contrib.redis import RedisQueueBackend

    def factory(durable: bool, items: int) -> Callable[[Event, List[int]], object]:
        def make(done: Event, count: List[int]) -> object:
            class Sink(QueueService):
                def handle_item(self, item: object) -> None:
                    count[0] += 1
                    if count[0] == items:
                        done.set()
            backend = RedisQueueBackend(redis_url, prefix=f"bench:{time.monotonic_ns()}") if durable else None
            return Sink("bench-queue", worker_count=4, backend=backend or "memory")
        return make

    rows = []
    for backlog, label in ((False, f"{PRODUCERS} producers + 4 workers"), (True, "drain a backlog, 4 workers")):
        durable, memory = [], []
        for _ in range(repeats):
            durable.append(_queue_rate(factory(True, QUEUE_ITEMS), QUEUE_ITEMS, backlog))
            memory.append(_queue_rate(factory(False, QUEUE_ITEMS), QUEUE_ITEMS, backlog))
        rows.append(row(f"durable queue on Redis Streams: {label}", statistics.median(durable),
                        "in-process QueueService", statistics.median(memory), "items/s", repeats,
                        f"{QUEUE_ITEMS} items, trivial handler, one process"))
    return rows


def run(repeats: int = 5) -> List[Dict[str, object]]:
    if not (shutil.which("redis-server") or os.path.exists("/usr/bin/redis-server")):
        return [row("redis benchmarks", None, "redis-server not installed", None, "-", repeats)]
    with _redis() as url:
        return socket_rows(url, repeats) + bus_rows(url, repeats) + queue_rows(url, repeats)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    print_rows(run(parser.parse_args().repeats))
