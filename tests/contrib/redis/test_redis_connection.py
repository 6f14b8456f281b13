"""RedisConnection: masked URLs, backoff, one log line per state change."""
from __future__ import annotations

import logging

import pytest

from specter_spoc.contrib.redis import Backoff, RedisConnection, mask_url
from specter_spoc.contrib.redis.connection import CONNECTION_ERRORS

from redis_helpers import RedisServer

from specter_spoc.testing import free_port


def test_mask_url_hides_passwords_in_every_form():
    assert mask_url("redis://:pw@h:6379/0") == "redis://:********@h:6379/0"
    assert mask_url("rediss://user:pw@h/1") == "rediss://user:********@h/1"
    assert mask_url("redis://h:6379/0?password=pw&db=1") == "redis://h:6379/0?password=********&db=1"
    assert mask_url("redis://h:6379/0") == "redis://h:6379/0"
    assert mask_url("Error connecting to redis://u:pw@h") == "Error connecting to redis://u:********@h"


def test_backoff_grows_with_jitter_up_to_its_cap_and_resets():
    backoff = Backoff(0.1, 1.0)
    delays = [backoff.next() for _ in range(8)]
    caps = [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0, 1.0]
    assert all(cap / 2 <= d <= cap for d, cap in zip(delays, caps)), delays
    backoff.reset()
    assert 0.05 <= backoff.next() <= 0.1
    with pytest.raises(ValueError, match="initial"):
        Backoff(0, 1)


def test_bad_urls_and_timeouts_are_refused_with_the_url_masked():
    with pytest.raises(ValueError, match=r"'h:6379'.*REDIS_URL"):
        RedisConnection("h:6379")
    with pytest.raises(ValueError, match="read_timeout"):
        RedisConnection("redis://h/0", read_timeout=0)
    with pytest.raises(ValueError) as info:
        RedisConnection("//:pw@h", name="x")
    assert "pw" not in str(info.value)


@pytest.mark.e2e
def test_an_outage_logs_one_warning_and_one_info_whatever_the_attempts(caplog):
    caplog.set_level(logging.DEBUG, logger="specter_spoc.contrib.redis")
    server = RedisServer(free_port(), password="pw-1")
    conn = RedisConnection(server.url, name="probe", connect_timeout=0.5)
    try:
        for _ in range(5):
            with pytest.raises(CONNECTION_ERRORS) as info:
                conn.client.ping()
            conn.failed(info.value)
        assert conn.state == "reconnecting" and conn.outages == 1
        server.start()
        conn.client.ping()
        conn.ok()
        conn.ok()
        assert conn.connected and conn.health()["outages"] == 1 and "up_for" in conn.health()
    finally:
        conn.close()
        server.stop()
    assert conn.health()["state"] == "closed"
    records = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert [r.levelname for r in records] == ["WARNING", "INFO"]
    assert "cannot reach Redis" in records[0].getMessage() and "5 failed attempt(s)" in records[1].getMessage()
    assert "pw-1" not in caplog.text and "redis://:********@127.0.0.1" in caplog.text
    with pytest.raises(RuntimeError, match="closed"):
        conn.client
