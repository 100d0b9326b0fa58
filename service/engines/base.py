"""Define what an engine is: voices in, PCM out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Voice:
    """A voice an engine offers."""

    voice_id: str
    """Full id, ``engine:voice`` (``pyttsx3:gmw/en-us``, ``piper:en_US-joe-medium``)."""
    name: str
    """Human name (``English (America)``)."""
    languages: tuple[str, ...]
    """Language tags the voice speaks, most specific first (``en-us``)."""
    gender: str | None = None
    """``male``, ``female`` or None when the engine does not say."""

    @property
    def engine(self) -> str:
        """Return the engine part of the id."""
        return self.voice_id.split(":", 1)[0]


@dataclass(frozen=True)
class VoiceSettings:
    """Everything besides the text that changes how a segment sounds."""

    voice_id: str
    """Full voice id, ``engine:voice``."""
    rate_wpm: int = 175
    """Speaking rate in words per minute."""
    pitch: int = 50
    """Pitch, 0 to 100 (engines without pitch ignore it)."""
    volume: float = 1.0
    """Volume, 0.0 to 1.0."""

    @property
    def engine(self) -> str:
        """Return the engine part of the voice id."""
        return self.voice_id.split(":", 1)[0]

    @property
    def engine_voice(self) -> str:
        """Return the voice id without the engine prefix."""
        return self.voice_id.split(":", 1)[1]


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

    @property
    def frame_count(self) -> int:
        """Return the number of sample frames."""
        return len(self.data) // (self.sample_width_bytes * self.channels)

    @property
    def duration_ms(self) -> float:
        """Return the duration in milliseconds."""
        return 1000.0 * self.frame_count / self.sample_rate_hz


@runtime_checkable
class Engine(Protocol):
    """A speech engine; one instance per worker process."""

    name: str
    """Registry name (``pyttsx3``, ``piper``)."""

    def version(self) -> str:
        """Return everything about the engine that changes its sound (for cache keys)."""
        ...

    def voices(self) -> list[Voice]:
        """Return the voices this engine offers here."""
        ...

    def synthesize(self, text: str, settings: VoiceSettings) -> Pcm:
        """Turn one segment's spoken text into PCM."""
        ...
