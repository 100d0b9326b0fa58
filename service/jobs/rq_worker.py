"""Carry out queued narrations: the ``listen worker`` process on RQ.

One worker process owns one long-lived engine pool, started once. RQ's usual
worker forks a work-horse per job, which would lose the pool (and must never
fork after eSpeak loads), so jobs run in the worker process itself
(:class:`rq.SimpleWorker`) and the pool's spawned engine processes render the
chunks.

A worker that dies mid-job is noticed by its lease: while a job runs, a thread
renews the job's entry in RQ's started-job registry every
:data:`HEARTBEAT_S`; an entry not renewed for :data:`LEASE_S` is abandoned,
and the next registry clean-up by any worker (every
:data:`MAINTENANCE_INTERVAL_S`) puts the job back on the queue while it has
retries left. The store never holds a half-written object: every write is
atomic, and the manifest is written last.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, SimpleWorker
from rq.executions import Execution
from rq.job import Job
from rq.worker import WorkerStatus

from service.config import Settings
from service.engines.pool import EnginePool
from service.jobs.rq import (
    PROGRESS_CHANNEL,
    PROGRESS_TTL_S,
    QUEUE_NAME,
    RedisTally,
    connect,
    progress_key,
    redis_address,
)
from service.jobs.run import carry_out, failure_reason
from service.pipeline.narrate import Narrator
from service.pipeline.plan import NarrationPlan
from service.store import Store, open_store

log = logging.getLogger(__name__)

LEASE_S = 8
"""A running job whose worker has not renewed it for this long is abandoned."""
HEARTBEAT_S = 2.0
"""How often a busy worker renews its job's lease."""
MAINTENANCE_INTERVAL_S = 3
"""How often an idle worker cleans RQ's registries (and requeues abandoned jobs)."""
WORKER_TTL_S = 20
"""An idle worker's registration lifetime; it waits for jobs ``WORKER_TTL_S - 15`` s at a time."""
RESTART_DELAY_S = 1.0
"""Pause before the work loop starts again after it stopped on a Redis failure."""


@dataclass(frozen=True)
class WorkerContext:
    """What a job needs that lives as long as the worker process."""

    settings: Settings
    """The worker's settings."""
    store: Store
    """Where chunks and narrations go."""
    pool: EnginePool
    """The engine processes, started once."""
    redis: Redis
    """Connection for progress and totals."""
    tally: RedisTally
    """Cluster-wide running totals."""


_context: WorkerContext | None = None
"""Set by :func:`run_worker`; RQ calls :func:`narrate_job` by name, so it cannot be passed."""


class ProgressReport:
    """Publish a job's progress to Redis; a Redis blip never fails the synthesis."""

    def __init__(self, redis: Redis, narration_id: str, total: int) -> None:
        self.redis = redis
        self.narration_id = narration_id
        self.total = total

    def update(self, done: int, _total: int = 0, *, error: str | None = None) -> None:
        """Record ``done`` chunks (a Narrator ``on_progress`` callback) and announce it."""
        key = progress_key(self.narration_id)
        try:
            with self.redis.pipeline() as pipe:
                pipe.hset(key, mapping={"done": done, "total": self.total})
                if error is not None:
                    pipe.hset(key, "error", error)
                pipe.expire(key, PROGRESS_TTL_S)
                pipe.publish(PROGRESS_CHANNEL, self.narration_id)
                pipe.execute()
        except RedisError as error_:
            log.warning("progress of %s not reported: %s", self.narration_id, error_)


def narrate_job(plan_json: str, formats: list[str]) -> dict[str, Any]:
    """Narrate one plan into the store (the function RQ runs for each job)."""
    context = _context
    if context is None:
        raise RuntimeError("narration jobs run in `listen worker`, which sets up the engines")
    plan = NarrationPlan.from_json(plan_json)
    progress = ProgressReport(context.redis, plan.narration_id, plan.chunks_total)
    progress.update(0)
    narrator = Narrator(context.settings, context.store, context.pool)
    try:
        result = carry_out(narrator, plan, tuple(formats), context.tally, progress.update)
    except Exception as error:
        progress.update(0, error=failure_reason(error))
        raise
    progress.update(plan.chunks_total)
    return {"duration_ms": result.duration_ms, "cached": result.cached}


class NarrationWorker(SimpleWorker):
    """Run jobs in this process (keeping its engine pool), renewing each job's lease."""

    max_connection_wait_time = 2.0
    """Longest pause between attempts to reach a Redis that is down."""

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        """Return the lease: short, because a thread renews it while the job runs."""
        return LEASE_S

    def execute_job(self, job: Job, queue: Queue) -> None:
        """Run the job here (no fork), renewing its lease from a thread meanwhile."""
        execution = self.prepare_execution(job)
        with self._renewing_lease(job, execution):
            self.perform_job(job, queue, execution)
        self.set_state(WorkerStatus.IDLE)

    @contextlib.contextmanager
    def _renewing_lease(self, job: Job, execution: Execution) -> Iterator[None]:
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(HEARTBEAT_S):
                try:
                    self.maintain_heartbeats(job, execution)
                except RedisError as error:
                    log.warning("lease of job %s not renewed: %s", job.id, error)

        thread = threading.Thread(target=renew, name="rq-lease", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()


def run_worker(settings: Settings, *, burst: bool = False) -> None:
    """Start the engine pool once, then take narration jobs from Redis until stopped."""
    global _context
    store = open_store(settings.store)
    redis = connect(settings.jobs.redis_url)
    pool = EnginePool.from_settings(settings)
    log.info(
        "starting %d engine worker(s); jobs from %s",
        pool.workers,
        redis_address(settings.jobs.redis_url),
    )
    with pool:
        _context = WorkerContext(
            settings, store, pool, redis, RedisTally(redis, settings.jobs.redis_url)
        )
        try:
            while True:
                # RQ sets its own socket timeout on the worker's connection.
                connection = connect(settings.jobs.redis_url, socket_timeout_s=None)
                worker = NarrationWorker(
                    [Queue(QUEUE_NAME, connection=connection)],
                    connection=connection,
                    worker_ttl=WORKER_TTL_S,
                    maintenance_interval=MAINTENANCE_INTERVAL_S,
                )
                try:
                    worker.work(burst=burst, logging_level="INFO")
                except RedisError as error:
                    log.warning("job queue unreachable: %s", error)
                if burst or worker._stop_requested or _stop_was_requested(worker):
                    break
                log.warning("work loop stopped; starting again in %.0f s", RESTART_DELAY_S)
                time.sleep(RESTART_DELAY_S)
        finally:
            _context = None
            redis.close()


def _stop_was_requested(worker: NarrationWorker) -> bool:
    """Tell whether SIGINT or SIGTERM asked the worker to stop (RQ records the time)."""
    return getattr(worker, "_shutdown_requested_date", None) is not None
