"""Blog app services: posts, comments, moderation and search.

Both are :class:`~specter_spoc.Service` s the runtime starts after the users
app (``depends_on=["users"]``). They return plain dicts (ready for JSON and
Socket.IO) and announce changes on the bus (names in
:mod:`framework.events`) *after* the transaction committed, so listeners
(the socket bridge, the indexer, the e-mail worker) always see committed
data.

Visibility rule, in one place (:meth:`PostService._visible`): a published
post is visible to everyone, a draft only to its author; for anyone else
a draft does not exist (404), so drafts never leak.

Races: publishing and approving are one conditional ``UPDATE ... WHERE NOT
published`` (``approved``), so of two concurrent requests exactly one wins
and announces it; the other gets 409, also on PostgreSQL with several
workers.
"""
from __future__ import annotations

import logging
import re
import unicodedata
from typing import Any, Dict, List, Mapping, Optional, Tuple, cast

from flask import current_app
from sqlalchemy import Update, delete, desc, func, insert, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from framework.database import transaction, utcnow
from framework.events import COMMENT_ADDED, COMMENT_APPROVED, POST_CREATED, POST_PUBLISHED, POST_UPDATED
from framework.text import tokenize
from specter_spoc import HTTPError, Service, registry
from specter_spoc.project import service

from users.services import UserService

from .models import Comment, Post, PostTerm

logger = logging.getLogger("blog_platform.blog")


def _won(session: Session, statement: Update) -> bool:
    """Run a conditional ``UPDATE``; True when it changed the row, i.e. this
    request won the race (the loser's ``WHERE`` no longer matches)."""
    result = cast("CursorResult[Any]", session.execute(statement.execution_options(synchronize_session=False)))
    return result.rowcount == 1


def slugify(title: str) -> str:
    """URL-friendly version of a title: ``"Hello, World!"`` -> ``"hello-world"``."""
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")[:200] or "post"


