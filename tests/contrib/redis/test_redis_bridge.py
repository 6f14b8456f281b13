"""RedisBusBridge against a real redis-server: two bridges on two scopes stand
for two processes (each has its own bus and its own origin id)."""
from __future__ import annotations

import json
import logging

import gevent
import pytest
from gevent.event import Event

from specter_spoc.contrib.redis import RedisBusBridge, SharedEventError
from specter_spoc.wiring.scope import Scope

from specter_spoc.testing import wait_until


class Node:
    """One "process": a scope with its bus and a bridge, plus what its
    listeners saw, in order."""

    def __init__(self, name: str, url: str, shared=("posts:*",), **options) -> None:
        self.scope = Scope(name)
        self.bridge = RedisBusBridge(url, shared, channel="test:bus", name=f"bus-{name}", backoff_max=0.3,
                                     **options)
        self.seen: list = []
        self.arrived = Event()

    def listen(self, *events: str) -> "Node":
        for event in events:
            self.scope.bus.on(event, lambda data, event=event: (self.seen.append((event, data)),
                                                                self.arrived.set()))
        return self

    def start(self) -> "Node":
        with self.scope.activate():
            self.bridge.start()
        assert self.bridge.wait_ready(5), self.bridge.health()
        return self

    def emit(self, event: str, data=None) -> None:
        self.scope.bus.emit(event, data)

    def wait_for(self, entry, timeout: float = 5.0) -> None:
        wait_until(lambda: entry in self.seen, timeout=timeout, what=f"{entry!r} at {self.scope.name}")


@pytest.fixture
def nodes(redis_server):
    made = []

    def make(name: str, **kwargs) -> Node:
        node = Node(name, redis_server.url, **kwargs)
        made.append(node)
        return node

    yield make
    for node in made:
        node.bridge.stop()


def test_shared_event_reaches_the_other_process_once_and_never_echoes(nodes):
    a = nodes("a").listen("posts:created").start()
    b = nodes("b").listen("posts:created").start()

    a.emit("posts:created", {"id": 1, "tags": ("x", "y")})
    b.wait_for(("posts:created", {"id": 1, "tags": ["x", "y"]}))   # JSON: tuples arrive as lists
    # b answers after receiving: had a's own publication come back to a, it
    # would have arrived before b's (one Redis connection delivers in order)
    b.emit("posts:created", {"id": 2})
    a.wait_for(("posts:created", {"id": 2}))

    assert a.seen == [("posts:created", {"id": 1, "tags": ("x", "y")}), ("posts:created", {"id": 2})]
    assert b.seen == [("posts:created", {"id": 1, "tags": ["x", "y"]}), ("posts:created", {"id": 2})]
    assert a.bridge.health()["echoes_skipped"] == 1 and a.bridge.health()["received"] == 1
    assert b.bridge.health()["published"] == 1 and b.bridge.health()["received"] == 1


def test_local_events_never_leave_the_process_and_order_is_kept_per_publisher(nodes):
    a = nodes("a", shared=("posts:*", "chat:message")).start()
    b = nodes("b").listen("cache:warmed", "posts:created", "chat:message", "posts:deleted").start()

    a.emit("cache:warmed", {"keys": 3})           # not shared
    for i in range(50):
        a.emit("posts:created" if i % 2 else "chat:message", {"i": i})
    a.emit("posts:deleted", {"id": 9})
    b.wait_for(("posts:deleted", {"id": 9}))

    assert [data["i"] for _, data in b.seen[:-1]] == list(range(50))
    assert all(event != "cache:warmed" for event, _ in b.seen)


def test_a_non_json_payload_is_a_clear_error_in_the_emitter_and_nothing_breaks(nodes, redis_server):
    a = nodes("a").listen("posts:created").start()
    b = nodes("b").listen("posts:created").start()

    with pytest.raises(SharedEventError) as info:
        a.emit("posts:created", {"when": object()})
    message = str(info.value)
    assert "posts:created" in message and "'posts:*'" in message and "JSON" in message
    assert a.seen == []                        # raised before any listener ran

    # a foreign publisher writes garbage on the channel: counted, loop survives
    raw = redis_server.client()
    raw.publish("test:bus", "not json at all")
    raw.publish("test:bus", json.dumps(["other-format", 1]))
    a.emit("posts:created", {"id": 3})
    b.wait_for(("posts:created", {"id": 3}))
    assert b.bridge.health()["bad_messages"] == 2
    assert b.seen == [("posts:created", {"id": 3})]
    assert b.bridge.health()["crashes"] == 0


