"""
User views.

HTTP request handlers for user-related endpoints.
"""

from typing import Any, Dict

from framework.components import view


@view
def register_user(data: Dict[str, Any]) -> Dict[str, Any]:
    """
    Handle user registration request.

    Args:
        data: Registration data containing username, email, full_name

    Returns:
        Response with user ID and status
    """
    # In a real app, this would validate input and call the service
    return {
        "action": "register_user",
        "status": "success",
        "data": data,
    }


@view
def login_user(data: Dict[str, Any]) -> Dict[str, Any]:
    """
    Handle user login request.

    Args:
        data: Login credentials

    Returns:
        Response with authentication token
    """
    return {
        "action": "login_user",
        "status": "success",
        "username": data.get("username"),
    }


@view
def get_profile(user_id: int) -> Dict[str, Any]:
    """
    Get user profile.

    Args:
        user_id: ID of the user

    Returns:
        User profile data
    """
    return {
        "action": "get_profile",
        "status": "success",
        "user_id": user_id,
    }
