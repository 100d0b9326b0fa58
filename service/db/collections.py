"""Store collections: their channels, the narrations filed in them, and their feeds' stamps.

Each function takes the caller's session (one per request or job) and works
inside its transaction. Every change to a collection's channel or items
counts up its ``revision`` and moves its ``updated_at``: the feed's ETag and
Last-Modified come from those two, read in one query.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from service.db.database import upsert
from service.db.models import CollectionItemRow, CollectionRow
from service.errors import CollectionNotFoundError
from service.publish.channel import Channel, CollectionItem, FiledNarration, check_slug


@dataclass(frozen=True)
class CollectionSummary:
    """What a listing shows of a collection."""

    channel: Channel
    """Its slug and channel."""
    item_count: int
    """Narrations filed in it."""
    ready_count: int
    """Those whose audio is made (the feed's items)."""
    created_at: dt.datetime
    """When it was created."""
    updated_at: dt.datetime
    """When its channel or items last changed."""
    revision: int
    """How many changes it has had (the feed's ETag hashes it)."""

    def as_json(self) -> dict[str, object]:
        """Return the summary as the API lists it."""
        return {
            **self.channel.as_json(),
            "items": self.item_count,
            "ready": self.ready_count,
            "created_at": self.created_at.isoformat(timespec="seconds"),
            "updated_at": self.updated_at.isoformat(timespec="seconds"),
        }


def utc(moment: dt.datetime) -> dt.datetime:
    """Return ``moment`` in UTC; SQLite gives back the stored UTC time without its zone."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _row(session: Session, slug: str) -> CollectionRow:
    row = session.scalars(
        select(CollectionRow).where(CollectionRow.slug == check_slug(slug))
    ).one_or_none()
    if row is None:
        raise CollectionNotFoundError(f"no collection is called {slug!r}")
    return row


def _channel(row: CollectionRow) -> Channel:
    return Channel(
        slug=row.slug,
        title=row.title,
        description=row.description,
        author=row.author,
        language=row.language,
        image_url=row.image_url,
        category=row.category,
        explicit=row.explicit,
        link=row.link,
        owner_email=row.owner_email,
    )


def _touch(session: Session, collection_ids: Sequence[int]) -> None:
    """Count a change to each collection (its feed changed)."""
    if collection_ids:
        session.execute(
            update(CollectionRow)
            .where(CollectionRow.id.in_(collection_ids))
            .values(revision=CollectionRow.revision + 1, updated_at=_now())
        )


def put_collection(session: Session, channel: Channel) -> bool:
    """Create the collection ``channel.slug`` or replace its channel; return True when new."""
    row = session.scalars(
        select(CollectionRow).where(CollectionRow.slug == channel.slug)
    ).one_or_none()
    now = _now()
    created = row is None
    if row is None:
        row = CollectionRow(slug=channel.slug, created_at=now, revision=0)
        session.add(row)
    row.title = channel.title
    row.description = channel.description
    row.author = channel.author
    row.language = channel.language
    row.image_url = channel.image_url
    row.category = channel.category
    row.explicit = channel.explicit
    row.link = channel.link
    row.owner_email = channel.owner_email
    row.revision = (row.revision or 0) + 1
    row.updated_at = now
    session.flush()
    return created


def get_collection(session: Session, slug: str) -> CollectionSummary:
    """Return the collection ``slug`` (:class:`CollectionNotFoundError` if there is none)."""
    row = _row(session, slug)
    counts = session.execute(
        select(func.count(), func.count(CollectionItemRow.audio_bytes)).where(
            CollectionItemRow.collection_id == row.id
        )
    ).one()
    return _summary(row, int(counts[0]), int(counts[1]))


def list_collections(session: Session) -> list[CollectionSummary]:
    """Return every collection with its counts, by slug."""
    counts = {
        collection_id: (int(total), int(ready))
        for collection_id, total, ready in session.execute(
            select(
                CollectionItemRow.collection_id,
                func.count(),
                func.count(CollectionItemRow.audio_bytes),
            ).group_by(CollectionItemRow.collection_id)
        )
    }
    rows = session.scalars(select(CollectionRow).order_by(CollectionRow.slug)).all()
    return [_summary(row, *counts.get(row.id, (0, 0))) for row in rows]


def _summary(row: CollectionRow, total: int, ready: int) -> CollectionSummary:
    return CollectionSummary(
        channel=_channel(row),
        item_count=total,
        ready_count=ready,
        created_at=utc(row.created_at),
        updated_at=utc(row.updated_at),
        revision=row.revision,
    )


def delete_collection(session: Session, slug: str) -> None:
    """Delete the collection ``slug`` and its filings (the narrations themselves stay)."""
    session.delete(_row(session, slug))


def check_collections(session: Session, slugs: Sequence[str]) -> None:
    """Raise :class:`CollectionNotFoundError` unless every collection of ``slugs`` exists.

    Called before a narration is made, so that a typo is refused before any work.
    """
    if not slugs:
        return
    found = set(
        session.scalars(
            select(CollectionRow.slug).where(
                CollectionRow.slug.in_([check_slug(slug) for slug in slugs])
            )
        )
    )
    missing = [slug for slug in slugs if slug not in found]
    if missing:
        raise CollectionNotFoundError(
            f"no collection is called {missing[0]!r}; create it first with "
            f"PUT /api/collections/{missing[0]}"
        )


def file_narration(
    session: Session,
    slugs: Sequence[str],
    narration: FiledNarration,
    *,
    filed_at: dt.datetime | None = None,
) -> list[str]:
    """File ``narration`` in each collection of ``slugs``; return those it was new in.

    Filing again keeps the first filing time (the feed item's date) and
    refreshes what is shown. Every collection must exist.
    """
    check_collections(session, slugs)
    if not slugs:
        return []
    ids = dict(
        session.execute(
            select(CollectionRow.slug, CollectionRow.id).where(CollectionRow.slug.in_(slugs))
        ).all()
    )
    already = set(
        session.scalars(
            select(CollectionItemRow.collection_id).where(
                CollectionItemRow.narration_id == narration.narration_id,
                CollectionItemRow.collection_id.in_(ids.values()),
            )
        )
    )
    values = {
        "title": narration.title,
        "summary": narration.summary,
        "language": narration.language,
        "duration_ms": narration.duration_ms,
        "audio_bytes": narration.audio_bytes,
    }
    when = filed_at or _now()
    rows = [
        {
            "collection_id": ids[slug],
            "narration_id": narration.narration_id,
            "filed_at": when,
            **values,
        }
        for slug in slugs
    ]
    refresh = {key: value for key, value in values.items() if value is not None}
    statement = upsert(session, CollectionItemRow).values(rows)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["collection_id", "narration_id"],
            set_={key: statement.excluded[key] for key in refresh},
        )
    )
    _touch(session, list(ids.values()))
    return [slug for slug in slugs if ids[slug] not in already]


def unfile_narration(session: Session, slug: str, narration_id: str) -> None:
    """Take a narration out of a collection (:class:`CollectionNotFoundError` if not in it)."""
    row = _row(session, slug)
    removed = session.execute(
        delete(CollectionItemRow).where(
            CollectionItemRow.collection_id == row.id,
            CollectionItemRow.narration_id == narration_id,
        )
    )
    if not removed.rowcount:  # type: ignore[attr-defined]
        raise CollectionNotFoundError(
            f"narration {narration_id[:40]!r} is not in the collection {slug!r}"
        )
    _touch(session, [row.id])


def collection_items(
    session: Session, slug: str, *, ready_only: bool = False, limit: int | None = None
) -> list[CollectionItem]:
    """Return the narrations filed in ``slug``, newest first, in one query."""
    row = _row(session, slug)
    return _items(session, row.id, ready_only=ready_only, limit=limit)


def _items(
    session: Session, collection_id: int, *, ready_only: bool, limit: int | None
) -> list[CollectionItem]:
    query = (
        select(
            CollectionItemRow.narration_id,
            CollectionItemRow.title,
            CollectionItemRow.summary,
            CollectionItemRow.language,
            CollectionItemRow.filed_at,
            CollectionItemRow.duration_ms,
            CollectionItemRow.audio_bytes,
        )
        .where(CollectionItemRow.collection_id == collection_id)
        .order_by(CollectionItemRow.filed_at.desc(), CollectionItemRow.narration_id)
    )
    if ready_only:
        query = query.where(CollectionItemRow.audio_bytes.is_not(None))
    if limit is not None:
        query = query.limit(limit)
    # plain rows, not ORM objects: a thousand items load in a fraction of the time
    return [
        CollectionItem(
            narration_id=narration_id,
            title=title,
            summary=summary,
            language=language,
            filed_at=utc(filed_at),
            duration_ms=duration_ms,
            audio_bytes=audio_bytes,
        )
        for narration_id, title, summary, language, filed_at, duration_ms, audio_bytes in (
            session.execute(query)
        )
    ]


@dataclass(frozen=True)
class CollectionStamp:
    """What a conditional GET of a feed compares, read without the items."""

    created_at: dt.datetime
    """When the collection was created."""
    revision: int
    """Changes so far."""
    updated_at: dt.datetime
    """The last change."""


@dataclass(frozen=True)
class FeedSource:
    """Everything a collection's feed is built from."""

    channel: Channel
    """The collection's channel."""
    stamp: CollectionStamp
    """Its revision and times, read in the same transaction as the items."""
    items: list[CollectionItem]
    """Its ready items, newest first."""


def feed_source(session: Session, slug: str, *, limit: int | None = None) -> FeedSource:
    """Return a collection's channel and ready items: two queries, whatever their number."""
    row = _row(session, slug)
    stamp = CollectionStamp(utc(row.created_at), row.revision, utc(row.updated_at))
    return FeedSource(_channel(row), stamp, _items(session, row.id, ready_only=True, limit=limit))


def collection_stamp(session: Session, slug: str) -> CollectionStamp:
    """Return the collection's revision and times, in one single-row query."""
    found = session.execute(
        select(CollectionRow.created_at, CollectionRow.revision, CollectionRow.updated_at).where(
            CollectionRow.slug == check_slug(slug)
        )
    ).one_or_none()
    if found is None:
        raise CollectionNotFoundError(f"no collection is called {slug!r}")
    return CollectionStamp(utc(found[0]), int(found[1]), utc(found[2]))


def collections_of(session: Session, narration_id: str) -> list[str]:
    """Return the slugs of the collections ``narration_id`` is filed in."""
    return list(
        session.scalars(
            select(CollectionRow.slug)
            .join(CollectionItemRow, CollectionItemRow.collection_id == CollectionRow.id)
            .where(CollectionItemRow.narration_id == narration_id)
            .order_by(CollectionRow.slug)
        )
    )


def unready_narrations(session: Session, slug: str | None = None, *, limit: int = 100) -> list[str]:
    """Return narrations filed (in ``slug``, or anywhere) whose audio is not yet recorded."""
    query = select(CollectionItemRow.narration_id).where(CollectionItemRow.audio_bytes.is_(None))
    if slug is not None:
        query = query.where(CollectionItemRow.collection_id == _row(session, slug).id)
    return list(
        session.scalars(
            query.group_by(CollectionItemRow.narration_id)
            .order_by(func.min(CollectionItemRow.filed_at))
            .limit(limit)
        )
    )


def record_audio(session: Session, narration_id: str, *, duration_ms: int, audio_bytes: int) -> int:
    """Record a finished narration's duration and size in every collection it is in.

    Return how many filings changed; their collections' feeds change with them.
    """
    changed = session.scalars(
        select(CollectionItemRow.collection_id).where(
            CollectionItemRow.narration_id == narration_id,
            (CollectionItemRow.duration_ms.is_(None))
            | (CollectionItemRow.audio_bytes.is_(None))
            | (CollectionItemRow.duration_ms != duration_ms)
            | (CollectionItemRow.audio_bytes != audio_bytes),
        )
    ).all()
    if not changed:
        return 0
    session.execute(
        update(CollectionItemRow)
        .where(
            CollectionItemRow.narration_id == narration_id,
            CollectionItemRow.collection_id.in_(changed),
        )
        .values(duration_ms=duration_ms, audio_bytes=audio_bytes)
    )
    _touch(session, list(changed))
    return len(changed)
