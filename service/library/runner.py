"""Choose who runs narrations: threads of this process, or RQ workers through Redis."""

from __future__ import annotations

from service.config import Settings
from service.jobs.base import JobRunner
from service.store import Store


def make_runner(settings: Settings, store: Store) -> JobRunner:
    """Return the job runner the settings ask for: RQ when Redis is set, else in-process."""
    if settings.jobs.redis_url:
        from service.jobs.rq import RQRunner

        return RQRunner(settings, store)
    from service.jobs.inprocess import InProcessRunner

    return InProcessRunner(settings, store)


def run_worker(settings: Settings, *, burst: bool = False) -> None:
    """Take narration jobs from Redis until stopped (``listen worker``)."""
    from service.jobs.rq_worker import run_worker as run

    run(settings, burst=burst)
