"""Concurrency on PostgreSQL (several greenlets racing, as several requests
or workers would): one username is registered once, a post is published
once, a comment approved once; the losers get 409, never a 500, and the
bus announces each change exactly once."""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Tuple

import gevent
import pytest

from blog_example_helpers import PASSWORD, BlogClient

RACERS = 8


@pytest.fixture
def database_url(postgres: Any) -> str:
    return postgres.new_database()


def _race(blog: BlogClient, make_request: Callable[[Any, int], Any]) -> List[Tuple[int, Dict[str, Any]]]:
    """Run RACERS requests at once, each on its own test client."""
    clients = [blog.app.test_client() for _ in range(RACERS)]
    jobs = [gevent.spawn(make_request, client, index) for index, client in enumerate(clients)]
    gevent.joinall(jobs, timeout=60, raise_error=True)
    answers = [(job.value.status_code, job.value.get_json()) for job in jobs]
    assert all(status < 500 for status, _ in answers), answers
    return answers


def _bus_events(blog: BlogClient, event: str) -> List[Any]:
    seen: List[Any] = []
    blog.runtime.bus.on(event, seen.append)
    return seen


def test_concurrent_registrations_of_one_username_create_one_account(make_blog: Any) -> None:
    blog = make_blog(PASSWORD_HASH_WORKERS=4)
    registered = _bus_events(blog, "user:registered")
    answers = _race(blog, lambda client, i: client.post("/api/users", json={
        "username": "carol", "email": f"carol{i}@example.com", "password": PASSWORD}))
    statuses = sorted(status for status, _ in answers)
    assert statuses == [201] + [409] * (RACERS - 1), answers
    assert blog.sql("SELECT count(*) FROM users WHERE username = 'carol'")[0][0] == 1
    assert len(registered) == 1
    answers = _race(blog, lambda client, i: client.post("/api/users", json={
        "username": f"dave{i}", "email": "dave@example.com", "password": PASSWORD}))
    assert sorted(status for status, _ in answers) == [201] + [409] * (RACERS - 1), answers
    assert blog.sql("SELECT count(*) FROM users WHERE email = 'dave@example.com'")[0][0] == 1


def test_concurrent_publish_and_approve_happen_once(make_blog: Any) -> None:
    blog = make_blog()
    alice, bob = blog.user("alice"), blog.user("bob")
    published, approved = _bus_events(blog, "post:published"), _bus_events(blog, "comment:approved")
    draft = blog.post(alice["token"], "Raced", "Published by one request only")
    auth = {"Authorization": f"Bearer {alice['token']}"}
    answers = _race(blog, lambda client, i: client.post(f"/api/posts/{draft['id']}/publish", headers=auth))
    assert sorted(status for status, _ in answers) == [200] + [409] * (RACERS - 1), answers
    assert [post["id"] for post in published] == [draft["id"]]

    comment = blog.comment(bob["token"], draft["id"], "Approved once")
    answers = _race(blog, lambda client, i: client.post(f"/api/comments/{comment['id']}/approve", headers=auth))
    assert sorted(status for status, _ in answers) == [200] + [409] * (RACERS - 1), answers
    assert [event["comment"]["id"] for event in approved] == [comment["id"]]
