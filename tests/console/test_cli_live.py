"""specter-spoc top / tree / queue against a running app (through its
console API) and against a Redis dead-letter stream directly."""
from __future__ import annotations

import json
import re
from typing import Any, List

import pytest
from click.testing import CliRunner

from specter_spoc.cli import cli
from tests.contrib.redis.redis_helpers import free_port, wait_until

TOKEN = "cli-test-token-1234"


def run(*args: str, ok: bool = True, **env: str) -> Any:
    result = CliRunner().invoke(cli, list(args), env=env or None, catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def _dead(url: str) -> List[dict]:
    return json.loads(run("queue", "dead", "jobs", "--url", url, "--json").output)


@pytest.mark.e2e
def test_top_tree_and_queue_commands_against_a_live_server(console_server: Any) -> None:
    with console_server(METRICS="0") as server:
        url = server.url
        top = run("top", "--once", "--url", url).output
        assert re.search(r"├─ jobs \(Jobs\) \[running\] greenlets=2", top), top  # its two workers
        assert re.search(r"jobs\s+0\s+0\s+0\.0\s+0\s+0\s+2/2", top), top
        snapshot = json.loads(run("top", "--json", "--url", url).output)
        assert snapshot["processes"][0]["process"]["pid"] == server.get("/ready")["pid"]
        assert "flaky (Flaky) [running]" in run("tree", "--url", url).output

        server.post("/jobs", {"items": ["fail", "fail"]})
        dead = wait_until(lambda: (lambda d: d if len(d) == 2 else None)(_dead(url)), what="two dead letters")
        assert "password=********" in dead[0]["error"]  # masked
        assert re.search(r"jobs\s+0\s+0\s+\S+\s+0\s+2\s+2/2", run("queue", "list", "--url", url).output)

        assert run("queue", "requeue", "jobs", "--id", dead[0]["id"], "--url", url).output.strip() == \
            "requeued 1 dead letter(s) of jobs"
        # the requeued item fails again: a new dead letter, the other one untouched
        again = wait_until(lambda: (lambda d: d if len(d) == 2 and d[0]["id"] != dead[0]["id"] else None)(_dead(url)),
                           what="the requeued item dead-lettered again")
        assert dead[1]["id"] in {d["id"] for d in again}
        assert run("queue", "purge", "jobs", "--url", url).output.strip() == "purged 2 dead letter(s) of jobs"
        assert _dead(url) == []

        missing = run("queue", "dead", "nope", "--url", url, ok=False)
        assert missing.exit_code == 1 and "no service named 'nope'" in missing.output


@pytest.mark.e2e
def test_cli_needs_the_token_of_a_production_console(console_server: Any) -> None:
    with console_server(SPOC_MODE="production", CONSOLE_TOKEN=TOKEN, METRICS="0") as server:
        refused = run("tree", "--url", server.url, ok=False)
        assert refused.exit_code == 1 and "HTTP 401" in refused.output and "--token" in refused.output
        assert "jobs (Jobs) [running]" in run("tree", "--url", server.url, "--token", TOKEN).output
        assert "jobs" in run("queue", "list", "--url", server.url, SPOC_CONSOLE_TOKEN=TOKEN).output


def test_cli_says_when_nothing_listens() -> None:
    result = run("top", "--once", "--url", f"http://127.0.0.1:{free_port()}", ok=False)
    assert result.exit_code == 1 and "cannot reach" in result.output and "Is the app running" in result.output
    bad = run("tree", "--url", "127.0.0.1:5000", ok=False)
    assert bad.exit_code == 2 and "--url must be the app's base URL" in bad.output
    neither = run("queue", "dead", "jobs", ok=False)
    assert neither.exit_code == 2 and "--redis" in neither.output


@pytest.mark.e2e
def test_queue_commands_edit_a_redis_dead_letter_stream_directly(redis_server: Any) -> None:
    client = redis_server.client()
    prefix = "specter_spoc:queue:app"
    ids = [client.xadd(f"{prefix}:jobs:dead", {"d": json.dumps({"n": n}), "reason": "failed", "deliveries": 1,
                                               "error": "ValueError: nope token=abc123"}) for n in range(3)]
    common = ["--redis", redis_server.url, "--prefix", prefix]
    dead = json.loads(run("queue", "dead", "jobs", *common, "--json").output)
    assert [d["item"] for d in dead] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert dead[0]["error"] == "ValueError: nope token=********"
    assert run("queue", "requeue", "jobs", "--id", ids[1], *common).output.strip() == "requeued 1 dead letter(s) of jobs"
    assert [json.loads(f["d"]) for _, f in client.xrange(f"{prefix}:jobs")] == [{"n": 1}]
    assert run("queue", "purge", "jobs", *common).output.strip() == "purged 2 dead letter(s) of jobs"
    assert client.xlen(f"{prefix}:jobs:dead") == 0
    assert "--prefix" in run("queue", "dead", "jobs", "--redis", redis_server.url, ok=False).output


@pytest.mark.e2e
def test_console_requeues_and_purges_a_redis_backed_queues_dead_letters(console_server: Any,
                                                                         redis_server: Any) -> None:
    client = redis_server.client()
    with console_server(QUEUE_REDIS=redis_server.url, METRICS="0") as server:
        url = server.url
        server.post("/jobs", {"items": ["fail", "fail", 7]})
        dead = wait_until(lambda: (lambda d: d if len(d) == 2 else None)(_dead(url)), what="two dead letters")
        assert dead[0]["reason"] == "failed" and "password=********" in dead[0]["error"]
        assert client.xlen("console_app:queue:jobs:dead") == 2  # the console reads the stream itself
        assert "requeued 1" in run("queue", "requeue", "jobs", "--id", dead[0]["id"], "--url", url).output
        wait_until(lambda: (lambda d: d if len(d) == 2 and d[-1]["id"] not in {x["id"] for x in dead} else None)(
            _dead(url)), what="the requeued item failing again")
        assert "purged 2" in run("queue", "purge", "jobs", "--url", url).output
        assert client.xlen("console_app:queue:jobs:dead") == 0
