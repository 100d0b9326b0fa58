"""Render one chunk inside an engine worker: synthesise or reuse clips, shape, encode.

These functions run in the worker processes, so they take plain data and
return plain data; the store is opened once per process.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from service.audio.clip import shape_clip, silence
from service.audio.mp3 import ENCODER_DELAY_SAMPLES, encode_frames, frame_info
from service.audio.pcm import mono16_at, read_wav, wav_bytes
from service.audio.words import estimate_words
from service.config import StoreSettings
from service.engines.base import VoiceSettings
from service.engines.pool import synthesize
from service.media import Pcm, WordTime
from service.pipeline.objects import chunk_audio_object, chunk_meta_object, clip_object
from service.pipeline.plan import ChunkPlan, ClipPlan, OutputSettings
from service.store import Store, open_store

log = logging.getLogger(__name__)

_stores: dict[str, Store] = {}


WordSpan = tuple[int, int, int, int]
"""A word: its start and end offset in the engine's text, its start and end sample."""


@dataclass(frozen=True)
class SentenceWords:
    """When each word of one sentence is heard, in samples of the chunk that holds it."""

    timing: str
    """``engine`` when the engine reported the words, ``estimated`` otherwise."""
    words: tuple[WordSpan, ...]
    """The words in order: offsets into the engine's text, samples within the chunk."""

    def shifted(self, samples: int) -> SentenceWords:
        """Return the same words ``samples`` later."""
        return SentenceWords(
            self.timing, tuple((a, b, c + samples, d + samples) for a, b, c, d in self.words)
        )


@dataclass(frozen=True)
class ChunkAudio:
    """An encoded chunk and where its sentences and their words sit in it."""

    chunk_key: str
    """Cache key of the chunk."""
    data: bytes
    """MP3 frames."""
    sample_count: int
    """Samples a decoder outputs for the chunk (frames x samples per frame)."""
    sentence_spans: tuple[tuple[int, int], ...]
    """Start and end sample of each sentence within the decoded chunk."""
    sentence_words: tuple[SentenceWords, ...] = ()
    """The words of each sentence within the decoded chunk."""
    clips_synthesized: int = 0
    """Clips made by the engine for this chunk (cache misses)."""
    clips_cached: int = 0
    """Clips found in the cache."""

    def meta_json(self) -> bytes:
        """Return the sidecar that lets a cached chunk be reused without decoding."""
        meta = {
            "sample_count": self.sample_count,
            "sentence_spans": self.sentence_spans,
            "sentence_words": [[s.timing, s.words] for s in self.sentence_words],
        }
        return json.dumps(meta, separators=(",", ":")).encode()

    @classmethod
    def from_cache(cls, chunk_key: str, data: bytes, meta: bytes) -> ChunkAudio:
        """Rebuild a chunk from its cached frames and sidecar."""
        parsed = json.loads(meta)
        spans = tuple((int(a), int(b)) for a, b in parsed["sentence_spans"])
        words = tuple(
            SentenceWords(
                str(timing), tuple((int(a), int(b), int(c), int(d)) for a, b, c, d in found)
            )
            for timing, found in parsed.get("sentence_words", ())
        )
        return cls(chunk_key, data, int(parsed["sample_count"]), spans, words)


@dataclass(frozen=True)
class JoinedChunk:
    """A chunk's clips and pauses joined into PCM at the output rate, before encoding."""

    pcm: bytes
    """16-bit mono samples."""
    sentence_spans: tuple[tuple[int, int], ...]
    """Start and end sample of each sentence."""
    sentence_words: tuple[SentenceWords, ...]
    """The words of each sentence, in samples of ``pcm``."""
    clips_synthesized: int
    """Clips the engine made."""
    clips_cached: int
    """Clips found in the cache."""


def worker_store(settings: StoreSettings) -> Store:
    """Return this process's store for ``settings`` (opened once)."""
    name = settings.store_url or str(settings.cache_dir)
    if name not in _stores:
        _stores[name] = open_store(settings)
    return _stores[name]


