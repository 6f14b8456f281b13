"""Users app controller: the JSON API for accounts, login and profiles.

==========================================  =====================================
``POST /api/users``                          register (public)
``POST /api/login``                          username + password -> login token (API clients)
``GET  /api/session``                        the page's login: ``{user, csrf_token}``
``POST /api/session``                        username + password -> login cookie (the page; CSRF)
``DELETE /api/session``                      log the page out (CSRF)
``GET  /api/me``                             the logged-in user (token or cookie)
``GET  /api/users/<id>/profile``             public profile
``PUT  /api/users/<id>/profile``             change your own profile (token)
==========================================  =====================================

Bodies are validated by the schemas below; any bad input is a JSON
``{"error": ..., "errors": {field: message}}`` with status 400, a missing or
bad token 401, a cookie request without its CSRF token or someone else's
profile 403, an unknown user 404, a taken
username or e-mail 409.
"""
from __future__ import annotations

from typing import Any, Dict

from framework import validators as v
from framework.auth import (
    check_csrf, csrf_token, end_session, issue_token, require_user_id, session_user_id, start_session, token_max_age,
)
from framework.validators import ID
from specter_spoc import Controller, Field, HTTPError, Schema, expect_json, registry
from specter_spoc.project import controller

from .services import PROFILE_FIELDS, UserService

REGISTER = Schema("register", {
    "username": Field(str, required=True, validator=v.username),
    "email": Field(str, required=True, validator=v.email),
    "password": Field(str, required=True, validator=v.password),
    "full_name": Field(str, default="", validator=v.text(0, 100)),
}, strict=True)

LOGIN = Schema("login", {
    "username": Field(str, required=True, validator=v.text(1, 30)),
    "password": Field(str, required=True, validator=v.text(1, 128)),
}, strict=True)

PROFILE = Schema("profile", {
    "bio": Field(str, validator=v.text(0, 1000)),
    "avatar_url": Field(str, validator=v.web_url),
    "website": Field(str, validator=v.web_url),
}, strict=True)


@controller
class UsersController(Controller):
    """HTTP API of the users app (see the module docstring for the routes)."""

    name = "users_api"
    url_prefix = "/api"
    schemas = {"register": REGISTER, "login": LOGIN, "profile": PROFILE}

    @property
    def users(self) -> UserService:
        return registry.require(UserService)

    def _check_login(self) -> Dict[str, Any]:
        clean = self.schema("login").require(expect_json())
        user = self.users.authenticate(clean["username"], clean["password"])
        if user is None:
            raise HTTPError("invalid username or password.", 401,
                            payload={"errors": {"password": "the username or the password is wrong"}})
        return user

    def build_routes(self, router: Any) -> None:
        @router.route("/users", methods=["POST"])
        def register() -> Any:
            clean = self.schema("register").require(expect_json())
            user = self.users.register(clean["username"], clean["email"], clean["password"], clean["full_name"])
            return {"user": user}, 201

        @router.route("/login", methods=["POST"])
        def login() -> Any:
            user = self._check_login()
            return {"token": issue_token(user["id"]), "token_type": "Bearer", "expires_in": token_max_age(),
                    "user": user}

        @router.route("/session")
        def get_session() -> Any:
            uid = session_user_id()
            user = self.users.get_user(uid, private=True) if uid is not None else None
            return {"user": user, "csrf_token": csrf_token()}

        @router.route("/session", methods=["POST"])
        def log_in() -> Any:
            check_csrf()  # before the password check: no cross-site login attempts
            user = self._check_login()
            return {"user": user, "csrf_token": start_session(user["id"])}

        @router.route("/session", methods=["DELETE"])
        def log_out() -> Any:
            end_session()
            return {"user": None, "csrf_token": csrf_token()}

        @router.route("/me")
        def me() -> Any:
            uid = require_user_id()
            user = self.users.get_user(uid, private=True)
            if user is None:
                raise HTTPError("the login token names a user that no longer exists; log in again.", 401)
            return {"user": user}

        @router.route(f"/users/<{ID}:user_id>/profile")
        def get_profile(user_id: int) -> Any:
            return self.users.get_profile(user_id)

        @router.route(f"/users/<{ID}:user_id>/profile", methods=["PUT"])
        def update_profile(user_id: int) -> Any:
            uid = require_user_id()
            raw = expect_json(error=f"send a JSON object with one or more of {list(PROFILE_FIELDS)}")
            clean = self.schema("profile").require(raw)
            self.users.require_user(user_id)  # 404 before 403 for an unknown id
            if uid != user_id:
                raise HTTPError(f"you can only change your own profile (you are user {uid}).", 403)
            changes = {key: clean[key] for key in PROFILE_FIELDS if clean.get(key) is not None}
            if not changes:
                raise HTTPError(f"nothing to change: send one or more of {list(PROFILE_FIELDS)}.", 400)
            return self.users.update_profile(user_id, changes)
