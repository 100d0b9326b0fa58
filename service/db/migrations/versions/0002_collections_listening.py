"""Collections (podcast channels) with their narrations, and listening counts per day.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-09
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "collections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("author", sa.Text(), nullable=True),
        sa.Column("language", sa.String(length=35), nullable=True),
        sa.Column("image_url", sa.Text(), nullable=True),
        sa.Column("category", sa.String(length=100), nullable=True),
        sa.Column("explicit", sa.Boolean(), nullable=False),
        sa.Column("link", sa.Text(), nullable=True),
        sa.Column("owner_email", sa.String(length=254), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collections")),
        sa.UniqueConstraint("slug", name=op.f("uq_collections_slug")),
    )
    op.create_table(
        "collection_items",
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("narration_id", sa.String(length=32), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=35), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("audio_bytes", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["collections.id"],
            name=op.f("fk_collection_items_collection_id_collections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("collection_id", "narration_id", name=op.f("pk_collection_items")),
    )
    op.create_index(
        "ix_collection_items_collection_id_filed_at",
        "collection_items",
        ["collection_id", "filed_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_collection_items_narration_id"),
        "collection_items",
        ["narration_id"],
        unique=False,
    )
    op.create_table(
        "listening_days",
        sa.Column("narration_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("plays", sa.Integer(), nullable=False),
        sa.Column("reached_25", sa.Integer(), nullable=False),
        sa.Column("reached_50", sa.Integer(), nullable=False),
        sa.Column("reached_75", sa.Integer(), nullable=False),
        sa.Column("reached_100", sa.Integer(), nullable=False),
        sa.Column("listened_ms", sa.BigInteger(), nullable=False),
        sa.Column("speed_changes", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("narration_id", "day", name=op.f("pk_listening_days")),
    )
    op.create_table(
        "listening_paragraphs",
        sa.Column("narration_id", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("paragraph", sa.Integer(), nullable=False),
        sa.Column("reached", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "narration_id", "day", "paragraph", name=op.f("pk_listening_paragraphs")
        ),
    )


def downgrade() -> None:
    op.drop_table("listening_paragraphs")
    op.drop_table("listening_days")
    op.drop_index(op.f("ix_collection_items_narration_id"), table_name="collection_items")
    op.drop_index("ix_collection_items_collection_id_filed_at", table_name="collection_items")
    op.drop_table("collection_items")
    op.drop_table("collections")
