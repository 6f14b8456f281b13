"""Users API of the blog platform example: register, login, me, profiles,
and every kind of bad input answered with a JSON envelope (never a 500)."""
from __future__ import annotations

from typing import Any

import pytest
from itsdangerous import URLSafeTimedSerializer

from blog_example_helpers import PASSWORD, BlogClient


@pytest.fixture
def database_url(any_database_url: str) -> str:
    """Every test of this module runs on SQLite and on PostgreSQL."""
    return any_database_url


def test_register_login_and_me(blog: BlogClient) -> None:
    status, data = blog.call("POST", "/api/users", json={"username": "Alice", "email": "Alice@Example.com",
                                                         "password": PASSWORD, "full_name": " Alice Johnson "})
    assert status == 201
    user = data["user"]
    assert (user["username"], user["email"], user["full_name"]) == ("alice", "alice@example.com", "Alice Johnson")
    assert "password" not in str(data) and "scrypt" not in str(data)
    status, login = blog.call("POST", "/api/login", json={"username": "ALICE", "password": PASSWORD})
    assert status == 200 and login["token_type"] == "Bearer" and login["user"]["id"] == user["id"]
    status, me = blog.call("GET", "/api/me", login["token"])
    assert status == 200 and me["user"]["email"] == "alice@example.com"


def test_passwords_are_stored_as_salted_scrypt_hashes(blog: BlogClient) -> None:
    blog.register("alice")
    blog.register("bob")
    hashes = [row[0] for row in blog.sql("SELECT password_hash FROM users ORDER BY id")]
    assert all(h.startswith("scrypt$1024$8$1$") for h in hashes)
    assert hashes[0] != hashes[1]  # same password, different salts
    assert PASSWORD not in "".join(hashes)


BAD_REGISTRATIONS = [
    ({"email": "a@example.com", "password": PASSWORD}, "username"),                       # missing
    ({"username": "alice", "password": PASSWORD}, "email"),                               # missing
    ({"username": "alice", "email": "a@example.com"}, "password"),                        # missing
    ({"username": ["alice"], "email": "a@example.com", "password": PASSWORD}, "username"),  # wrong type
    ({"username": True, "email": "a@example.com", "password": PASSWORD}, "username"),      # wrong type
    ({"username": "alice", "email": {"a": 1}, "password": PASSWORD}, "email"),             # wrong type
    ({"username": "a", "email": "a@example.com", "password": PASSWORD}, "username"),       # too short
    ({"username": "al ice", "email": "a@example.com", "password": PASSWORD}, "username"),  # bad chars
    ({"username": "alice", "email": "not-an-email", "password": PASSWORD}, "email"),
    ({"username": "alice", "email": "a@example.com", "password": "short"}, "password"),
    ({"username": "alice", "email": "a@example.com", "password": PASSWORD, "admin": True}, "admin"),  # unknown
]


def test_register_rejects_bad_fields_naming_them(blog: BlogClient) -> None:
    for body, field in BAD_REGISTRATIONS:
        status, data = blog.call("POST", "/api/users", json=body)
        assert status == 400 and field in data["errors"] and data["error"], (body, data)
    assert blog.service("users.UserService").list_users() == []


BAD_BODIES = [
    ({"data": "", "content_type": "application/json"}, 400),          # no body
    ({"data": "{not json", "content_type": "application/json"}, 400),  # broken JSON
    ({"json": ["alice"]}, 400),                                        # not an object
    ({"json": {}}, 400),                                               # empty object
    ({"data": "username=alice", "content_type": "application/x-www-form-urlencoded"}, 415),
    ({"data": "[" + "1," * 600_000 + "1]", "content_type": "application/json"}, 413),  # over 1 MiB
]


def test_register_rejects_bodies_that_are_not_json_objects(blog: BlogClient) -> None:
    for kwargs, status in BAD_BODIES:
        got, data = blog.call("POST", "/api/users", **kwargs)
        assert got == status and isinstance(data["error"], str), (kwargs, data)


def test_register_conflicts_on_username_and_email(blog: BlogClient) -> None:
    blog.register("alice")
    status, data = blog.call("POST", "/api/users", json={"username": "ALICE", "email": "other@example.com",
                                                         "password": PASSWORD})
    assert status == 409 and "username" in data["error"] and "username" in data["errors"]  # for the form field
    status, data = blog.call("POST", "/api/users", json={"username": "alice2", "email": "ALICE@example.com",
                                                         "password": PASSWORD})
    assert status == 409 and "e-mail" in data["error"] and "email" in data["errors"]
    assert len(blog.service("users.UserService").list_users()) == 1


