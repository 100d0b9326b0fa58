"""Count listening events into per-day counters, and write them to the database in batches.

:meth:`Recorder.record` checks that each event's narration exists and that
its paragraph is one of the narration's, drops the milestones the session
already reported (:mod:`service.listening.milestones`), and adds the rest to
counters in memory. :meth:`Recorder.flush` writes the counters with one
upsert per table (:func:`service.db.stats.add_counts`) and starts afresh; a
failed write puts them back for the next flush, so nothing is lost while
the database is away. A background thread flushes every
:data:`FLUSH_INTERVAL_S`, and :meth:`Recorder.close` flushes what is left.

Why counters in memory, flushed to the database, rather than one upsert per
event or counters in Redis: 200 events a second cost one transaction a
second per web process instead of 200, the totals live in one place (the
database every node shares), and additions commute, so nodes never
coordinate. What a process killed outright had not flushed (one interval)
is lost; a stopped one flushes first.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cachetools import LRUCache

from service.db.database import Database
from service.db.stats import QUARTILE_COUNTERS, CountBatch, add_counts
from service.errors import ListenError, ListeningEventError
from service.listening.events import ListeningEvent
from service.listening.milestones import (
    MemoryMilestones,
    Milestones,
    RedisMilestones,
    milestone_bit,
    session_key,
)
from service.pipeline.objects import plan_object
from service.store import Store

log = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 1.0
"""How often counted events are written to the database."""
KNOWN_NARRATIONS = 4096
"""Narrations whose paragraph count a process keeps in memory."""

ParagraphCounts = Callable[[str], int | None]
"""Return a narration's number of paragraphs (spoken blocks), or None when there is none."""


@dataclass(frozen=True)
class Recorded:
    """What became of a batch of events."""

    counted: int
    """Events that changed a counter."""
    repeated: int
    """Milestones the session had already reported (dropped)."""


class StoredParagraphCounts:
    """Look up narrations' paragraph counts in their plans, once per narration and process."""

    def __init__(self, store: Store, *, size: int = KNOWN_NARRATIONS) -> None:
        self._store = store
        self._known: LRUCache[str, int] = LRUCache(maxsize=size)
        self._lock = threading.Lock()

    def __call__(self, narration_id: str) -> int | None:
        """Return the number of spoken blocks of ``narration_id``, or None if it does not exist."""
        with self._lock:
            known = self._known.get(narration_id)
        if known is not None:
            return int(known)
        raw = self._store.get(plan_object(narration_id))
        if raw is None:
            return None  # not remembered: the narration may be asked for later
        count = len(json.loads(raw)["blocks"])
        with self._lock:
            self._known[narration_id] = count
        return count


class Recorder:
    """Check, deduplicate and count listening events; write the counts in batches."""

    def __init__(
        self,
        database: Database,
        milestones: Milestones,
        paragraph_counts: ParagraphCounts,
        *,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.database = database
        self.milestones = milestones
        self.paragraph_counts = paragraph_counts
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._pending = CountBatch()
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.counted = 0
        """Events counted since the start."""
        self.repeated = 0
        """Repeated milestones dropped since the start."""

    def record(self, events: Sequence[ListeningEvent]) -> Recorded:
        """Count ``events`` (all of them, or none when one is refused)."""
        for event in events:
            self._check(event)
        marks = [
            (session_key(event), bit)
            for event in events
            if (bit := milestone_bit(event)) is not None
        ]
        first = iter(self.milestones.first_times(marks))
        day = self._clock().astimezone(dt.UTC).date()
        batch = CountBatch()
        counted = repeated = 0
        for event in events:
            key = (event.narration_id, day)
            if event.listened_ms:
                batch.add_day(key, "listened_ms", event.listened_ms)
            if milestone_bit(event) is not None and not next(first):
                repeated += 1
                continue
            counted += 1
            if event.kind == "play":
                batch.add_day(key, "plays")
            elif event.kind == "progress" and event.quartile is not None:
                batch.add_day(key, QUARTILE_COUNTERS[event.quartile])
            elif event.kind == "paragraph" and event.paragraph is not None:
                batch.add_paragraph((event.narration_id, day, event.paragraph))
            elif event.kind == "speed":
                batch.add_day(key, "speed_changes")
        with self._lock:
            self._pending.merge(batch)
            self.counted += counted
            self.repeated += repeated
        return Recorded(counted, repeated)

    def _check(self, event: ListeningEvent) -> None:
        count = self.paragraph_counts(event.narration_id)
        if count is None:
            raise ListeningEventError(f"no narration with id {event.narration_id!r}")
        if event.paragraph is not None and event.paragraph >= count:
            raise ListeningEventError(
                f"paragraph {event.paragraph} does not exist: the narration has {count} "
                f"(0 to {count - 1})"
            )

    def flush(self) -> int:
        """Write the counts gathered so far; return how many rows were added to.

        On failure the counts go back to be written with the next flush, and
        the error is raised.
        """
        with self._flush_lock:
            with self._lock:
                batch, self._pending = self._pending, CountBatch()
            if not batch:
                return 0
            try:
                with self.database.session() as session:
                    add_counts(session, batch)
            except BaseException:
                with self._lock:
                    batch.merge(self._pending)
                    self._pending = batch
                raise
            return len(batch.days) + len(batch.paragraphs)

    def pending(self) -> CountBatch:
        """Return a copy of the counts not yet written."""
        copy = CountBatch()
        with self._lock:
            copy.merge(self._pending)
        return copy

    def start(self, interval_s: float = FLUSH_INTERVAL_S) -> None:
        """Flush every ``interval_s`` in a background thread until :meth:`close`."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(interval_s,), name="listening-flush", daemon=True
        )
        self._thread.start()

    def _run(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            try:
                self.flush()
            except ListenError as error:  # the database is away: keep the counts, try again
                log.warning("listening counts not written yet: %s", error)
            except Exception:  # keep counting whatever went wrong; the counts are kept
                log.exception("writing listening counts failed")

    def close(self) -> None:
        """Stop the background thread and write what is left."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        self.flush()


def open_milestones(redis_url: str) -> Milestones:
    """Return where sessions' milestones are kept: Redis when ``redis_url`` is set, else memory."""
    if not redis_url:
        return MemoryMilestones()
    from service.jobs.rq import connect

    return RedisMilestones(connect(redis_url, socket_timeout_s=2.0))
