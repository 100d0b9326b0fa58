"""Run synthesis (or any module-level task) in spawned worker processes, one engine each.

Built on pebble's ProcessPool, which kills a task's worker when the task runs
past its timeout and replaces workers that die. On top of it this module adds
what pebble leaves out: a task that timed out or lost its worker is retried
once in a fresh worker before its future fails with
:class:`~service.errors.SynthesisError`; a pebble pool that broke for good
(pebble gives up when a worker dies while no task is running) is replaced on
the next submit. Each worker gets the pool's
:class:`~service.config.EngineSettings`, so the engines it constructs see what
the process that made the pool was configured with.

Workers are always started with ``spawn``: eSpeak NG must never be forked, and
the calling process never loads an engine.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Future, InvalidStateError, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar

from pebble import ProcessExpired, ProcessPool

from service.config import EngineSettings, Settings
from service.engines.base import VoiceSettings
from service.engines.registry import (
    DEFAULT_ENGINE,
    Registration,
    adopt_registrations,
    registrations,
    resolve_engine,
)
from service.engines.voices import preferred_voices
from service.errors import SynthesisError
from service.media import Pcm

logger = logging.getLogger(__name__)

T = TypeVar("T")

_SPAWN = multiprocessing.get_context("spawn")
_READY_HOLD_S = 0.02
"""How long a readiness probe keeps its worker busy, so probes spread over workers."""
_POOL_BREAKS_FORGIVEN = 3
"""Times a task is rescheduled, uncounted, because the whole pool broke under it."""
SERVER_NICENESS = 5
"""How much lower than the server's the CPU priority of its engine workers is (``nice``).

Synthesis is background work: on a busy machine the process answering requests
comes first. A narration from the command line is the user's foreground work,
and its workers keep the priority of the command.
"""
_LAUNCH_WAIT_S = 10.0
"""How long closing waits for workers that :meth:`EnginePool.launch` started to come up."""


_worker_settings = EngineSettings()
"""The engine settings of this worker's pool (set by :func:`_initialize_worker`)."""


def synthesize(text: str, settings: VoiceSettings) -> Pcm:
    """Turn one sentence into PCM with this process's engine (a task for pool workers)."""
    return resolve_engine(settings.engine, _worker_settings).synthesize(text, settings)


def _initialize_worker(
    settings: EngineSettings,
    engines: dict[str, Registration],
    warm_engines: tuple[str, ...],
    niceness: int = 0,
) -> None:
    """Prepare a fresh worker: keep stdout clean, take the pool's settings, load the engines.

    ``engines`` is the registry as the parent found it (a worker need not scan
    the installed packages again); ``warm_engines`` holds engine names or full
    voice ids (the voice to load).
    """
    global _worker_settings
    if niceness:
        os.nice(niceness)
    adopt_registrations(engines)
    # Anything written to fd 1 here (engines print) would land in the parent's
    # stdout, which may be carrying an MP3; send it to stderr instead.
    sys.stdout.flush()
    os.dup2(2, 1)
    _worker_settings = settings
    for wanted in warm_engines:
        name, _, voice = wanted.partition(":")
        try:
            engine = resolve_engine(name, settings)
            warm_up = getattr(engine, "warm_up", None)
            if callable(warm_up):
                warm_up(voice or None)
        except Exception:
            # A failing initializer would make pebble drop the whole pool; the
            # same error is raised again, with a message, by the first real task.
            logger.exception("could not warm up the %s engine in worker %d", name, os.getpid())


def _worker_ready(hold_s: float) -> int:
    """Return this worker's pid once its initializer has run."""
    time.sleep(hold_s)
    return os.getpid()


@dataclass(eq=False)
class _Task:
    """One submitted call and the future its caller holds.

    The attempt's future calls back into its task, so a finished task drops
    ``inner`` and ``pool``: otherwise each result would sit in a reference cycle
    until the garbage collector's rare full pass, and the web process would
    hold minutes of finished chunks' audio.
    """

    fn: Callable[..., Any]
    args: tuple[Any, ...]
    label: str
    future: Future[Any]
    attempts: int = 0
    inner: Future[Any] | None = field(default=None, repr=False)
    pool: ProcessPool | None = field(default=None, repr=False)
    """The pebble pool the current attempt runs on."""
    pool_breaks: int = 0
    """Attempts lost because the whole pool broke under them (not counted as attempts)."""
    admitted: bool = False
    """True from when it is sent to a worker until it is finished: it holds a worker."""


