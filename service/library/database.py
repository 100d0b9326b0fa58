"""Open, check and migrate the library database, as the entry points need it at start."""

from __future__ import annotations

import logging

from service.config import Settings
from service.db import Database, database_url, open_database
from service.db.database import shown
from service.errors import DatabaseError, DatabaseSchemaError

log = logging.getLogger(__name__)


def check_database(settings: Settings) -> str | None:
    """Migrate a SQLite database, or refuse (raise) a shared one that needs migrating.

    A database that cannot be reached is not fatal: audio is served without it,
    and what needs it answers that it is unavailable until it is back. Return
    a warning for the operator in that case.
    """
    try:
        open_database(settings).dispose()
    except DatabaseSchemaError:
        raise
    except DatabaseError as error:
        return f"warning: {error}"
    return None


def upgrade_database(settings: Settings) -> str:
    """Migrate the database to this version's schema; return what was done, for the operator."""
    from service.db.migrate import upgrade

    database = Database(database_url(settings))
    try:
        before, after = upgrade(database)
    finally:
        database.dispose()
    where = shown(database.url)
    if before == after:
        return f"{where}: already at revision {after}"
    return f"{where}: migrated from {before or 'an empty database'} to revision {after}"
