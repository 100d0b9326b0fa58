"""Count what players report about listening, and answer and plot the statistics.

One :class:`Listening` per process: its recorder keeps the counts of the
last second in memory and writes them to the library database in one
transaction a second (:mod:`service.listening.recorder`); milestones are
told apart per page view in memory, or in Redis when web nodes share it.
Nothing about a listener is kept: no address, no user agent, and the page
view's random id only as a hash in that memory, for a few hours.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from service.config import Settings
from service.db import Database
from service.db.collections import get_collection
from service.db.stats import CollectionStats, NarrationStats, collection_stats, narration_stats
from service.errors import ListenError, StatsUnavailableError
from service.listening.events import MAX_BODY_BYTES, parse_events
from service.listening.plots import dropoff_svg, funnel_svg, plays_per_day_svg
from service.listening.recorder import (
    Recorded,
    Recorder,
    StoredParagraphCounts,
    open_milestones,
)
from service.pipeline.plan import NarrationPlan
from service.publish.channel import check_slug
from service.store import Store

log = logging.getLogger(__name__)

__all__ = ["MAX_BODY_BYTES", "Dashboard", "Listening", "Recorded", "dashboard_span", "parse_day"]

MAX_DAYS_SHOWN = 366
"""Longest span the dashboard plots day by day."""
DEFAULT_DAYS = 30
"""Days the statistics cover when no span is asked for."""


@dataclass(frozen=True)
class Dashboard:
    """What the dashboard page shows of a narration or a collection."""

    title: str
    """The narration's or collection's title."""
    plays: int
    """Plays over the span."""
    completions: int
    """Listeners who reached the end."""
    listened_s: float
    """Time listened."""
    since: dt.date
    """First day shown."""
    until: dt.date
    """Last day shown."""
    plays_svg: str
    """Plays per day."""
    funnel_svg: str
    """The completion funnel."""
    dropoff_svg: str | None
    """Per-paragraph drop-off, with each paragraph's first words (a narration only)."""
    narrations: list[tuple[str, str, int, int]]
    """A collection's narrations: id, title, plays, completions (most played first)."""


def dashboard_span(
    since: str | None, until: str | None, *, today: dt.date | None = None
) -> tuple[dt.date, dt.date]:
    """Return the days asked for (``YYYY-MM-DD``, inclusive); the last 30 days by default."""
    today = today or dt.datetime.now(dt.UTC).date()

    last = parse_day(until, "until") or today
    first = parse_day(since, "since") or last - dt.timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise ListenError(f"'since' ({first}) is after 'until' ({last})")
    if (last - first).days >= MAX_DAYS_SHOWN:
        raise ListenError(f"ask for at most {MAX_DAYS_SHOWN} days at once")
    return first, last


def parse_day(value: str | None, name: str) -> dt.date | None:
    """Return the day ``value`` (``YYYY-MM-DD``) names, None when it is absent."""
    if value in (None, ""):
        return None
    try:
        if value is not None and len(value) == 10:
            return dt.date.fromisoformat(value)
    except ValueError:
        pass
    raise ListenError(f"'{name}' must be a day written YYYY-MM-DD, such as 2026-01-31")


class Listening:
    """Record listening events and answer statistics, for one process."""

    def __init__(
        self,
        settings: Settings,
        database: Callable[[], Database],
        store: Store,
        plan: Callable[[str], NarrationPlan],
    ) -> None:
        self._settings = settings
        self._database = database
        self._store = store
        self._plan = plan
        self._lock = threading.Lock()
        self._recorder: Recorder | None = None

    @property
    def recorder(self) -> Recorder:
        """Return this process's recorder, its flushing thread started on first use."""
        recorder = self._recorder
        if recorder is None:
            with self._lock:
                recorder = self._recorder
                if recorder is None:
                    recorder = Recorder(
                        self._database(),
                        open_milestones(self._settings.jobs.redis_url),
                        StoredParagraphCounts(self._store),
                    )
                    recorder.start()
                    self._recorder = recorder
        return recorder

    def record(self, body: bytes) -> Recorded:
        """Check and count the events of a request body (all of them, or none)."""
        events = parse_events(body)
        return self.recorder.record(events)

    def _flushed(self) -> None:
        """Write this process's pending counts, so a question sees what it was just told."""
        if self._recorder is None:
            return
        try:
            self._recorder.flush()
        except ListenError as error:
            raise StatsUnavailableError(f"the statistics cannot be read now: {error}") from error

    def narration(
        self, narration_id: str, since: dt.date | None = None, until: dt.date | None = None
    ) -> NarrationStats:
        """Return a narration's statistics (404 for an unknown narration)."""
        plan = self._plan(narration_id)
        self._flushed()
        with self._database().session() as session:
            return narration_stats(
                session, narration_id, since=since, until=until, paragraph_count=len(plan.blocks)
            )

    def collection(
        self, slug: str, since: dt.date | None = None, until: dt.date | None = None
    ) -> CollectionStats:
        """Return the statistics of every narration in a collection."""
        check_slug(slug)
        self._flushed()
        with self._database().session() as session:
            return collection_stats(session, slug, since=since, until=until)

    def narration_dashboard(self, narration_id: str, since: dt.date, until: dt.date) -> Dashboard:
        """Return the dashboard of one narration over a span of days."""
        plan = self._plan(narration_id)
        stats = self.narration(narration_id, since, until)
        texts = [block.text for block in plan.blocks]
        return Dashboard(
            title=plan.title or narration_id,
            plays=stats.plays,
            completions=stats.completions,
            listened_s=stats.totals.listened_ms / 1000,
            since=since,
            until=until,
            plays_svg=plays_per_day_svg(stats.days),
            funnel_svg=funnel_svg(stats.totals),
            dropoff_svg=dropoff_svg(stats.paragraphs, texts, plays=stats.plays),
            narrations=[],
        )

    def collection_dashboard(self, slug: str, since: dt.date, until: dt.date) -> Dashboard:
        """Return the dashboard of a collection over a span of days."""
        stats = self.collection(slug, since, until)
        with self._database().session() as session:
            title = get_collection(session, slug).channel.title
        return Dashboard(
            title=title,
            plays=stats.totals.plays,
            completions=stats.totals.completions,
            listened_s=stats.totals.listened_ms / 1000,
            since=since,
            until=until,
            plays_svg=plays_per_day_svg(stats.days),
            funnel_svg=funnel_svg(stats.totals),
            dropoff_svg=None,
            narrations=_lines(stats),
        )

    def close(self) -> None:
        """Write what is left and stop the flushing thread."""
        if self._recorder is not None:
            try:
                self._recorder.close()
            except ListenError as error:
                log.warning("listening counts of the last second were not written: %s", error)


def _lines(stats: CollectionStats) -> list[tuple[str, str, int, int]]:
    return [
        (line.narration_id, line.title, line.totals.plays, line.totals.completions)
        for line in stats.narrations
    ]
