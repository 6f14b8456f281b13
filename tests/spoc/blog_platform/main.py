"""
Main application entry point.

This module bootstraps the SPOC framework, initializes all apps,
sets up lifecycle hooks, and starts background workers.
"""

from pathlib import Path
import time

from specter_spoc.spoc import Framework, Schema, Hook
from specter_spoc.spoc.workers import Server

from config import settings
from framework.database import db


def init_database(module) -> None:
    """
    Initialize the database when models are loaded.

    This hook is called when model modules are loaded, allowing
    database setup before any data operations occur.

    Args:
        module: The module being loaded
    """
    print(f"  [Database] Initializing tables for: {module.__name__}")
    # In a real app, create tables, run migrations, etc.


def close_database(module) -> None:
    """
    Close database connections when shutting down.

    This hook is called when the application is shutting down,
    ensuring proper cleanup of database resources.

    Args:
        module: The module being unloaded
    """
    print(f"  [Database] Closing connections for: {module.__name__}")
    # In a real app, close connections, save state, etc.


def init_services(module) -> None:
    """
    Initialize services when loaded.

    Args:
        module: The service module being loaded
    """
    print(f"  [Services] Initializing: {module.__name__}")


# Define the application schema
schema = Schema(
    # Modules to load from each app (in order)
    modules=["models", "views", "services", "workers"],
    # Module dependencies (ensure models load before views and services)
    dependencies={
        "views": ["models"],
        "services": ["models"],
        "workers": ["models", "services"],
    },
    # Lifecycle hooks for module initialization and cleanup
    hooks={
        "models": Hook(
            startup=init_database,
            shutdown=close_database,
        ),
        "services": Hook(
            startup=init_services,
        ),
        "views": Hook(
            startup=lambda m: print(f"  [Views] Loaded: {m.__name__}"),
        ),
        "workers": Hook(
            startup=lambda m: print(f"  [Workers] Registered: {m.__name__}"),
        ),
    },
)

# Create the framework instance
framework = Framework(
    base_dir=settings.BASE_DIR,
    schema=schema,
    echo=False,
    mode="strict",
)


def demonstrate_app_interaction():
    """
    Demonstrate how apps interact through the framework.

    Shows dependency injection, service usage, and cross-app communication.
    """
    print("\n" + "=" * 60)
    print("DEMONSTRATING APP INTERACTION")
    print("=" * 60)

    # Get services from the framework
    UserService = framework.get_component("services", "users.UserService")
    PostService = framework.get_component("services", "blog.PostService")
    CommentService = framework.get_component("services", "blog.CommentService")

    if not all([UserService, PostService, CommentService]):
        print("  [ERROR] Could not load all required services")
        return

    # Instantiate services
    user_service = UserService()
    post_service = PostService()
    comment_service = CommentService()

    print("\n--- Creating Users ---")
    user1_id = user_service.create_user(
        username="alice",
        email="alice@example.com",
        full_name="Alice Johnson",
    )
    user2_id = user_service.create_user(
        username="bob",
        email="bob@example.com",
        full_name="Bob Smith",
    )

    print("\n--- Creating Blog Posts ---")
    post1_id = post_service.create_post(
        title="Getting Started with SPOC",
        content="SPOC is a powerful framework for building modular applications...",
        author_id=user1_id,
    )
    post2_id = post_service.create_post(
        title="Advanced SPOC Patterns",
        content="Learn about advanced patterns and best practices...",
        author_id=user1_id,
    )

    print("\n--- Publishing Posts ---")
    post_service.publish_post(post1_id)
    post_service.publish_post(post2_id)

    print("\n--- Adding Comments ---")
    comment1_id = comment_service.create_comment(
        post_id=post1_id,
        author_id=user2_id,
        text="Great article! Very helpful.",
    )
    comment2_id = comment_service.create_comment(
        post_id=post1_id,
        author_id=user1_id,
        text="Thank you for the feedback!",
    )

    print("\n--- Approving Comments ---")
    comment_service.approve_comment(comment1_id)
    comment_service.approve_comment(comment2_id)

    print("\n--- Summary ---")
    print(f"  Total users: {len(user_service.list_users())}")
    print(f"  Total posts: {len(post_service.list_posts())}")
    print(f"  Published posts: {len(post_service.list_posts(published_only=True))}")
    print(f"  Comments on post 1: {len(comment_service.get_comments_for_post(post1_id))}")


def demonstrate_components():
    """Display all registered components."""
    print("\n" + "=" * 60)
    print("REGISTERED COMPONENTS")
    print("=" * 60)

    # Display models
    print("\n--- Models ---")
    if hasattr(framework.components, "models"):
        for name, model in framework.components.models.items():
            print(f"  • {name}: {model}")

    # Display views
    print("\n--- Views ---")
    if hasattr(framework.components, "views"):
        for name, view in framework.components.views.items():
            print(f"  • {name}: {view}")

    # Display services
    print("\n--- Services ---")
    if hasattr(framework.components, "services"):
        for name, service in framework.components.services.items():
            print(f"  • {name}: {service}")

    # Display workers
    print("\n--- Workers ---")
    if hasattr(framework.components, "workers"):
        for name, worker in framework.components.workers.items():
            print(f"  • {name}: {worker}")


def start_background_workers():
    """
    Start background workers using the Server.

    Demonstrates how to initialize and manage multiple workers
    that run concurrently with the main application.
    """
    print("\n" + "=" * 60)
    print("STARTING BACKGROUND WORKERS")
    print("=" * 60 + "\n")

    # Create worker server
    server = Server(name="BlogPlatformServer")

    # Get worker classes from framework
    EmailWorker = framework.get_component("workers", "users.EmailNotificationWorker")
    IndexWorker = framework.get_component("workers", "blog.ContentIndexerWorker")

    if EmailWorker:
        email_worker = EmailWorker()
        server.add_worker(email_worker)
        print(f"  • Added {email_worker.name}")

    if IndexWorker:
        index_worker = IndexWorker()
        server.add_worker(index_worker)
        print(f"  • Added {index_worker.name}")

    # Start all workers
    print("\n  Starting workers...\n")
    server.start()

    # Let workers run for a bit
    print("  Workers are running (will stop in 5 seconds)...\n")
    time.sleep(5)

    # Stop workers
    print("\n  Stopping workers...\n")
    server.stop()
    server.join_all(timeout=2)


def main():
    """
    Main application entry point.

    Orchestrates the entire application lifecycle including:
    1. Framework initialization
    2. Component registration and display
    3. Cross-app interaction demonstration
    4. Background worker management
    5. Graceful shutdown
    """
    print("\n" + "=" * 60)
    print("BLOG PLATFORM - SPOC APPLICATION")
    print("=" * 60)
    print(f"\nInstalled apps: {framework.installed_apps}")

    # Display all registered components
    demonstrate_components()

    # Demonstrate app interaction
    demonstrate_app_interaction()

    # Start and manage background workers
    start_background_workers()

    # Cleanup
    print("\n" + "=" * 60)
    print("SHUTTING DOWN APPLICATION")
    print("=" * 60 + "\n")

    # Clear database
    db.clear()

    # Shutdown framework
    framework.shutdown()

    print("\n" + "=" * 60)
    print("APPLICATION STOPPED")
    print("=" * 60 + "\n")


if __name__ == "__main__":
    main()
