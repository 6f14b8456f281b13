"""QueueService on RedisQueueBackend against a real redis-server, in process.
(The multi-process SIGKILL run is in test_redis_cluster.py.)"""
from __future__ import annotations

import json
import logging

import gevent
import pytest
from gevent.event import Event

from specter_spoc import QueueService
from specter_spoc.contrib.redis import RedeliveryLimitExceeded, RedisQueueBackend
from specter_spoc.lifecycle.queue_backend import MEMORY, QUEUE_BACKEND_KEY
from specter_spoc.wiring.scope import Scope

from specter_spoc.testing import wait_until

PREFIX = "t:q"


class Recorder(QueueService):
    """Records handled items; items listed in ``fail`` raise, items in
    ``block`` wait for ``release``."""

    max_retries = 0
    retry_backoff = 0.01

    def __init__(self, name="jobs", *, fail=(), block=(), **kwargs):
        super().__init__(name, **kwargs)
        self.handled = []
        self.dead = []
        self.fail = list(fail)
        self.block = list(block)
        self.release = Event()
        self.started_blocking = Event()

    def handle_item(self, item):
        if item in self.block:
            self.started_blocking.set()
            self.release.wait()
        self.handled.append(item)
        if item in self.fail:
            raise ValueError(f"cannot handle {item!r}")

    def on_dead_letter(self, item, exc):
        self.dead.append((item, type(exc).__name__, str(exc)))


@pytest.fixture
def backends(redis_server):
    made = []

    def make(**kwargs):
        kwargs.setdefault("prefix", PREFIX)
        kwargs.setdefault("visibility_timeout", 0.3)
        backend = RedisQueueBackend(redis_server.url, **kwargs)
        made.append(backend)
        return backend

    yield make
    for backend in made:
        backend.close()


@pytest.fixture
def services():
    made = []

    def make(service):
        made.append(service)
        return service

    yield make
    for service in made:
        service.stop()


def test_items_are_processed_acknowledged_and_never_delivered_again(backends, services, redis_server):
    raw = redis_server.client()
    first = services(Recorder(worker_count=3, backend=backends()))
    first.start()
    for i in range(30):
        assert first.enqueue({"n": i}) is True
    wait_until(lambda: len(first.handled) == 30, what="30 items handled")
    first.stop()
    assert sorted(item["n"] for item in first.handled) == list(range(30))
    stats = first.stats()
    assert stats["accepted"] == 30 and stats["processed"] == 30 and stats["handed_back"] == 0
    assert raw.xlen(f"{PREFIX}:jobs") == 0 and raw.xpending(f"{PREFIX}:jobs", "workers")["pending"] == 0
    assert [c["name"] for c in raw.xinfo_consumers(f"{PREFIX}:jobs", "workers")] == []  # left the group

    # a fresh consumer with a short visibility timeout finds nothing to redeliver
    second = services(Recorder(backend=backends(visibility_timeout=0.1)))
    second.start()
    gevent.sleep(0.5)
    assert second.handled == [] and second.health()["backend"]["reclaimed"] == 0


def test_unfinished_items_go_back_at_stop_and_another_consumer_gets_them_at_once(backends, services):
    first = Recorder(block={"slow"}, backend=backends(visibility_timeout=30))
    first.drain_timeout = 0.2
    services(first).start()
    first.enqueue("slow")
    assert first.started_blocking.wait(5)
    first.stop()                                   # drain times out: "slow" is given back, unacknowledged
    assert first.stats()["handed_back"] == 1 and first.handled == []

    # visibility_timeout is 30 s, yet the released item is claimable at once
    second = services(Recorder(backend=backends(visibility_timeout=30)))
    second.start()
    wait_until(lambda: second.handled == ["slow"], timeout=5, what="the released item redelivered")
    assert second.health()["backend"]["reclaimed"] == 1


def test_an_item_held_by_a_dead_consumer_is_redelivered_after_the_visibility_timeout(backends, services,
                                                                                     redis_server):
    raw = redis_server.client()
    stream = f"{PREFIX}:jobs"
    raw.xgroup_create(stream, "workers", id="0", mkstream=True)
    raw.xadd(stream, {"d": json.dumps("orphan")})
    raw.xreadgroup("workers", "ghost", {stream: ">"}, count=1)     # a consumer takes it, then "dies"
    service = services(Recorder(backend=backends(visibility_timeout=0.3)))
    service.start()
    wait_until(lambda: service.handled == ["orphan"], timeout=5, what="the orphan redelivered")
    wait_until(lambda: raw.xlen(stream) == 0, timeout=5, what="the ack")


