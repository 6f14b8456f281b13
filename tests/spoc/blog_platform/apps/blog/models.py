"""
Blog models.

Defines the data structures for blog-related entities.
"""

import dataclasses as dc
from datetime import datetime

from framework.components import model


@dc.dataclass
@model
class Post:
    """
    Blog post model.

    Attributes:
        id: Unique post identifier
        title: Post title
        content: Post content (markdown supported)
        author_id: ID of the user who created the post
        created_at: When the post was created
        updated_at: When the post was last updated
        published: Whether the post is published
        slug: URL-friendly version of the title
    """

    id: int
    title: str
    content: str
    author_id: int
    created_at: datetime
    updated_at: datetime
    published: bool = False
    slug: str = ""

    def __str__(self) -> str:
        return f"Post(id={self.id}, title={self.title})"


@dc.dataclass
@model
class Comment:
    """
    Comment model for blog posts.

    Attributes:
        id: Unique comment identifier
        post_id: ID of the post being commented on
        author_id: ID of the user who wrote the comment
        text: Comment text
        created_at: When the comment was created
        approved: Whether the comment is approved for display
    """

    id: int
    post_id: int
    author_id: int
    text: str
    created_at: datetime
    approved: bool = False

    def __str__(self) -> str:
        return f"Comment(id={self.id}, post_id={self.post_id})"
