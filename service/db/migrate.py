"""Run the Alembic migrations shipped in this package, without an ``alembic.ini``.

``listen db upgrade`` and the start of a SQLite-backed process call
:func:`upgrade`; a process on a shared database calls :func:`check_current`
and refuses to start on a schema older (or newer) than its code.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError

from service.db.database import Database, reason_of, shown
from service.errors import DatabaseError, DatabaseSchemaError

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
"""The migration scripts, inside the package so that a plain install has them."""
UPGRADE_LOCK_ID = 0x4C495354454E  # "LISTEN"
"""PostgreSQL advisory lock held while migrating, so two upgrades never run at once."""


def alembic_config(database: Database) -> Config:
    """Return an Alembic configuration for ``database`` (no file needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", shown(database.url).replace("%", "%%"))
    return config


def head_revision() -> str:
    """Return the newest migration's revision id."""
    heads = ScriptDirectory(str(MIGRATIONS)).get_heads()
    if len(heads) != 1:
        raise DatabaseError(f"the migrations have {len(heads)} heads; they must have one")
    return heads[0]


def current_revision(database: Database) -> str | None:
    """Return the revision the database is at (None: empty database)."""
    try:
        with database.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except (OperationalError, DBAPIError) as error:
        raise DatabaseError(
            f"cannot reach the database at {shown(database.url)}: {reason_of(error)}"
        ) from error


def upgrade(database: Database) -> tuple[str | None, str]:
    """Migrate ``database`` to the newest schema; return the revisions before and after."""
    before = current_revision(database)
    _refuse_unknown(database, before)
    head = head_revision()
    if before == head:
        return before, head
    config = alembic_config(database)
    try:
        with database.engine.begin() as connection:
            if not database.is_sqlite:
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:id)"), {"id": UPGRADE_LOCK_ID}
                )
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except (OperationalError, DBAPIError) as error:
        raise DatabaseError(
            f"migrating the database at {shown(database.url)} failed: {reason_of(error)}"
        ) from error
    log.info("database %s migrated from %s to %s", shown(database.url), before, head)
    return before, head


def check_current(database: Database) -> None:
    """Raise :class:`DatabaseError` unless ``database`` is at the newest schema."""
    current = current_revision(database)
    _refuse_unknown(database, current)
    if current != head_revision():
        raise DatabaseSchemaError(
            f"the database at {shown(database.url)} needs migrating "
            f"({current or 'empty'} -> {head_revision()}): run `listen db upgrade`"
        )


def _refuse_unknown(database: Database, revision: str | None) -> None:
    if revision is None:
        return
    script = ScriptDirectory(str(MIGRATIONS))
    try:
        script.get_revision(revision)
    except Exception:  # alembic raises several types for an unknown revision
        raise DatabaseSchemaError(
            f"the database at {shown(database.url)} is at revision {revision}, which this "
            "version of listen does not know: it was migrated by a newer version"
        ) from None
