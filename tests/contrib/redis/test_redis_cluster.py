"""Several processes, one Redis: gunicorn GeventWebSocketWorker servers of the
same project (tests/contrib/redis/cluster_project), worker processes killed
with SIGKILL, Redis restarted under them."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter

import requests
from gevent.queue import Empty, Queue

from specter_spoc.testing import wait_until

BUS_CHANNEL = "specter_spoc:bus:specter_spoc_app"
SOCKETIO_CHANNEL = "flask-socketio"

# the docs' example of an external process emitting to every connected client
EXTERNAL_EMIT = """
import sys
from flask_socketio import SocketIO

SocketIO(message_queue=sys.argv[1]).emit("news", {"word": "from-cron"})
"""


def subscribers(client, channel: str) -> int:
    return int(dict(client.pubsub_numsub(channel)).get(channel, 0))


def next_event(events: Queue, kind: str, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            got, data = events.get(timeout=max(0.01, deadline - time.monotonic()))
        except Empty:
            raise AssertionError(f"no {kind!r} event within {timeout}s") from None
        if got == kind:
            return data


def connect(sio_clients, server):
    """Connect a websocket-only client (no sticky sessions needed) to
    ``server``; returns the queue of (event, data) it receives."""
    events: Queue = Queue()
    client = sio_clients()
    for kind in ("news", "job_done"):
        client.on(kind, lambda data, kind=kind: events.put((kind, data)))
    client.connect(server.url, transports=["websocket"])
    return events


def test_socketio_emits_bus_events_and_jobs_cross_gunicorn_processes(redis_server_with_password, cluster,
                                                                      sio_clients):
    server = redis_server_with_password
    raw = server.client()
    first, second = cluster(2, {"REDIS_URL": server.url})
    first_pid, second_pid = first.get("/relay/ready")["pid"], second.get("/relay/ready")["pid"]
    events = connect(sio_clients, first)
    wait_until(lambda: subscribers(raw, SOCKETIO_CHANNEL) >= 1 and subscribers(raw, BUS_CHANNEL) == 2,
               what="both processes subscribed")

    # Socket.IO: emitted by an HTTP request to the second, received on the first
    second.post("/relay/emit/hello")
    assert next_event(events, "news") == {"word": "hello", "pid": second_pid}
    # ... and by a process that is no server at all
    subprocess.run([sys.executable, "-c", EXTERNAL_EMIT, server.url], check=True, timeout=30,
                   capture_output=True)
    assert next_event(events, "news") == {"word": "from-cron"}

    # bus: the shared event crosses, the local one does not (published first:
    # had it leaked, per-publisher order would have delivered it first)
    second.post("/relay/bus/local:ping", {"n": 1})
    second.post("/relay/bus/shared:ping", {"n": 2})
    wait_until(lambda: first.get("/relay/seen")["events"], what="the shared event on the first process")
    assert first.get("/relay/seen")["events"] == [["shared:ping", {"n": 2}]]
    assert second.get("/relay/seen")["events"] == [["local:ping", {"n": 1}], ["shared:ping", {"n": 2}]]

    # durable queue: enqueued through the second, handled by either, announced to the client
    assert second.post("/relay/jobs", {"job": 1}) == {"accepted": True}
    done = next_event(events, "job_done")
    assert done["item"] == {"job": 1} and done["pid"] in (first_pid, second_pid)

    response = requests.get(first.url + "/_spoc/health", timeout=5)
    assert response.status_code == 200, response.text
    services = response.json()["services"]
    masked = f"redis://:********@127.0.0.1:{server.port}/0"
    assert services["redis-bus"]["redis"] == {**services["redis-bus"]["redis"], "state": "connected",
                                              "url": masked}
    assert services["relay.jobs"]["backend"]["redis"]["url"] == masked
    assert server.password not in response.text
    for process in (first, second):
        assert server.password not in process.log()


def test_a_sigkilled_worker_loses_no_item_and_duplicates_are_counted(redis_server, worker_processes):
    from specter_spoc.contrib.redis import RedisQueueBackend

    raw = redis_server.client()
    workers = [worker_processes(redis_server.url) for _ in range(2)]
    for worker in workers:
        assert worker.proc.stdout.readline().strip() == "ready", worker.log()
    victim, survivor = workers
    items = [f"item-{i:04d}" for i in range(1000)]
    with RedisQueueBackend(redis_server.url, prefix="durable-test") as producer:
        for item in items:
            producer.enqueue("durable", item)

    victim_pid = str(victim.proc.pid)
    wait_until(lambda: raw.hlen("seen") >= 300, what="300 items processed")
    assert any(entry.endswith(":" + victim_pid) for entry in raw.lrange("log", 0, -1)), "the victim did work"
    victim.proc.send_signal(signal.SIGKILL)                    # mid-run, mid-item
    victim.proc.wait(5)

    wait_until(lambda: raw.hlen("seen") == 1000 and raw.xlen("durable-test:durable") == 0, timeout=20,
               interval=0.05, what="every item processed and acknowledged")
    survivor.proc.send_signal(signal.SIGTERM)
    report = json.loads(survivor.proc.stdout.readline())
    assert survivor.proc.wait(10) == 0, survivor.log()

    counts = {item: int(n) for item, n in raw.hgetall("seen").items()}
    log = raw.lrange("log", 0, -1)
    duplicates = {item: n for item, n in counts.items() if n > 1}
    print(f"\n1000 items, {len(duplicates)} processed twice or more (redelivered after the SIGKILL): "
          f"{sorted(duplicates)}; survivor reclaimed {report['backend']['reclaimed']} item(s)")
    assert set(counts) == set(items)                                   # none lost
    assert sum(counts.values()) == len(log) == 1000 + sum(n - 1 for n in duplicates.values())
    # every duplicate is an item the victim was running when it died, run again by the survivor
    runs = {}
    for entry in log:
        item, pid = entry.rsplit(":", 1)
        runs.setdefault(item, []).append(pid)
    for item in duplicates:
        assert runs[item] == [victim_pid, str(survivor.proc.pid)], runs[item]
    assert len(duplicates) <= 16                 # at most what the victim held (prefetch: 4 x 4 workers)
    assert report["backend"]["reclaimed"] >= 1                  # the victim held unfinished items
    assert raw.xpending("durable-test:durable", "workers")["pending"] == 0
    assert raw.xlen("durable-test:durable:dead") == 0
    assert Counter(pid for runs_ in runs.values() for pid in runs_)[str(survivor.proc.pid)] > 0


def test_both_processes_recover_when_redis_restarts(redis_server, cluster, sio_clients):
    raw = redis_server.client()
    first, second = cluster(2, {"REDIS_URL": redis_server.url})
    events = connect(sio_clients, first)
    wait_until(lambda: subscribers(raw, SOCKETIO_CHANNEL) >= 1 and subscribers(raw, BUS_CHANNEL) == 2,
               what="both processes subscribed")
    second.post("/relay/emit/before")
    assert next_event(events, "news")["word"] == "before"

    redis_server.restart(down_for=1.0)       # an empty Redis comes back on the same port
    raw = redis_server.client()
    # recovered: every subscriber is back (a first emit would otherwise be lost: at-most-once)
    wait_until(lambda: subscribers(raw, SOCKETIO_CHANNEL) >= 1 and subscribers(raw, BUS_CHANNEL) == 2,
               timeout=15, interval=0.05, what="subscriptions restored")

    second.post("/relay/emit/after")
    assert next_event(events, "news")["word"] == "after"
    second.post("/relay/bus/shared:ping", {"n": "after"})
    wait_until(lambda: ["shared:ping", {"n": "after"}] in first.get("/relay/seen")["events"],
               what="the shared event after the restart")
    wait_until(lambda: second.post("/relay/jobs", {"job": "after"})["accepted"], timeout=10,
               interval=0.05, what="the queue accepting again")
    assert next_event(events, "job_done", timeout=10)["item"] == {"job": "after"}
    for process in (first, second):
        def recovered():
            health = requests.get(process.url + "/_spoc/health", timeout=5)
            return health.status_code == 200 and health.json()["services"]
        health = wait_until(recovered, timeout=10, interval=0.05, what=f"{process.url} healthy again")
        for name in ("redis-bus", "redis-queue"):
            assert health[name]["redis"]["outages"] == 1 and health[name]["redis"]["state"] == "connected"
            assert health[name]["crashes"] == 0
        assert health["relay.jobs"]["crashes"] == 0
    for process in (first, second):
        lines = [line for line in process.log().splitlines() if "specter_spoc.contrib.redis" in line]
        # one warning when each connection (bus bridge, queue backend) lost Redis, one info when it
        # was back: no flood, however many attempts the backoff made meanwhile
        assert sorted(line.split()[0] + " " + line.split()[2] for line in lines) == [
            "INFO redis-bus:", "INFO redis-queue:", "WARNING redis-bus:", "WARNING redis-queue:"], lines