@service
class PostService(Service):
    """Posts: create, publish, read, list, search, and the search index.

    Example::

        posts = registry.require(PostService)                     # found by class
        post = posts.create_post(alice_id, "Getting Started with SPOC", "SPOC is ...")
        posts.publish_post(post["id"], alice_id)         # emits post:published
    """

    # ---------------------------------------------------------------- writes
    def create_post(self, author_id: int, title: str, content: str) -> Dict[str, Any]:
        """A new draft by ``author_id``."""
        now = utcnow()
        with transaction() as session:
            post = Post(title=title.strip(), slug=slugify(title), content=content.strip(), author_id=author_id,
                        created_at=now, updated_at=now)
            session.add(post)
            session.flush()
            data = self._summaries(session, [post])[0]
        logger.info("created post %d %r", data["id"], data["title"])
        self.emit(POST_CREATED, data)
        return data

    def update_post(self, post_id: int, user_id: int, changes: Mapping[str, str]) -> Dict[str, Any]:
        """Change the title and/or content of your post (draft or published);
        404 when not visible, 403 not the author."""
        with transaction() as session:
            post = self._visible(session, post_id, user_id)
            if post.author_id != user_id:
                raise HTTPError(f"only the author of post {post_id} can edit it.", 403)
            if "title" in changes:
                post.title, post.slug = changes["title"].strip(), slugify(changes["title"])
            if "content" in changes:
                post.content = changes["content"].strip()
            post.updated_at = utcnow()
            session.flush()
            data = self._summaries(session, [post])[0]
        logger.info("updated post %d", post_id)
        self.emit(POST_UPDATED, data)
        return data

    def publish_post(self, post_id: int, user_id: int) -> Dict[str, Any]:
        """Publish a draft; 404 unknown, 403 not the author, 409 already
        published (also when another request published it a moment ago)."""
        with transaction() as session:
            post = self._visible(session, post_id, user_id)
            if post.author_id != user_id:
                raise HTTPError(f"only the author of post {post_id} can publish it.", 403)
            now = utcnow()
            if not _won(session, update(Post).where(Post.id == post_id, ~Post.published)
                        .values(published=True, published_at=now, updated_at=now)):
                raise HTTPError(f"post {post_id} is already published.", 409)
            session.refresh(post)
            data = self._summaries(session, [post])[0]
        logger.info("published post %d", post_id)
        self.emit(POST_PUBLISHED, data)
        return data

    # ----------------------------------------------------------------- reads
    @staticmethod
    def _visible(session: Session, post_id: int, viewer_id: Optional[int]) -> Post:
        post = session.get(Post, post_id)
        if post is None or (not post.published and post.author_id != viewer_id):
            raise HTTPError(f"post {post_id} does not exist.", 404)
        return post

    def get_post(self, post_id: int, viewer_id: Optional[int] = None) -> Dict[str, Any]:
        """The post with its approved ``comments``; its author also gets
        ``pending_comments`` (to approve). 404 when not visible to ``viewer_id``."""
        with transaction() as session:
            post = self._visible(session, post_id, viewer_id)
            data = self._summaries(session, [post], with_comments=True)[0]
            if viewer_id == post.author_id:
                pending = session.scalars(select(Comment).where(Comment.post_id == post_id, ~Comment.approved)
                                          .order_by(Comment.id))
                data["pending_comments"] = [c.to_dict() for c in pending]
            return data

    def list_posts(self, *, published: bool = True, author_id: Optional[int] = None, limit: int = 20,
                   offset: int = 0, with_comments: bool = False) -> Tuple[List[Dict[str, Any]], int]:
        """A page of published posts (newest first), or of the drafts of
        ``author_id`` when ``published`` is False, and how many there are in all."""
        query = select(Post)
        if published:
            query = query.where(Post.published).order_by(desc(Post.published_at), desc(Post.id))
        else:
            query = query.where(~Post.published, Post.author_id == author_id).order_by(desc(Post.id))
        with transaction() as session:
            total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
            posts = list(session.scalars(query.limit(limit).offset(offset)).unique())
            return self._summaries(session, posts, with_comments=with_comments), int(total)

    @staticmethod
    def _summaries(session: Session, posts: List[Post], *, with_comments: bool = False) -> List[Dict[str, Any]]:
        """Post dicts with ``comment_count`` / ``pending_count`` (and the
        approved ``comments`` when asked), in three queries for any number of posts."""
        ids = [p.id for p in posts]
        counts: Dict[Any, int] = {}
        comments: Dict[int, List[Dict[str, Any]]] = {i: [] for i in ids}
        if ids:
            rows = session.execute(select(Comment.post_id, Comment.approved, func.count(Comment.id))
                                   .where(Comment.post_id.in_(ids)).group_by(Comment.post_id, Comment.approved))
            counts = {(post_id, bool(approved)): n for post_id, approved, n in rows}
            if with_comments:
                for comment in session.scalars(select(Comment).where(Comment.post_id.in_(ids), Comment.approved)
                                               .order_by(Comment.id)).unique():
                    comments[comment.post_id].append(comment.to_dict())
        out = []
        for post in posts:
            data = post.to_dict()
            data["comment_count"] = counts.get((post.id, True), 0)
            data["pending_count"] = counts.get((post.id, False), 0)
            if with_comments:
                data["comments"] = comments[post.id]
            out.append(data)
        return out

    # ---------------------------------------------------------------- search
    def search(self, query: str, *, limit: int = 20) -> Dict[str, Any]:
        """Published posts containing every searchable word of ``query``,
        best match first (sum of the words' weights). Only posts the content
        indexer has processed are found."""
        terms = list(dict.fromkeys(tokenize(query)))
        if not terms:
            return {"query": query, "terms": [], "results": []}
        score = func.sum(PostTerm.weight).label("score")
        matches = (select(PostTerm.post_id, score).join(Post, Post.id == PostTerm.post_id)
                   .where(PostTerm.term.in_(terms), Post.published)
                   .group_by(PostTerm.post_id).having(func.count(PostTerm.term) == len(terms))
                   .order_by(desc(score), desc(PostTerm.post_id)).limit(limit))
        with transaction() as session:
            ranked = session.execute(matches).all()
            posts = {p.id: p for p in session.scalars(select(Post).where(Post.id.in_([r[0] for r in ranked])))
                     .unique()}
            summaries = {s["id"]: s for s in self._summaries(session, list(posts.values()))}
        results = [{"post": summaries[post_id], "score": int(total)} for post_id, total in ranked
                   if post_id in summaries]
        return {"query": query, "terms": terms, "results": results}

    # ------------------------------------------------- search index (indexer)
    def index_source(self, post_id: int) -> Optional[Mapping[str, Any]]:
        """``{"title", "content", "published"}`` of a post, None when gone."""
        with transaction() as session:
            post = session.get(Post, post_id)
            if post is None:
                return None
            return {"title": post.title, "content": post.content, "published": post.published}

    def replace_terms(self, post_id: int, weights: Mapping[str, int]) -> None:
        """Store ``weights`` as the post's index entries (replacing the old
        ones) and mark it indexed."""
        with transaction() as session:
            session.execute(delete(PostTerm).where(PostTerm.post_id == post_id))
            if weights:
                session.execute(insert(PostTerm), [{"post_id": post_id, "term": term, "weight": weight}
                                                   for term, weight in weights.items()])
            post = session.get(Post, post_id)
            if post is not None:
                post.indexed_at = utcnow()

    def stale_post_ids(self) -> List[int]:
        """Published posts never indexed, or changed since they were."""
        with transaction() as session:
            query = select(Post.id).where(Post.published, (Post.indexed_at.is_(None))
                                          | (Post.indexed_at < Post.updated_at)).order_by(Post.id)
            return list(session.scalars(query))


