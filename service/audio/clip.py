"""Shape one sentence's PCM: trim the engine's silence, even out loudness, add pauses."""

from __future__ import annotations

import math

from service.audio.pydub_setup import AudioSegment, detect_leading_silence
from service.media import Pcm

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
    A silent clip comes back empty; the caller keeps its pause.
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
    if end_ms > start_ms:
        audio = audio[start_ms:end_ms]
    gain = target_dbfs - audio.dBFS
    if math.isfinite(audio.max_dBFS):
        gain = min(gain, HEADROOM_DBFS - audio.max_dBFS)
    audio = audio.apply_gain(gain)
    return Pcm(audio.raw_data, pcm.sample_rate_hz, pcm.sample_width_bytes, pcm.channels)


def silence(duration_ms: int, *, sample_rate_hz: int, sample_width_bytes: int = 2) -> bytes:
    """Return ``duration_ms`` of digital silence as raw PCM at the given rate."""
    frames = round(sample_rate_hz * duration_ms / 1000)
    return bytes(frames * sample_width_bytes)
