"""Blog app services: posts, comments, moderation and search.

Both are :class:`~specter_spoc.Service` s the runtime starts after the users
app (``depends_on=["users"]``). They return plain dicts (ready for JSON and
Socket.IO) and announce changes on the bus *after* the transaction
committed, so listeners (the socket bridge, the indexer, the e-mail worker)
always see committed data:

=====================  ==========================================================
``post:created``       ``post`` dict (a draft; not broadcast to clients)
``post:published``     ``post`` dict
``comment:added``      ``{"comment", "post_id", "post_title", "post_author_id", "pending"}``
``comment:approved``   ``{"comment", "post_id"}``
=====================  ==========================================================

Visibility rule, in one place (:meth:`PostService._visible`): a published
post is visible to everyone, a draft only to its author; for anyone else
a draft does not exist (404), so drafts never leak.
"""
from __future__ import annotations

import logging
import re
import unicodedata
from typing import Any, Dict, List, Mapping, Optional

from sqlalchemy import delete, desc, func, insert, select
from sqlalchemy.orm import Session

from framework.components import service
from framework.database import DataService, utcnow
from framework.text import tokenize
from specter_spoc import HTTPError

from .models import Comment, Post, PostTerm

logger = logging.getLogger("blog_platform.blog")

POST_CREATED = "post:created"
POST_PUBLISHED = "post:published"
COMMENT_ADDED = "comment:added"
COMMENT_APPROVED = "comment:approved"


def slugify(title: str) -> str:
    """URL-friendly version of a title: ``"Hello, World!"`` -> ``"hello-world"``."""
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")[:200] or "post"


@service
class PostService(DataService):
    """Posts: create, publish, read, list, search, and the search index.

    Example::

        posts = runtime.registry.require("blog.PostService")
        post = posts.create_post(alice_id, "Getting Started with SPOC", "SPOC is ...")
        posts.publish_post(post["id"], alice_id)         # emits post:published
    """

    def __init__(self) -> None:
        super().__init__("blog.PostService")

    # ---------------------------------------------------------------- writes
    def create_post(self, author_id: int, title: str, content: str) -> Dict[str, Any]:
        """A new draft by ``author_id``."""
        now = utcnow()
        with self.db.session() as session:
            post = Post(title=title.strip(), slug=slugify(title), content=content.strip(), author_id=author_id,
                        created_at=now, updated_at=now)
            session.add(post)
            session.flush()
            data = self._summaries(session, [post])[0]
        logger.info("created post %d %r", data["id"], data["title"])
        self.emit(POST_CREATED, data)
        return data

    def publish_post(self, post_id: int, user_id: int) -> Dict[str, Any]:
        """Publish a draft; 404 unknown, 403 not the author, 409 already published."""
        with self.db.session() as session:
            post = self._visible(session, post_id, user_id)
            if post.author_id != user_id:
                raise HTTPError(f"only the author of post {post_id} can publish it.", 403)
            if post.published:
                raise HTTPError(f"post {post_id} is already published.", 409)
            post.published = True
            post.published_at = post.updated_at = utcnow()
            session.flush()
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
        with self.db.session() as session:
            post = self._visible(session, post_id, viewer_id)
            data = self._summaries(session, [post], with_comments=True)[0]
            if viewer_id == post.author_id:
                pending = session.scalars(select(Comment).where(Comment.post_id == post_id, ~Comment.approved)
                                          .order_by(Comment.id))
                data["pending_comments"] = [c.to_dict() for c in pending]
            return data

    def list_posts(self, *, published: bool = True, author_id: Optional[int] = None, limit: int = 20,
                   offset: int = 0, with_comments: bool = False) -> List[Dict[str, Any]]:
        """Published posts (newest first), or the drafts of ``author_id`` when
        ``published`` is False."""
        query = select(Post)
        if published:
            query = query.where(Post.published).order_by(desc(Post.published_at), desc(Post.id))
        else:
            query = query.where(~Post.published, Post.author_id == author_id).order_by(desc(Post.id))
        with self.db.session() as session:
            posts = list(session.scalars(query.limit(limit).offset(offset)).unique())
            return self._summaries(session, posts, with_comments=with_comments)

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
        with self.db.session() as session:
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
        with self.db.session() as session:
            post = session.get(Post, post_id)
            if post is None:
                return None
            return {"title": post.title, "content": post.content, "published": post.published}

    def replace_terms(self, post_id: int, weights: Mapping[str, int]) -> None:
        """Store ``weights`` as the post's index entries (replacing the old
        ones) and mark it indexed."""
        with self.db.session() as session:
            session.execute(delete(PostTerm).where(PostTerm.post_id == post_id))
            if weights:
                session.execute(insert(PostTerm), [{"post_id": post_id, "term": term, "weight": weight}
                                                   for term, weight in weights.items()])
            post = session.get(Post, post_id)
            if post is not None:
                post.indexed_at = utcnow()

    def stale_post_ids(self) -> List[int]:
        """Published posts never indexed, or changed since they were."""
        with self.db.session() as session:
            query = select(Post.id).where(Post.published, (Post.indexed_at.is_(None))
                                          | (Post.indexed_at < Post.updated_at)).order_by(Post.id)
            return list(session.scalars(query))


