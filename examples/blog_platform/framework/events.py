"""Names of the bus events the apps send each other, defined once.

The users and blog apps talk over the bus without importing each other's
modules (users must not import blog: blog depends on users). Both import the
names from here, so a sender and its listeners cannot drift apart.

=====================  ================================================================
``user:registered``    the new user's private dict (e-mail worker: welcome mail)
``post:created``       the draft's dict (not broadcast to clients)
``post:updated``       the post's dict (indexer: re-index when published)
``post:published``     the post's dict (indexer, Socket.IO ``post_published``)
``comment:added``      ``{"comment", "post_id", "post_title", "post_author_id", "pending"}``
``comment:approved``   ``{"comment", "post_id"}``
``post:indexed``       ``{"post_id", "terms"}`` after the search index was written
=====================  ================================================================
"""
from __future__ import annotations

USER_REGISTERED = "user:registered"
POST_CREATED = "post:created"
POST_UPDATED = "post:updated"
POST_PUBLISHED = "post:published"
COMMENT_ADDED = "comment:added"
COMMENT_APPROVED = "comment:approved"
POST_INDEXED = "post:indexed"
