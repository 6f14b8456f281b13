"""
User models.

Defines the data structures for user-related entities.
"""

import dataclasses as dc
from datetime import datetime

from framework.components import model


@dc.dataclass
@model
class User:
    """
    User model representing a registered user.

    Attributes:
        id: Unique user identifier
        username: Unique username for login
        email: User's email address
        full_name: User's full name
        created_at: Timestamp when user was created
        is_active: Whether the user account is active
    """

    id: int
    username: str
    email: str
    full_name: str
    created_at: datetime
    is_active: bool = True

    def __str__(self) -> str:
        return f"User(id={self.id}, username={self.username})"


@dc.dataclass
@model
class UserProfile:
    """
    Extended user profile information.

    Attributes:
        user_id: Reference to the User
        bio: User biography
        avatar_url: URL to user's avatar image
        website: User's website URL
    """

    user_id: int
    bio: str = ""
    avatar_url: str = ""
    website: str = ""
