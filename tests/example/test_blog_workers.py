"""The example's workers and persistence: e-mail notifications into the
outbox, the content indexer's offloaded CPU work, the WORKERS setting, and
data surviving a restart."""
from __future__ import annotations

import os
from typing import Any

from blog_example_helpers import PASSWORD, BlogClient


def _outbox(blog: BlogClient) -> list:
    return blog.service("users.EmailNotificationWorker").outbox()


def test_registering_puts_exactly_one_welcome_email_in_the_outbox(blog: BlogClient) -> None:
    blog.register("alice", full_name="Alice Johnson")
    blog.wait_workers()
    mails = _outbox(blog)
    assert len(mails) == 1
    mail = mails[0]
    assert (mail["kind"], mail["recipient"], mail["status"]) == ("welcome", "alice@example.com", "sent")
    assert "Alice Johnson" in mail["body"] and mail["sender"].endswith("<noreply@blog.localhost>")
    blog.register("bob")
    blog.wait_workers()
    assert [m["recipient"] for m in _outbox(blog)] == ["alice@example.com", "bob@example.com"]


def test_a_comment_sends_exactly_one_notice_to_the_post_author(blog: BlogClient) -> None:
    alice, bob = blog.user("alice"), blog.user("bob")
    post = blog.post(alice["token"], "Moderated", "text", publish=True)
    blog.wait_workers()
    before = len(_outbox(blog))
    blog.comment(bob["token"], post["id"], "Very helpful")
    blog.wait_workers()
    new = _outbox(blog)[before:]
    assert len(new) == 1
    assert (new[0]["kind"], new[0]["recipient"]) == ("comment", "alice@example.com")
    assert "Very helpful" in new[0]["body"] and "Moderated" in new[0]["subject"]
    blog.comment(alice["token"], post["id"], "Thanks!")  # authors are not notified of their own comments
    blog.wait_workers()
    assert len(_outbox(blog)) == before + 1


def test_undelivered_mail_is_kept_as_pending_and_delivered_later(blog: BlogClient) -> None:
    mailer = blog.service("users.EmailNotificationWorker")
    message = {"kind": "note", "to": "carol@example.com", "subject": "Queued at shutdown", "body": "..."}
    mailer.on_undelivered([message])  # what the QueueService hands back when it stops with mail queued
    assert [m["status"] for m in mailer.outbox("carol@example.com")] == ["pending"]
    assert mailer.deliver_pending() == 1
    assert [m["status"] for m in mailer.outbox("carol@example.com")] == ["sent"]
    assert mailer.deliver_pending() == 0


def test_indexer_runs_its_cpu_work_in_a_worker_process(blog: BlogClient) -> None:
    from specter_spoc.lifecycle.offload import offload_pool

    alice = blog.user("alice")
    post = blog.post(alice["token"], "Tokenised elsewhere", "Offloaded tokenisation keeps the hub free",
                     publish=True)
    blog.wait_workers()
    indexer = blog.service("blog.ContentIndexer")
    pool = offload_pool(indexer)
    assert pool.health()["calls"] == 1 and pool.pids() and os.getpid() not in pool.pids()
    assert indexer.health()["indexed"] == 1 and indexer.stats()["dead_lettered"] == 0
    found = blog.call("GET", "/api/search?q=tokenisation")[1]["results"]
    assert [r["post"]["id"] for r in found] == [post["id"]]


def test_workers_setting_turns_email_and_indexing_off(make_blog: Any) -> None:
    blog = make_blog(WORKERS={"email_notifications": {"enabled": False, "interval": 60},
                              "content_indexer": {"enabled": False, "interval": 300}})
    alice = blog.user("alice")
    blog.post(alice["token"], "Unindexed", "nobody indexes this", publish=True)
    blog.wait_workers()
    assert _outbox(blog) == []
    assert blog.call("GET", "/api/search?q=unindexed")[1]["results"] == []
    health = blog.runtime.health()["services"]
    assert health["users.EmailNotificationWorker"]["enabled"] is False
    assert health["blog.ContentIndexer"]["enabled"] is False


def test_data_and_index_survive_a_restart(make_blog: Any) -> None:
    first = make_blog()
    alice, bob = first.user("alice"), first.user("bob")
    post = first.post(alice["token"], "Persistent", "Stored in SQLite", publish=True)
    comment = first.comment(bob["token"], post["id"], "Still here after a restart")
    first.call("POST", f"/api/comments/{comment['id']}/approve", alice["token"])
    first.wait_workers()
    first.runtime.shutdown()
    assert not first.runtime.booted

    second = make_blog()  # same tmp_path, same database file
    status, data = second.call("GET", f"/api/posts/{post['id']}")
    assert status == 200 and [c["text"] for c in data["post"]["comments"]] == ["Still here after a restart"]
    assert second.login("alice", PASSWORD)
    assert second.call("GET", "/api/me", alice["token"])[0] == 200  # same SECRET_KEY: tokens stay valid
    assert [r["post"]["id"] for r in second.call("GET", "/api/search?q=sqlite")[1]["results"]] == [post["id"]]
    assert len(_outbox(second)) == 3  # two welcomes + one comment notice, stored once


def test_a_database_without_migration_history_is_refused_with_the_fix(database_url: str) -> None:
    """A database made by create_all (no alembic_version table) is not
    migrated over: boot says how to stamp it."""
    import pytest
    from sqlalchemy import create_engine, text

    from blog_example_helpers import EXAMPLE_DIR, app_config
    from specter_spoc import BootError, create_app

    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE users (id INTEGER PRIMARY KEY, username VARCHAR(30))"))
    engine.dispose()
    with pytest.raises(BootError) as refused:
        create_app(EXAMPLE_DIR, mode="test", config=app_config(database_url))
    assert "db stamp 0001_initial" in str(refused.value)
