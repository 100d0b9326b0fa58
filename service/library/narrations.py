"""Create narrations, find them and report on them, through a store and a job runner.

What every entry that makes or shows a narration goes through: the API, the
index form, the player, the OpenAI endpoint and the seeds. Finished
narrations are answered from small in-memory caches (plans, durations,
content hashes, status answers), bounded by :mod:`cachetools`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache, TTLCache

from service.config import Settings
from service.errors import ListenError
from service.jobs.base import JobRunner, JobState, QueueUnavailableError
from service.media import AUDIO_FORMATS
from service.pipeline.objects import (
    audio_object,
    audio_sha256,
    chunk_audio_object,
    chunk_meta_object,
    manifest_object,
    plan_object,
    read_duration_ms,
)
from service.pipeline.plan import NarrationPlan
from service.pipeline.prepare import prepare_plan
from service.store import Store
from service.text.article import Article
from service.text.lexicon.model import Lexicon

PLAN_CACHE_SIZE = 16
"""Plans kept in memory, for the status and stream of narrations being made.

A finished narration is served without its plan, and a plan not kept is read
again from the store (about a millisecond for 400 words).
"""
PLAN_CACHE_WORDS = 60_000
"""...and at most this many words among them (the newest plan is always kept).

Plans hold about 45 bytes per word: 64 plans of the longest articles allowed
would have held over 100 MB.
"""

DURATION_CACHE_SIZE = 4096
FINISHED_STATUS_TTL_S = 5.0
"""How long the status answer of a finished narration is reused before it is looked at again.

Within it, a status may miss a format another node has just made or an audio
file the cache has just evicted; creating a narration here forgets it at once.
"""
STREAM_POLL_S = 0.2
STREAM_STALL_S = 120.0
"""A stream gives up when no chunk arrives for this long."""


_REMAKE_DETAIL = (
    "this narration's audio is no longer in the cache, and making it again needs an API key: "
    "send 'Authorization: Bearer <key>' (listening to a finished narration needs none)"
)


class UnknownNarrationError(ListenError):
    """No narration has this id."""

    http_status = 404
    slug = "not-found"
    title = "Not Found"


class RemakeNeedsKeyError(ListenError):
    """A narration must be made again (its audio left the cache) and the request has no key."""

    http_status = 401
    slug = "missing-key"
    title = "API key required"


@dataclass(frozen=True)
class NarrationView:
    """What the API says about one narration."""

    plan: NarrationPlan
    """The narration's plan."""
    state: JobState
    """Its job state."""
    duration_ms: int | None
    """Audio duration, once known."""
    formats: tuple[str, ...]
    """Audio formats already produced."""