class EnginePool:
    """Spawned worker processes, one engine each, with a per-task timeout and one retry.

    Tasks wait here, not in the workers' queue, and go to a worker as one frees,
    the one due soonest first: a new narration's first sentence, due now, is made
    before the later chunks of one already playing, which are due minutes ahead.
    """

    def __init__(
        self,
        workers: int,
        *,
        task_timeout_s: float,
        warm_engines: Sequence[str] = (DEFAULT_ENGINE,),
        start_timeout_s: float = 120.0,
        settings: EngineSettings | None = None,
        niceness: int = 0,
    ) -> None:
        if workers < 1:
            raise ValueError(f"an engine pool needs at least one worker, not {workers}")
        self.workers = workers
        self.task_timeout_s = task_timeout_s
        self.settings = settings if settings is not None else EngineSettings(workers=workers)
        """What the workers' engines are constructed with."""
        self._warm_engines = tuple(warm_engines)
        self._niceness = niceness
        self._start_timeout_s = start_timeout_s
        self._lock = threading.RLock()
        self._pool: ProcessPool | None = None
        self._closed = False
        self._tasks: dict[Future[Any], _Task] = {}
        """Unfinished tasks by the future their caller holds."""
        self._waiting: list[tuple[float, int, _Task]] = []
        """Tasks not yet sent to a worker: a heap by when each is due, then by arrival."""
        self._arrivals = itertools.count()
        self._admitted = 0
        """Tasks sent to a worker and not finished (at most one per worker)."""
        self._dispatching = threading.local()
        """Set while this thread runs :meth:`_dispatch`, whose loop a finished task rejoins."""
        self._reapers: list[threading.Thread] = []
        self._launched: list[Future[int]] = []
        """Readiness probes of :meth:`launch`, answered once each worker is up."""

    @classmethod
    def from_settings(cls, settings: Settings) -> EnginePool:
        """Return a pool sized, timed and set up as ``settings`` say (not started).

        Its workers load the default engine and every voice the settings name
        (a Piper default voice loads its model at start, not on the first
        listener's first sentence).
        """
        engines = settings.engines
        return cls(
            engines.worker_count,
            task_timeout_s=engines.segment_timeout_s,
            warm_engines=preferred_voices(settings.speech),
            settings=engines,
            niceness=SERVER_NICENESS,
        )

    def __enter__(self) -> EnginePool:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> EnginePool:
        """Start the workers and return once each has loaded its engines."""
        pool = self._current_pool()
        deadline = time.monotonic() + self._start_timeout_s
        ready: set[int] = set()
        while time.monotonic() < deadline:
            expected = set(self.worker_pids())
            if expected and expected <= ready:
                break
            probes = [
                pool.schedule(_worker_ready, args=(_READY_HOLD_S,))
                for _ in range(max(1, len(expected - ready)))
            ]
            try:
                for probe in probes:
                    ready.add(probe.result(timeout=max(0.1, deadline - time.monotonic())))
            except (TimeoutError, ProcessExpired, BrokenProcessPool, RuntimeError) as error:
                raise SynthesisError(f"engine workers did not start: {error}") from error
        else:
            raise SynthesisError(f"engine workers did not start within {self._start_timeout_s} s")
        return self

    def launch(self) -> EnginePool:
        """Start the workers without waiting: they load their engines while the caller goes on.

        Tasks submitted meanwhile wait for the first worker that is ready.
        """
        pool = self._current_pool()
        self._launched = [pool.schedule(_worker_ready, args=(0.0,)) for _ in range(self.workers)]
        return self

    def submit(
        self,
        fn: Callable[..., T],
        *args: Any,
        label: str | None = None,
        due: float | None = None,
    ) -> Future[T]:
        """Run ``fn(*args)`` in a worker; retry once on timeout or a dead worker.

        ``fn`` must be importable by module and name (``spawn`` pickles by
        reference). ``label`` names the task in the error raised when both
        attempts fail, for example the chunk's block and first words. ``due``
        is when its result is needed (``time.monotonic()`` seconds; None: now):
        waiting tasks go to a worker soonest due first, then in order of arrival.
        """
        future: Future[T] = Future()
        task = _Task(fn, args, label or str(getattr(fn, "__name__", fn)), future)
        when = time.monotonic() if due is None else due
        with self._lock:
            self._tasks[future] = task
            heapq.heappush(self._waiting, (when, next(self._arrivals), task))
        future.add_done_callback(self._forward_cancel)  # by lookup: no cycle through ``task``
        self._dispatch()
        return future

    def _dispatch(self) -> None:
        """Send waiting tasks to workers, soonest due first, while a worker is free.

        A task that fails as it is sent frees its worker from within this loop: the
        loop goes on rather than recurse (hundreds of chunks would overflow the stack).
        """
        if getattr(self._dispatching, "active", False):
            return
        self._dispatching.active = True
        try:
            self._dispatch_waiting()
        finally:
            self._dispatching.active = False

    def _dispatch_waiting(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    waiting, self._waiting = self._waiting, []
                    break
                if self._admitted >= self.workers or not self._waiting:
                    return
                _due, _arrival, task = heapq.heappop(self._waiting)
                if task.future.done():  # cancelled while it waited
                    continue
                task.admitted = True
                self._admitted += 1
            self._schedule(task)
        for _due, _arrival, task in waiting:
            self._finish(task, SynthesisError(f"{task.label}: the engine pool was closed"))

    def alive(self) -> bool:
        """Return True when the pool runs with all its workers alive."""
        with self._lock:
            pool = self._pool
            if self._closed or pool is None or not pool.active:
                return False
        return len(self.worker_pids()) == self.workers

    def worker_pids(self) -> list[int]:
        """Return the pids of the live worker processes."""
        with self._lock:
            pool = self._pool
        if pool is None:
            return []
        # pebble keeps its workers in a dict keyed by pid, and offers no public view.
        workers = getattr(getattr(pool, "_pool_manager", None), "worker_manager", None)
        processes = getattr(workers, "workers", {})
        for _ in range(10):
            try:
                return sorted(pid for pid, process in processes.items() if process.is_alive())
            except RuntimeError:  # changed while we looked
                continue
        return []

    def close(self) -> None:
        """Stop the workers; tasks still running or waiting fail with SynthesisError."""
        # A worker stopped while it still starts prints a traceback of its own start
        # (the semaphores it unpickles are gone): on an early error, after launch(),
        # that would follow the one-line message. Let launched workers come up first.
        wait(self._launched, timeout=_LAUNCH_WAIT_S)
        with self._lock:
            if self._closed:
                return
            self._closed = True
            pool, self._pool = self._pool, None
            unfinished = list(self._tasks.values())
            self._tasks.clear()
            self._waiting.clear()
        if pool is not None:
            pool.stop()  # type: ignore[no-untyped-call]
            pool.join()
        for task in unfinished:
            _fail(task.future, SynthesisError(f"{task.label}: the engine pool was closed"))
        for reaper in self._reapers:
            reaper.join(timeout=10)

    def _current_pool(self) -> ProcessPool:
        """Return the running pebble pool, replacing one that broke."""
        with self._lock:
            if self._closed:
                raise SynthesisError("the engine pool is closed")
            if self._pool is not None and not self._pool.active:
                logger.warning("engine worker pool broke; starting a new one")
                self._retire(self._pool)
                self._pool = None
            if self._pool is None:
                self._pool = ProcessPool(
                    max_workers=self.workers,
                    initializer=_initialize_worker,
                    initargs=(
                        self.settings,
                        registrations(),
                        self._warm_engines,
                        self._niceness,
                    ),
                    context=_SPAWN,
                )
            return self._pool

    def _replace_pool(self, broken: ProcessPool | None) -> None:
        """Retire ``broken`` now if it is still the current pool (it may still look active)."""
        with self._lock:
            if broken is not None and self._pool is broken:
                logger.warning("engine worker pool broke; starting a new one")
                self._retire(broken)
                self._pool = None

    def _retire(self, pool: ProcessPool) -> None:
        """Join a broken pebble pool in the background (this may be one of its threads)."""
        reaper = threading.Thread(target=pool.join, name="engine-pool-reaper", daemon=True)
        reaper.start()
        self._reapers = [thread for thread in self._reapers if thread.is_alive()]
        self._reapers.append(reaper)

    def _schedule(self, task: _Task) -> None:
        """Send one attempt of ``task`` to a worker."""
        if task.future.done():  # cancelled: its worker is free again
            self._finish(task, None)
            return
        task.attempts += 1
        for _ in range(2):
            try:
                pool = self._current_pool()
            except SynthesisError as error:
                self._finish(task, error)
                return
            try:
                inner = pool.schedule(task.fn, args=task.args, timeout=self.task_timeout_s)
                break
            except RuntimeError:  # the pool broke between the check and the call
                continue
        else:
            self._finish(task, SynthesisError(f"{task.label}: no engine worker could be started"))
            return
        task.inner = inner
        task.pool = pool
        inner.add_done_callback(lambda done: self._on_attempt_done(task, done))

    def _on_attempt_done(self, task: _Task, inner: Future[Any]) -> None:
        """Pass on the result, or retry a timed-out or crashed attempt once."""
        if task.future.done():  # cancelled by its caller, or the pool was closed
            self._finish(task, None)
            return
        if inner.cancelled():
            self._finish(task, SynthesisError(f"{task.label}: its attempt was cancelled"))
            return
        error = inner.exception()
        if error is None:
            self._finish(task, None, inner.result())
            return
        if isinstance(error, BrokenProcessPool) and task.pool_breaks < _POOL_BREAKS_FORGIVEN:
            # Another worker's death broke the whole pebble pool under this attempt:
            # not this task's fault, so it does not use up its one retry.
            task.pool_breaks += 1
            task.attempts -= 1
            self._replace_pool(task.pool)
            self._schedule(task)
            return
        problem = _worker_problem(error, self.task_timeout_s)
        if problem is None:
            self._finish(task, error)
        elif task.attempts < 2:
            logger.warning("retrying %s in a fresh worker: %s", task.label, problem)
            self._schedule(task)
        else:
            self._finish(task, SynthesisError(f"{task.label}: {problem}, twice; giving up"))

    def _finish(self, task: _Task, error: BaseException | None, result: Any = None) -> None:
        with self._lock:
            self._tasks.pop(task.future, None)
            if task.admitted:
                task.admitted = False
                self._admitted -= 1
        task.inner = task.pool = None  # break the cycle through the attempt's callback
        if error is not None:
            _fail(task.future, error)
        elif not task.future.done():
            with contextlib.suppress(InvalidStateError):  # cancelled meanwhile
                task.future.set_result(result)
        self._dispatch()

    def _forward_cancel(self, future: Future[Any]) -> None:
        """Cancel a cancelled task's attempt unless it runs already (that would kill its worker)."""
        if not future.cancelled():
            return
        with self._lock:
            task = self._tasks.pop(future, None)
        inner = task.inner if task is not None else None
        if inner is not None and not inner.running():
            inner.cancel()


def _worker_problem(error: BaseException, timeout_s: float) -> str | None:
    """Describe a timeout or lost worker; None for an error raised by the task itself."""
    if hasattr(error, "traceback"):  # pebble's mark on an exception raised in the worker
        return None
    if isinstance(error, TimeoutError):
        return f"timed out after {timeout_s:g} s"
    if isinstance(error, ProcessExpired):
        return f"its worker died (exit code {error.exitcode})"
    if isinstance(error, BrokenProcessPool):
        return "the worker pool broke"
    if isinstance(error, CancelledError):
        return "its worker was stopped"
    return None


def _fail(future: Future[Any], error: BaseException) -> None:
    if not future.done():
        with contextlib.suppress(InvalidStateError):
            future.set_exception(error)
