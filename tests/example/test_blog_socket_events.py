"""Socket.IO side of the example, in-process: broadcasts caused by HTTP
requests, and the client events ``posts:list`` / ``post:get`` with
validated payloads and error acknowledgements."""
from __future__ import annotations

from typing import Any, Dict, List

import pytest

from blog_example_helpers import BlogClient


def _events(client: Any) -> List[Dict[str, Any]]:
    return [{"name": e["name"], "data": e["args"][0] if e["args"] else None} for e in client.get_received()]


@pytest.fixture
def clients(blog: BlogClient) -> Any:
    made = [blog.socketio.test_client(blog.app) for _ in range(2)]
    assert all(c.is_connected() for c in made)
    yield made
    for client in made:
        if client.is_connected():
            client.disconnect()


def test_every_client_receives_publish_comment_and_approval(blog: BlogClient, clients: Any) -> None:
    alice, bob = blog.user("alice"), blog.user("bob")
    draft = blog.post(alice["token"], "Live", "Broadcast to everyone")
    for client in clients:
        assert _events(client) == []  # drafts and registrations are not broadcast
    blog.call("POST", f"/api/posts/{draft['id']}/publish", alice["token"])
    comment = blog.comment(bob["token"], draft["id"], "Secret until approved")
    blog.call("POST", f"/api/comments/{comment['id']}/approve", alice["token"])
    for client in clients:
        events = _events(client)
        assert [e["name"] for e in events] == ["post_published", "comment_added", "comment_approved"]
        published, added, approved = (e["data"] for e in events)
        assert published["id"] == draft["id"] and published["published"] is True
        assert added == {"comment_id": comment["id"], "post_id": draft["id"], "pending": 1}  # no text yet
        assert approved["text"] == "Secret until approved" and approved["approved"] is True


def test_posts_list_and_post_get_acknowledge_with_data(blog: BlogClient, clients: Any) -> None:
    alice = blog.user("alice")
    published = blog.post(alice["token"], "Visible", "yes", publish=True)
    draft = blog.post(alice["token"], "Hidden", "no")
    client = clients[0]
    answer = client.emit("posts:list", {"limit": 10}, callback=True)
    assert answer["ok"] is True and [p["id"] for p in answer["posts"]] == [published["id"]]
    assert answer["posts"][0]["comments"] == []
    assert client.emit("posts:list", callback=True)["ok"] is True  # no payload: the defaults
    got = client.emit("post:get", {"id": published["id"]}, callback=True)
    assert got["ok"] is True and got["post"]["title"] == "Visible"
    missing = client.emit("post:get", {"id": draft["id"]}, callback=True)  # drafts do not exist for sockets
    assert (missing["ok"], missing["status"]) == (False, 404)


BAD_PAYLOADS = [
    ("posts:list", {"limit": "many"}, "limit"),
    ("posts:list", {"limit": 0}, "limit"),
    ("posts:list", {"limit": 5, "extra": 1}, "extra"),
    ("post:get", {}, "id"),
    ("post:get", {"id": "seven"}, "id"),
    ("post:get", ["not", "an", "object"], "__root__"),
]


def test_bad_socket_payloads_get_an_error_ack_and_keep_the_connection(blog: BlogClient, clients: Any) -> None:
    client = clients[0]
    for event, payload, field in BAD_PAYLOADS:
        answer = client.emit(event, payload, callback=True)
        assert (answer["ok"], answer["status"]) == (False, 400) and field in answer["errors"], (event, payload)
        assert [e["name"] for e in _events(client)] == ["specter_error"]
        assert client.is_connected() and client.emit("posts:list", {}, callback=True)["ok"] is True
    assert _events(clients[1]) == []  # errors go to the sender only
