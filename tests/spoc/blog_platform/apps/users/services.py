"""
User services.

Business logic for user management operations.
"""

from datetime import datetime
from typing import Optional

from framework.components import service
from framework.database import db


@service
class UserService:
    """
    Service for managing user operations.

    Provides methods for user registration, authentication,
    and profile management.
    """

    def __init__(self):
        """Initialize the user service."""
        self.db = db

    def create_user(
        self,
        username: str,
        email: str,
        full_name: str,
    ) -> int:
        """
        Create a new user.

        Args:
            username: Unique username
            email: User's email address
            full_name: User's full name

        Returns:
            The ID of the created user
        """
        user_data = {
            "username": username,
            "email": email,
            "full_name": full_name,
            "created_at": datetime.now(),
            "is_active": True,
        }
        user_id = self.db.insert("users", user_data)
        print(f"  [UserService] Created user: {username} (ID: {user_id})")
        return user_id

    def get_user(self, user_id: int) -> Optional[dict]:
        """
        Get a user by ID.

        Args:
            user_id: The user's ID

        Returns:
            User data if found, None otherwise
        """
        return self.db.find_by_id("users", user_id)

    def list_users(self) -> list:
        """
        List all users.

        Returns:
            List of all users
        """
        return self.db.find_all("users")

    def authenticate(self, username: str) -> Optional[dict]:
        """
        Authenticate a user by username.

        Args:
            username: Username to authenticate

        Returns:
            User data if authenticated, None otherwise
        """
        users = self.db.find_all("users")
        for user in users:
            if user["username"] == username and user["is_active"]:
                return user
        return None
