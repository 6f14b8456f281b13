"""Blog app models: Post, Comment and the search index (SQLAlchemy 2.x).

Authors are ``users.User`` rows, referenced by foreign key and by the
relationship name ``"User"`` (resolved in the shared declarative registry),
so this module does not import the users app.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, Optional

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from framework.database import db, iso, utcnow
from specter_spoc.project import model


def _author(user: Any) -> Dict[str, Any]:
    return {"id": user.id, "username": user.username, "full_name": user.full_name}


@model
class Post(db.Model):
    """A blog post; visible to everyone once ``published``, before that only
    to its author. ``indexed_at`` tells the content indexer it is up to date."""

    __tablename__ = "posts"
    __table_args__ = (Index("ix_posts_published", "published", "published_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    published: Mapped[bool] = mapped_column(default=False)
    published_at: Mapped[Optional[datetime]] = mapped_column(default=None)
    indexed_at: Mapped[Optional[datetime]] = mapped_column(default=None)
    author: Mapped["User"] = relationship("User", lazy="joined")  # type: ignore[name-defined] # noqa: F821

    def to_dict(self) -> Dict[str, Any]:
        return {"id": self.id, "title": self.title, "slug": self.slug, "content": self.content,
                "author": _author(self.author), "published": self.published,
                "created_at": iso(self.created_at), "updated_at": iso(self.updated_at),
                "published_at": iso(self.published_at)}

    def __str__(self) -> str:
        return f"Post(id={self.id}, title={self.title})"


@model
class Comment(db.Model):
    """A comment on a post; shown to everyone once the post's author approved it."""

    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved: Mapped[bool] = mapped_column(default=False)
    approved_at: Mapped[Optional[datetime]] = mapped_column(default=None)
    author: Mapped["User"] = relationship("User", lazy="joined")  # type: ignore[name-defined] # noqa: F821
    post: Mapped[Post] = relationship(lazy="joined")

    def to_dict(self) -> Dict[str, Any]:
        return {"id": self.id, "post_id": self.post_id, "author": _author(self.author), "text": self.text,
                "approved": self.approved, "created_at": iso(self.created_at),
                "approved_at": iso(self.approved_at)}

    def __str__(self) -> str:
        return f"Comment(id={self.id}, post_id={self.post_id})"


@model
class PostTerm(db.Model):
    """One row of the search index: a word of a published post and its weight."""

    __tablename__ = "post_terms"
    __table_args__ = (Index("ix_post_terms_term", "term"),)

    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)
    term: Mapped[str] = mapped_column(String(40), primary_key=True)
    weight: Mapped[int] = mapped_column(default=1)
