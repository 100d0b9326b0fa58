"""Carry out a narration plan: render chunks in workers, in order, and file the result.

This is the one place that knows every stage. It streams: each chunk is
written to the output as soon as it and all before it are done, so memory
does not grow with the article and listeners can start early.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from service.audio.captions import Cue, webvtt
from service.audio.chapters import chapter_marks, manifest_chapters
from service.audio.container import AudioWriter, Mp3Writer, OggOpusWriter, WavWriter, file_sha256
from service.audio.mp3 import ENCODER_DELAY_SAMPLES
from service.config import Settings, StoreSettings
from service.engines.pool import EnginePool
from service.errors import ListenError
from service.media import AUDIO_FORMATS
from service.pipeline.objects import (
    NarrationResult,
    audio_object,
    chunk_audio_object,
    chunk_meta_object,
    manifest_object,
    narration_object,
    plan_object,
    read_duration_ms,
)
from service.pipeline.plan import ChunkPlan, ClipPlan, NarrationPlan
from service.pipeline.render import (
    ChunkAudio,
    SentenceWords,
    chunk_pcm,
    render_chunk,
    worker_store,
)
from service.store import Store
from service.text.alignment import shown_word_groups, source_span
from service.text.blocks import Sentence

__all__ = ["NarrationResult", "Narrator", "ProgressCallback", "chunk_pcm_task"]

log = logging.getLogger(__name__)

OPUS_BITRATE_KBPS = 32

ProgressCallback = Callable[[int, int], None]
"""Called with (chunks done, chunks total) after each chunk."""


def chunk_due_times(plan: NarrationPlan, start: float) -> list[float]:
    """Return when a listener who pressed play at ``start`` reaches each chunk.

    In ``time.monotonic()`` seconds, by the words before each chunk at the plan's
    rate: the engine pool makes what is due soonest first, so a new narration's
    opening goes before the later chunks of one that is already playing.
    """
    seconds_per_word = 60.0 / plan.voice.rate_wpm
    due: list[float] = []
    words = 0
    for chunk in plan.chunks:
        due.append(start + words * seconds_per_word)
        words += sum(len(clip.spoken.split()) for clip in chunk.clips)
    return due


class Narrator:
    """Make narrations with an engine pool into a store."""

    def __init__(self, settings: Settings, store: Store, pool: EnginePool) -> None:
        self.settings = settings
        self.store = store
        self.pool = pool
        self.window = max(2, pool.workers * 2)

    # -- chunks ---------------------------------------------------------------------------

    def _cached_chunk(self, chunk: ChunkPlan) -> ChunkAudio | None:
        meta = self.store.get(chunk_meta_object(chunk.chunk_key))
        if meta is None:
            return None
        data = self.store.get(chunk_audio_object(chunk.chunk_key))
        return None if data is None else ChunkAudio.from_cache(chunk.chunk_key, data, meta)

    def chunks(self, plan: NarrationPlan) -> Iterator[ChunkAudio]:
        """Yield the plan's chunks in order, rendering missing ones in the pool."""
        pending: deque[tuple[ChunkPlan, Future[ChunkAudio] | ChunkAudio]] = deque()
        upcoming = zip(plan.chunks, chunk_due_times(plan, time.monotonic()), strict=True)

        def refill() -> None:
            while len(pending) < self.window:
                chunk, due = next(upcoming, (None, 0.0))
                if chunk is None:
                    return
                cached = self._cached_chunk(chunk)
                work: Future[ChunkAudio] | ChunkAudio = cached or self.pool.submit(
                    render_chunk,
                    chunk,
                    plan.voice_of(chunk),
                    plan.output,
                    self.settings.store,
                    label=chunk.label,
                    due=due,
                )
                pending.append((chunk, work))

        try:
            refill()
            while pending:
                _chunk, work = pending.popleft()
                result = work.result() if isinstance(work, Future) else work
                refill()
                yield result
        finally:
            for _chunk, work in pending:
                if isinstance(work, Future):
                    work.cancel()

    # -- the whole narration --------------------------------------------------------------

    def narrate(
        self,
        plan: NarrationPlan,
        *,
        formats: tuple[str, ...] = ("mp3",),
        on_progress: ProgressCallback | None = None,
        on_chunk: Callable[[int, ChunkAudio], None] | None = None,
    ) -> NarrationResult:
        """Make (or find) the narration of ``plan`` in every format of ``formats``."""
        self.store.put(plan_object(plan.narration_id), plan.to_json().encode())
        with self.store.lock(manifest_object(plan.narration_id)):
            duration_ms = read_duration_ms(self.store, plan.narration_id)
            if not self.store.exists(audio_object(plan.narration_id, "mp3")):
                duration_ms = None  # evicted audio: make it again, whatever else is left
            cached = duration_ms is not None
            if duration_ms is None:
                duration_ms = self._make_mp3(plan, on_progress, on_chunk)
            for fmt in formats:
                if fmt != "mp3" and not self.store.exists(audio_object(plan.narration_id, fmt)):
                    self._make_pcm_format(plan, fmt)
                    cached = False
        return NarrationResult(plan.narration_id, duration_ms, cached, self.store)

    def _make_mp3(
        self,
        plan: NarrationPlan,
        on_progress: ProgressCallback | None,
        on_chunk: Callable[[int, ChunkAudio], None] | None,
    ) -> int:
        """Make the MP3, its timings and captions; return its duration in milliseconds."""
        sample_rate = plan.output.sample_rate_hz
        spans: list[tuple[int, int]] = []
        words: list[SentenceWords] = []
        total = len(plan.chunks)
        audio_key = audio_object(plan.narration_id, "mp3")
        marks = chapter_marks(plan.title, [(block.kind, block.text) for block in plan.blocks])
        with self._temp_output(audio_key) as temp:
            writer = Mp3Writer(
                temp,
                title=plan.title,
                artist=plan.byline,
                album=plan.site_name,
                language=plan.language,
                chapter_titles=[mark.title for mark in marks],
            )
            position = 0
            with _finishing(writer):
                for done, chunk in enumerate(self.chunks(plan), start=1):
                    writer.write(chunk.data, samples=chunk.sample_count)
                    spans += [(position + a, position + b) for a, b in chunk.sentence_spans]
                    words += [found.shifted(position) for found in chunk.sentence_words]
                    position += chunk.sample_count
                    if on_chunk is not None:
                        on_chunk(done - 1, chunk)
                    if on_progress is not None:
                        on_progress(done, total)
                head = manifest_head(plan, position, sample_rate)
                # One block's words at a time become JSON and captions: a long narration's
                # manifest as objects would take tens of MB of the process at once.
                parts: list[str] = []
                cues: list[Cue] = []
                outline: list[dict[str, Any]] = []
                for block in manifest_blocks(plan, spans, sample_rate, words):
                    parts.append(json.dumps(block, ensure_ascii=False))
                    cues += block_cues(block)
                    outline.append({key: block[key] for key in ("kind", "text", "start_ms")})
                del spans, words
                writer.time_chapters(manifest_chapters({**head, "blocks": outline}))
            digest = file_sha256(temp)
            size_bytes = temp.stat().st_size
            self.store.put(audio_key + ".sha256", digest.encode())
            self.store.put_file(audio_key, temp)
        head["audio"] = {"mp3": {"sha256": digest, "bytes": size_bytes}}
        self.store.put(narration_object(plan.narration_id, "captions.vtt"), webvtt(cues).encode())
        del cues
        timings = json.dumps(head, ensure_ascii=False)
        timings = f'{timings[:-1]}, "blocks": [{", ".join(parts)}]}}'
        del parts
        self.store.put(manifest_object(plan.narration_id), timings.encode())
        return int(head["duration_ms"])

    def _make_pcm_format(self, plan: NarrationPlan, fmt: str) -> None:
        """Write WAV or Ogg/Opus with exactly the MP3's timeline (same manifest)."""
        if fmt not in AUDIO_FORMATS:
            raise ListenError(f"unknown format {fmt!r}; choose one of {', '.join(AUDIO_FORMATS)}")
        rate = plan.output.sample_rate_hz
        key = audio_object(plan.narration_id, fmt)
        with self._temp_output(key) as temp:
            writer: AudioWriter
            if fmt == "wav":
                writer = WavWriter(temp, sample_rate_hz=rate)
            else:
                writer = OggOpusWriter(
                    temp,
                    sample_rate_hz=rate,
                    bitrate_kbps=OPUS_BITRATE_KBPS,
                    title=plan.title,
                    artist=plan.byline,
                    album=plan.site_name,
                )
            with _finishing(writer):
                futures = [
                    self.pool.submit(
                        chunk_pcm_task, chunk, plan, self.settings.store, label=chunk.label, due=due
                    )
                    for chunk, due in zip(
                        plan.chunks, chunk_due_times(plan, time.monotonic()), strict=True
                    )
                ]
                for future in futures:
                    writer.write(future.result())
            self.store.put(key + ".sha256", file_sha256(temp).encode())
            self.store.put_file(key, temp)

    @contextlib.contextmanager
    def _temp_output(self, key: str) -> Iterator[Path]:
        temp = self.store.temp_path(key)
        try:
            yield temp
        finally:
            # OSError, not just FileNotFoundError: on a read-only disk the unlink
            # fails too, and must not hide why the narration failed.
            with contextlib.suppress(OSError):
                os.unlink(temp)


