"""Count what the job runners do, for operators: in memory, or in Redis for a cluster.

A runner keeps one :class:`Tally` of running totals (jobs started, synthesis
seconds, sentences made or reused, bytes served) and answers
:meth:`ReportsFigures.queue_figures` with what is waiting and running now.
``GET /metrics`` turns both into Prometheus metrics.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from service.pipeline.plan import NarrationPlan
from service.pipeline.render import ChunkAudio

TALLY_NAMES = (
    "jobs_started",
    "jobs_succeeded",
    "jobs_failed",
    "synthesis_seconds",
    "sentences_synthesized",
    "sentences_cached",
    "bytes_served",
)
"""Every running total a tally keeps."""


class Tally(Protocol):
    """Running totals that only ever grow."""

    def add(self, name: str, amount: float = 1.0) -> None:
        """Add ``amount`` to the total ``name`` (one of :data:`TALLY_NAMES`)."""
        ...

    def totals(self) -> dict[str, float]:
        """Return every total, zero for those never added to."""
        ...


class MemoryTally:
    """Totals of this process: the embedded, single-process default."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._totals = dict.fromkeys(TALLY_NAMES, 0.0)

    def add(self, name: str, amount: float = 1.0) -> None:
        with self._lock:
            self._totals[name] += amount

    def totals(self) -> dict[str, float]:
        with self._lock:
            return dict(self._totals)


@dataclass(frozen=True)
class QueueFigures:
    """What the job queue holds right now."""

    queued: int
    """Jobs waiting for a worker."""
    running: int
    """Jobs a worker is carrying out."""
    failed: int
    """Failed jobs still remembered (RQ's failed registry, or this process's)."""
    workers: int
    """Processes able to run jobs (RQ workers, or engine workers in process)."""


@runtime_checkable
class ReportsFigures(Protocol):
    """A job runner that can say what it has done and holds."""

    tally: Tally
    """Running totals (shared by every node when they live in Redis)."""

    def queue_figures(self) -> QueueFigures:
        """Return the queue's figures now."""
        ...


class JobTimer:
    """Measure one narration job and add it to a tally when it ends."""

    def __init__(self, tally: Tally, plan: NarrationPlan) -> None:
        self.tally = tally
        self.plan = plan
        self.started_at = time.monotonic()

    def on_chunk(self, index: int, chunk: ChunkAudio) -> None:
        """Count a finished chunk's sentences as synthesised or reused (Narrator's on_chunk)."""
        made, reused = chunk.clips_synthesized, chunk.clips_cached
        if made + reused == 0:  # the whole chunk came from the cache
            reused = len(self.plan.chunks[index].clips)
        if made:
            self.tally.add("sentences_synthesized", made)
        if reused:
            self.tally.add("sentences_cached", reused)

    def finish(self, *, ok: bool) -> None:
        """Record the job's outcome and its wall-clock seconds."""
        self.tally.add("synthesis_seconds", time.monotonic() - self.started_at)
        self.tally.add("jobs_succeeded" if ok else "jobs_failed")
