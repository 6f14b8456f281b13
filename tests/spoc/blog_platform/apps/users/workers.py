"""
User workers.

Background tasks for user-related operations.
"""

import time

from framework.components import worker
from specter_spoc.spoc.workers import ThreadWorker


@worker
class EmailNotificationWorker(ThreadWorker):
    """
    Background worker for sending email notifications.

    Periodically checks for pending notifications and sends emails.
    """

    def __init__(self):
        """Initialize the email notification worker."""
        super().__init__(name="EmailNotificationWorker", daemon=True)
        self.check_interval = 60  # Check every 60 seconds

    def setup(self) -> None:
        """Setup the worker (runs before main loop)."""
        print(f"  [{self.name}] Initializing email service...")
        self.context.email_queue = []
        self.context.sent_count = 0

    def main(self) -> None:
        """
        Main worker loop.

        Checks for pending emails and sends them.
        """
        print(f"  [{self.name}] Started monitoring email queue")

        while self.is_running:
            # Simulate checking for pending emails
            pending = len(self.context.email_queue)
            if pending > 0:
                print(f"  [{self.name}] Processing {pending} pending emails...")
                self.context.sent_count += pending
                self.context.email_queue.clear()

            # Wait before next check
            time.sleep(self.check_interval)

    def teardown(self) -> None:
        """Cleanup when worker stops."""
        print(
            f"  [{self.name}] Shutting down. "
            f"Total emails sent: {self.context.sent_count}"
        )

    def lifecycle(self, event_type: str, **data) -> None:
        """Handle lifecycle events."""
        if event_type == "startup":
            print(f"  [{self.name}] Lifecycle: Started")
        elif event_type == "shutdown":
            print(f"  [{self.name}] Lifecycle: Stopped")
        elif event_type == "error":
            print(f"  [{self.name}] Error: {data.get('exception')}")