@contextlib.contextmanager
def _finishing(writer: AudioWriter) -> Iterator[AudioWriter]:
    try:
        yield writer
    except BaseException:
        writer.abort()
        raise
    writer.finish()


def chunk_pcm_task(chunk: ChunkPlan, plan: NarrationPlan, settings: StoreSettings) -> bytes:
    """Return a chunk as PCM laid out exactly like its decoded MP3 (runs in a worker)."""
    store = worker_store(settings)
    pcm = chunk_pcm(store, chunk, plan.voice_of(chunk), plan.output, with_words=False).pcm
    meta = store.get(chunk_meta_object(chunk.chunk_key))
    total = ChunkAudio.from_cache(chunk.chunk_key, b"", meta).sample_count if meta else 0
    laid_out = bytes(2 * ENCODER_DELAY_SAMPLES) + pcm
    return laid_out + bytes(max(0, 2 * total - len(laid_out)))


TIMINGS_VERSION = 2
"""Version of ``timings.json``: 2 added each sentence's ``words`` and ``word_timing``."""


def manifest_head(plan: NarrationPlan, total_samples: int, sample_rate_hz: int) -> dict[str, Any]:
    """Return the manifest's fields before its blocks, the duration first after the version."""
    return {
        "timings_version": TIMINGS_VERSION,
        "duration_ms": _ms(total_samples, sample_rate_hz),
        "narration_id": plan.narration_id,
        "title": plan.title,
        "byline": plan.byline,
        "site_name": plan.site_name,
        "language": plan.language,
        "source_url": plan.source_url,
        "voice": plan.voice.voice_id,
        "rate_wpm": plan.voice.rate_wpm,
        "engine_version": plan.engine_version,
        "lexicon": plan.lexicon,
        "word_count": plan.word_count,
        "sample_rate_hz": sample_rate_hz,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "text": plan.text,
    }