def _plan_units(plan: NarrationPlan) -> int:
    """Return what ``plan`` counts for in the plan cache: its words, within the cache's bounds.

    A short plan counts for a share of the words, so that no more than
    :data:`PLAN_CACHE_SIZE` plans are kept; a plan longer than the whole cache
    counts as all of it, so that it is kept alone (the newest always is).
    """
    return min(PLAN_CACHE_WORDS, max(PLAN_CACHE_WORDS // PLAN_CACHE_SIZE, plan.word_count))


class Narrations:
    """Plan, start and look up narrations, through a store and a job runner."""

    def __init__(self, settings: Settings, store: Store, runner: JobRunner) -> None:
        self.settings = settings
        self.store = store
        self.runner = runner
        self._plans: LRUCache[str, NarrationPlan] = LRUCache(
            PLAN_CACHE_WORDS, getsizeof=_plan_units
        )
        self._durations: LRUCache[str, int] = LRUCache(DURATION_CACHE_SIZE)
        self._hashes: LRUCache[str, str] = LRUCache(DURATION_CACHE_SIZE)
        self._finished: TTLCache[str, tuple[str, bytes]] = TTLCache(
            DURATION_CACHE_SIZE, FINISHED_STATUS_TTL_S, timer=time.monotonic
        )
        self._lock = threading.Lock()  # cachetools' caches are not thread-safe
        self.seeds: dict[str, str] = {}
        """Sample article file name -> narration id, for the index page."""

    def remember_seed(self, name: str, narration_id: str) -> None:
        """List a prepared sample article on the index page."""
        with self._lock:
            self.seeds[name] = narration_id

    def _remember(self, plan: NarrationPlan) -> None:
        with self._lock:
            self._plans[plan.narration_id] = plan

    def plan(self, narration_id: str) -> NarrationPlan:
        """Return a narration's plan, from memory or the store."""
        with self._lock:
            cached = self._plans.get(narration_id)  # a use: it becomes the most recent
        if cached is not None:
            return cached
        raw = self.store.get(plan_object(narration_id))
        if raw is None:
            raise UnknownNarrationError(f"no narration with id {narration_id!r}")
        plan = NarrationPlan.from_json(raw)
        self._remember(plan)
        return plan

    def create(
        self,
        article: Article,
        *,
        voice: str | None,
        rate_wpm: int | None,
        fmt: str,
        lexicon: Lexicon | None = None,
        may_start: bool = True,
    ) -> NarrationView:
        """Plan the narration of ``article`` (by ``lexicon``) and start it unless it is made.

        Without ``may_start``, one not made raises :class:`RemakeNeedsKeyError`.
        """
        plan = self.plan_for(article, voice=voice, rate_wpm=rate_wpm, lexicon=lexicon)
        return self.start(plan, fmt, may_start=may_start)

    def plan_for(
        self,
        article: Article,
        *,
        voice: str | None,
        rate_wpm: int | None,
        lexicon: Lexicon | None = None,
    ) -> NarrationPlan:
        """Plan the narration of ``article`` (by ``lexicon``), without starting anything."""
        settings = self.settings.replace(rate_wpm=rate_wpm)
        return prepare_plan(article, settings, voice=voice, lexicon=lexicon)

    def start(self, plan: NarrationPlan, fmt: str, *, may_start: bool = True) -> NarrationView:
        """Keep ``plan`` and start making it in ``fmt`` unless that is made already.

        Without ``may_start``, one not made raises :class:`RemakeNeedsKeyError`.
        """
        self._remember(plan)
        self.store.put(plan_object(plan.narration_id), plan.to_json().encode())
        self.forget_finished(plan.narration_id)
        return self._view(plan, want_format=fmt, may_start=may_start)

    def view(self, narration_id: str, *, may_start: bool = True) -> NarrationView:
        """Return a narration's current state; make it again if its audio is gone.

        Its audio may have left the cache, or a restart interrupted its making.
        Without ``may_start`` (API keys are set and the request has none), that
        raises :class:`RemakeNeedsKeyError` instead: making audio again takes
        the same right as making it.
        """
        return self._view(self.plan(narration_id), want_format="mp3", may_start=may_start)

    def finished_status(self, narration_id: str, url_root: str) -> bytes | None:
        """Return a finished narration's status answer kept by :meth:`keep_finished_status`."""
        with self._lock:
            found = self._finished.get(narration_id)
        if found is None or found[0] != url_root:
            return None
        return found[1]

    def keep_finished_status(self, narration_id: str, url_root: str, body: bytes) -> None:
        """Reuse a finished narration's status answer (for one URL root) for a while."""
        with self._lock:
            self._finished[narration_id] = (url_root, body)

    def forget_finished(self, narration_id: str) -> None:
        """Look at a narration afresh next time (its formats may be about to change)."""
        with self._lock:
            self._finished.pop(narration_id, None)

    def content_hash(self, narration_id: str, fmt: str) -> str | None:
        """Return the SHA-256 of a finished audio file (its ETag); it never changes."""
        key = f"{narration_id}.{fmt}"
        with self._lock:
            known = self._hashes.get(key)
        if known is not None:
            return known
        found = audio_sha256(self.store, narration_id, fmt)
        if found is not None:
            with self._lock:
                self._hashes[key] = found
        return found

    def _duration_ms(self, narration_id: str) -> int | None:
        """Return a finished narration's duration (the manifest never changes once written)."""
        with self._lock:
            known = self._durations.get(narration_id)
        if known is not None:
            return known
        duration = read_duration_ms(self.store, narration_id)
        if duration is None:
            return None
        with self._lock:
            self._durations[narration_id] = duration
        return duration

    def _view(
        self, plan: NarrationPlan, *, want_format: str, may_start: bool = True
    ) -> NarrationView:
        narration_id, total = plan.narration_id, plan.chunks_total
        duration, formats = self._stored(narration_id)
        if duration is None or want_format not in formats:
            state = self.runner.state(narration_id)
            if state is not None and state.status != "done":
                return NarrationView(plan, state, duration, formats)
            # No job, or one that ended after the store was looked at (a job writes
            # its files, then says it is done): look again before starting another.
            duration, formats = self._stored(narration_id)
            if duration is None or want_format not in formats:
                if not may_start:
                    raise RemakeNeedsKeyError(_REMAKE_DETAIL)
                state = self.runner.submit(plan, (want_format,))
                return NarrationView(plan, state, duration, formats)
        return NarrationView(plan, JobState(narration_id, "done", total, total), duration, formats)

    def _stored(self, narration_id: str) -> tuple[int | None, tuple[str, ...]]:
        """Return the finished narration's duration (None if unfinished) and audio formats."""
        formats = tuple(
            fmt for fmt in AUDIO_FORMATS if self.store.exists(audio_object(narration_id, fmt))
        )
        return self._duration_ms(narration_id), formats

    def chunk_stream(self, narration_id: str, *, may_start: bool = True) -> Iterator[bytes]:
        """Yield the narration's MP3 chunks in order as they are made (any node, any worker).

        A job that vanished (a restart, Redis losing its queue) is started again
        when ``may_start`` allows; otherwise the stream ends where the chunks do.
        """
        plan = self.plan(narration_id)
        for chunk in plan.chunks:
            waited_since = time.monotonic()
            while True:
                if self.store.exists(chunk_meta_object(chunk.chunk_key)):
                    data = self.store.get(chunk_audio_object(chunk.chunk_key))
                    if data is not None:
                        yield data
                        break
                if time.monotonic() - waited_since > STREAM_STALL_S:
                    return
                try:
                    state = self.runner.state(narration_id)
                    if state is not None and state.status == "failed":
                        return
                    if state is None and not self._manifest_written(narration_id):
                        if not may_start:
                            return
                        state = self.runner.submit(plan, ("mp3",))
                    self.runner.wait(narration_id, STREAM_POLL_S)
                except QueueUnavailableError:
                    # A worker may still be writing chunks while Redis is away: keep reading.
                    time.sleep(STREAM_POLL_S)
        self._wait_finished(narration_id)

    def _wait_finished(self, narration_id: str) -> None:
        """Hold the end of a stream until the finished file exists (moments after the last chunk).

        A client that read the whole stream can then fetch the file, the timings
        and the captions at once, without meeting a 409.
        """
        deadline = time.monotonic() + STREAM_STALL_S
        while time.monotonic() < deadline and not self._manifest_written(narration_id):
            try:
                state = self.runner.state(narration_id)
                if state is not None and state.status == "failed":
                    return
                self.runner.wait(narration_id, STREAM_POLL_S)
            except QueueUnavailableError:
                time.sleep(STREAM_POLL_S)

    def _manifest_written(self, narration_id: str) -> bool:
        """Return whether the narration's manifest, written last, is in the store."""
        return self.store.exists(manifest_object(narration_id))

    def describe(self, view: NarrationView, urls: dict[str, str]) -> dict[str, Any]:
        """Return the API object for a narration."""
        plan, state = view.plan, view.state
        body: dict[str, Any] = {
            "id": plan.narration_id,
            "status": state.status,
            "title": plan.title,
            "byline": plan.byline,
            "language": plan.language,
            "voice": plan.voice.voice_id,
            "rate_wpm": plan.voice.rate_wpm,
            "word_count": plan.word_count,
            "duration_ms": view.duration_ms,
            "chunks_total": state.chunks_total or plan.chunks_total,
            "chunks_done": state.chunks_done,
            "formats": list(view.formats),
            "lexicon": plan.lexicon,
            "lexicon_rules_applied": plan.lexicon_rules_applied,
            **urls,
        }
        if plan.voice_fallback is not None:
            body["voice_fallback"] = {
                "wanted": plan.voice_fallback.wanted,
                "reason": plan.voice_fallback.reason,
            }
        if state.status == "failed":
            body["error"] = state.error
        return body
