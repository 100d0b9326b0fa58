"""The library database: what is edited and listed (lexicons now), beside the audio store.

Audio stays in the content-addressed store; this holds the small, edited
records every web node and worker must agree on. SQLite in the cache folder by
default (nothing to start), PostgreSQL (psycopg 3) when web nodes and workers
share it: ``LISTEN_DATABASE_URL``. Nothing here imports Flask.
"""

from __future__ import annotations

from service.db.database import Database, database_url
from service.db.opening import open_database

__all__ = ["Database", "database_url", "open_database"]
