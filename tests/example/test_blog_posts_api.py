"""Blog API of the example: posts, publishing, comments, moderation, search,
the page, and bad input answered with JSON 400/401/403/404/409 (never 500)."""
from __future__ import annotations

from typing import Any, Dict, List, Tuple

import pytest

from blog_example_helpers import BlogClient


@pytest.fixture
def database_url(any_database_url: str) -> str:
    """Every test of this module runs on SQLite and on PostgreSQL."""
    return any_database_url


def test_draft_is_private_until_published(blog: BlogClient) -> None:
    alice, bob = blog.user("alice"), blog.user("bob")
    draft = blog.post(alice["token"], "Getting Started with SPOC", "SPOC is modular")
    assert (draft["published"], draft["slug"], draft["author"]["username"]) == (False, "getting-started-with-spoc",
                                                                               "alice")
    assert blog.call("GET", "/api/posts")[1]["posts"] == []
    assert blog.call("GET", f"/api/posts/{draft['id']}")[0] == 404              # anonymous
    assert blog.call("GET", f"/api/posts/{draft['id']}", bob["token"])[0] == 404  # another user
    assert blog.call("GET", f"/api/posts/{draft['id']}", alice["token"])[0] == 200
    status, drafts = blog.call("GET", "/api/posts?published=0", alice["token"])
    assert status == 200 and [p["id"] for p in drafts["posts"]] == [draft["id"]]
    assert blog.call("GET", "/api/posts?published=0", bob["token"])[1]["posts"] == []

    assert blog.call("POST", f"/api/posts/{draft['id']}/publish", bob["token"])[0] == 404  # invisible to bob
    status, data = blog.call("POST", f"/api/posts/{draft['id']}/publish", alice["token"])
    assert status == 200 and data["post"]["published"] and data["post"]["published_at"]
    status, data = blog.call("POST", f"/api/posts/{draft['id']}/publish", alice["token"])
    assert status == 409 and "already published" in data["error"]
    assert blog.call("POST", f"/api/posts/{draft['id']}/publish", bob["token"])[0] == 403
    listed = blog.call("GET", "/api/posts?published=1")[1]
    assert [p["title"] for p in listed["posts"]] == ["Getting Started with SPOC"]
    assert blog.call("GET", f"/api/posts/{draft['id']}")[1]["post"]["comments"] == []


def test_list_is_newest_first_with_paging(blog: BlogClient) -> None:
    alice = blog.user("alice")
    ids = [blog.post(alice["token"], f"Post {n}", "body", publish=True)["id"] for n in range(3)]
    assert [p["id"] for p in blog.call("GET", "/api/posts")[1]["posts"]] == ids[::-1]
    page = blog.call("GET", "/api/posts?limit=1&offset=1")[1]
    assert [p["id"] for p in page["posts"]] == [ids[1]]
    assert (page["total"], page["limit"], page["offset"]) == (3, 1, 1)  # the total, not the page's length
    last = blog.call("GET", "/api/posts?limit=2&offset=2")[1]
    assert [p["id"] for p in last["posts"]] == [ids[0]] and last["total"] == 3
    blog.post(alice["token"], "A draft", "not counted")
    assert blog.call("GET", "/api/posts")[1]["total"] == 3
    drafts = blog.call("GET", "/api/posts?published=0", alice["token"])[1]
    assert drafts["total"] == 1


def test_comments_are_moderated_by_the_post_author(blog: BlogClient) -> None:
    alice, bob = blog.user("alice"), blog.user("bob")
    draft = blog.post(alice["token"], "Draft", "not yet")
    status, data = blog.call("POST", f"/api/posts/{draft['id']}/comments", alice["token"], json={"text": "x"})
    assert status == 409 and "draft" in data["error"]
    assert blog.call("POST", f"/api/posts/{draft['id']}/comments", bob["token"], json={"text": "x"})[0] == 404

    post = blog.post(alice["token"], "Published", "hello", publish=True)
    comment = blog.comment(bob["token"], post["id"], "Great article!")
    assert (comment["approved"], comment["author"]["username"]) == (False, "bob")
    public = blog.call("GET", f"/api/posts/{post['id']}")[1]["post"]
    assert public["comments"] == [] and public["pending_count"] == 1 and "pending_comments" not in public
    own = blog.call("GET", f"/api/posts/{post['id']}", alice["token"])[1]["post"]
    assert [c["id"] for c in own["pending_comments"]] == [comment["id"]]

    assert blog.call("POST", f"/api/comments/{comment['id']}/approve", bob["token"])[0] == 403
    status, data = blog.call("POST", f"/api/comments/{comment['id']}/approve", alice["token"])
    assert status == 200 and data["comment"]["approved"] and data["comment"]["approved_at"]
    assert blog.call("POST", f"/api/comments/{comment['id']}/approve", alice["token"])[0] == 409
    public = blog.call("GET", f"/api/posts/{post['id']}")[1]["post"]
    assert [c["text"] for c in public["comments"]] == ["Great article!"]
    assert (public["comment_count"], public["pending_count"]) == (1, 0)
    with_comments = blog.call("GET", "/api/posts?comments=1")[1]["posts"][0]
    assert [c["id"] for c in with_comments["comments"]] == [comment["id"]]


