"""The tables, as SQLAlchemy 2 typed models; Alembic's migrations create them.

A migration is written by hand for every change here (``migrations/versions``):
the models describe the schema, the migrations make it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
)
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


class CollectionRow(Base):
    """A collection of narrations: one podcast channel."""

    __tablename__ = "collections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(35))
    image_url: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(100))
    explicit: Mapped[bool] = mapped_column(Boolean, default=False)
    link: Mapped[str | None] = mapped_column(Text)
    owner_email: Mapped[str | None] = mapped_column(String(254))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    """Counts every change to the channel or its items: the feed's ETag hashes it."""
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    """When the channel or one of its items last changed (the feed's Last-Modified)."""

    items: Mapped[list[CollectionItemRow]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )


class CollectionItemRow(Base):
    """A narration filed in a collection, with what its feed item shows (one query per feed)."""

    __tablename__ = "collection_items"
    __table_args__ = (
        Index("ix_collection_items_collection_id_filed_at", "collection_id", "filed_at"),
    )

    collection_id: Mapped[int] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True
    )
    narration_id: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)
    filed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    """The article's first paragraph."""
    language: Mapped[str | None] = mapped_column(String(35))
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    """The MP3's duration; NULL while it is being made."""
    audio_bytes: Mapped[int | None] = mapped_column(BigInteger)
    """The MP3's exact size; NULL while it is being made."""


class ListeningDayRow(Base):
    """What listeners did with one narration on one day (UTC): counts only, nobody's traces."""

    __tablename__ = "listening_days"

    narration_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    plays: Mapped[int] = mapped_column(Integer, default=0)
    """Page views in which playing started."""
    reached_25: Mapped[int] = mapped_column(Integer, default=0)
    reached_50: Mapped[int] = mapped_column(Integer, default=0)
    reached_75: Mapped[int] = mapped_column(Integer, default=0)
    reached_100: Mapped[int] = mapped_column(Integer, default=0)
    """Listeners who reached the end: the completions."""
    listened_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    """Time listened, summed over listeners."""
    speed_changes: Mapped[int] = mapped_column(Integer, default=0)


class ListeningParagraphRow(Base):
    """How many listeners reached one paragraph (spoken block) of a narration on one day."""

    __tablename__ = "listening_paragraphs"

    narration_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    paragraph: Mapped[int] = mapped_column(Integer, primary_key=True)
    """Index of the spoken block (the manifest's ``blocks[i].index``)."""
    reached: Mapped[int] = mapped_column(Integer, default=0)
