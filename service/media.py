"""What every floor calls a narration's media: PCM, the audio formats, the narration id.

The ground floor: engines make :class:`Pcm`, audio shapes it, the pipeline
writes the formats listed here under ids of the form checked here, and the web
layer and the CLI read both. Nothing here imports a stage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

AUDIO_FORMATS = ("mp3", "ogg", "wav")
"""Audio formats a narration can be made in; MP3 always is."""
AUDIO_MIMETYPES = {"mp3": "audio/mpeg", "ogg": "audio/ogg", "wav": "audio/wav"}
"""The media type each audio format is served as."""
NARRATION_ID_CHARS = 32
"""A narration id is this many lowercase hex digits (the start of a SHA-256)."""
NARRATION_ID = re.compile(rf"[0-9a-f]{{{NARRATION_ID_CHARS}}}")
"""The form of a narration id; use ``fullmatch`` (``match`` and ``$`` let a newline in)."""


def is_narration_id(value: str) -> bool:
    """Tell whether ``value`` has the form of a narration id (so it may reach the store)."""
    return NARRATION_ID.fullmatch(value) is not None


@dataclass(frozen=True)
class WordTime:
    """When one word of a sentence is heard, as the engine that spoke it reports it."""

    start_char: int
    """Offset of the word's first character in the text the engine was given."""
    end_char: int
    """Offset one past the word's last character in that text."""
    start_ms: float
    """When the word starts, from the start of the engine's audio."""
    end_ms: float
    """When the word ends, from the start of the engine's audio."""


@dataclass(frozen=True)
class Pcm:
    """Raw signed little-endian PCM audio."""

    data: bytes
    """The samples."""
    sample_rate_hz: int
    """Samples per second."""
    sample_width_bytes: int = 2
    """Bytes per sample (2 = 16-bit)."""
    channels: int = 1
    """Interleaved channels."""
    words: tuple[WordTime, ...] | None = None
    """Word timings reported by the engine, in order; None when the engine reports none."""

    @property
    def frame_count(self) -> int:
        """Return the number of sample frames."""
        return len(self.data) // (self.sample_width_bytes * self.channels)

    @property
    def duration_ms(self) -> float:
        """Return the duration in milliseconds."""
        return 1000.0 * self.frame_count / self.sample_rate_hz
