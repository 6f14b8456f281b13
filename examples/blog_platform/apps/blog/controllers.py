"""Blog app controllers: the JSON API, the Socket.IO events, and the page.

HTTP (``BlogController``, under ``/api``):

=============================================  ======================================================
``GET  /api/posts?published=1&limit=&offset=``  published posts, newest first, and their ``total``
                                                 (``published=0``: your drafts, login required;
                                                 ``comments=1`` embeds the approved comments)
``POST /api/posts``                             create a draft, or publish at once with ``"publish": true``
``GET  /api/posts/<id>``                        a post with its approved comments (its author also
                                                 gets the pending ones)
``PATCH /api/posts/<id>``                       change the title and/or content of your post
``POST /api/posts/<id>/publish``                publish your draft
``POST /api/posts/<id>/comments``               comment on a published post
``POST /api/comments/<id>/approve``             approve a comment on your post
``GET  /api/search?q=&limit=``                  full-text search of published posts
=============================================  ======================================================

Requests that act as a user need a login: a Bearer token or the page's
cookie session with its CSRF header (:mod:`framework.auth`).

Socket.IO, broadcast to every connected client: ``post_published`` (the
post), ``post_updated`` (a published post that was edited),
``comment_added`` (``{"comment_id", "post_id", "pending"}``: the text
stays private until approved), ``comment_approved`` (the comment). Drafts
are never broadcast. Clients may send ``posts:list`` (``{"limit"}``) and
``post:get`` (``{"id"}``); the acknowledgement is ``{"ok": true, ...}`` or
an error acknowledgement ``{"ok": false, "error", "status"}``.

The bus -> Socket.IO bridge lives here, at the web edge: the services only
announce domain events on the bus, whoever caused them (an HTTP request, a
socket event, the demo data).

The page (``PageController``): ``GET /`` is rendered on the server with the
current posts (``?page=N``, ``?q=words`` searches), so it is complete
without JavaScript; ``static/app.js`` then sends the forms to the JSON API
and keeps the page live. It replaces parts of the page with fragments the
server renders from the same templates (``/fragments/...``), so every post
is rendered by one Jinja macro.
"""
from __future__ import annotations

import math
from typing import Any, Dict, List, Mapping, Optional

from flask import abort, render_template, request

from framework import validators as v
from framework.auth import csrf_token, optional_user_id, require_user_id, session_user_id
from framework.events import COMMENT_ADDED, COMMENT_APPROVED, POST_PUBLISHED, POST_UPDATED
from framework.validators import ID
from specter_spoc import Controller, Field, HTTPError, Schema, expect_json, registry
from specter_spoc.project import controller

from users.services import UserService

from .services import CommentService, PostService

