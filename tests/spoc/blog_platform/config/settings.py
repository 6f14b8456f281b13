"""
Project settings configuration.

Defines the base configuration for the blog platform including
installed apps, database settings, and plugin configuration.
"""

from pathlib import Path

# Base directory of the project
BASE_DIR: Path = Path(__file__).resolve().parent.parent

# Apps always installed regardless of environment
INSTALLED_APPS: list = [
    "users",  # User management (authentication, profiles)
    "blog",  # Blog functionality (posts, comments)
]

# Plugin configuration for cross-cutting concerns
PLUGINS: dict = {
    "middleware": [
        # Add middleware plugins here
        # Example: "framework.middleware.LoggingMiddleware"
    ],
    "hooks": [
        # Add hook plugins here
        # Example: "framework.hooks.MetricsHook"
    ],
}

# Database configuration (loaded from environment variables)
DATABASE: dict = {
    "engine": "sqlite",  # Will be overridden by environment
    "name": "blog_platform.db",
    "host": "localhost",
    "port": 5432,
    "user": "",
    "password": "",
}

# Worker configuration
WORKERS: dict = {
    "email_notifications": {
        "enabled": True,
        "interval": 60,  # Check every 60 seconds
    },
    "content_indexer": {
        "enabled": True,
        "interval": 300,  # Re-index every 5 minutes
    },
}
