"""Move PCM between WAV bytes and sample rates: the one place audio is resampled.

Clips are cached as WAV; chunks join them at the output rate; the OpenAI
endpoint answers raw PCM at 24 kHz. All three go through these functions.

A clip's word timings travel in its WAV file, in a chunk of their own after the
samples (``lswt``, JSON), so a clip read from the cache has the words it was
made with, and both are written (and evicted) as one object. Readers that do
not know the chunk skip it, as RIFF readers do.
"""

from __future__ import annotations

import io
import json
import wave

from service.audio.pydub_setup import AudioSegment
from service.media import Pcm, WordTime

WORDS_CHUNK = b"lswt"
"""RIFF chunk id of the word timings an engine reported for a clip."""
_MS_DIGITS = 2


def read_wav(data: bytes) -> Pcm:
    """Return the PCM inside WAV bytes, with the word timings stored beside it, if any."""
    with wave.open(io.BytesIO(data)) as reader:
        return Pcm(
            reader.readframes(reader.getnframes()),
            reader.getframerate(),
            reader.getsampwidth(),
            reader.getnchannels(),
            _read_words(data),
        )


def wav_bytes(pcm: Pcm) -> bytes:
    """Return ``pcm`` as WAV bytes; its word timings, when it has them, in a chunk of their own."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(pcm.channels)
        writer.setsampwidth(pcm.sample_width_bytes)
        writer.setframerate(pcm.sample_rate_hz)
        writer.writeframes(pcm.data)
    if pcm.words is None:
        return buffer.getvalue()
    words = [
        [w.start_char, w.end_char, round(w.start_ms, _MS_DIGITS), round(w.end_ms, _MS_DIGITS)]
        for w in pcm.words
    ]
    body = json.dumps({"words": words}, separators=(",", ":")).encode()
    buffer.write(WORDS_CHUNK + len(body).to_bytes(4, "little") + body + b"\0" * (len(body) % 2))
    data = bytearray(buffer.getvalue())
    data[4:8] = (len(data) - 8).to_bytes(4, "little")  # the RIFF size now covers the new chunk
    return bytes(data)


def _read_words(data: bytes) -> tuple[WordTime, ...] | None:
    """Return the word timings of a WAV file written by :func:`wav_bytes`, or None."""
    position = 12  # after "RIFF", the size and "WAVE"
    while position + 8 <= len(data):
        name = data[position : position + 4]
        size = int.from_bytes(data[position + 4 : position + 8], "little")
        if name == WORDS_CHUNK:
            body = json.loads(data[position + 8 : position + 8 + size])
            return tuple(
                WordTime(int(a), int(b), float(c), float(d)) for a, b, c, d in body["words"]
            )
        position += 8 + size + size % 2
    return None


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
