"""gunicorn entry point: ``gunicorn ... 'relay_wsgi:create_app()'``."""
from __future__ import annotations

import logging
from pathlib import Path


def create_app():
    from specter_spoc import create_app as build

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    redis_log = logging.getLogger("specter_spoc.contrib.redis")
    redis_log.addHandler(handler)
    redis_log.setLevel(logging.INFO)
    redis_log.propagate = False
    return build(Path(__file__).resolve().parent)
