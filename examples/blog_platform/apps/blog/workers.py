"""Blog app worker: the content indexer (seed 001's ContentIndexerWorker).

SPOC ran it as a ProcessWorker. Here it is a
:class:`~specter_spoc.QueueService` whose CPU work (tokenising and weighing a
post's words, :func:`framework.text.index_document`) runs in a worker process
through :meth:`~specter_spoc.QueueService.offload`: the hub keeps serving
HTTP and Socket.IO while a long post is indexed. The index lands in the
``post_terms`` table, which ``GET /api/search`` reads.

It indexes a post when it is published or edited (bus events
``post:published``, ``post:updated``), and
sweeps for published posts that were never indexed or changed since, at
start and every ``WORKERS["content_indexer"]["interval"]`` seconds. With
``enabled`` False it indexes nothing (search then finds only what was
indexed before).
"""
from __future__ import annotations

import logging
from typing import Any, Dict, Mapping, Set

from flask import current_app

from framework.events import POST_INDEXED, POST_PUBLISHED, POST_UPDATED
from framework.text import index_document
from specter_spoc import QueueService, registry
from specter_spoc.project import worker

from .services import PostService

logger = logging.getLogger("blog_platform.indexer")


@worker
class ContentIndexer(QueueService):
    """Queue of post ids to (re)index.

    Example::

        indexer = registry.require(ContentIndexer)    # found by class
        indexer.request(post_id)
        indexer.queue.join(timeout=10)     # wait until indexed
    """

    max_retries = 1
    retry_backoff = 0.2
    drain_timeout = 5.0
    offload_workers = 1

    def __init__(self, name: str) -> None:
        super().__init__(name, worker_count=1, maxsize=10_000)
        self.enabled = False
        self._requested: Set[int] = set()
        self._indexed = 0

    def on_start(self) -> None:
        super().on_start()
        settings = (current_app.config.get("WORKERS") or {}).get("content_indexer") or {}
        self.enabled = bool(settings.get("enabled", True))
        self._requested.clear()
        if not self.enabled:
            logger.info("content indexing is disabled (WORKERS['content_indexer']['enabled'])")
            return
        self.listen(POST_PUBLISHED, self._on_published)
        self.listen(POST_UPDATED, self._on_published)  # published posts only: see handle_item
        self.interval(self.sweep, float(settings.get("interval") or 300))
        self.spawn(self.sweep, label="sweep-at-start")

    @property
    def posts(self) -> PostService:
        return registry.require(PostService)

    # --------------------------------------------------------------- requests
    def _on_published(self, post: Mapping[str, Any]) -> None:
        if post.get("published"):
            self.request(int(post["id"]))

    def request(self, post_id: int) -> bool:
        """Queue ``post_id`` for indexing unless it is already queued."""
        if post_id in self._requested:
            return True
        self._requested.add(post_id)
        if not self.enqueue(post_id):
            self._requested.discard(post_id)
            return False
        return True

    def sweep(self) -> int:
        """Queue every published post whose index is missing or stale."""
        queued = sum(1 for post_id in self.posts.stale_post_ids() if self.request(post_id))
        if queued:
            logger.info("indexer sweep queued %d post(s)", queued)
        return queued

    # ------------------------------------------------------------------- work
    def handle_item(self, post_id: int) -> None:
        self._requested.discard(post_id)
        posts = self.posts
        source = posts.index_source(post_id)
        if source is None:
            return  # deleted meanwhile
        weights: Dict[str, int] = {}
        if source["published"]:
            weights = self.offload(index_document, source["title"], source["content"])
        posts.replace_terms(post_id, weights)
        self._indexed += 1
        self.emit(POST_INDEXED, {"post_id": post_id, "terms": len(weights)})

    def on_undelivered(self, items: Any) -> None:
        # nothing is lost: the sweep at the next start finds these posts still stale
        logger.info("indexer stopped with %d post(s) queued; the next start re-indexes them", len(items))

    def health(self) -> Dict[str, Any]:
        report = super().health()
        report.update(enabled=self.enabled, indexed=self._indexed)
        return report
