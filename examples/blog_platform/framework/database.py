"""The data layer: Flask-SQLAlchemy for engines and sessions, Alembic
migrations through Flask-Migrate.

Why these: they are what a Flask developer expects. ``db`` is the usual
``SQLAlchemy()`` extension object (models subclass ``db.Model``,
``db.session`` is the session of the current app context) and ``migrate``
is Flask-Migrate, so ``flask --app wsgi:create_app db upgrade`` /
``db migrate`` work as in any Flask project. The runtime enters the app
context in every greenlet it owns, so the services' and workers' greenlets
each get their own session, exactly like requests do.

:class:`DatabaseHooks` (a ``hooks`` plugin in settings.PLUGINS) binds both to
the app when the runtime boots, before any app service starts, applies
pending migrations when ``DATABASE_AUTO_MIGRATE`` is on (the default for
SQLite, so the first run creates the tables itself), and disposes the
engines after every service has stopped.

gevent and databases: SQLite is an in-process library on a local file, so
each statement is short; no transaction here spans a gevent switch (bus
events are emitted after the commit, password hashes are computed before
the transaction), so greenlets never wait on each other's SQLite lock. For
PostgreSQL use psycopg 3 (``postgresql+psycopg://``), whose waits are
cooperative once gevent has monkey-patched the process (``specter-spoc run``
and gunicorn's gevent workers patch first).

Example::

    with transaction() as session:       # commits on success, rolls back on error
        session.add(User(username="alice", ...))
"""
from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate import Migrate, upgrade
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import DeclarativeBase, Session

logger = logging.getLogger("blog_platform.database")
logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # one line per Alembic plugin at import

#: the Alembic migrations of the project (``flask db migrate`` writes here)
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

#: DATABASE["engine"] -> SQLAlchemy driver
_DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
}


class Base(DeclarativeBase):
    """Declarative base of every model (``db.Model`` derives from it)."""


db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()


def utcnow() -> datetime:
    """Now, in UTC, without tzinfo (what SQLite stores)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def iso(moment: Optional[datetime]) -> Optional[str]:
    """An ISO 8601 UTC timestamp for JSON (``None`` stays ``None``)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.isoformat().replace("+00:00", "Z")


def database_url(config: Mapping[str, Any]) -> str:
    """The SQLAlchemy URL from settings: ``DATABASE_URL`` when set, else built
    from the seed's ``DATABASE`` dict (SQLite files go to ``DATA_DIR``)."""
    explicit = config.get("DATABASE_URL")
    if explicit:
        url = str(explicit)
        if url.startswith(("postgres://", "postgresql://")):  # the usual URL, with the driver we ship
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url
    settings = config.get("DATABASE") or {}
    engine = str(settings.get("engine") or "sqlite").lower()
    name = str(settings.get("name") or "blog_platform.db")
    if engine == "sqlite":
        path = Path(name)
        if not path.is_absolute():
            path = Path(config.get("DATA_DIR") or ".") / path
        return URL.create("sqlite", database=str(path)).render_as_string()
    return URL.create(
        _DRIVERS.get(engine, engine), username=settings.get("user") or None,
        password=settings.get("password") or None, host=settings.get("host") or None,
        port=int(settings["port"]) if settings.get("port") else None, database=name,
    ).render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")   # SQLite ignores FOREIGN KEY without it
        cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
        cursor.execute("PRAGMA busy_timeout=5000")
    finally:
        cursor.close()


@contextmanager
def transaction() -> Iterator[Session]:
    """The app context's session in a transaction: committed when the
    outermost block ends, rolled back if it raises. Nested blocks join the
    outer transaction."""
    session = db.session()
    depth = session.info.get("depth", 0)
    session.info["depth"] = depth + 1
    try:
        yield session
        if depth == 0:
            session.commit()
    except BaseException:
        if depth == 0:
            session.rollback()
        raise
    finally:
        session.info["depth"] = depth


def _under_flask_command() -> bool:
    """True under the ``flask`` command (Flask sets FLASK_RUN_FROM_CLI), where
    ``flask db upgrade`` is how an out-of-date schema gets fixed."""
    return os.environ.get("FLASK_RUN_FROM_CLI") == "true"


def schema_revisions() -> tuple[Optional[str], Optional[str]]:
    """(the database's Alembic revision, the newest revision in migrations/)."""
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head() if MIGRATIONS_DIR.is_dir() else None
    with db.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    return current, head


def _refuse_unversioned(where: str) -> None:
    """A database with the tables but no Alembic history (made by a version
    of this example that used ``create_all``) would make the first migration
    fail on "table already exists": say what to do instead."""
    with db.engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
    if "users" in tables and "alembic_version" not in tables:
        raise RuntimeError(
            f"the database {where} has the blog's tables but no migration history (it predates the migrations): "
            "if its schema is the initial one, record that with `flask --app wsgi:create_app db stamp "
            "0001_initial` in examples/blog_platform; otherwise move the file away to start afresh.")


class DatabaseHooks:
    """``hooks`` plugin: bind ``db`` and ``migrate`` to the runtime's app at
    boot, bring the schema up to date, dispose the engines at shutdown (which
    the runtime runs after every service that writes has stopped)."""

    def startup(self, runtime: Any) -> None:
        app: Flask = runtime.app
        url = database_url(app.config)
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise ValueError(f"DATABASE_URL {url!r} is not a database URL ({exc}); write it like "
                             "sqlite:////absolute/path.db or postgresql://user:pw@host/db.") from None
        where = parsed.render_as_string(hide_password=True)
        sqlite = parsed.get_backend_name() == "sqlite"
        if sqlite and parsed.database:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = url
        app.config.setdefault("SQLALCHEMY_ECHO", bool(app.config.get("DATABASE_ECHO")))
        db.init_app(app)
        migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=sqlite)
        if sqlite:
            event.listen(db.engine, "connect", _sqlite_pragmas)
        auto = app.config.get("DATABASE_AUTO_MIGRATE")
        try:
            self._migrate(where, sqlite if auto is None else bool(auto))
        except BaseException:
            self.shutdown(runtime)  # a failed startup gets no shutdown call: close the connections now
            raise

    @staticmethod
    def _migrate(where: str, auto: bool) -> None:
        if auto:
            _refuse_unversioned(where)
            upgrade(directory=str(MIGRATIONS_DIR))
        current, head = schema_revisions()
        if current != head:
            message = (f"the database {where} is at migration {current!r}, the code needs {head!r}: run "
                       "`flask --app wsgi:create_app db upgrade` in examples/blog_platform "
                       "(or set DATABASE_AUTO_MIGRATE=true)")
            if not _under_flask_command():
                raise RuntimeError(message + ".")
            logger.warning("%s", message)
            return
        logger.info("database ready: %s (migration %s)", where, head)

    def shutdown(self, runtime: Any) -> None:
        for engine in db.engines.values():
            engine.dispose()

