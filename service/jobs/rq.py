"""Run narrations on RQ workers through Redis: the scale-out job runner of the web nodes.

Every web node talks to the same Redis. A narration's job id is its narration
id, so identical requests on any node join one job: enqueueing happens under a
short Redis lock per narration, after checking the store (a finished narration
needs no job) and RQ (a queued or running one is joined). Workers
(``listen worker``, :mod:`service.jobs.rq_worker`) report progress into a
Redis hash and announce it on a channel, so every node can show it and wake
its streams at once. Nothing here loads an engine.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import LockError, RedisError
from redis.retry import Retry as RedisRetry
from rq import Queue, Retry, Worker
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, StartedJobRegistry

from service.config import Settings
from service.jobs.base import JobState, QueueFullError, QueueUnavailableError, Status
from service.jobs.tally import TALLY_NAMES, QueueFigures
from service.pipeline.objects import audio_object, manifest_object
from service.pipeline.plan import NarrationPlan
from service.store import Store

log = logging.getLogger(__name__)

QUEUE_NAME = "listen"
"""The RQ queue narrations go to."""
JOB_FUNCTION = "service.jobs.rq_worker.narrate_job"
"""What a worker runs, named by import path so web nodes never import it."""
PROGRESS_CHANNEL = "listen:progress"
"""Channel on which workers announce progress (the message is the narration id)."""
TALLY_KEY = "listen:tally"
"""Hash of running totals shared by every node and worker."""
JOB_TIMEOUT_S = 3600
"""Longest one narration job may run before RQ stops it."""
JOB_RETRIES = 2
"""Further attempts after a failure or a worker that died mid-job."""
RESULT_TTL_S = 3600
"""How long a finished job is kept; afterwards the store alone says it is done."""
FAILURE_TTL_S = 3600
"""How long a failed job is remembered; afterwards a new request tries again."""
PROGRESS_TTL_S = 24 * 3600
"""How long a narration's progress hash outlives its last update."""
ENQUEUE_LOCK_S = 10.0
"""Expiry of the per-narration enqueue lock (it is released as soon as the job is queued)."""
ENQUEUE_WAIT_S = 5.0
"""How long a second node waits for the node that is enqueueing the same narration."""

_RQ_STATUS: dict[str, Status] = {
    JobStatus.STARTED.value: "running",
    JobStatus.FINISHED.value: "done",
    JobStatus.FAILED.value: "failed",
    JobStatus.STOPPED.value: "failed",
    JobStatus.CANCELED.value: "failed",
}
"""RQ job statuses that are not "queued" in our terms (every other one is)."""


def progress_key(narration_id: str) -> str:
    """Return the Redis hash holding a narration's progress (done, total, error)."""
    return f"listen:progress:{narration_id}"


def enqueue_lock_key(narration_id: str) -> str:
    """Return the Redis lock taken while a narration's job is being enqueued."""
    return f"listen:enqueue:{narration_id}"


def connect(redis_url: str, *, socket_timeout_s: float | None = 10.0) -> Redis:
    """Return a Redis client that fails fast while Redis is down and reconnects after.

    One retry without backoff: a dead connection left in the pool by a Redis
    restart is replaced on the spot, and a Redis that is down answers at once
    instead of after redis-py's default backoff. ``health_check_interval``
    pings connections that sat idle before reusing them.
    """
    return Redis.from_url(
        redis_url,
        socket_connect_timeout=2.0,
        socket_timeout=socket_timeout_s,
        health_check_interval=15,
        retry=RedisRetry(NoBackoff(), 1),
    )


def redis_address(redis_url: str) -> str:
    """Return ``host:port/db`` of a Redis URL, without any password."""
    parts = urlsplit(redis_url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 6379}{parts.path or ''}"


@contextlib.contextmanager
def queue_errors(redis_url: str) -> Iterator[None]:
    """Turn Redis failures into QueueUnavailableError (503 with Retry-After)."""
    try:
        yield
    except RedisError as error:
        raise QueueUnavailableError(
            f"the job queue at {redis_address(redis_url)} cannot be reached: {error}"
        ) from None


def rq_status(raw: bytes | str | None) -> Status | None:
    """Map an RQ job status to ours; None when there is no job."""
    if raw is None:
        return None
    text = raw.decode() if isinstance(raw, bytes) else raw
    return _RQ_STATUS.get(text, "queued")


class RedisTally:
    """Running totals in one Redis hash, shared by every web node and worker."""

    def __init__(self, redis: Redis, redis_url: str) -> None:
        self.redis = redis
        self.redis_url = redis_url

    def add(self, name: str, amount: float = 1.0) -> None:
        """Add to a total; a Redis failure loses the figure, never the request or job."""
        try:
            self.redis.hincrbyfloat(TALLY_KEY, name, amount)
        except RedisError as error:
            log.debug("tally %s not counted: %s", name, error)

    def totals(self) -> dict[str, float]:
        """Return every total; raise QueueUnavailableError when Redis is down."""
        with queue_errors(self.redis_url):
            raw: dict[bytes, bytes] = self.redis.hgetall(TALLY_KEY)  # type: ignore[assignment]
        totals = dict.fromkeys(TALLY_NAMES, 0.0)
        for name, value in raw.items():
            totals[name.decode()] = float(value)
        return totals


