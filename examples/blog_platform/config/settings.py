"""Settings of the blog platform (seed 001's settings, on real persistence).

Every UPPERCASE name becomes Flask config (``current_app.config``) when
``specter_spoc.runtime.create_app`` builds the app. Values come from the
environment, which ``config/.env`` fills for variables that are not set
(see ``config/.env.example``); tests override single keys with
``create_app(..., config={...})``.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

#: the project folder (holds config/, framework/, apps/, templates/, static/)
BASE_DIR: Path = Path(__file__).resolve().parent.parent


def _flag(name: str, default: Optional[bool]) -> Optional[bool]:
    """An on/off environment variable (true/false, 1/0, yes/no, on/off)."""
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"environment variable {name}={raw!r} is not a boolean: use true or false.")


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        return float(raw) if raw else default
    except ValueError:
        raise ValueError(f"environment variable {name}={raw!r} must be a number of seconds.") from None


APP_NAME = "blog_platform"

# Apps always installed (spoc.toml's [spoc.apps] adds apps per mode)
INSTALLED_APPS: list = [
    "users",  # accounts, login tokens, profiles, e-mail notifications
    "blog",   # posts, comments, moderation, search, the live page
]

# SPOC's Schema is specter_spoc's Layout: module kinds, their order and hooks
SPOC_LAYOUT = "framework.layout.LAYOUT"

# Plugins for cross-cutting concerns (spoc.toml's [spoc.plugins] entries come first)
PLUGINS: dict = {
    "middleware": [],
    "hooks": [
        "framework.database.DatabaseHooks",  # Flask-SQLAlchemy + Flask-Migrate on the app; engines disposed last
    ],
}
# Plugins are loaded, not applied (as in SPOC); let the runtime apply these two groups
SPOC_APPLY_PLUGINS = True

# Off by default so a served page never shows tracebacks; DEBUG=true to turn on
DEBUG = _flag("DEBUG", False)

# Signs login tokens. Production refuses to boot without it; development and
# test use a random key per process (tokens then die with the process).
SECRET_KEY = os.environ.get("SECRET_KEY", "")

# Database (seed 001's dict, read from DB_* variables). DATABASE_URL, when
# set, wins: any SQLAlchemy URL. The default is an SQLite file under var/.
DATABASE: dict = {
    "engine": os.environ.get("DB_ENGINE", "sqlite"),
    "name": os.environ.get("DB_NAME", "blog_platform.db"),
    "host": os.environ.get("DB_HOST", "localhost"),
    "port": int(os.environ.get("DB_PORT", "5432") or 5432),
    "user": os.environ.get("DB_USER", ""),
    "password": os.environ.get("DB_PASSWORD", ""),
}
DATABASE_URL = os.environ.get("DATABASE_URL", "")
#: folder for SQLite files named by DATABASE["name"]
DATA_DIR: Path = BASE_DIR / "var"
#: echo every SQL statement to the log
DATABASE_ECHO = _flag("DATABASE_ECHO", False)
#: apply pending Alembic migrations at boot (default: on for SQLite, off for
#: server databases, where `flask --app wsgi:create_app db upgrade` runs them)
DATABASE_AUTO_MIGRATE = _flag("DATABASE_AUTO_MIGRATE", None)

# Background workers (seed 001's WORKERS): enabled and interval in seconds
WORKERS: dict = {
    "email_notifications": {
        "enabled": _flag("ENABLE_EMAIL_WORKER", True),
        "interval": _seconds("EMAIL_WORKER_INTERVAL", 60),  # retry pending outbox mail
    },
    "content_indexer": {
        "enabled": _flag("ENABLE_INDEXER_WORKER", True),
        "interval": _seconds("INDEXER_WORKER_INTERVAL", 300),  # re-index stale posts
    },
}

# E-mail goes into the database's outbox table: nothing leaves the machine
EMAIL: dict = {
    "backend": "outbox",
    "sender": os.environ.get("EMAIL_SENDER", "Blog Platform <noreply@blog.localhost>"),
}

# Largest request body accepted (413 above it); a post is at most 20 000 characters
MAX_CONTENT_LENGTH = 1024 * 1024

# Login tokens (itsdangerous, signed with SECRET_KEY) and the page's login
# cookie expire after this many seconds
TOKEN_MAX_AGE = int(os.environ.get("TOKEN_MAX_AGE", str(7 * 24 * 3600)))
PERMANENT_SESSION_LIFETIME = TOKEN_MAX_AGE
# The page's login cookie: not readable by scripts, not sent by other sites' forms
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = _flag("SESSION_COOKIE_SECURE", False)  # true behind HTTPS

# Demo users and posts at start (bash scripts/serve.sh --demo sets BLOG_DEMO=true)
DEMO = _flag("BLOG_DEMO", False)
# scrypt cost for password hashes (stored with each hash, so it can change later)
PASSWORD_SCRYPT_N = int(os.environ.get("PASSWORD_SCRYPT_N", str(2 ** 14)))
# worker processes hashing passwords (one CPU core each)
PASSWORD_HASH_WORKERS = int(os.environ.get("PASSWORD_HASH_WORKERS", "1"))