@service
class CommentService(DataService):
    """Comments and their moderation by the post's author.

    Example::

        comments = runtime.registry.require("blog.CommentService")
        comment = comments.add_comment(post_id, bob_id, "Great article!")   # emits comment:added
        comments.approve_comment(comment["id"], alice_id)                  # emits comment:approved
    """

    def __init__(self) -> None:
        super().__init__("blog.CommentService")

    def add_comment(self, post_id: int, author_id: int, text: str) -> Dict[str, Any]:
        """A new, unapproved comment; 404 when the post is not visible to the
        author of the comment, 409 when it is a draft (its own author's)."""
        with self.db.session() as session:
            post = PostService._visible(session, post_id, author_id)
            if not post.published:
                raise HTTPError(f"post {post_id} is a draft: publish it before it can be commented on.", 409)
            comment = Comment(post_id=post_id, author_id=author_id, text=text.strip())
            session.add(comment)
            session.flush()
            pending = session.scalar(select(func.count(Comment.id))
                                     .where(Comment.post_id == post_id, ~Comment.approved)) or 0
            event = {"comment": comment.to_dict(), "post_id": post_id, "post_title": post.title,
                     "post_author_id": post.author_id, "pending": int(pending)}
        logger.info("comment %d added to post %d", event["comment"]["id"], post_id)
        self.emit(COMMENT_ADDED, event)
        return event["comment"]

    def approve_comment(self, comment_id: int, user_id: int) -> Dict[str, Any]:
        """Approve a comment; 404 unknown, 403 not the post's author, 409 already approved."""
        with self.db.session() as session:
            comment = session.get(Comment, comment_id)
            if comment is None:
                raise HTTPError(f"comment {comment_id} does not exist.", 404)
            if comment.post.author_id != user_id:
                raise HTTPError(f"only the author of post {comment.post_id} can approve its comments.", 403)
            if comment.approved:
                raise HTTPError(f"comment {comment_id} is already approved.", 409)
            comment.approved, comment.approved_at = True, utcnow()
            session.flush()
            event = {"comment": comment.to_dict(), "post_id": comment.post_id}
        logger.info("comment %d approved", comment_id)
        self.emit(COMMENT_APPROVED, event)
        return event["comment"]

    def comments_for_post(self, post_id: int, *, approved_only: bool = True) -> List[Dict[str, Any]]:
        query = select(Comment).where(Comment.post_id == post_id).order_by(Comment.id)
        if approved_only:
            query = query.where(Comment.approved)
        with self.db.session() as session:
            return [c.to_dict() for c in session.scalars(query).unique()]