#: posts per page on the page (the API takes ``limit``)
PAGE_SIZE = 10

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
EDIT_POST = Schema("edit_post", {
    "title": Field(str, validator=v.text(1, 200)),
    "content": Field(str, validator=v.text(1, 20_000)),
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


def _author_id() -> int:
    """The logged-in user's id (401 without a valid login, or for a user
    that no longer exists)."""
    uid = require_user_id()
    if registry.require(UserService).get_user(uid) is None:
        raise HTTPError("your login names a user that no longer exists; log in again.", 401)
    return uid


@controller
class BlogController(Controller):
    """HTTP API, Socket.IO events and the bus -> Socket.IO bridge of the blog."""

    name = "blog_api"
    url_prefix = "/api"
    schemas = {"list_posts": LIST_POSTS, "create_post": CREATE_POST, "edit_post": EDIT_POST,
               "add_comment": ADD_COMMENT, "search": SEARCH, "posts:list": WS_LIST_POSTS,
               "post:get": WS_GET_POST}

    @property
    def posts(self) -> PostService:
        return registry.require(PostService)

    @property
    def comments(self) -> CommentService:
        return registry.require(CommentService)

    # -------------------------------------------------------------- lifecycle
    def on_start(self) -> None:
        self.listen(POST_PUBLISHED, self._broadcast_published)
        self.listen(POST_UPDATED, self._broadcast_updated)
        self.listen(COMMENT_ADDED, self._broadcast_comment_added)
        self.listen(COMMENT_APPROVED, self._broadcast_comment_approved)

    def _broadcast(self, event: str, data: Mapping[str, Any]) -> None:
        socketio = self.socketio
        if socketio is not None:
            socketio.emit(event, dict(data))

    def _broadcast_published(self, post: Mapping[str, Any]) -> None:
        self._broadcast("post_published", post)

    def _broadcast_updated(self, post: Mapping[str, Any]) -> None:
        if post.get("published"):  # drafts are never broadcast
            self._broadcast("post_updated", post)

    def _broadcast_comment_added(self, event: Mapping[str, Any]) -> None:
        self._broadcast("comment_added", {"comment_id": event["comment"]["id"], "post_id": event["post_id"],
                                          "pending": event["pending"]})

    def _broadcast_comment_approved(self, event: Mapping[str, Any]) -> None:
        self._broadcast("comment_approved", event["comment"])

    # ------------------------------------------------------------------- HTTP
    def build_routes(self, router: Any) -> None:
        @router.route("/posts")
        def list_posts() -> Any:
            args = self.schema("list_posts").require(request.args.to_dict())
            author_id: Optional[int] = None
            if not args["published"]:
                author_id = require_user_id()  # drafts: only your own
            posts, total = self.posts.list_posts(published=args["published"], author_id=author_id,
                                                 limit=args["limit"], offset=args["offset"],
                                                 with_comments=args["comments"])
            return {"posts": posts, "total": total, "count": total, "limit": args["limit"],
                    "offset": args["offset"]}

        @router.route("/posts", methods=["POST"])
        def create_post() -> Any:
            author_id = _author_id()
            clean = self.schema("create_post").require(expect_json())
            post = self.posts.create_post(author_id, clean["title"], clean["content"])
            if clean["publish"]:
                post = self.posts.publish_post(post["id"], author_id)
            return {"post": post}, 201

        @router.route(f"/posts/<{ID}:post_id>")
        def get_post(post_id: int) -> Any:
            return {"post": self.posts.get_post(post_id, optional_user_id())}

        @router.route(f"/posts/<{ID}:post_id>", methods=["PATCH"])
        def edit_post(post_id: int) -> Any:
            author_id = _author_id()
            clean = self.schema("edit_post").require(expect_json(error="send a JSON object with title and/or content"))
            changes = {key: clean[key] for key in ("title", "content") if clean.get(key) is not None}
            if not changes:
                raise HTTPError("nothing to change: send title and/or content.", 400,
                                payload={"errors": {"title": "send a new title or a new content"}})
            return {"post": self.posts.update_post(post_id, author_id, changes)}

        @router.route(f"/posts/<{ID}:post_id>/publish", methods=["POST"])
        def publish_post(post_id: int) -> Any:
            return {"post": self.posts.publish_post(post_id, _author_id())}

        @router.route(f"/posts/<{ID}:post_id>/comments", methods=["POST"])
        def add_comment(post_id: int) -> Any:
            author_id = _author_id()
            clean = self.schema("add_comment").require(expect_json())
            return {"comment": self.comments.add_comment(post_id, author_id, clean["text"])}, 201

        @router.route(f"/comments/<{ID}:comment_id>/approve", methods=["POST"])
        def approve_comment(comment_id: int) -> Any:
            return {"comment": self.comments.approve_comment(comment_id, _author_id())}

        @router.route("/search")
        def search() -> Any:
            args = self.schema("search").require(request.args.to_dict())
            return self.posts.search(args["q"], limit=args["limit"])

    # -------------------------------------------------------------- Socket.IO
    def build_events(self, handler: Any) -> None:
        handler.on("posts:list", self._ws_list_posts, schema="posts:list")
        handler.on("post:get", self._ws_get_post, schema="post:get")

    def _ws_list_posts(self, clean: Dict[str, Any]) -> Dict[str, Any]:
        posts, total = self.posts.list_posts(limit=clean["limit"], with_comments=True)
        return {"ok": True, "posts": posts, "total": total}

    def _ws_get_post(self, clean: Dict[str, Any]) -> Dict[str, Any]:
        return {"ok": True, "post": self.posts.get_post(clean["id"])}


def _page_number() -> int:
    """``?page=N`` for the page: anything that is not a positive number is page 1."""
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) <= 1_000_000 else 1


@controller
class PageController(Controller):
    """The page: ``GET /`` rendered on the server (templates/index.html), and
    the fragments ``static/app.js`` swaps in when something changes."""

    name = "blog_page"

    @property
    def posts(self) -> PostService:
        return registry.require(PostService)

    def _with_pending(self, posts: List[Dict[str, Any]], viewer: Optional[int]) -> List[Dict[str, Any]]:
        """Add ``pending_comments`` to the viewer's own posts (to approve them)."""
        comments = registry.require(CommentService)
        for post in posts:
            if viewer is not None and post["author"]["id"] == viewer and post.get("pending_count"):
                post["pending_comments"] = [c for c in comments.comments_for_post(post["id"], approved_only=False)
                                            if not c["approved"]]
        return posts

    def _feed(self, page: int, viewer: Optional[int]) -> Dict[str, Any]:
        posts, total = self.posts.list_posts(limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, with_comments=True)
        return {"posts": self._with_pending(posts, viewer), "total": total, "page": page,
                "pages": max(1, math.ceil(total / PAGE_SIZE))}

    def _viewer(self) -> Optional[Dict[str, Any]]:
        uid = session_user_id()
        return registry.require(UserService).get_user(uid, private=True) if uid is not None else None

    def _drafts(self, viewer: Optional[Dict[str, Any]]) -> List[Dict[str, Any]]:
        if viewer is None:
            return []
        return self.posts.list_posts(published=False, author_id=viewer["id"], limit=100)[0]

    def build_routes(self, router: Any) -> None:
        @router.route("/")
        def index() -> Any:
            viewer = self._viewer()
            uid = viewer["id"] if viewer else None
            query = request.args.get("q", "").strip()[:200]
            context: Dict[str, Any] = {"viewer": viewer, "csrf_token": csrf_token(), "query": query,
                                       "drafts": self._drafts(viewer), "feed": None, "results": None,
                                       "profile": registry.require(UserService).get_profile(uid)["profile"] if uid else None}
            if query:
                found = self.posts.search(query, limit=50)
                context["results"] = {"terms": found["terms"],
                                      "posts": self._with_pending([r["post"] for r in found["results"]], uid)}
            else:
                context["feed"] = self._feed(_page_number(), uid)
            return render_template("index.html", **context)

        @router.route("/fragments/feed")
        def feed_fragment() -> Any:
            viewer = self._viewer()
            return render_template("_feed.html", feed=self._feed(_page_number(), viewer["id"] if viewer else None),
                                   viewer=viewer)

        @router.route(f"/fragments/posts/<{ID}:post_id>")
        def post_fragment(post_id: int) -> Any:
            viewer = self._viewer()
            uid = viewer["id"] if viewer else None
            try:
                post = self.posts.get_post(post_id, uid)
            except HTTPError:
                abort(404)
            return render_template("_post.html", post=self._with_pending([post], uid)[0], viewer=viewer)

        @router.route("/fragments/drafts")
        def drafts_fragment() -> Any:
            viewer = self._viewer()
            return render_template("_drafts.html", drafts=self._drafts(viewer), viewer=viewer)
