"""Carry out one narration job, whichever runner holds it: the one run block both share."""

from __future__ import annotations

from service.errors import ListenError
from service.jobs.tally import JobTimer, Tally
from service.pipeline.narrate import NarrationResult, Narrator, ProgressCallback
from service.pipeline.plan import NarrationPlan


def carry_out(
    narrator: Narrator,
    plan: NarrationPlan,
    formats: tuple[str, ...],
    tally: Tally,
    on_progress: ProgressCallback,
) -> NarrationResult:
    """Make ``plan``'s narration in ``formats``, adding its sentences and outcome to ``tally``."""
    timer = JobTimer(tally, plan)
    try:
        result = narrator.narrate(
            plan, formats=formats, on_progress=on_progress, on_chunk=timer.on_chunk
        )
    except BaseException:
        timer.finish(ok=False)
        raise
    timer.finish(ok=True)
    return result


def failure_reason(error: Exception) -> str:
    """Say why a job failed, as its status reports it: a named error's message, else a bug's."""
    return str(error) if isinstance(error, ListenError) else f"internal error: {error}"