def test_heartbeats_keep_a_long_item_from_being_stolen(backends, services):
    slow = Recorder("jobs", block={"long"}, backend=backends(visibility_timeout=0.3))
    services(slow).start()
    slow.enqueue("long")
    assert slow.started_blocking.wait(5)
    other = services(Recorder("jobs", backend=backends(visibility_timeout=0.3)))
    other.start()
    gevent.sleep(1.0)                      # > 3 visibility timeouts while "long" runs
    assert other.handled == []             # the holder's heartbeat kept it
    slow.release.set()
    wait_until(lambda: slow.handled == ["long"], what="the long item finished")


def test_a_failing_item_is_retried_then_dead_lettered_to_the_dead_letter_stream(backends, services, redis_server):
    backend = backends()
    service = Recorder(fail={"bad"}, backend=backend)
    service.max_retries = 2
    services(service).start()
    service.enqueue("bad")
    service.enqueue("good")
    wait_until(lambda: service.dead and "good" in service.handled, what="dead letter + good item")
    assert service.handled.count("bad") == 3           # 1 try + 2 retries
    assert service.dead == [("bad", "ValueError", "cannot handle 'bad'")]
    wait_until(lambda: backend.dead_letters("jobs"), what="the dead-letter entry")
    [letter] = backend.dead_letters("jobs")
    assert letter["item"] == "bad" and letter["reason"] == "failed" and letter["deliveries"] == 3
    assert letter["error"] == "ValueError: cannot handle 'bad'" and letter["queue"] == "jobs"
    raw = redis_server.client()
    wait_until(lambda: raw.xlen(f"{PREFIX}:jobs") == 0, what="both acknowledged")
    assert service.stats()["dead_lettered"] == 1 and service.stats()["processed"] == 1


def test_an_item_delivered_too_often_is_dead_lettered_without_running(backends, services, redis_server):
    raw = redis_server.client()
    stream = f"{PREFIX}:jobs"
    raw.xgroup_create(stream, "workers", id="0", mkstream=True)
    entry = raw.xadd(stream, {"d": json.dumps({"poison": True})})
    raw.xreadgroup("workers", "ghost", {stream: ">"}, count=1)
    raw.xclaim(stream, "workers", "ghost", 0, [entry], idle=10_000, retrycount=3)   # crashed 3 times
    backend = backends(max_deliveries=3)
    service = services(Recorder(backend=backend))
    service.start()
    wait_until(lambda: service.dead, timeout=5, what="the dead letter")
    assert service.handled == []
    [(item, kind, text)] = service.dead
    assert item == {"poison": True} and kind == RedeliveryLimitExceeded.__name__
    assert "delivered 4 times" in text and "max_deliveries=3" in text
    [letter] = backend.dead_letters("jobs")
    assert letter["reason"] == "redelivery_limit" and letter["deliveries"] == 4 and letter["original_id"] == entry
    wait_until(lambda: raw.xlen(stream) == 0, what="the poison item acknowledged")


def test_enqueue_needs_json_and_reports_refusals(backends, services, redis_server):
    service = Recorder(block={"x"}, maxsize=2, backend=backends())
    service.drain_timeout = 0.3       # Redis will be down at stop: acks cannot be flushed
    services(service).start()
    with pytest.raises(TypeError, match="'jobs'.*JSON"):
        service.enqueue({"when": object()})
    assert service.enqueue("x") and service.started_blocking.wait(5)
    assert service.enqueue("y") is True and service.enqueue("z") is False     # maxsize bounds the stream
    redis_server.stop()
    assert service.enqueue("lost") is False                                    # unreachable: refused, fast
    assert service.stats()["rejected"] == 2 and service.stats()["accepted"] == 2
    assert service.health()["status"] == "degraded"
    service.release.set()


def test_items_enqueued_before_start_move_to_redis(backends, services, redis_server):
    service = services(Recorder(backend=backends()))
    assert service.enqueue("early-1") and service.enqueue("early-2")
    service.start()
    wait_until(lambda: service.handled == ["early-1", "early-2"], what="early items handled")


def test_the_runtime_default_backend_is_used_unless_the_class_says_memory(backends, services):
    backend = backends(as_default=True)
    scope = Scope("app")
    with scope.activate():
        backend.start()
        durable = services(Recorder("durable"))
        durable.start()

        class Local(Recorder):
            backend = MEMORY

        local = services(Local("local"))
        local.start()
        assert scope.registry.resolve(QUEUE_BACKEND_KEY) is backend
    assert durable.health()["backend"]["kind"] == "redis" and "backend" not in local.health()
    durable.enqueue("a")
    local.enqueue("b")
    wait_until(lambda: durable.handled == ["a"] and local.handled == ["b"], what="both handled")
    assert backend.health()["queues"] == ["durable"]
    durable.stop()
    local.stop()
    backend.stop()
    assert scope.registry.resolve(QUEUE_BACKEND_KEY) is None


