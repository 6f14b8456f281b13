"""create_app() wires the Redis services from the settings."""
from __future__ import annotations

import json
import textwrap

import pytest

from specter_spoc.contrib.redis import RedisBusBridge, RedisQueueBackend, redis_services, shared_event_patterns
from specter_spoc.lifecycle.queue_backend import QUEUE_BACKEND_KEY
from specter_spoc import BootError, create_app

from specter_spoc.testing import wait_until

APP_SERVICES = '''
from specter_spoc import QueueService
from specter_spoc.project import worker


@worker
class Thumbnails(QueueService):
    def __init__(self):
        super().__init__("thumbs", worker_count=2)
        self.done = []

    def handle_item(self, item):
        self.done.append(item)
'''


@pytest.fixture
def project_dir(tmp_path):
    root = tmp_path / "proj"
    (root / "apps" / "thumbnailer").mkdir(parents=True)
    (root / "settings.py").write_text('INSTALLED_APPS = ["thumbnailer"]\nSECRET_KEY = "t"\n')
    (root / "apps" / "thumbnailer" / "__init__.py").write_text("")
    (root / "apps" / "thumbnailer" / "services.py").write_text(textwrap.dedent(APP_SERVICES))
    return root


def test_create_app_starts_the_bridge_and_the_default_queue_backend(project_dir, redis_server):
    raw = redis_server.client()
    app = create_app(project_dir, config={
        "REDIS_URL": redis_server.url, "BUS_SHARED_EVENTS": "posts:*, chat:*", "QUEUE_BACKEND": "Redis",
        "QUEUE_VISIBILITY_TIMEOUT": "2.5", "QUEUE_REDIS_PREFIX": "myapp:q"})
    runtime = app.extensions["specter_spoc"]
    try:
        services = {s.name: s for s in runtime.services}
        bridge, backend, thumbs = services["redis-bus"], services["redis-queue"], services["thumbs"]
        assert isinstance(bridge, RedisBusBridge) and isinstance(backend, RedisQueueBackend)
        assert bridge.shared == ("posts:*", "chat:*") and bridge.channel == f"specter_spoc:bus:{app.name}"
        assert backend.visibility_timeout == 2.5 and runtime.registry.resolve(QUEUE_BACKEND_KEY) is backend
        assert thumbs.health()["backend"]["stream"] == "myapp:q:thumbs"
        assert bridge.wait_ready(5)

        # a shared emit from the app's code leaves the process; a local one does not
        listener = raw.pubsub(ignore_subscribe_messages=True)
        listener.subscribe(bridge.channel)
        wait_until(lambda: dict(raw.pubsub_numsub(bridge.channel))[bridge.channel] == 2, what="subscribed")
        with runtime.scope.activate():
            runtime.bus.emit("cache:local", {"n": 0})
            runtime.bus.emit("posts:published", {"n": 1})
        message = wait_until(lambda: listener.get_message(timeout=0.1), what="the published event")
        assert '"posts:published",{"n":1}' in message["data"]
        listener.close()

        assert thumbs.enqueue("a.png")
        wait_until(lambda: thumbs.done == ["a.png"], what="the durable item handled")
        assert runtime.health()["status"] == "ok"
    finally:
        runtime.shutdown()
        runtime.project.close()      # create_app() loaded it; the runtime does not own it
    assert not bridge.running and not backend.running and runtime.registry.resolve(QUEUE_BACKEND_KEY) is None


def test_without_redis_settings_nothing_redis_is_started(project_dir):
    app = create_app(project_dir)
    runtime = app.extensions["specter_spoc"]
    try:
        assert sorted(s.name for s in runtime.services) == ["spoc.project", "thumbs"]
        assert "backend" not in runtime.services[-1].health()
    finally:
        runtime.shutdown()
        runtime.project.close()


