"""Open the library database ready to use: migrated (SQLite) or checked (shared).

Above both :mod:`service.db.database` (the connection) and
:mod:`service.db.migrate` (Alembic), so neither imports the other's caller.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from service.config import Settings
from service.db.database import SCHEMA_REVISION, Database, database_url


def _stamped_revision(database: Database) -> str | None:
    """Return the revision Alembic stamped in the database, or None when there is none (yet)."""
    try:
        with database.engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError:
        return None  # no table yet, or no database: the migration step says which


def open_database(settings: Settings, *, migrate: bool | None = None) -> Database:
    """Open the database of ``settings``, ready to use.

    SQLite is migrated here (``migrate=None`` means: for SQLite only); a
    shared database is migrated by ``listen db upgrade``, and one with pending
    migrations is refused with :class:`DatabaseError` naming that command.
    """
    database = Database(database_url(settings))
    if _stamped_revision(database) == SCHEMA_REVISION:
        return database
    from service.db.migrate import check_current, upgrade

    try:
        if migrate if migrate is not None else database.is_sqlite:
            upgrade(database)
        else:
            check_current(database)
    except BaseException:
        database.dispose()
        raise
    return database
