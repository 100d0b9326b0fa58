"""Open the library database named by ``LISTEN_DATABASE_URL``; one session per request or job.

SQLite (the default, ``<LISTEN_CACHE_DIR>/library.db``) runs in WAL mode, so
readers never wait for a writer, with a busy timeout, so writers from several
processes queue instead of failing, and with foreign keys enforced. Every
SQLite transaction starts with ``BEGIN IMMEDIATE``: a transaction that reads
and then writes cannot then deadlock with another one doing the same (SQLite
would fail one of them at once, whatever the timeout).

PostgreSQL URLs (``postgresql://``, ``postgres://``) go through psycopg 3.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings
from service.errors import DatabaseError, ListenError

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 10_000
"""How long a SQLite writer waits for another process's transaction before failing."""
DATABASE_FILE = "library.db"
"""The SQLite file's name in the cache folder."""
CONNECT_TIMEOUT_S = 10
"""How long to wait for a PostgreSQL server to answer."""
SCHEMA_REVISION = "0001"
"""The newest migration's revision (a test holds it to the scripts): a database stamped with
it is ready without importing Alembic, a tenth of a second of every command's start."""


def database_url(settings: Settings) -> URL:
    """Return the database URL of ``settings``: ``LISTEN_DATABASE_URL`` or SQLite in the cache."""
    raw = settings.database.database_url.strip()
    if not raw:
        return URL.create("sqlite", database=str(Path(settings.store.cache_dir) / DATABASE_FILE))
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ListenError(
            f"LISTEN_DATABASE_URL={raw!r} is not a database URL; use sqlite:///path/library.db "
            "or postgresql://user:password@host/database"
        ) from None
    if url.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
        return url.set(drivername="postgresql+psycopg")
    if url.drivername == "sqlite":
        return url
    raise ListenError(
        f"LISTEN_DATABASE_URL names {url.drivername!r}; use sqlite:// or postgresql://"
    )


def shown(url: URL) -> str:
    """Return ``url`` for messages, without its password."""
    return url.render_as_string(hide_password=True)


class Database:
    """The library database: an engine and a session factory."""

    def __init__(self, url: URL) -> None:
        self.url = url
        self.is_sqlite = url.get_backend_name() == "sqlite"
        self.engine = _create_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def __repr__(self) -> str:
        return f"Database({shown(self.url)!r})"

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """Open a session in one transaction: committed if the block succeeds, else rolled back.

        Failures to reach or use the database become :class:`DatabaseError`;
        named errors raised in the block pass through after the rollback.
        """
        try:
            with self._sessions() as session, session.begin():
                yield session
        except ListenError:
            raise
        except (OperationalError, DBAPIError) as error:
            raise DatabaseError(
                f"the database at {shown(self.url)} failed: {reason_of(error)}"
            ) from error

    def dispose(self) -> None:
        """Close every pooled connection (at exit, and in a forked child)."""
        self.engine.dispose()


def reason_of(error: SQLAlchemyError) -> str:
    """Return why a database call failed, on one line."""
    original = getattr(error, "orig", None)
    text = str(original if original is not None else error)
    return " ".join(text.split()) or type(error).__name__


def _create_engine(url: URL) -> Engine:
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            folder = Path(url.database).expanduser().parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise DatabaseError(
                    f"cannot create the folder of the database {url.database}: "
                    f"{error.strerror or error}"
                ) from None
        engine = create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    return create_engine(
        url, pool_pre_ping=True, connect_args={"connect_timeout": CONNECT_TIMEOUT_S}
    )


def _sqlite_on_connect(connection: Any, _record: Any) -> None:
    # the driver's own transaction handling would BEGIN lazily (DEFERRED); we begin ourselves
    connection.isolation_level = None
    cursor = connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable in WAL mode, fsync per checkpoint
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")