@pytest.mark.parametrize("config, words", [
    ({"BUS_SHARED_EVENTS": ["posts:*"]}, ["BUS_SHARED_EVENTS", "REDIS_URL"]),
    ({"QUEUE_BACKEND": "redis"}, ["QUEUE_BACKEND", "REDIS_URL"]),
    ({"QUEUE_BACKEND": "kafka", "REDIS_URL": "redis://127.0.0.1:1/0"}, ["'memory', 'redis'", "'kafka'"]),
    ({"QUEUE_BACKEND": "redis", "REDIS_URL": "redis://127.0.0.1:1/0", "QUEUE_VISIBILITY_TIMEOUT": "soon"},
     ["QUEUE_VISIBILITY_TIMEOUT", "'soon'"]),
    ({"QUEUE_BACKEND": "redis", "REDIS_URL": "redis://127.0.0.1:1/0", "QUEUE_MAX_DELIVERIES": 0},
     ["QUEUE_MAX_DELIVERIES", "> 0"]),
    ({"BUS_SHARED_EVENTS": [3], "REDIS_URL": "redis://127.0.0.1:1/0"}, ["BUS_SHARED_EVENTS", "[3]"]),
])
def test_bad_redis_settings_refuse_to_boot_naming_the_setting(config, words):
    with pytest.raises(BootError) as info:
        redis_services(config, "app")
    for word in words:
        assert word in str(info.value)


def test_shared_event_patterns_accept_a_list_or_a_comma_separated_string():
    assert shared_event_patterns(["a:*", "b"]) == ("a:*", "b")
    assert shared_event_patterns(" a:* ,b ,") == ("a:*", "b")
    assert shared_event_patterns(None) == () and shared_event_patterns("") == ()
    assert redis_services({"QUEUE_BACKEND": "memory"}, "app") == []


@pytest.mark.parametrize("settings_key", ["BUS_SHARED_EVENTS", "QUEUE_BACKEND"])
def test_redis_unreachable_at_boot_degrades_by_default_and_fails_boot_when_required(spoc_app_factory, settings_key):
    """Issue 12 section 5: the docs promised BootError, the code degraded.
    Decided (docs/parts/reliability.md): degrade by default, the same as an
    outage after boot; REDIS_REQUIRED_AT_BOOT = True for a BootError."""
    from redis_helpers import free_port

    url = f"redis://:boot-pw-SECRET@127.0.0.1:{free_port()}/0"  # nothing listens there
    from specter_spoc import QueueService

    config = {"REDIS_URL": url, settings_key: "posts:*" if settings_key == "BUS_SHARED_EVENTS" else "redis"}
    redis_service = redis_services(config, "app")[0]
    users = [QueueService("mailer")] if settings_key == "QUEUE_BACKEND" else []  # a queue that uses Redis
    _, _, runtime = spoc_app_factory(services=[redis_service, *users])
    service = redis_service
    wait_until(lambda: service.health()["redis"]["state"] == "reconnecting", what="an outage seen by the service")
    health = runtime.health()
    assert health["status"] == "degraded", health
    assert "boot-pw-SECRET" not in json.dumps(health, default=str)

    with pytest.raises(BootError) as info:
        spoc_app_factory(services=redis_services({**config, "REDIS_REQUIRED_AT_BOOT": "true"}, "app"))
    message = str(info.value)
    assert "cannot reach Redis" in message and "REDIS_REQUIRED_AT_BOOT" in message
    assert "boot-pw-SECRET" not in message and "redis://:********@127.0.0.1" in message


def test_required_at_boot_names_refused_credentials(spoc_app_factory, redis_server_with_password):
    wrong = f"redis://:wrong-SECRET@127.0.0.1:{redis_server_with_password.port}/0"
    with pytest.raises(BootError) as info:
        spoc_app_factory(services=redis_services({"REDIS_URL": wrong, "BUS_SHARED_EVENTS": "a:*",
                                          "REDIS_REQUIRED_AT_BOOT": True}, "app"))
    assert "credentials" in str(info.value) and "wrong-SECRET" not in str(info.value)
    with pytest.raises(BootError, match="REDIS_REQUIRED_AT_BOOT must be true or false"):
        redis_services({"REDIS_URL": wrong, "BUS_SHARED_EVENTS": "a:*", "REDIS_REQUIRED_AT_BOOT": "maybe"}, "app")
