"""Store listening counts per narration and day, and answer questions about them.

Counts arrive in batches and are added with upserts (``INSERT ... ON
CONFLICT DO UPDATE SET n = n + excluded.n``, the same on SQLite and
PostgreSQL): additions commute, so every web node can add its own batches
to a shared database and the totals come out the same. Rows are written in
key order, so two nodes adding to the same rows never deadlock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.db.collections import collection_items
from service.db.database import upsert
from service.db.models import (
    CollectionItemRow,
    CollectionRow,
    ListeningDayRow,
    ListeningParagraphRow,
)
from service.errors import CollectionNotFoundError, ListenError
from service.publish.channel import check_slug

COUNTERS = (
    "plays",
    "reached_25",
    "reached_50",
    "reached_75",
    "reached_100",
    "listened_ms",
    "speed_changes",
)
"""The counters of a narration's day, in the order :class:`CountBatch` holds them."""
QUARTILE_COUNTERS = {25: "reached_25", 50: "reached_50", 75: "reached_75", 100: "reached_100"}
MAX_SPAN_DAYS = 3700
"""Longest span of days one question may ask about (ten years)."""
ROWS_PER_STATEMENT = 500
"""Rows per upsert statement (SQLite allows 32,766 bound values in one)."""

DayKey = tuple[str, dt.date]
"""A narration id and a day."""
ParagraphKey = tuple[str, dt.date, int]
"""A narration id, a day and a paragraph index."""


@dataclass
class CountBatch:
    """Counts to add: per narration and day, and per paragraph reached."""

    days: dict[DayKey, list[int]] = field(default_factory=dict)
    """Counters in :data:`COUNTERS` order."""
    paragraphs: dict[ParagraphKey, int] = field(default_factory=dict)
    """Listeners who reached each paragraph."""

    def __bool__(self) -> bool:
        return bool(self.days or self.paragraphs)

    def add_day(self, key: DayKey, counter: str, amount: int = 1) -> None:
        """Add ``amount`` to one counter of ``key``."""
        counts = self.days.get(key)
        if counts is None:
            counts = self.days[key] = [0] * len(COUNTERS)
        counts[COUNTERS.index(counter)] += amount

    def add_paragraph(self, key: ParagraphKey, amount: int = 1) -> None:
        """Count ``amount`` more listeners reaching a paragraph."""
        self.paragraphs[key] = self.paragraphs.get(key, 0) + amount

    def merge(self, other: CountBatch) -> None:
        """Add ``other``'s counts to these (a failed write goes back into the next batch)."""
        for key, counts in other.days.items():
            mine = self.days.setdefault(key, [0] * len(COUNTERS))
            for index, amount in enumerate(counts):
                mine[index] += amount
        for paragraph_key, amount in other.paragraphs.items():
            self.add_paragraph(paragraph_key, amount)

    def total(self, counter: str) -> int:
        """Return the sum of one counter over every narration and day."""
        index = COUNTERS.index(counter)
        return sum(counts[index] for counts in self.days.values())


def add_counts(session: Session, batch: CountBatch) -> None:
    """Add ``batch`` to the stored counts, in a few statements."""
    if batch.days:
        rows = [
            {"narration_id": key[0], "day": key[1], **dict(zip(COUNTERS, counts, strict=True))}
            for key, counts in sorted(batch.days.items())
        ]
        for part in _parts(rows):
            statement = upsert(session, ListeningDayRow).values(part)
            session.execute(
                statement.on_conflict_do_update(
                    index_elements=["narration_id", "day"],
                    set_={
                        name: getattr(ListeningDayRow, name) + statement.excluded[name]
                        for name in COUNTERS
                    },
                )
            )
    if batch.paragraphs:
        paragraph_rows = [
            {"narration_id": key[0], "day": key[1], "paragraph": key[2], "reached": amount}
            for key, amount in sorted(batch.paragraphs.items())
        ]
        for part in _parts(paragraph_rows):
            statement = upsert(session, ListeningParagraphRow).values(part)
            session.execute(
                statement.on_conflict_do_update(
                    index_elements=["narration_id", "day", "paragraph"],
                    set_={"reached": ListeningParagraphRow.reached + statement.excluded["reached"]},
                )
            )


