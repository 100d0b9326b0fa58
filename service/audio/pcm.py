"""Move PCM between WAV bytes and sample rates: the one place audio is resampled.

Clips are cached as WAV; chunks join them at the output rate; the OpenAI
endpoint answers raw PCM at 24 kHz. All three go through these functions.
"""

from __future__ import annotations

import io
import wave

from service.audio.pydub_setup import AudioSegment
from service.media import Pcm


def read_wav(data: bytes) -> Pcm:
    """Return the PCM inside WAV bytes."""
    with wave.open(io.BytesIO(data)) as reader:
        return Pcm(
            reader.readframes(reader.getnframes()),
            reader.getframerate(),
            reader.getsampwidth(),
            reader.getnchannels(),
        )


def wav_bytes(pcm: Pcm) -> bytes:
    """Return ``pcm`` as WAV bytes."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(pcm.channels)
        writer.setsampwidth(pcm.sample_width_bytes)
        writer.setframerate(pcm.sample_rate_hz)
        writer.writeframes(pcm.data)
    return buffer.getvalue()


def mono16_at(pcm: Pcm, sample_rate_hz: int) -> bytes:
    """Return ``pcm`` as 16-bit mono samples at ``sample_rate_hz`` (as is when it already is)."""
    if pcm.sample_rate_hz == sample_rate_hz and pcm.channels == 1 and pcm.sample_width_bytes == 2:
        return pcm.data
    audio = AudioSegment(
        data=pcm.data,
        sample_width=pcm.sample_width_bytes,
        frame_rate=pcm.sample_rate_hz,
        channels=pcm.channels,
    )
    audio = audio.set_channels(1).set_sample_width(2).set_frame_rate(sample_rate_hz)
    return bytes(audio.raw_data)
