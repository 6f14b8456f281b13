"""WSGI entry point of the blog platform: ``create_app()`` for gunicorn.

Run from this folder (or pass ``--chdir examples/blog_platform``)::

    gunicorn -k geventwebsocket.gunicorn.workers.GeventWebSocketWorker -w 1 -b 127.0.0.1:8000 'wsgi:create_app()'
    gunicorn -k gevent -w 1 -b 127.0.0.1:8000 'wsgi:create_app()'

gunicorn's gevent workers monkey-patch before they import this module; do
not use ``--preload`` (specter_spoc refuses to boot in the master process).

It is also the app of the ``flask`` command, e.g. for the migrations::

    flask --app wsgi:create_app db upgrade       # apply them (SQLite does it at boot by itself)
    flask --app wsgi:create_app db migrate -m "add tags"   # after changing a model

The one import from specter_spoc below is the only place the example names
where ``create_app`` lives.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional

from specter_spoc import create_app as _create_project_app

#: the project folder (config/, framework/, apps/, templates/, static/)
PROJECT_DIR = Path(__file__).resolve().parent


def create_app(mode: Optional[str] = None, config: Optional[Dict[str, Any]] = None) -> Any:
    """Build and boot the blog platform's Flask app.

    ``mode`` overrides ``SPOC_MODE`` / spoc.toml; ``config`` overrides
    settings (``{"DATABASE_URL": "sqlite:////tmp/blog.db"}``). The runtime is
    ``app.extensions["specter_spoc"]``, the SocketIO ``app.extensions["socketio"]``.
    """
    return _create_project_app(PROJECT_DIR, mode=mode, config=config)
