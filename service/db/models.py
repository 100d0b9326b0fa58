"""The tables, as SQLAlchemy 2 typed models; Alembic's migrations create them.

A migration is written by hand for every change here (``migrations/versions``):
the models describe the schema, the migrations make it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Constraint names the same on SQLite and PostgreSQL, so migrations can name them."""


class Base(DeclarativeBase):
    """Base of every table."""

    metadata = MetaData(naming_convention=NAMING)


class LexiconRow(Base):
    """One pronunciation lexicon."""

    __tablename__ = "lexicons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    language: Mapped[str | None] = mapped_column(String(35))
    digest: Mapped[str] = mapped_column(String(64))
    """Hash of the rules (``Lexicon.digest``): what a cached matcher is checked against."""
    rule_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    rules: Mapped[list[LexiconRuleRow]] = relationship(
        order_by="LexiconRuleRow.position", cascade="all, delete-orphan", passive_deletes=True
    )
    sites: Mapped[list[LexiconSiteRow]] = relationship(
        order_by="LexiconSiteRow.position", cascade="all, delete-orphan", passive_deletes=True
    )


class LexiconRuleRow(Base):
    """One rule of a lexicon, at its position."""

    __tablename__ = "lexicon_rules"

    lexicon_id: Mapped[int] = mapped_column(
        ForeignKey("lexicons.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    match: Mapped[str] = mapped_column(String(200))
    say: Mapped[str | None] = mapped_column(String(500))
    ipa: Mapped[str | None] = mapped_column(String(200))
    regex: Mapped[bool] = mapped_column(Boolean, default=False)
    ignore_case: Mapped[bool] = mapped_column(Boolean, default=False)


class LexiconSiteRow(Base):
    """A host name whose articles use a lexicon; a host belongs to one lexicon at most."""

    __tablename__ = "lexicon_sites"

    host: Mapped[str] = mapped_column(String(253), primary_key=True)
    lexicon_id: Mapped[int] = mapped_column(
        ForeignKey("lexicons.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