def test_patterns_share_and_the_bus_is_restored_on_stop(nodes):
    a = nodes("a", shared=["posts:created"])
    bridge = a.bridge
    assert bridge.is_shared("posts:created") and not bridge.is_shared("posts:deleted")
    bridge.share("posts:*", "chat:[ab]?")
    assert bridge.shared == ("posts:created", "posts:*", "chat:[ab]?")
    assert bridge.is_shared("posts:deleted") and bridge.is_shared("chat:a1") and not bridge.is_shared("chat:c1")
    with pytest.raises(TypeError, match="non-empty strings"):
        bridge.share("")
    with pytest.raises(TypeError, match="non-empty strings"):
        RedisBusBridge("redis://127.0.0.1:1/0", [3])

    a.start()
    bus = a.scope.bus
    assert bus._taps, "the bridge taps the runtime's bus"
    second = RedisBusBridge(bridge.connection.url, ["x"], name="second")
    with a.scope.activate(), pytest.raises(RuntimeError, match="already bridged by 'bus-a'"):
        second.start()
    assert not second.running
    bridge.stop()
    assert not bus._taps                        # untapped again: emits stay local
    bus.emit("posts:created", {"id": 1})
    assert bridge.health()["published"] == 0


def test_health_shows_the_connection_with_the_password_masked(redis_server_with_password):
    server = redis_server_with_password
    scope = Scope("masked")
    bridge = RedisBusBridge(server.url, ["posts:*"], channel="test:bus", name="bus-masked")
    with scope.activate():
        bridge.start()
    try:
        assert bridge.wait_ready(5)
        report = bridge.health()
        assert report["status"] == "ok" and report["subscribed"] is True
        assert report["redis"]["state"] == "connected"
        assert report["redis"]["url"] == f"redis://:********@127.0.0.1:{server.port}/0"
        assert server.password not in json.dumps(report) and server.password not in repr(bridge.connection)
    finally:
        bridge.stop()
    assert bridge.health()["redis"]["state"] == "closed"


def test_a_wrong_password_shows_in_health_without_the_password(redis_server_with_password, caplog):
    server = redis_server_with_password
    caplog.set_level(logging.WARNING, logger="specter_spoc.contrib.redis")
    url = f"redis://:wrong-pw-123@127.0.0.1:{server.port}/0"
    scope = Scope("wrong")
    bridge = RedisBusBridge(url, ["posts:*"], name="bus-wrong", backoff_max=0.2)
    with scope.activate():
        bridge.start()
    try:
        wait_until(lambda: bridge.health()["redis"]["state"] == "reconnecting", timeout=5, what="reconnecting")
        report = bridge.health()
        assert report["status"] == "degraded" and report["redis"]["last_error"]
        gevent.sleep(0.5)                      # several failed attempts...
        warnings = [r for r in caplog.records if r.name == "specter_spoc.contrib.redis"]
        assert len(warnings) == 1               # ...one warning
        text = json.dumps(report) + caplog.text
        assert "wrong-pw-123" not in text and "redis://:********@" in text
    finally:
        bridge.stop()


def test_bridges_reconnect_after_a_redis_restart_with_one_warning_and_one_info_each(nodes, redis_server, caplog):
    caplog.set_level(logging.INFO, logger="specter_spoc.contrib.redis")
    a = nodes("a").listen("posts:created").start()
    b = nodes("b").listen("posts:created").start()
    a.emit("posts:created", {"n": "before"})
    b.wait_for(("posts:created", {"n": "before"}))

    redis_server.restart(down_for=0.5)
    wait_until(lambda: a.bridge.wait_ready(0) and b.bridge.wait_ready(0), timeout=10, what="both resubscribed")

    a.emit("posts:created", {"n": "after"})
    b.wait_for(("posts:created", {"n": "after"}))
    b.emit("posts:created", {"n": "back"})
    a.wait_for(("posts:created", {"n": "back"}))

    records = [r for r in caplog.records if r.name == "specter_spoc.contrib.redis"]
    for bridge in (a.bridge, b.bridge):
        mine = [r for r in records if r.getMessage().startswith(bridge.name + ":")]
        assert [r.levelname for r in mine] == ["WARNING", "INFO"], [r.getMessage() for r in mine]
        assert bridge.health()["redis"]["outages"] == 1 and bridge.health()["crashes"] == 0


