"""Blog app controllers: the JSON API, the Socket.IO events, and the page.

HTTP (``BlogController``, under ``/api``):

=============================================  ======================================================
``GET  /api/posts?published=1&limit=&offset=``  published posts, newest first (``published=0``: your
                                                 drafts, token required; ``comments=1`` embeds them)
``POST /api/posts``                             create a draft, or publish at once with ``"publish": true``
                                                 (token)
``GET  /api/posts/<id>``                        a post with its approved comments (its author also
                                                 gets the pending ones)
``POST /api/posts/<id>/publish``                publish your draft (token)
``POST /api/posts/<id>/comments``               comment on a published post (token)
``POST /api/comments/<id>/approve``             approve a comment on your post (token)
``GET  /api/search?q=&limit=``                  full-text search of published posts
=============================================  ======================================================

Socket.IO, broadcast to every connected client: ``post_published`` (the
post), ``comment_added`` (``{"comment_id", "post_id", "pending"}``: the text
stays private until approved), ``comment_approved`` (the comment). Drafts are
never broadcast. Clients may send ``posts:list`` (``{"limit"}``) and
``post:get`` (``{"id"}``); the acknowledgement is ``{"ok": true, ...}`` or
an error acknowledgement ``{"ok": false, "error", "status"}``.

The bus -> Socket.IO bridge lives here, at the web edge: the services only
announce domain events on the bus, whoever caused them (an HTTP request, a
socket event, ``main.py --demo``).
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

import flask  # not `from flask import request`: docs/parts/example.md, "Writing app modules"

from framework import validators as v
from framework.auth import optional_user_id, require_user_id
from framework.components import controller
from framework.validators import ID
from specter_spoc import Controller, Field, HTTPError, Schema, expect_json

from .services import COMMENT_ADDED, COMMENT_APPROVED, POST_PUBLISHED, CommentService, PostService

LIST_POSTS = Schema("list_posts", {
    "published": Field(bool, default=True),
    "comments": Field(bool, default=False),
    "limit": Field(int, default=20, validator=v.between(1, 100)),
    "offset": Field(int, default=0, validator=v.between(0, 1_000_000)),
})
CREATE_POST = Schema("create_post", {
    "title": Field(str, required=True, validator=v.text(1, 200)),
    "content": Field(str, required=True, validator=v.text(1, 20_000)),
    "publish": Field(bool, default=False),
}, strict=True)
ADD_COMMENT = Schema("add_comment", {
    "text": Field(str, required=True, validator=v.text(1, 2_000)),
}, strict=True)
SEARCH = Schema("search", {
    "q": Field(str, required=True, validator=v.text(1, 200), label="q (the search words)"),
    "limit": Field(int, default=20, validator=v.between(1, 50)),
})
WS_LIST_POSTS = Schema("posts:list", {
    "limit": Field(int, default=20, validator=v.between(1, 100)),
}, strict=True)
WS_GET_POST = Schema("post:get", {
    "id": Field(int, required=True, validator=v.between(1, 2 ** 31 - 1)),
}, strict=True)


@controller
class BlogController(Controller):
    """HTTP API, Socket.IO events and the bus -> Socket.IO bridge of the blog."""

    name = "blog_api"
    url_prefix = "/api"
    schemas = {"list_posts": LIST_POSTS, "create_post": CREATE_POST, "add_comment": ADD_COMMENT,
               "search": SEARCH, "posts:list": WS_LIST_POSTS, "post:get": WS_GET_POST}

    # ----------------------------------------------------------- collaborators
    @property
    def posts(self) -> PostService:
        return self.scope.registry.require("blog.PostService")

    @property
    def comments(self) -> CommentService:
        return self.scope.registry.require("blog.CommentService")

    def _author_id(self) -> int:
        """The logged-in user's id (401 without a valid token or for a user
        that no longer exists). The users app is reached through the registry."""
        uid = require_user_id()
        if self.scope.registry.require("users.UserService").get_user(uid) is None:
            raise HTTPError("the login token names a user that no longer exists; log in again.", 401)
        return uid

    # -------------------------------------------------------------- lifecycle
    def on_start(self) -> None:
        self.listen(POST_PUBLISHED, self._broadcast_published)
        self.listen(COMMENT_ADDED, self._broadcast_comment_added)
        self.listen(COMMENT_APPROVED, self._broadcast_comment_approved)

    def _broadcast(self, event: str, data: Mapping[str, Any]) -> None:
        socketio = self.socketio
        if socketio is not None:
            socketio.emit(event, dict(data))

    def _broadcast_published(self, post: Mapping[str, Any]) -> None:
        self._broadcast("post_published", post)

    def _broadcast_comment_added(self, event: Mapping[str, Any]) -> None:
        self._broadcast("comment_added", {"comment_id": event["comment"]["id"], "post_id": event["post_id"],
                                          "pending": event["pending"]})

    def _broadcast_comment_approved(self, event: Mapping[str, Any]) -> None:
        self._broadcast("comment_approved", event["comment"])

    # ------------------------------------------------------------------- HTTP
    def build_routes(self, router: Any) -> None:
        @router.route("/posts")
        def list_posts() -> Any:
            args = self.schema("list_posts").require(flask.request.args.to_dict())
            author_id: Optional[int] = None
            if not args["published"]:
                author_id = require_user_id()  # drafts: only your own
            posts = self.posts.list_posts(published=args["published"], author_id=author_id, limit=args["limit"],
                                          offset=args["offset"], with_comments=args["comments"])
            return {"posts": posts, "count": len(posts), "limit": args["limit"], "offset": args["offset"]}

        @router.route("/posts", methods=["POST"])
        def create_post() -> Any:
            author_id = self._author_id()
            clean = self.schema("create_post").require(expect_json())
            post = self.posts.create_post(author_id, clean["title"], clean["content"])
            if clean["publish"]:
                post = self.posts.publish_post(post["id"], author_id)
            return {"post": post}, 201

        @router.route(f"/posts/<{ID}:post_id>")
        def get_post(post_id: int) -> Any:
            return {"post": self.posts.get_post(post_id, optional_user_id())}

        @router.route(f"/posts/<{ID}:post_id>/publish", methods=["POST"])
        def publish_post(post_id: int) -> Any:
            return {"post": self.posts.publish_post(post_id, self._author_id())}

        @router.route(f"/posts/<{ID}:post_id>/comments", methods=["POST"])
        def add_comment(post_id: int) -> Any:
            author_id = self._author_id()
            clean = self.schema("add_comment").require(expect_json())
            return {"comment": self.comments.add_comment(post_id, author_id, clean["text"])}, 201

        @router.route(f"/comments/<{ID}:comment_id>/approve", methods=["POST"])
        def approve_comment(comment_id: int) -> Any:
            return {"comment": self.comments.approve_comment(comment_id, self._author_id())}

        @router.route("/search")
        def search() -> Any:
            args = self.schema("search").require(flask.request.args.to_dict())
            return self.posts.search(args["q"], limit=args["limit"])

    # -------------------------------------------------------------- Socket.IO
    def build_events(self, handler: Any) -> None:
        handler.on("posts:list", self._ws_list_posts, schema="posts:list")
        handler.on("post:get", self._ws_get_post, schema="post:get")

    def _ws_list_posts(self, clean: Dict[str, Any]) -> Dict[str, Any]:
        posts = self.posts.list_posts(limit=clean["limit"], with_comments=True)
        return {"ok": True, "posts": posts}

    def _ws_get_post(self, clean: Dict[str, Any]) -> Dict[str, Any]:
        return {"ok": True, "post": self.posts.get_post(clean["id"])}


@controller
class PageController(Controller):
    """``GET /``: the live page (templates/index.html + static/app.js). It
    lists published posts with their approved comments and follows the
    Socket.IO events, so it updates without a reload."""

    name = "blog_page"

    def build_routes(self, router: Any) -> None:
        @router.route("/")
        def index() -> Any:
            return flask.render_template("index.html")
