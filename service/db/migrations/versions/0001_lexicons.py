"""Pronunciation lexicons: lexicons, their rules, and the sites that use them.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lexicons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=35), nullable=True),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("rule_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lexicons")),
        sa.UniqueConstraint("name", name=op.f("uq_lexicons_name")),
    )
    op.create_table(
        "lexicon_rules",
        sa.Column("lexicon_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("match", sa.String(length=200), nullable=False),
        sa.Column("say", sa.String(length=500), nullable=True),
        sa.Column("ipa", sa.String(length=200), nullable=True),
        sa.Column("regex", sa.Boolean(), nullable=False),
        sa.Column("ignore_case", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lexicon_id"],
            ["lexicons.id"],
            name=op.f("fk_lexicon_rules_lexicon_id_lexicons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("lexicon_id", "position", name=op.f("pk_lexicon_rules")),
    )
    op.create_table(
        "lexicon_sites",
        sa.Column("host", sa.String(length=253), nullable=False),
        sa.Column("lexicon_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lexicon_id"],
            ["lexicons.id"],
            name=op.f("fk_lexicon_sites_lexicon_id_lexicons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("host", name=op.f("pk_lexicon_sites")),
    )
    op.create_index(
        op.f("ix_lexicon_sites_lexicon_id"), "lexicon_sites", ["lexicon_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_lexicon_sites_lexicon_id"), table_name="lexicon_sites")
    op.drop_table("lexicon_sites")
    op.drop_table("lexicon_rules")
    op.drop_table("lexicons")
