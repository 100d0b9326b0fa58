"""Alembic's entry point: migrate the connection handed over by service.db.migrate."""

from __future__ import annotations

from alembic import context

from service.db.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `listen db upgrade`, which opens the connection")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    transaction_per_migration=False,
)
with context.begin_transaction():
    context.run_migrations()
