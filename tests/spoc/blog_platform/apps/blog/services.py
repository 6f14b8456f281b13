"""
Blog services.

Business logic for blog operations including post and comment management.
"""

from datetime import datetime
from typing import List, Optional

from framework.components import service
from framework.database import db


@service
class PostService:
    """
    Service for managing blog posts.

    Handles post creation, updates, publishing, and retrieval.
    """

    def __init__(self):
        """Initialize the post service."""
        self.db = db

    def create_post(
        self,
        title: str,
        content: str,
        author_id: int,
    ) -> int:
        """
        Create a new blog post.

        Args:
            title: Post title
            content: Post content
            author_id: ID of the author

        Returns:
            The ID of the created post
        """
        slug = title.lower().replace(" ", "-")
        post_data = {
            "title": title,
            "content": content,
            "author_id": author_id,
            "slug": slug,
            "created_at": datetime.now(),
            "updated_at": datetime.now(),
            "published": False,
        }
        post_id = self.db.insert("posts", post_data)
        print(f"  [PostService] Created post: {title} (ID: {post_id})")
        return post_id

    def publish_post(self, post_id: int) -> bool:
        """
        Publish a post.

        Args:
            post_id: ID of the post to publish

        Returns:
            True if successful, False otherwise
        """
        post = self.db.find_by_id("posts", post_id)
        if post:
            post["published"] = True
            post["updated_at"] = datetime.now()
            print(f"  [PostService] Published post ID: {post_id}")
            return True
        return False

    def get_post(self, post_id: int) -> Optional[dict]:
        """
        Get a post by ID.

        Args:
            post_id: The post's ID

        Returns:
            Post data if found, None otherwise
        """
        return self.db.find_by_id("posts", post_id)

    def list_posts(self, published_only: bool = False) -> List[dict]:
        """
        List all posts.

        Args:
            published_only: Whether to return only published posts

        Returns:
            List of posts
        """
        posts = self.db.find_all("posts")
        if published_only:
            return [p for p in posts if p.get("published", False)]
        return posts


@service
class CommentService:
    """
    Service for managing blog comments.

    Handles comment creation, moderation, and retrieval.
    """

    def __init__(self):
        """Initialize the comment service."""
        self.db = db

    def create_comment(
        self,
        post_id: int,
        author_id: int,
        text: str,
    ) -> int:
        """
        Create a new comment.

        Args:
            post_id: ID of the post being commented on
            author_id: ID of the comment author
            text: Comment text

        Returns:
            The ID of the created comment
        """
        comment_data = {
            "post_id": post_id,
            "author_id": author_id,
            "text": text,
            "created_at": datetime.now(),
            "approved": False,
        }
        comment_id = self.db.insert("comments", comment_data)
        print(f"  [CommentService] Created comment on post {post_id} (ID: {comment_id})")
        return comment_id

    def approve_comment(self, comment_id: int) -> bool:
        """
        Approve a comment for display.

        Args:
            comment_id: ID of the comment to approve

        Returns:
            True if successful, False otherwise
        """
        comment = self.db.find_by_id("comments", comment_id)
        if comment:
            comment["approved"] = True
            print(f"  [CommentService] Approved comment ID: {comment_id}")
            return True
        return False

    def get_comments_for_post(self, post_id: int) -> List[dict]:
        """
        Get all comments for a post.

        Args:
            post_id: ID of the post

        Returns:
            List of comments
        """
        comments = self.db.find_all("comments")
        return [c for c in comments if c["post_id"] == post_id]