def test_health_reports_the_backend_with_the_password_masked(redis_server_with_password, services):
    server = redis_server_with_password
    service = services(Recorder(backend=RedisQueueBackend(server.url, prefix=PREFIX)))
    service.start()     # the QueueService adopts the backend: it stops with it
    service.enqueue("a")
    wait_until(lambda: service.handled == ["a"], what="item handled")
    report = service.health()
    assert report["backend"]["redis"]["url"] == f"redis://:********@127.0.0.1:{server.port}/0"
    assert report["backend"]["redis"]["state"] == "connected" and report["status"] == "ok"
    assert server.password not in json.dumps(report, default=str)


def test_queue_survives_a_redis_restart_with_one_warning_and_one_info(backends, services, redis_server, caplog):
    caplog.set_level(logging.INFO, logger="specter_spoc.contrib.redis")
    backend = backends(name="queue-x")
    service = services(Recorder(backend=backend))
    service.start()
    service.enqueue("before")
    wait_until(lambda: service.handled == ["before"], what="first item")
    redis_server.restart(down_for=0.5)
    wait_until(lambda: service.enqueue("after"), timeout=10, interval=0.05, what="enqueue accepted again")
    wait_until(lambda: service.handled == ["before", "after"], timeout=10, what="item after the restart")
    mine = [r for r in caplog.records if r.name == "specter_spoc.contrib.redis"
            and r.getMessage().startswith("queue-x:")]
    assert [r.levelname for r in mine] == ["WARNING", "INFO"], [r.getMessage() for r in mine]
    assert service.health()["crashes"] == 0 and backend.health()["crashes"] == 0


def test_a_script_can_enqueue_without_consuming(backends, services):
    producer = backends()
    entry_id = producer.enqueue("jobs", {"from": "cron"})
    assert "-" in entry_id
    with pytest.raises(TypeError, match="JSON"):
        producer.enqueue("jobs", {1, 2})
    producer.close()
    consumer = services(Recorder(backend=backends()))
    consumer.start()
    wait_until(lambda: consumer.handled == [{"from": "cron"}], what="the script's item")


def test_bad_backend_arguments_name_the_argument():
    with pytest.raises(ValueError, match="visibility_timeout"):
        RedisQueueBackend("redis://127.0.0.1:1/0", visibility_timeout=0)
    with pytest.raises(ValueError, match="max_deliveries"):
        RedisQueueBackend("redis://127.0.0.1:1/0", max_deliveries=0)
    with pytest.raises(TypeError, match="prefix"):
        RedisQueueBackend("redis://127.0.0.1:1/0", prefix="")
    with pytest.raises(TypeError, match="backend must be None"):
        Recorder(backend=42).start()


def test_a_subclass_on_stop_without_super_still_gives_unfinished_items_back(backends, services, redis_server):
    class Careless(Recorder):
        drain_timeout = 0.2                 # "slow" never finishes: the drain runs out

        def on_stop(self):
            pass                            # no super().on_stop(): still drained and given back

    careless = services(Careless(block={"slow"}, backend=backends(visibility_timeout=30)))
    careless.start()
    careless.enqueue("slow")
    assert careless.started_blocking.wait(5)
    careless.stop()
    assert careless.stats()["handed_back"] == 1
    raw = redis_server.client()
    assert raw.xpending(f"{PREFIX}:jobs", "workers")["consumers"] == [{"name": "~released", "pending": 1}]


def test_a_foreign_entry_nested_too_deeply_is_dead_lettered_and_the_reader_survives(backends, services,
                                                                                    redis_server):
    """An entry another program wrote (JSON deeper than the decoder allows)
    used to end the reader greenlet with RecursionError: nothing was read
    any more. Now it is dead-lettered as undecodable and reading goes on."""
    raw = redis_server.client()
    backend = backends()
    service = services(Recorder(backend=backend))
    service.start()
    raw.xadd(f"{PREFIX}:jobs", {"d": "[" * 100_000 + "]" * 100_000})
    assert service.enqueue({"n": 1}) is True
    wait_until(lambda: service.handled == [{"n": 1}], what="the valid item after the foreign one")
    wait_until(lambda: raw.xlen(f"{PREFIX}:jobs:dead") == 1, what="the foreign entry dead-lettered")
    [letter] = backend.dead_letters("jobs")
    assert letter["reason"] == "undecodable" and "RecursionError" in letter["error"]
    assert service.dead and service.dead[0][1] == "RecursionError"