def test_events_emitted_while_redis_is_down_are_dropped_and_counted(nodes, redis_server):
    a = nodes("a").start()
    b = nodes("b").listen("posts:created").start()
    redis_server.stop()
    wait_until(lambda: a.bridge.health()["redis"]["state"] == "reconnecting", timeout=5, what="outage noticed")
    a.emit("posts:created", {"n": "lost"})
    wait_until(lambda: a.bridge.health()["dropped"] == 1, timeout=5, what="the drop counted")
    redis_server.start()
    wait_until(lambda: a.bridge.wait_ready(0) and b.bridge.wait_ready(0), timeout=10, what="resubscribed")
    a.emit("posts:created", {"n": "kept"})
    b.wait_for(("posts:created", {"n": "kept"}))
    assert b.seen == [("posts:created", {"n": "kept"})]    # at-most-once: no replay


def test_stop_flushes_the_outbox_before_returning(nodes):
    a = nodes("a").start()
    b = nodes("b").listen("posts:created").start()
    for i in range(200):
        a.emit("posts:created", {"i": i})
    a.bridge.stop()                           # returns once everything was published
    assert a.bridge.health()["published"] == 200 and a.bridge.health()["dropped"] == 0
    wait_until(lambda: len(b.seen) == 200, timeout=5, what="all 200 events")


def test_the_bridge_needs_a_redis_url_and_patched_sockets():
    with pytest.raises(ValueError, match="REDIS_URL"):
        RedisBusBridge("localhost:6379", ["x"])
    with pytest.raises(ValueError, match="max_pending"):
        RedisBusBridge("redis://127.0.0.1:1/0", ["x"], max_pending=0)


def test_foreign_messages_of_any_shape_are_counted_and_the_subscriber_survives(nodes, redis_server, caplog):
    """Issue 12 section 5: JSON nested deeper than the decoder allows used to
    kill the subscriber for good while health said ok."""
    a = nodes("a").listen("posts:created").start()
    b = nodes("b").listen("posts:created").start()
    raw = redis_server.client()
    foreign = [
        "[" * 100_000 + "]" * 100_000,        # RecursionError in json.loads
        '{"a": ' * 50_000 + "1" + "}" * 50_000,
        b"\xff\xfe not utf-8",
        "",
        "null",
        json.dumps({"magic": "spoc-bus/1"}),
        json.dumps(["spoc-bus/1", "someone", "", None]),       # no event name
        json.dumps(["spoc-bus/1", 7, "posts:created", None]),  # origin not a str
        json.dumps(["spoc-bus/1", "x", "posts:created"]),      # three items
    ]
    with caplog.at_level(logging.WARNING, logger="specter_spoc.contrib.redis"):
        for payload in foreign:
            raw.publish("test:bus", payload)
        a.emit("posts:created", {"id": 1})
        b.wait_for(("posts:created", {"id": 1}))
    health = b.bridge.health()
    assert health["bad_messages"] == len(foreign), health
    assert health["status"] == "ok" and health["subscriber_alive"] and health["subscriber_restarts"] == 0
    assert b.seen == [("posts:created", {"id": 1})]
    warned = [r.getMessage() for r in caplog.records if "not bus events" in r.getMessage()]
    assert len([m for m in warned if m.startswith("bus-b")]) == 1, warned  # once, not per message


def test_a_killed_subscriber_is_degraded_in_health_and_started_again(nodes):
    a = nodes("a").listen("posts:created").start()
    b = nodes("b").listen("posts:created").start()
    first = b.bridge._subscriber
    first.kill(block=True)
    wait_until(lambda: b.bridge._subscriber is not first and b.bridge.wait_ready(0),
               what="a new subscriber confirmed by Redis")
    assert b.bridge.health()["subscriber_restarts"] == 1
    a.emit("posts:created", {"id": 2})
    b.wait_for(("posts:created", {"id": 2}))
    assert b.bridge.health()["status"] == "ok"


def test_health_is_degraded_while_the_subscriber_is_not_running(nodes):
    b = nodes("b").start()
    b.bridge._publishing = False  # as while stopping: no restart
    b.bridge._subscriber.kill(block=True)
    health = b.bridge.health()
    assert health["subscriber_alive"] is False and health["status"] == "degraded", health


def test_a_raising_listener_does_not_end_the_subscriber(nodes):
    a = nodes("a").start()
    b = nodes("b").listen("posts:created").start()
    calls = []

    def bad(data):
        calls.append(data)
        raise RuntimeError("listener bug")

    b.scope.bus.on("posts:created", bad)
    a.emit("posts:created", {"id": 3})
    a.emit("posts:created", {"id": 4})
    b.wait_for(("posts:created", {"id": 4}))
    assert calls == [{"id": 3}, {"id": 4}]
    assert b.bridge.health()["subscriber_alive"] and b.bridge.health()["subscriber_restarts"] == 0