def clip_pcm(
    store: Store, clip: ClipPlan, voice: VoiceSettings, output: OutputSettings
) -> tuple[Pcm, bool]:
    """Return a sentence's shaped PCM and whether it came from the cache."""
    key = clip_object(clip.clip_key)
    cached = store.get(key)
    if cached is not None:
        store.touch(key)
        return read_wav(cached), True
    shaped = shape_clip(synthesize(clip.spoken, voice), target_dbfs=output.target_dbfs)
    store.put(key, wav_bytes(shaped))
    return shaped, False


def chunk_pcm(
    store: Store,
    chunk: ChunkPlan,
    voice: VoiceSettings,
    output: OutputSettings,
    *,
    with_words: bool = True,
) -> JoinedChunk:
    """Join a chunk's clips and pauses into PCM at the output rate, and place their words.

    Words come from the engine where it reported them, else from
    :func:`~service.audio.words.estimate_words` on the clip as shaped; without
    ``with_words`` (the audio alone is wanted) none are placed.
    """
    pieces: list[bytes] = []
    spans: list[tuple[int, int]] = []
    sentence_words: list[SentenceWords] = []
    position = made = reused = 0
    rate = output.sample_rate_hz
    for clip in chunk.clips:
        pcm, was_cached = clip_pcm(store, clip, voice, output)
        reused += was_cached
        made += not was_cached
        samples = mono16_at(pcm, rate)
        frames = len(samples) // 2
        spans.append((position, position + frames))
        words: tuple[WordTime, ...] = ()
        timing = "engine" if pcm.words is not None else "estimated"
        if with_words:
            words = (
                pcm.words if pcm.words is not None else estimate_words(clip.spoken, samples, rate)
            )

        def at(ms: float, frames: int = frames, start: int = position) -> int:
            return start + min(frames, max(0, round(ms * rate / 1000)))

        sentence_words.append(
            SentenceWords(
                timing,
                tuple((w.start_char, w.end_char, at(w.start_ms), at(w.end_ms)) for w in words),
            )
        )
        pause = silence(clip.pause_after_ms, sample_rate_hz=rate)
        pieces += [samples, pause]
        position += frames + len(pause) // 2
    return JoinedChunk(b"".join(pieces), tuple(spans), tuple(sentence_words), made, reused)


def render_chunk(
    chunk: ChunkPlan, voice: VoiceSettings, output: OutputSettings, settings: StoreSettings
) -> ChunkAudio:
    """Make a chunk's MP3 frames (or reuse them) and leave them in the store."""
    store = worker_store(settings)
    audio_key, meta_key = chunk_audio_object(chunk.chunk_key), chunk_meta_object(chunk.chunk_key)
    with store.lock(audio_key):
        meta = store.get(meta_key)
        data = store.get(audio_key) if meta is not None else None
        if meta is not None and data is not None:
            return ChunkAudio.from_cache(chunk.chunk_key, data, meta)
        joined = chunk_pcm(store, chunk, voice, output)
        frames = encode_frames(
            joined.pcm, sample_rate_hz=output.sample_rate_hz, bitrate_kbps=output.mp3_bitrate_kbps
        )
        # a decoder's output starts with the encoder's delay: every time moves by it
        delayed = tuple(
            (start + ENCODER_DELAY_SAMPLES, end + ENCODER_DELAY_SAMPLES)
            for start, end in joined.sentence_spans
        )
        result = ChunkAudio(
            chunk.chunk_key,
            frames,
            frame_info(frames).sample_count,
            delayed,
            tuple(words.shifted(ENCODER_DELAY_SAMPLES) for words in joined.sentence_words),
            joined.clips_synthesized,
            joined.clips_cached,
        )
        store.put(audio_key, frames)
        store.put(meta_key, result.meta_json())
        return result