class RQRunner:
    """Queue narrations on RQ; see the module docstring."""

    def __init__(self, settings: Settings, store: Store | None = None) -> None:
        self.settings = settings
        self.store = store
        """Where finished narrations are looked for before enqueueing (optional)."""
        self.redis = connect(settings.jobs.redis_url)
        self.queue = Queue(QUEUE_NAME, connection=self.redis)
        self.tally = RedisTally(self.redis, settings.jobs.redis_url)
        """Cluster-wide running totals."""
        self._changed = threading.Condition()
        self._listener: threading.Thread | None = None
        self._closed = threading.Event()

    # --- the JobRunner protocol ---

    def submit(self, plan: NarrationPlan, formats: tuple[str, ...]) -> JobState:
        """Join the narration's job, or enqueue it once across every node."""
        narration_id = plan.narration_id
        total = plan.chunks_total
        if self._finished(plan, formats):
            return JobState(narration_id, "done", total, total)
        with queue_errors(self.settings.jobs.redis_url):
            current = self.state(narration_id)
            if current is not None and current.status in ("queued", "running"):
                return current
            lock = self.redis.lock(
                enqueue_lock_key(narration_id),
                timeout=ENQUEUE_LOCK_S,
                blocking_timeout=ENQUEUE_WAIT_S,
            )
            if not lock.acquire():
                current = self.state(narration_id)
                return current or JobState(narration_id, "queued", 0, total)
            try:
                current = self.state(narration_id)
                if current is not None and current.status in ("queued", "running"):
                    return current  # another node enqueued it while we waited
                return self._enqueue(plan, formats)
            finally:
                with contextlib.suppress(LockError):
                    lock.release()

    def _enqueue(self, plan: NarrationPlan, formats: tuple[str, ...]) -> JobState:
        narration_id = plan.narration_id
        waiting = self.queue.count + StartedJobRegistry(queue=self.queue).count
        if waiting >= self.settings.jobs.queue_max:
            raise QueueFullError(f"{waiting} narrations are in progress; try again shortly")
        old = Job.fetch_many([narration_id], connection=self.redis)[0]
        if old is not None:
            old.delete()  # a finished or failed earlier run; start afresh under the same id
        with self.redis.pipeline() as pipe:
            pipe.delete(progress_key(narration_id))
            pipe.hset(progress_key(narration_id), mapping={"done": 0, "total": plan.chunks_total})
            pipe.expire(progress_key(narration_id), PROGRESS_TTL_S)
            pipe.execute()
        self.queue.enqueue_call(
            JOB_FUNCTION,
            args=(plan.to_json(), list(formats)),
            job_id=narration_id,
            timeout=JOB_TIMEOUT_S,
            result_ttl=RESULT_TTL_S,
            failure_ttl=FAILURE_TTL_S,
            retry=Retry(max=JOB_RETRIES),
            description=f"narrate {narration_id}",
        )
        self.tally.add("jobs_started")
        log.info("queued narration %s (%d chunks)", narration_id, plan.chunks_total)
        return JobState(narration_id, "queued", 0, plan.chunks_total)

    def _finished(self, plan: NarrationPlan, formats: tuple[str, ...]) -> bool:
        """Tell whether the store already holds the narration in every format asked for."""
        if self.store is None or not self.store.exists(manifest_object(plan.narration_id)):
            return False
        wanted = {"mp3", *formats}
        return all(self.store.exists(audio_object(plan.narration_id, fmt)) for fmt in wanted)

    def state(self, narration_id: str) -> JobState | None:
        """Return the job's state from Redis, or None when Redis knows no such job."""
        with queue_errors(self.settings.jobs.redis_url), self.redis.pipeline() as pipe:
            pipe.hget(Job.key_for(narration_id), "status")
            pipe.hgetall(progress_key(narration_id))
            raw_status, progress = pipe.execute()
        status = rq_status(raw_status)
        if status is None:
            return None
        fields = {key.decode(): value.decode() for key, value in progress.items()}
        total = int(fields.get("total", 0))
        done = total if status == "done" else int(fields.get("done", 0))
        error = fields.get("error") or ("synthesis failed" if status == "failed" else None)
        return JobState(narration_id, status, done, total, error if status == "failed" else None)

    def wait(self, narration_id: str, timeout_s: float) -> None:
        """Block until a worker reports progress on any narration, or ``timeout_s`` passes."""
        self._listen()
        with self._changed:
            self._changed.wait(timeout_s)

    def healthy(self) -> bool:
        """Return True when Redis answers."""
        try:
            return bool(self.redis.ping())
        except RedisError as error:
            log.warning("job queue unreachable: %s", error)
            return False

    def close(self) -> None:
        """Stop listening for progress and drop the connections."""
        self._closed.set()
        if self._listener is not None:
            self._listener.join(timeout=3)
        self.redis.close()

    # --- figures for /metrics ---

    def queue_figures(self) -> QueueFigures:
        """Return the queue's depth, running and failed jobs, and live workers."""
        with queue_errors(self.settings.jobs.redis_url):
            return QueueFigures(
                queued=self.queue.count,
                running=StartedJobRegistry(queue=self.queue).count,
                failed=FailedJobRegistry(queue=self.queue).count,
                workers=Worker.count(queue=self.queue),
            )

    # --- progress announcements ---

    def _listen(self) -> None:
        """Start the thread that wakes waiters on progress, once, on first use."""
        with self._changed:
            if self._listener is None and not self._closed.is_set():
                self._listener = threading.Thread(
                    target=self._listen_forever, name="rq-progress", daemon=True
                )
                self._listener.start()

    def _listen_forever(self) -> None:
        """Relay progress messages to waiters; survive Redis going away and coming back."""
        while not self._closed.is_set():
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
            try:
                pubsub.subscribe(PROGRESS_CHANNEL)
                while not self._closed.is_set():
                    if pubsub.get_message(timeout=0.5) is not None:
                        with self._changed:
                            self._changed.notify_all()
            except RedisError as error:
                log.debug("progress channel lost (%s); listening again shortly", error)
                self._closed.wait(1.0)
            finally:
                with contextlib.suppress(RedisError):
                    pubsub.close()
