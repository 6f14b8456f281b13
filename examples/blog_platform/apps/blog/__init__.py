"""Blog app: posts, comments and their moderation, search, and the live page."""
from __future__ import annotations

from specter_spoc.project import AppConfig

app = AppConfig(
    name="blog",
    label="Blog",
    depends_on=["users"],  # posts have authors: users start first and stop last
    description="posts, comments, moderation, search and the live page",
    version="1.0",
)