@service
class CommentService(Service):
    """Comments and their moderation by the post's author.

    Example::

        comments = registry.require(CommentService)
        comment = comments.add_comment(post_id, bob_id, "Great article!")   # emits comment:added
        comments.approve_comment(comment["id"], alice_id)                  # emits comment:approved
    """

    def add_comment(self, post_id: int, author_id: int, text: str) -> Dict[str, Any]:
        """A new, unapproved comment; 404 when the post is not visible to the
        author of the comment, 409 when it is a draft (its own author's)."""
        with transaction() as session:
            post = PostService._visible(session, post_id, author_id)
            if not post.published:
                raise HTTPError(f"post {post_id} is a draft: publish it before it can be commented on.", 409)
            comment = Comment(post_id=post_id, author_id=author_id, text=text.strip())
            session.add(comment)
            session.flush()
            pending = session.scalar(select(func.count(Comment.id))
                                     .where(Comment.post_id == post_id, ~Comment.approved)) or 0
            event: Dict[str, Any] = {"comment": comment.to_dict(), "post_id": post_id, "post_title": post.title,
                     "post_author_id": post.author_id, "pending": int(pending)}
        logger.info("comment %d added to post %d", event["comment"]["id"], post_id)
        self.emit(COMMENT_ADDED, event)
        return event["comment"]

    def approve_comment(self, comment_id: int, user_id: int) -> Dict[str, Any]:
        """Approve a comment; 404 unknown, 403 not the post's author, 409
        already approved (also when another request approved it a moment ago)."""
        with transaction() as session:
            comment = session.get(Comment, comment_id)
            if comment is None:
                raise HTTPError(f"comment {comment_id} does not exist.", 404)
            if comment.post.author_id != user_id:
                raise HTTPError(f"only the author of post {comment.post_id} can approve its comments.", 403)
            if not _won(session, update(Comment).where(Comment.id == comment_id, ~Comment.approved)
                        .values(approved=True, approved_at=utcnow())):
                raise HTTPError(f"comment {comment_id} is already approved.", 409)
            session.refresh(comment)
            event: Dict[str, Any] = {"comment": comment.to_dict(), "post_id": comment.post_id}
        logger.info("comment %d approved", comment_id)
        self.emit(COMMENT_APPROVED, event)
        return event["comment"]

    def comments_for_post(self, post_id: int, *, approved_only: bool = True) -> List[Dict[str, Any]]:
        query = select(Comment).where(Comment.post_id == post_id).order_by(Comment.id)
        if approved_only:
            query = query.where(Comment.approved)
        with transaction() as session:
            return [c.to_dict() for c in session.scalars(query).unique()]


#: the password of the demo users (``DEMO = True``, ``bash scripts/serve.sh --demo``)
DEMO_PASSWORD = "demo-password"


@service
class DemoContent(Service):
    """With the ``DEMO`` setting on (``BLOG_DEMO=true``; ``scripts/serve.sh
    --demo`` sets it), create the users alice and bob, published posts, a
    draft and comments, unless alice exists; then log the credentials.

    Defined after PostService and CommentService, so it starts after them
    (the runtime starts an app's components in definition order)."""

    def on_start(self) -> None:
        if not current_app.config.get("DEMO"):
            return
        users = registry.require(UserService)
        if users.authenticate("alice", DEMO_PASSWORD) is None:
            self._create(users)
        logger.warning("demo data: log in as alice or bob, password %r", DEMO_PASSWORD)

    @staticmethod
    def _create(users: UserService) -> None:
        posts, comments = registry.require(PostService), registry.require(CommentService)
        alice = users.register("alice", "alice@example.com", DEMO_PASSWORD, "Alice Johnson")
        bob = users.register("bob", "bob@example.com", DEMO_PASSWORD, "Bob Smith")
        users.update_profile(alice["id"], {"bio": "Writes about Flask, gevent and SPOC projects."})
        first = posts.create_post(alice["id"], "Getting Started with SPOC",
                                  "SPOC organises a Flask project into apps: models, services, workers and "
                                  "controllers, each app in its own package.")
        second = posts.create_post(alice["id"], "Advanced SPOC Patterns",
                                   "Services talk over the bus, find each other in the registry, and every "
                                   "greenlet has an owner that stops it.")
        third = posts.create_post(bob["id"], "Live pages with Socket.IO",
                                  "Open this page in two windows, publish a post in one and watch it appear "
                                  "in the other.")
        posts.create_post(bob["id"], "A draft nobody else sees", "Drafts stay private until published.")
        for post, author in ((first, alice), (second, alice), (third, bob)):
            posts.publish_post(post["id"], author["id"])
        great = comments.add_comment(first["id"], bob["id"], "Great article! Very helpful.")
        comments.approve_comment(great["id"], alice["id"])
        comments.add_comment(second["id"], bob["id"], "Waiting for Alice to approve this one.")
        logger.info("demo data created: users alice and bob, 3 published posts, 1 draft, 2 comments")
