"""
Blog workers.

Background tasks for blog-related operations.
"""

import time

from framework.components import worker
from specter_spoc.spoc.workers import ProcessWorker


@worker
class ContentIndexerWorker(ProcessWorker):
    """
    Background worker for indexing blog content.

    Periodically re-indexes blog posts for search functionality.
    This runs in a separate process to avoid blocking the main application.
    """

    def __init__(self):
        """Initialize the content indexer worker."""
        super().__init__(name="ContentIndexerWorker", daemon=True)
        self.index_interval = 300  # Re-index every 5 minutes

    def setup(self) -> None:
        """Setup the worker (runs before main loop)."""
        print(f"  [{self.name}] Initializing search index...")
        self.context.indexed_posts = 0
        self.context.last_index_time = None

    def main(self) -> None:
        """
        Main worker loop.

        Periodically re-indexes all blog posts for search.
        """
        print(f"  [{self.name}] Started content indexing")

        while self.is_running:
            # Simulate indexing posts
            print(f"  [{self.name}] Re-indexing content...")
            self.context.indexed_posts += 10  # Simulated
            self.context.last_index_time = time.time()

            # Wait before next index
            time.sleep(self.index_interval)

    def teardown(self) -> None:
        """Cleanup when worker stops."""
        print(
            f"  [{self.name}] Shutting down. "
            f"Total posts indexed: {self.context.indexed_posts}"
        )

    def lifecycle(self, event_type: str, **data) -> None:
        """Handle lifecycle events."""
        if event_type == "startup":
            print(f"  [{self.name}] Lifecycle: Started")
        elif event_type == "shutdown":
            print(f"  [{self.name}] Lifecycle: Stopped")
        elif event_type == "error":
            print(f"  [{self.name}] Error: {data.get('exception')}")