def test_login_failures(blog: BlogClient) -> None:
    blog.register("alice")
    assert blog.call("POST", "/api/login", json={"username": "alice", "password": "wrong password"})[0] == 401
    assert blog.call("POST", "/api/login", json={"username": "nobody", "password": PASSWORD})[0] == 401
    status, data = blog.call("POST", "/api/login", json={"username": "alice"})
    assert status == 400 and "password" in data["errors"]
    assert blog.call("POST", "/api/login", json={"username": "alice", "password": 12345678})[0] == 401


def test_tokens_are_required_and_checked(blog: BlogClient) -> None:
    alice = blog.user("alice")
    response = blog.http.post("/api/posts", json={"title": "t", "content": "c"})
    assert response.status_code == 401 and "Bearer" in response.get_json()["error"]
    forged = URLSafeTimedSerializer("another-key", salt="blog-platform.login").dumps({"uid": alice["id"]})
    for header in (f"Bearer {forged}", "Bearer garbage", f"Basic {alice['token']}", "Bearer "):
        status, data = blog.call("GET", "/api/me", headers={"Authorization": header})
        assert status == 401, header
    assert blog.call("GET", "/api/me", alice["token"])[0] == 200


def test_expired_token_is_refused(make_blog: Any) -> None:
    blog = make_blog(TOKEN_MAX_AGE=-1)  # every token is already too old
    alice = blog.user("alice")
    status, data = blog.call("GET", "/api/me", alice["token"])
    assert status == 401 and "expired" in data["error"]


def test_profile_read_and_update(blog: BlogClient) -> None:
    alice, bob = blog.user("alice"), blog.user("bob")
    status, data = blog.call("GET", f"/api/users/{alice['id']}/profile")
    assert status == 200 and data["profile"]["bio"] == "" and data["user"]["username"] == "alice"
    assert "email" not in data["user"]  # profiles are public: no e-mail
    body = {"bio": "Writes about gevent", "website": "https://alice.example.com"}
    status, data = blog.call("PUT", f"/api/users/{alice['id']}/profile", alice["token"], json=body)
    assert status == 200 and data["profile"]["website"] == "https://alice.example.com"
    status, data = blog.call("PUT", f"/api/users/{alice['id']}/profile", alice["token"], json={"bio": "Hi"})
    assert status == 200 and data["profile"] == {**data["profile"], "bio": "Hi",
                                                 "website": "https://alice.example.com"}
    assert blog.call("GET", f"/api/users/{alice['id']}/profile")[1]["profile"]["bio"] == "Hi"
    # someone else's profile
    status, data = blog.call("PUT", f"/api/users/{alice['id']}/profile", bob["token"], json={"bio": "x"})
    assert status == 403
    assert blog.call("GET", f"/api/users/{alice['id']}/profile")[1]["profile"]["bio"] == "Hi"


BAD_PROFILES = [
    {"website": "javascript:alert(1)"},
    {"avatar_url": "ftp://example.com/a.png"},
    {"bio": "x" * 1001},
    {"bio": ["list"]},
    {"nickname": "al"},
    {"bio": None},  # nothing to change
    {},
]


def test_profile_update_rejects_bad_input(blog: BlogClient) -> None:
    alice = blog.user("alice")
    for body in BAD_PROFILES:
        status, data = blog.call("PUT", f"/api/users/{alice['id']}/profile", alice["token"], json=body)
        assert status == 400 and data["error"], (body, data)
    assert blog.call("GET", f"/api/users/{alice['id']}/profile")[1]["profile"]["updated_at"] is None


def test_unknown_users_and_urls_are_json_404(blog: BlogClient) -> None:
    alice = blog.user("alice")
    assert blog.call("GET", "/api/users/999/profile")[0] == 404
    assert blog.call("PUT", "/api/users/999/profile", alice["token"], json={"bio": "x"})[0] == 404
    status, data = blog.call("GET", "/api/users/abc/profile")
    assert status == 404 and data["error"]
    assert blog.call("GET", "/api/nothing-here")[0] == 404
    response = blog.http.delete("/api/users")
    assert response.status_code == 405 and response.is_json and "POST" in response.headers["Allow"]
