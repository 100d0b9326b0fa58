"""Run narrations on threads of this process, with one shared engine pool."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from service.config import Settings
from service.engines.pool import EnginePool
from service.errors import ListenError
from service.jobs.base import JobState, QueueFullError
from service.jobs.run import carry_out, failure_reason
from service.jobs.tally import MemoryTally, QueueFigures
from service.pipeline.narrate import Narrator
from service.pipeline.plan import NarrationPlan
from service.store import Store
from service.threads import start_threads

log = logging.getLogger(__name__)

FINISHED_KEPT = 512
"""Finished jobs whose state stays in memory; older ones are read from the store."""
CONCURRENT_JOBS = 2
"""Narrations rendered at once; they share the engine pool."""


class InProcessRunner:
    """The default runner: no external service, jobs on threads, engines in worker processes."""

    def __init__(self, settings: Settings, store: Store, pool: EnginePool | None = None) -> None:
        self.settings = settings
        self.store = store
        self.pool = pool or EnginePool.from_settings(settings)
        self._owns_pool = pool is None
        self._threads = ThreadPoolExecutor(CONCURRENT_JOBS, thread_name_prefix="narration")
        self._states: dict[str, JobState] = {}
        self._changed = threading.Condition()
        self._started = False
        self._starting = threading.Lock()
        self.jobs_started = 0
        """Narration jobs this runner has started (for metrics and tests)."""
        self.tally = MemoryTally()
        """Running totals of this process, for ``/metrics``."""

    def start(self) -> None:
        """Start the engine workers (not at import or app creation time).

        Callers that arrive while another starts them wait for it: a caller that
        went on to start the pool a second time could take so long that the job
        it came to start had already finished, and would start it again.
        """
        with self._starting:
            if not self._started:
                self.pool.start()
                start_threads(self._threads, CONCURRENT_JOBS)
                self._started = True

    def _set(self, state: JobState) -> None:
        with self._changed:
            self._states.pop(state.narration_id, None)  # keep the dict in order of last change
            self._states[state.narration_id] = state
            self._forget_old_finished()
            self._changed.notify_all()

    def _forget_old_finished(self) -> None:
        """Drop the oldest finished jobs past :data:`FINISHED_KEPT`: the store remembers them."""
        finished = [k for k, s in self._states.items() if s.status in ("done", "failed")]
        for narration_id in finished[: max(0, len(finished) - FINISHED_KEPT)]:
            del self._states[narration_id]

    def submit(self, plan: NarrationPlan, formats: tuple[str, ...]) -> JobState:
        """Start the job for ``plan`` unless one is queued, running or done."""
        self.start()
        with self._changed:
            current = self._states.get(plan.narration_id)
            if current is not None and current.status in ("queued", "running"):
                return current
            active = sum(s.status in ("queued", "running") for s in self._states.values())
            if active >= self.settings.jobs.queue_max:
                raise QueueFullError(f"{active} narrations are in progress; try again shortly")
            state = JobState(plan.narration_id, "queued", 0, plan.chunks_total)
            self._states[plan.narration_id] = state
            self.jobs_started += 1
            self.tally.add("jobs_started")
        self._threads.submit(self._run, plan, formats)
        return state

    def _run(self, plan: NarrationPlan, formats: tuple[str, ...]) -> None:
        total = plan.chunks_total
        narration_id = plan.narration_id
        self._set(JobState(narration_id, "running", 0, total))

        def progress(done: int, _total: int) -> None:
            self._set(JobState(narration_id, "running", done, total))

        narrator = Narrator(self.settings, self.store, self.pool)
        try:
            carry_out(narrator, plan, formats, self.tally, progress)
        except Exception as error:  # a bug must not kill the runner thread silently
            if isinstance(error, ListenError):
                log.warning("narration %s failed: %s", narration_id, error)
            else:
                log.exception("narration %s failed unexpectedly", narration_id)
            self._set(JobState(narration_id, "failed", 0, total, failure_reason(error)))
        else:
            self._set(JobState(narration_id, "done", total, total))

    def state(self, narration_id: str) -> JobState | None:
        """Return the job's state, or None when this process ran no such job."""
        with self._changed:
            return self._states.get(narration_id)

    def wait(self, narration_id: str, timeout_s: float) -> None:
        """Block until any job changes or ``timeout_s`` passes."""
        with self._changed:
            self._changed.wait(timeout_s)

    def queue_figures(self) -> QueueFigures:
        """Return this process's waiting, running and failed jobs, and its engine workers."""
        with self._changed:
            statuses = [s.status for s in self._states.values()]
        return QueueFigures(
            queued=statuses.count("queued"),
            running=statuses.count("running"),
            failed=statuses.count("failed"),
            workers=len(self.pool.worker_pids()) if self._started else 0,
        )

    def healthy(self) -> bool:
        """Return True when the engine workers are alive."""
        return not self._started or self.pool.alive()

    def close(self) -> None:
        """Finish running jobs, then stop the workers."""
        self._threads.shutdown(wait=True, cancel_futures=True)
        if self._owns_pool and self._started:
            self.pool.close()
