"""Define the job runner interface the web layer talks to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from service.errors import ListenError
from service.pipeline.plan import NarrationPlan

Status = Literal["queued", "running", "done", "failed"]


class QueueFullError(ListenError):
    """Too many narrations are waiting; try again later."""

    http_status = 503
    exit_code = 1
    slug = "queue-full"
    title = "Job queue full"
    retry_after_s = 5


class QueueUnavailableError(ListenError):
    """The job queue cannot be reached (Redis down)."""

    http_status = 503
    exit_code = 1
    slug = "queue-unavailable"
    title = "Job queue unavailable"
    retry_after_s = 5


@dataclass(frozen=True)
class JobState:
    """What is known about one narration's job."""

    narration_id: str
    """The narration (and job) id."""
    status: Status
    """queued, running, done or failed."""
    chunks_done: int = 0
    """Chunks finished so far."""
    chunks_total: int = 0
    """Chunks in the narration."""
    error: str | None = None
    """Why it failed, for ``failed``."""


class JobRunner(Protocol):
    """Run narrations in the background; identical requests share one job."""

    def submit(self, plan: NarrationPlan, formats: tuple[str, ...]) -> JobState:
        """Start (or join) the job for ``plan``; raise QueueFullError when full."""
        ...

    def state(self, narration_id: str) -> JobState | None:
        """Return the job's state, or None when this runner knows no such job."""
        ...

    def wait(self, narration_id: str, timeout_s: float) -> None:
        """Block until the job makes progress or ``timeout_s`` passes."""
        ...

    def healthy(self) -> bool:
        """Return True when jobs can run (workers alive, queue reachable)."""
        ...

    def close(self) -> None:
        """Stop accepting work and release workers."""
        ...