def manifest_blocks(
    plan: NarrationPlan,
    spans: list[tuple[int, int]],
    sample_rate_hz: int,
    words: list[SentenceWords],
) -> Iterator[dict[str, Any]]:
    """Yield the manifest's blocks in order: each sentence and word with offsets and times."""

    def ms(samples: int) -> int:
        return _ms(samples, sample_rate_hz)

    by_block: dict[tuple[int, int], tuple[tuple[int, int], SentenceWords, ClipPlan]] = {}
    voices: dict[int, str] = {}
    index = 0
    for chunk in plan.chunks:
        for clip in chunk.clips:
            by_block[(clip.block_index, clip.sentence_index)] = (spans[index], words[index], clip)
            voices[clip.block_index] = plan.voice_of(chunk).voice_id
            index += 1
    for block in plan.blocks:
        sentences = []
        for i, sentence in enumerate(block.sentences):
            (start, end), found, clip = by_block[(block.index, i)]
            sentences.append(
                {
                    "index": i,
                    "text": sentence.text,
                    "spoken": sentence.spoken,
                    "sentence_id": sentence.sentence_id,
                    "start_char": sentence.start_char,
                    "end_char": sentence.end_char,
                    "start_ms": ms(start),
                    "end_ms": ms(end),
                    "word_timing": found.timing,
                    "words": _shown_words(sentence, clip, found, ms(start), ms(end), ms),
                }
            )
        yield {
            "index": block.index,
            "kind": block.kind,
            "language": block.language or plan.language,
            "voice": voices[block.index],
            "text": block.text,
            "start_char": block.start_char,
            "end_char": block.end_char,
            "start_ms": sentences[0]["start_ms"],
            "end_ms": sentences[-1]["end_ms"],
            "sentences": sentences,
        }


def block_cues(block: dict[str, Any]) -> list[Cue]:
    """Return the captions of one manifest block: a cue per sentence, with its words' times."""
    return [
        Cue(
            s["start_ms"],
            s["end_ms"],
            s["text"],
            tuple((w["start_char"] - s["start_char"], w["start_ms"]) for w in s["words"]),
        )
        for s in block["sentences"]
    ]


def _ms(samples: int, sample_rate_hz: int) -> int:
    return round(samples * 1000 / sample_rate_hz)


def _shown_words(
    sentence: Sentence,
    clip: ClipPlan,
    found: SentenceWords,
    start_ms: int,
    end_ms: int,
    ms: Callable[[int], int],
) -> list[dict[str, Any]]:
    """Return a sentence's words as shown, each with its time, from the engine's words.

    Engine offsets lead back through the lexicon's edits and the spoken form's
    to the sentence as displayed; times stay in order and inside the sentence.
    """
    sources = [
        source_span(sentence.spoken_edits, *source_span(clip.engine_edits, a, b))
        for a, b, _, _ in found.words
    ]
    shown = []
    floor = start_ms
    for start, end, spoken in shown_word_groups(sentence.text, sources):
        begin = min(max(min(ms(found.words[i][2]) for i in spoken), floor), end_ms)
        finish = min(max(max(ms(found.words[i][3]) for i in spoken), begin), end_ms)
        shown.append(
            {
                "text": sentence.text[start:end],
                "start_char": sentence.start_char + start,
                "end_char": sentence.start_char + end,
                "start_ms": begin,
                "end_ms": finish,
            }
        )
        floor = begin
    return shown
