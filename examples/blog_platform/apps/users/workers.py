"""Users app worker: e-mail notifications (seed 001's EmailNotificationWorker).

A :class:`~specter_spoc.QueueService` instead of a thread: the bus listeners
enqueue a message (cheap, on the request's greenlet) and a worker greenlet
delivers it. "Delivering" writes it into the ``email_outbox`` table, the
local mailbox of this example: nothing leaves the machine.

What it sends:

- ``user:registered`` -> a welcome e-mail to the new user;
- ``comment:added`` (from the blog app) -> a moderation notice to the post's
  author (not when authors comment on their own post).

Settings: ``WORKERS["email_notifications"]``: ``enabled`` (False: nothing
is sent) and ``interval``, the seconds between retries of *pending* mail.
Mail that was still queued when the server stopped is not lost: the
QueueService hands it to :meth:`on_undelivered`, which stores it as pending,
and the next run delivers it.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Mapping, Optional

from flask import current_app
from sqlalchemy import func, select

from framework.database import transaction, utcnow
from framework.events import COMMENT_ADDED, USER_REGISTERED
from specter_spoc import QueueService, registry
from specter_spoc.project import worker

from .models import OutboxEmail, User

logger = logging.getLogger("blog_platform.email")


@worker
class EmailNotificationWorker(QueueService):
    """Queue of e-mails to deliver into the outbox.

    Example::

        mailer = registry.require(EmailNotificationWorker)     # found by class
        mailer.enqueue({"kind": "note", "to": "a@example.com", "subject": "Hi", "body": "..."})
        mailer.queue.join(timeout=5)      # wait until delivered
        mailer.outbox()                   # [{... "status": "sent"}]
    """

    max_retries = 2
    retry_backoff = 0.05
    drain_timeout = 3.0

    def __init__(self, name: str) -> None:
        super().__init__(name, worker_count=1, maxsize=10_000)
        self.enabled = False
        self.sender = ""

    # ------------------------------------------------------------ lifecycle
    def on_start(self) -> None:
        super().on_start()  # worker greenlets and the queue-size poll
        config = current_app.config
        settings = (config.get("WORKERS") or {}).get("email_notifications") or {}
        self.enabled = bool(settings.get("enabled", True))
        self.sender = str((config.get("EMAIL") or {}).get("sender") or "noreply@blog.localhost")
        if not self.enabled:
            logger.info("e-mail notifications are disabled (WORKERS['email_notifications']['enabled'])")
            return
        self.listen(USER_REGISTERED, self._on_user_registered)
        self.listen(COMMENT_ADDED, self._on_comment_added)
        interval = float(settings.get("interval") or 60)
        self.interval(self.deliver_pending, interval)
        self.spawn(self.deliver_pending, label="deliver-pending-at-start")

    # ------------------------------------------------------- bus listeners
    def _on_user_registered(self, user: Mapping[str, Any]) -> None:
        name = user.get("full_name") or user["username"]
        self._enqueue({
            "kind": "welcome", "to": user["email"], "subject": "Welcome to the blog platform",
            "body": f"Hello {name},\n\nyour account '{user['username']}' is ready. Log in and write "
                    "your first post.\n",
        })

    def _on_comment_added(self, event: Mapping[str, Any]) -> None:
        comment = event["comment"]
        if comment["author"]["id"] == event["post_author_id"]:
            return  # no notice for a comment on one's own post
        self._enqueue({
            "kind": "comment", "user_id": event["post_author_id"],
            "subject": f"New comment on '{event['post_title']}'",
            "body": f"{comment['author']['username']} commented on your post '{event['post_title']}':\n\n"
                    f"{comment['text']}\n\nApprove it with POST /api/comments/{comment['id']}/approve.\n",
        })

    def _enqueue(self, message: Dict[str, Any]) -> None:
        if not self.enqueue(message):
            logger.warning("e-mail %r not queued (queue full or stopping); it is stored as pending",
                           message.get("subject"))
            self._store([message], status="pending")

    # -------------------------------------------------------------- delivery
    def handle_item(self, message: Dict[str, Any]) -> None:
        self._store([message], status="sent")

    def on_undelivered(self, items: List[Any]) -> None:
        """Still queued at shutdown: keep them as pending mail for the next run."""
        logger.warning("storing %d undelivered e-mail(s) as pending", len(items))
        self._store(items, status="pending")

    def on_dead_letter(self, item: Any, exc: BaseException) -> None:
        logger.error("e-mail %r failed after %d attempts: %s: %s", item.get("subject"), self.max_retries + 1,
                     type(exc).__name__, exc)

    def _store(self, messages: List[Dict[str, Any]], *, status: str) -> None:
        now = utcnow()
        with transaction() as session:
            for message in messages:
                recipient = message.get("to")
                if recipient is None:
                    user = session.get(User, message["user_id"])
                    if user is None:
                        logger.warning("e-mail %r dropped: user %s no longer exists", message.get("subject"),
                                       message.get("user_id"))
                        continue
                    recipient = user.email
                session.add(OutboxEmail(kind=message["kind"], sender=self.sender, recipient=recipient,
                                        subject=message["subject"], body=message["body"], status=status,
                                        sent_at=now if status == "sent" else None))

    def deliver_pending(self) -> int:
        """Deliver mail stored as pending (by a previous shutdown); returns how many."""
        with transaction() as session:
            pending = session.scalars(select(OutboxEmail).where(OutboxEmail.status == "pending")).all()
            for mail in pending:
                mail.status, mail.sent_at = "sent", utcnow()
        if pending:
            logger.info("delivered %d pending e-mail(s)", len(pending))
        return len(pending)

    # ----------------------------------------------------------------- reads
    def outbox(self, recipient: Optional[str] = None) -> List[Dict[str, Any]]:
        """The outbox, oldest first (optionally for one recipient)."""
        query = select(OutboxEmail).order_by(OutboxEmail.id)
        if recipient is not None:
            query = query.where(OutboxEmail.recipient == recipient.lower())
        with transaction() as session:
            return [mail.to_dict() for mail in session.scalars(query)]

    def health(self) -> Dict[str, Any]:
        report = super().health()
        report["enabled"] = self.enabled
        if self.running:
            try:
                with self.scope.activate(), transaction() as session:
                    report["outbox"] = dict(session.execute(
                        select(OutboxEmail.status, func.count(OutboxEmail.id)).group_by(OutboxEmail.status)).all())
            except Exception as exc:  # health must answer even when the database does not
                report["outbox_error"] = f"{type(exc).__name__}"
        return report
