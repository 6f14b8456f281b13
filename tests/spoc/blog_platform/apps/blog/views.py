"""
Blog views.

HTTP request handlers for blog-related endpoints.
"""

from typing import Any, Dict

from framework.components import view


@view
def list_posts() -> Dict[str, Any]:
    """
    List all blog posts.

    Returns:
        Response with list of posts
    """
    return {
        "action": "list_posts",
        "status": "success",
    }


@view
def create_post(data: Dict[str, Any]) -> Dict[str, Any]:
    """
    Create a new blog post.

    Args:
        data: Post data including title, content, author_id

    Returns:
        Response with created post ID
    """
    return {
        "action": "create_post",
        "status": "success",
        "data": data,
    }


@view
def get_post(post_id: int) -> Dict[str, Any]:
    """
    Get a specific blog post.

    Args:
        post_id: ID of the post to retrieve

    Returns:
        Response with post data
    """
    return {
        "action": "get_post",
        "status": "success",
        "post_id": post_id,
    }


@view
def add_comment(data: Dict[str, Any]) -> Dict[str, Any]:
    """
    Add a comment to a post.

    Args:
        data: Comment data including post_id, author_id, text

    Returns:
        Response with created comment ID
    """
    return {
        "action": "add_comment",
        "status": "success",
        "data": data,
    }