def _parts(rows: Sequence[dict[str, Any]]) -> Iterable[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        yield rows[start : start + ROWS_PER_STATEMENT]


@dataclass(frozen=True)
class DayStats:
    """One day's counts."""

    day: dt.date
    """The day (UTC)."""
    plays: int
    """Page views in which playing started."""
    quartiles: dict[int, int]
    """Listeners who reached 25, 50, 75 and 100 %."""
    listened_ms: int
    """Time listened."""
    speed_changes: int
    """Speed changes."""

    @property
    def completions(self) -> int:
        """Return the listeners who reached the end."""
        return self.quartiles[100]

    def as_json(self) -> dict[str, Any]:
        """Return the day as the API shows it."""
        return {
            "day": self.day.isoformat(),
            "plays": self.plays,
            "completions": self.completions,
            "quartiles": {str(q): n for q, n in self.quartiles.items()},
            "listened_s": round(self.listened_ms / 1000, 1),
            "speed_changes": self.speed_changes,
        }


@dataclass(frozen=True)
class NarrationStats:
    """Everything counted about one narration over a span of days."""

    narration_id: str
    """The narration."""
    totals: DayStats
    """The sums over the span (its ``day`` is the span's last)."""
    paragraphs: list[int]
    """Listeners who reached each paragraph (spoken block), by index."""
    days: list[DayStats]
    """One entry per day of the span, days without listening included."""

    @property
    def plays(self) -> int:
        """Return the plays over the span."""
        return self.totals.plays

    @property
    def completions(self) -> int:
        """Return the completions over the span."""
        return self.totals.completions

    def as_json(self) -> dict[str, Any]:
        """Return the statistics as ``GET /api/narrations/{id}/stats`` answers them."""
        totals = self.totals.as_json()
        del totals["day"]
        return {
            "narration_id": self.narration_id,
            **totals,
            "paragraphs": self.paragraphs,
            "days": [day.as_json() for day in self.days],
        }


@dataclass(frozen=True)
class NarrationTotals:
    """One narration's line in a collection's statistics."""

    narration_id: str
    """The narration."""
    title: str
    """Its title."""
    totals: DayStats
    """Its sums over the span."""

    def as_json(self) -> dict[str, Any]:
        """Return the line as the API shows it."""
        totals = self.totals.as_json()
        del totals["day"]
        return {"narration_id": self.narration_id, "title": self.title, **totals}


@dataclass(frozen=True)
class CollectionStats:
    """Everything counted about the narrations of one collection over a span of days."""

    slug: str
    """The collection."""
    totals: DayStats
    """The sums over every narration and day."""
    narrations: list[NarrationTotals]
    """Each narration's sums, most played first."""
    days: list[DayStats]
    """One entry per day of the span, summed over the narrations."""

    def as_json(self) -> dict[str, Any]:
        """Return the statistics as ``GET /api/stats?collection=slug`` answers them."""
        totals = self.totals.as_json()
        del totals["day"]
        return {
            "collection": self.slug,
            **totals,
            "narrations": [line.as_json() for line in self.narrations],
            "days": [day.as_json() for day in self.days],
        }


def _day_stats(day: dt.date, counts: Sequence[int]) -> DayStats:
    values = dict(zip(COUNTERS, (int(n or 0) for n in counts), strict=True))
    return DayStats(
        day=day,
        plays=values["plays"],
        quartiles={q: values[name] for q, name in QUARTILE_COUNTERS.items()},
        listened_ms=values["listened_ms"],
        speed_changes=values["speed_changes"],
    )


def _sum(day: dt.date, rows: Iterable[DayStats]) -> DayStats:
    counts = [0] * len(COUNTERS)
    for row in rows:
        for index, value in enumerate(_counts_of(row)):
            counts[index] += value
    return _day_stats(day, counts)


def _counts_of(stats: DayStats) -> list[int]:
    return [
        stats.plays,
        *(stats.quartiles[q] for q in QUARTILE_COUNTERS),
        stats.listened_ms,
        stats.speed_changes,
    ]


def _span(
    by_day: Mapping[dt.date, DayStats], since: dt.date | None, until: dt.date | None
) -> list[DayStats]:
    """Return one entry per day from ``since`` (or the first day counted) to ``until``."""
    if not by_day and (since is None or until is None):
        return []
    first = since or min(by_day)
    last = until or max(by_day)
    if first > last:
        raise ListenError(f"the span starts ({first}) after it ends ({last})")
    if (last - first).days > MAX_SPAN_DAYS:
        raise ListenError(f"ask about {MAX_SPAN_DAYS} days at most, not {(last - first).days}")
    days = []
    day = first
    while day <= last:
        days.append(by_day.get(day) or _day_stats(day, [0] * len(COUNTERS)))
        day += dt.timedelta(days=1)
    return days


def _day_columns() -> list[Any]:
    return [getattr(ListeningDayRow, name) for name in COUNTERS]


def _in_span(query: Any, since: dt.date | None, until: dt.date | None, column: Any) -> Any:
    if since is not None:
        query = query.where(column >= since)
    if until is not None:
        query = query.where(column <= until)
    return query


def narration_stats(
    session: Session,
    narration_id: str,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    paragraph_count: int | None = None,
) -> NarrationStats:
    """Return a narration's counts from ``since`` to ``until`` (inclusive; unset: all).

    ``paragraphs`` has ``paragraph_count`` entries when given (the narration's
    blocks), else one per index up to the last reached.
    """
    query = _in_span(
        select(ListeningDayRow.day, *_day_columns()).where(
            ListeningDayRow.narration_id == narration_id
        ),
        since,
        until,
        ListeningDayRow.day,
    )
    by_day = {row[0]: _day_stats(row[0], row[1:]) for row in session.execute(query)}
    reached = dict(
        session.execute(
            _in_span(
                select(ListeningParagraphRow.paragraph, func.sum(ListeningParagraphRow.reached))
                .where(ListeningParagraphRow.narration_id == narration_id)
                .group_by(ListeningParagraphRow.paragraph),
                since,
                until,
                ListeningParagraphRow.day,
            )
        ).all()
    )
    count = paragraph_count if paragraph_count is not None else max(reached, default=-1) + 1
    days = _span(by_day, since, until)
    return NarrationStats(
        narration_id=narration_id,
        totals=_sum(until or (days[-1].day if days else dt.datetime.now(dt.UTC).date()), days),
        paragraphs=[int(reached.get(index, 0)) for index in range(count)],
        days=days,
    )


def collection_stats(
    session: Session,
    slug: str,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> CollectionStats:
    """Return the counts of every narration filed in ``slug``, and their sums per day."""
    collection_id = session.scalar(
        select(CollectionRow.id).where(CollectionRow.slug == check_slug(slug))
    )
    if collection_id is None:
        raise CollectionNotFoundError(f"no collection is called {slug!r}")
    filed = select(CollectionItemRow.narration_id).where(
        CollectionItemRow.collection_id == collection_id
    )
    sums = [func.sum(column) for column in _day_columns()]
    span_of = ListeningDayRow.day
    per_day = {
        row[0]: _day_stats(row[0], row[1:])
        for row in session.execute(
            _in_span(
                select(ListeningDayRow.day, *sums)
                .where(ListeningDayRow.narration_id.in_(filed))
                .group_by(ListeningDayRow.day),
                since,
                until,
                span_of,
            )
        )
    }
    per_narration = {
        row[0]: row[1:]
        for row in session.execute(
            _in_span(
                select(ListeningDayRow.narration_id, *sums)
                .where(ListeningDayRow.narration_id.in_(filed))
                .group_by(ListeningDayRow.narration_id),
                since,
                until,
                span_of,
            )
        )
    }
    days = _span(per_day, since, until)
    last = until or (days[-1].day if days else dt.datetime.now(dt.UTC).date())
    zero = [0] * len(COUNTERS)
    lines = [
        NarrationTotals(
            item.narration_id,
            item.title,
            _day_stats(last, per_narration.get(item.narration_id, zero)),
        )
        for item in collection_items(session, slug)
    ]
    lines.sort(key=lambda line: (-line.totals.plays, line.narration_id))
    return CollectionStats(slug=slug, totals=_sum(last, days), narrations=lines, days=days)
