"""Users app models: User, UserProfile, and the e-mail outbox (SQLAlchemy 2.x)."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, Optional

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from framework.database import db, iso, utcnow
from specter_spoc.project import model


@model
class User(db.Model):
    """A registered user. ``username`` and ``email`` are stored lower-case
    and unique; the password only as a salted scrypt hash."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(30), unique=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(100), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    is_active: Mapped[bool] = mapped_column(default=True)
    profile: Mapped[Optional["UserProfile"]] = relationship(back_populates="user", cascade="all, delete-orphan")

    def public(self) -> Dict[str, Any]:
        """What anyone may see."""
        return {"id": self.id, "username": self.username, "full_name": self.full_name,
                "created_at": iso(self.created_at)}

    def private(self) -> Dict[str, Any]:
        """What the user sees about themselves (adds the e-mail)."""
        return {**self.public(), "email": self.email, "is_active": self.is_active}

    def __str__(self) -> str:
        return f"User(id={self.id}, username={self.username})"


@model
class UserProfile(db.Model):
    """Extended, public profile information (one per user, created on demand)."""

    __tablename__ = "user_profiles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    bio: Mapped[str] = mapped_column(Text, default="")
    avatar_url: Mapped[str] = mapped_column(String(300), default="")
    website: Mapped[str] = mapped_column(String(300), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    user: Mapped[User] = relationship(back_populates="profile")

    def to_dict(self) -> Dict[str, Any]:
        return {"bio": self.bio, "avatar_url": self.avatar_url, "website": self.website,
                "updated_at": iso(self.updated_at)}


#: the profile of a user who never edited theirs
EMPTY_PROFILE: Dict[str, Any] = {"bio": "", "avatar_url": "", "website": "", "updated_at": None}


@model
class OutboxEmail(db.Model):
    """An e-mail the notification worker delivered (``status="sent"``) or
    could not deliver before a shutdown (``"pending"``, retried later).
    The outbox *is* the mailbox in this example: nothing leaves the machine."""

    __tablename__ = "email_outbox"
    __table_args__ = (Index("ix_email_outbox_status", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    sender: Mapped[str] = mapped_column(String(254))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="sent")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[Optional[datetime]] = mapped_column(default=None)

    def to_dict(self) -> Dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "sender": self.sender, "recipient": self.recipient,
                "subject": self.subject, "body": self.body, "status": self.status,
                "created_at": iso(self.created_at), "sent_at": iso(self.sent_at)}