def test_unknown_ids_are_404(blog: BlogClient) -> None:
    alice = blog.user("alice")
    token = alice["token"]
    assert blog.call("GET", "/api/posts/12345")[0] == 404
    assert blog.call("POST", "/api/posts/12345/publish", token)[0] == 404
    assert blog.call("POST", "/api/posts/12345/comments", token, json={"text": "hi"})[0] == 404
    status, data = blog.call("POST", "/api/comments/12345/approve", token)
    assert status == 404 and "12345" in data["error"]
    assert blog.call("GET", "/api/posts/not-a-number")[0] == 404
    assert blog.call("GET", "/api/posts/-1")[0] == 404


BAD_POSTS: List[Tuple[Dict[str, Any], str]] = [
    ({"content": "body"}, "title"),
    ({"title": "t"}, "content"),
    ({"title": "   ", "content": "body"}, "title"),
    ({"title": "t" * 201, "content": "body"}, "title"),
    ({"title": ["t"], "content": "body"}, "title"),
    ({"title": "t", "content": {"text": "body"}}, "content"),
    ({"title": "t", "content": "body", "publish": "maybe"}, "publish"),
    ({"title": "t", "content": "body", "author_id": 2}, "author_id"),
]


def test_create_post_rejects_bad_fields(blog: BlogClient) -> None:
    alice = blog.user("alice")
    for body, field in BAD_POSTS:
        status, data = blog.call("POST", "/api/posts", alice["token"], json=body)
        assert status == 400 and field in data["errors"], (body, data)
    assert blog.service("blog.PostService").list_posts(published=False, author_id=alice["id"]) == ([], 0)


def test_add_comment_rejects_bad_bodies(blog: BlogClient) -> None:
    alice = blog.user("alice")
    post = blog.post(alice["token"], publish=True)
    for body in [{}, {"text": ""}, {"text": float("inf")}, {"text": ["hi"]}, {"text": "x" * 2001}, {"txt": "hi"}]:
        status, data = blog.call("POST", f"/api/posts/{post['id']}/comments", alice["token"], json=body)
        assert status == 400 and data["error"], (body, data)
    assert blog.service("blog.CommentService").comments_for_post(post["id"], approved_only=False) == []


def test_list_posts_validates_the_query(blog: BlogClient) -> None:
    for query, status in [("limit=0", 400), ("limit=abc", 400), ("offset=-1", 400), ("published=maybe", 400),
                          ("published=0", 401),  # drafts need a token
                          ("published=true&limit=100", 200)]:
        assert blog.call("GET", f"/api/posts?{query}")[0] == status, query


def test_search_finds_indexed_published_posts_only(blog: BlogClient) -> None:
    alice = blog.user("alice")
    gevent_post = blog.post(alice["token"], "Greenlets explained", "Cooperative greenlets share one hub.",
                            publish=True)
    blog.post(alice["token"], "Threads", "Preemptive threads and greenlets compared.", publish=True)
    blog.post(alice["token"], "Secret greenlets", "A draft about greenlets.")  # never published
    blog.wait_workers()
    status, data = blog.call("GET", "/api/search?q=Greenlets")
    assert status == 200 and data["terms"] == ["greenlets"]
    titles = [r["post"]["title"] for r in data["results"]]
    assert titles == ["Greenlets explained", "Threads"]  # the title match weighs more; the draft is absent
    assert data["results"][0]["post"]["id"] == gevent_post["id"]
    both = blog.call("GET", "/api/search?q=hub+greenlets")[1]
    assert [r["post"]["title"] for r in both["results"]] == ["Greenlets explained"]  # every word must match
    assert blog.call("GET", "/api/search?q=the+and")[1]["results"] == []  # stop words only


def test_search_rejects_bad_queries(blog: BlogClient) -> None:
    for query in ["", "q=", "q=%20%20", "q=" + "x" * 201, "q=ok&limit=0", "q=ok&limit=many"]:
        status, data = blog.call("GET", f"/api/search?{query}")
        assert status == 400 and data["errors"], (query, data)
