"""The data layer: SQLAlchemy 2.x behind a ``Database`` service.

Why SQLAlchemy: it is what a Flask developer expects, it reaches every
database through one URL (``DATABASE_URL``), and SQLite works embedded with
nothing to install. Why a Service instead of Flask-SQLAlchemy: the engine then
has an owner in the runtime's tree, so it is created when the runtime boots
and disposed (connections closed, SQLite's WAL checkpointed) when it shuts
down, after every service that writes through it has stopped.

gevent and databases: a database driver that does its own blocking I/O
blocks the gevent hub while it waits. SQLite is an in-process library on a
local file, so each statement is short; this module additionally serialises
SQLite sessions on a gevent lock, so two greenlets never wait on each other's
file lock while the hub is blocked. For a server database use a driver that
cooperates with gevent (psycopg 3 after ``gevent.monkey.patch_all()``, or
psycopg2 with ``psycogreen``), where no lock is taken.

Example::

    with self.db.session() as session:      # commits on success, rolls back on error
        session.add(User(username="alice", ...))
"""
from __future__ import annotations

import logging
from contextlib import contextmanager, nullcontext
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ContextManager, Dict, Iterator, Mapping, Optional

from gevent.local import local
from gevent.lock import BoundedSemaphore
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import StaticPool

from specter_spoc import Service

logger = logging.getLogger("blog_platform.database")

#: registry key under which the running Database is provided
REGISTRY_KEY = "database"

#: DATABASE["engine"] -> SQLAlchemy driver (the drivers are not installed here)
_DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
}


class Base(DeclarativeBase):
    """Declarative base of every model in the project (one MetaData)."""


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
        return str(explicit)
    db = config.get("DATABASE") or {}
    engine = str(db.get("engine") or "sqlite").lower()
    name = str(db.get("name") or "blog_platform.db")
    if engine == "sqlite":
        if name == ":memory:":
            return "sqlite://"
        path = Path(name)
        if not path.is_absolute():
            path = Path(config.get("DATA_DIR") or ".") / path
        return URL.create("sqlite", database=str(path)).render_as_string()
    return URL.create(
        _DRIVERS.get(engine, engine), username=db.get("user") or None, password=db.get("password") or None,
        host=db.get("host") or None, port=int(db["port"]) if db.get("port") else None, database=name,
    ).render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")   # SQLite ignores FOREIGN KEY without it
        cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
        cursor.execute("PRAGMA busy_timeout=5000")
    finally:
        cursor.close()


class Database(Service):
    """Owns the SQLAlchemy engine: creates it and the tables at start,
    disposes it at stop, and hands out transactional sessions.

    Provided in the runtime's registry as ``"database"`` while it runs, so a
    service finds it with ``self.scope.registry.require("database")``.

    Example::

        db = Database("sqlite:////tmp/blog.db")
        runtime.adopt(db)                      # started now, stopped with the runtime
        with db.session() as session:
            session.scalars(select(User)).all()
    """

    def __init__(self, url: str, *, echo: bool = False, metadata: Optional[MetaData] = None,
                 name: str = "database", engine_options: Optional[Dict[str, Any]] = None) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise ValueError(f"DATABASE_URL {url!r} is not a database URL ({exc}); write it like "
                             "sqlite:////absolute/path.db or postgresql+psycopg://user:pw@host/db.") from None
        super().__init__(name, {"url": parsed.render_as_string(hide_password=True)})
        self.url = parsed
        self.echo = echo
        self.metadata = metadata if metadata is not None else Base.metadata
        self.engine_options = dict(engine_options or {})
        self._engine: Optional[Engine] = None
        self._sessions: Optional[sessionmaker[Session]] = None
        self._local = local()
        self._lock: Optional[BoundedSemaphore] = None

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError(f"Database {self.name!r} is not running: start it (the runtime does) "
                               "before using its engine.")
        return self._engine

    # ------------------------------------------------------------ lifecycle
    def on_start(self) -> None:
        options = dict(self.engine_options)
        if self.is_sqlite:
            database = self.url.database
            if not database or database == ":memory:":
                # one shared connection, or every session would see its own empty database
                options.setdefault("poolclass", StaticPool)
                options.setdefault("connect_args", {"check_same_thread": False})
            else:
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            self._lock = BoundedSemaphore(1)
        engine = create_engine(self.url, echo=self.echo, **options)
        self.own(engine, "dispose")  # released last: after the registry entry below
        if self.is_sqlite:
            event.listen(engine, "connect", _sqlite_pragmas)
        self.metadata.create_all(engine)
        self._engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self.add_cleanup(self._forget_engine)
        self.scope.registry.provide(REGISTRY_KEY, self, owner=self)
        logger.info("database ready: %s (%d tables)", self.state["url"], len(self.metadata.tables))

    def _forget_engine(self) -> None:
        self._sessions = None
        self._engine = None

    # ------------------------------------------------------------- sessions
    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed when the block ends, rolled
        back if it raises. Nested calls in one greenlet share the outer
        session (and its transaction)."""
        current = getattr(self._local, "session", None)
        if current is not None:
            yield current
            return
        if self._sessions is None:
            raise RuntimeError(f"Database {self.name!r} is not running; sessions are only available "
                               "between its start and stop.")
        guard: ContextManager[Any] = self._lock if self._lock is not None else nullcontext()
        with guard:
            session = self._sessions()
            self._local.session = session
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                self._local.session = None
                session.close()

    def health(self) -> Dict[str, Any]:
        report = super().health()
        report["url"] = self.state.get("url")
        if self._engine is not None:
            report["dialect"] = self._engine.dialect.name
            report["pool"] = self._engine.pool.status()
        return report


def install_database(runtime: Any) -> None:
    """``hooks`` plugin (listed in settings.PLUGINS): create the Database from
    the app config and let the runtime own it.

    The runtime adopts it while the project's hooks run, before any app
    service starts; it is stopped after every service has stopped, because
    the runtime releases what it adopted last.
    """
    config = runtime.app.config
    database = Database(database_url(config), echo=bool(config.get("DATABASE_ECHO")))
    runtime.adopt(database)


class DataService(Service):
    """Base of the apps' services that work on the database: it looks the
    ``Database`` up in the registry when it starts (so apps never import one
    another's objects, only the framework's key) and forgets it when it stops."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._db: Optional[Database] = None

    def on_start(self) -> None:
        self._db = self.scope.registry.require(REGISTRY_KEY)

    def on_stop(self) -> None:
        self._db = None

    @property
    def db(self) -> Database:
        if self._db is None:
            raise RuntimeError(f"{self.name} is not running; the runtime starts it at boot.")
        return self._db
