"""The page of the blog platform, in-process: the first paint is rendered on
the server with the current posts, paging and search work without
JavaScript, the page's login is an HttpOnly cookie whose state-changing
requests need the CSRF token, and the fragments the script swaps in are
rendered by the same templates."""
from __future__ import annotations

import re
from typing import Any, Dict, Optional

from blog_example_helpers import PASSWORD, BlogClient


def _csrf(html: str) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', html)
    assert match, "the page has no csrf-token meta tag"
    return match.group(1)


def _page(blog: BlogClient, path: str = "/") -> str:
    response = blog.http.get(path)
    assert response.status_code == 200 and response.mimetype == "text/html", response.status_code
    return response.get_data(as_text=True)


def _send(blog: BlogClient, method: str, path: str, csrf: Optional[str], body: Optional[Dict[str, Any]] = None) -> Any:
    headers = {"X-CSRF-Token": csrf} if csrf is not None else {}
    return blog.http.open(path, method=method, json=body, headers=headers)


def _log_in(blog: BlogClient, username: str) -> str:
    """Log the test client's cookie session in as ``username``; the new CSRF token."""
    csrf = _csrf(_page(blog))
    response = _send(blog, "POST", "/api/session", csrf, {"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["csrf_token"]


def test_first_paint_lists_the_published_posts_with_their_approved_comments(blog: BlogClient) -> None:
    alice, bob = blog.user("alice"), blog.user("bob")
    post = blog.post(alice["token"], "Rendered on the server", "No script needed <b>to read</b>", publish=True)
    blog.post(alice["token"], "A private draft", "never shown")
    comment = blog.comment(bob["token"], post["id"], "Seen in the HTML")
    blog.call("POST", f"/api/comments/{comment['id']}/approve", alice["token"])
    blog.comment(bob["token"], post["id"], "Still waiting")
    html = _page(blog)
    assert f'data-post-id="{post["id"]}"' in html and "Rendered on the server" in html
    assert "&lt;b&gt;to read&lt;/b&gt;" in html and "<b>to read</b>" not in html  # user text is escaped
    assert "Seen in the HTML" in html and "Still waiting" not in html  # only approved comments
    assert "1 comment awaiting moderation" in html
    assert "A private draft" not in html and "No published posts yet" in html  # the empty note is hidden:
    assert '<p id="empty" class="muted" hidden>' in html
    assert "1 published" in html


def test_empty_blog_says_so_and_pages_show_the_total(blog: BlogClient) -> None:
    assert '<p id="empty" class="muted">' in _page(blog)
    alice = blog.user("alice")
    for n in range(12):
        blog.post(alice["token"], f"Post number {n}", "body", publish=True)
    first, second = _page(blog), _page(blog, "/?page=2")
    assert "12 published" in first and "Page 1 of 2" in first and 'href="?page=2"' in first
    assert "Post number 11" in first and "Post number 1<" not in first
    assert "Page 2 of 2" in second and "Post number 1<" in second and "Post number 11" not in second
    assert "Page 1 of 2" in _page(blog, "/?page=abc")  # a bad page number is page 1, not an error


def test_search_is_rendered_on_the_server(blog: BlogClient) -> None:
    alice = blog.user("alice")
    blog.post(alice["token"], "Greenlets explained", "Cooperative scheduling", publish=True)
    blog.post(alice["token"], "Threads", "Preemptive scheduling", publish=True)
    blog.wait_workers()
    html = _page(blog, "/?q=greenlets")
    assert "1 result for" in html and "Greenlets explained" in html and ">Threads<" not in html
    assert 'value="greenlets"' in html


def test_cookie_login_needs_the_csrf_token_and_is_http_only(blog: BlogClient) -> None:
    blog.register("alice")
    csrf = _csrf(_page(blog))
    body = {"username": "alice", "password": PASSWORD}
    assert _send(blog, "POST", "/api/session", None, body).status_code == 403      # no token
    assert _send(blog, "POST", "/api/session", "forged", body).status_code == 403  # wrong token
    wrong = _send(blog, "POST", "/api/session", csrf, {"username": "alice", "password": "not the password"})
    assert wrong.status_code == 401 and "password" in wrong.get_json()["errors"]
    response = _send(blog, "POST", "/api/session", csrf, body)
    assert response.status_code == 200 and response.get_json()["user"]["username"] == "alice"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    fresh = response.get_json()["csrf_token"]
    assert fresh != csrf  # a new token at each login
    html = _page(blog)
    assert "Signed in as" in html and "@alice" in html and 'id="write"' in html
    assert blog.http.get("/api/session").get_json()["user"]["username"] == "alice"
    assert blog.http.get("/api/me").get_json()["user"]["username"] == "alice"


def test_cookie_requests_that_change_state_need_the_csrf_token(blog: BlogClient) -> None:
    blog.register("alice")
    csrf = _log_in(blog, "alice")
    post = {"title": "From the page", "content": "Sent with the cookie"}
    refused = _send(blog, "POST", "/api/posts", None, post)
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.get_json()["error"]
    assert _send(blog, "POST", "/api/posts", "wrong", post).status_code == 403
    created = _send(blog, "POST", "/api/posts", csrf, post)
    assert created.status_code == 201 and created.get_json()["post"]["author"]["username"] == "alice"
    drafts = blog.http.get("/fragments/drafts").get_data(as_text=True)
    assert "From the page" in drafts
    assert _send(blog, "DELETE", "/api/session", None).status_code == 403  # no logout from another site
    assert _send(blog, "DELETE", "/api/session", csrf).status_code == 200
    assert blog.http.get("/api/session").get_json()["user"] is None
    assert _send(blog, "POST", "/api/posts", csrf, post).status_code == 401  # logged out


def test_edit_post_and_publish_from_the_page(blog: BlogClient) -> None:
    alice, bob = blog.user("alice"), blog.user("bob")
    draft = blog.post(alice["token"], "Frist title", "Typo in the title")
    status, data = blog.call("PATCH", f"/api/posts/{draft['id']}", alice["token"], json={"title": "First title"})
    assert status == 200 and (data["post"]["title"], data["post"]["slug"]) == ("First title", "first-title")
    assert data["post"]["content"] == "Typo in the title"
    assert blog.call("PATCH", f"/api/posts/{draft['id']}", bob["token"], json={"title": "x"})[0] == 404  # a draft
    status, data = blog.call("PATCH", f"/api/posts/{draft['id']}", alice["token"], json={"title": ""})
    assert status == 400 and "title" in data["errors"]
    status, data = blog.call("PATCH", f"/api/posts/{draft['id']}", alice["token"], json={})
    assert status == 400 and data["error"]
    blog.call("POST", f"/api/posts/{draft['id']}/publish", alice["token"])
    assert blog.call("PATCH", f"/api/posts/{draft['id']}", bob["token"], json={"title": "x"})[0] == 403
    status, data = blog.call("PATCH", f"/api/posts/{draft['id']}", alice["token"], json={"content": "Fixed."})
    assert status == 200 and data["post"]["content"] == "Fixed." and data["post"]["published"]


def test_post_fragment_shows_pending_comments_to_the_author_only(blog: BlogClient) -> None:
    alice, bob = blog.user("alice"), blog.user("bob")
    post = blog.post(alice["token"], "Moderated", "text", publish=True)
    blog.comment(bob["token"], post["id"], "Please approve me")
    anonymous = blog.http.get(f"/fragments/posts/{post['id']}").get_data(as_text=True)
    assert anonymous.startswith("<article") and "Please approve me" not in anonymous
    assert "1 comment awaiting moderation" in anonymous and "Approve" not in anonymous
    _log_in(blog, "alice")
    own = blog.http.get(f"/fragments/posts/{post['id']}").get_data(as_text=True)
    assert "Please approve me" in own and "Approve" in own and "/api/comments/" in own
    assert blog.http.get("/fragments/posts/999").status_code == 404
    feed = blog.http.get("/fragments/feed?page=1").get_data(as_text=True)
    assert feed.startswith('<section id="feed"') and "Moderated" in feed


def test_page_and_vendored_client_are_served_locally(blog: BlogClient) -> None:
    html = _page(blog)
    for asset in ("/static/socket.io.min.js", "/static/app.js", "/static/blog.css"):
        assert asset in html
        response = blog.http.get(asset)
        assert response.status_code == 200, asset
        response.close()
    assert "cdn" not in html.lower() and 'name="viewport"' in html and '<html lang="en">' in html
    client = blog.http.get("/static/socket.io.min.js")
    assert b"Socket.IO v4" in client.data[:200]
    client.close()
