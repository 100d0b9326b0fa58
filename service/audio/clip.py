"""Shape one sentence's PCM: trim the engine's silence, even out loudness, add pauses."""

from __future__ import annotations

import math
from dataclasses import replace

from service.audio.pydub_setup import AudioSegment, detect_leading_silence
from service.media import Pcm, WordTime

SILENCE_THRESHOLD_DBFS = -50.0
"""Quieter than this counts as silence when trimming a clip's ends."""
HEADROOM_DBFS = -1.0
"""Gain never pushes a clip's peak above this."""
EDGE_KEEP_MS = 20
"""Silence kept at each end of a clip so consonants are not clipped."""


def _audio_segment(pcm: Pcm) -> AudioSegment:
    return AudioSegment(
        data=pcm.data,
        sample_width=pcm.sample_width_bytes,
        frame_rate=pcm.sample_rate_hz,
        channels=pcm.channels,
    )


def shape_clip(pcm: Pcm, *, target_dbfs: float) -> Pcm:
    """Trim leading and trailing silence, then bring the clip to ``target_dbfs`` RMS.

    The gain is capped so that the peak stays below :data:`HEADROOM_DBFS`.
    A silent clip comes back empty; the caller keeps its pause. The engine's
    word timings move with the trimmed start (to the sample), and stay inside
    the clip.
    """
    audio = _audio_segment(pcm)
    if len(audio) == 0 or audio.rms == 0:
        return Pcm(b"", pcm.sample_rate_hz, pcm.sample_width_bytes, pcm.channels)
    lead = detect_leading_silence(audio, silence_threshold=SILENCE_THRESHOLD_DBFS, chunk_size=5)
    trail = detect_leading_silence(
        audio.reverse(), silence_threshold=SILENCE_THRESHOLD_DBFS, chunk_size=5
    )
    start_ms = max(0, lead - EDGE_KEEP_MS)
    end_ms = min(len(audio), len(audio) - trail + EDGE_KEEP_MS)
    first_frame = 0
    if end_ms > start_ms:
        # cut at whole frames, so the words move by exactly what is cut
        first_frame = round(start_ms * pcm.sample_rate_hz / 1000)
        audio = audio.get_sample_slice(first_frame, round(end_ms * pcm.sample_rate_hz / 1000))
    gain = target_dbfs - audio.dBFS
    if math.isfinite(audio.max_dBFS):
        gain = min(gain, HEADROOM_DBFS - audio.max_dBFS)
    audio = audio.apply_gain(gain)
    shaped = Pcm(audio.raw_data, pcm.sample_rate_hz, pcm.sample_width_bytes, pcm.channels)
    if pcm.words is None:
        return shaped
    shift_ms = 1000 * first_frame / pcm.sample_rate_hz
    return replace(shaped, words=shifted_words(pcm.words, -shift_ms, shaped.duration_ms))


def shifted_words(
    words: tuple[WordTime, ...], shift_ms: float, duration_ms: float
) -> tuple[WordTime, ...]:
    """Move word timings by ``shift_ms``, keeping them within ``[0, duration_ms]`` and in order."""
    moved: list[WordTime] = []
    floor = 0.0
    for word in words:
        start = min(max(word.start_ms + shift_ms, floor), duration_ms)
        end = min(max(word.end_ms + shift_ms, start), duration_ms)
        moved.append(WordTime(word.start_char, word.end_char, start, end))
        floor = start
    return tuple(moved)


def silence(duration_ms: int, *, sample_rate_hz: int, sample_width_bytes: int = 2) -> bytes:
    """Return ``duration_ms`` of digital silence as raw PCM at the given rate."""
    frames = round(sample_rate_hz * duration_ms / 1000)
    return bytes(frames * sample_width_bytes)
