"""The module layout of every app (SPOC's ``Schema``, here a ``Layout``).

Each app may have ``models``, ``services``, ``workers`` and ``controllers``
modules; they are imported in that dependency order, so a controller can rely
on its app's models and services being defined. The hooks log each module
as it starts and stops, like the seed's ``init_database`` / ``close_database``
hooks (the tables themselves come from the Alembic migrations in migrations/).
"""
from __future__ import annotations

import logging
from types import ModuleType

from specter_spoc.project import Hook, Layout

logger = logging.getLogger("blog_platform")


def _started(module: ModuleType) -> None:
    logger.info("module ready: %s", module.__name__)


def _stopped(module: ModuleType) -> None:
    logger.info("module stopped: %s", module.__name__)


LAYOUT = Layout(
    modules=["models", "services", "workers", "controllers"],
    dependencies={
        "services": ["models"],
        "workers": ["models", "services"],
        "controllers": ["models", "services"],
    },
    hooks={
        "models": Hook(startup=_started, shutdown=_stopped),
        "workers": Hook(startup=_started, shutdown=_stopped),
        "controllers": Hook(startup=_started),
    },
    required=["models", "services", "controllers"],
)
