"""Define what an engine is: voices in, PCM out.

An engine is a class registered under the entry-point group ``listen.engines``
(see :mod:`service.engines.registry`). It is constructed with the
:class:`~service.config.EngineSettings` of the process, and constructing it
must load nothing heavy: voices and versions are asked in the web server too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from service.config import EngineSettings
from service.errors import VoiceError
from service.media import Pcm

__all__ = ["Engine", "Pcm", "Voice", "VoiceSettings", "check_voice_settings", "preview"]

RATE_WPM_MIN = 80
"""Slowest speaking rate accepted, in words per minute (eSpeak NG's own floor)."""
RATE_WPM_MAX = 450
"""Fastest speaking rate accepted, in words per minute (eSpeak NG's own ceiling)."""
PITCH_MIN = 0
PITCH_MAX = 100


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
    installed: bool = True
    """False for a voice the engine knows but whose files are not here (it cannot speak)."""
    detail: str | None = None
    """Where the voice comes from, or what installs it when it is not installed."""

    @property
    def engine(self) -> str:
        """Return the engine part of the id."""
        return self.voice_id.split(":", 1)[0]


@dataclass(frozen=True)
class VoiceSettings:
    """Everything besides the text that changes how a sentence sounds."""

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


@runtime_checkable
class Engine(Protocol):
    """A speech engine; one instance per process and engine settings.

    Optional methods the service uses when an engine has them:
    ``warm_up(voice)`` loads what the first synthesis would (``voice`` is the
    engine's own voice name, or None for its default), in each new worker;
    ``phonemes(ipa, settings)`` returns how the engine is given IPA inline
    (raising :class:`~service.engines.phonemes.PhonemeError` when it cannot).
    """

    name: str
    """Registry name (``pyttsx3``, ``piper``)."""

    def __init__(self, settings: EngineSettings) -> None:
        """Prepare the engine cheaply: read settings and data files, load no library or model."""
        ...

    def version(self) -> str:
        """Return everything about the engine that changes its sound (for cache keys)."""
        ...

    def voices(self) -> list[Voice]:
        """Return the voices this engine offers here."""
        ...

    def synthesize(self, text: str, settings: VoiceSettings) -> Pcm:
        """Turn one sentence's spoken text into PCM."""
        ...


def check_voice_settings(settings: VoiceSettings) -> None:
    """Raise :class:`VoiceError` when the rate, pitch or volume is out of range."""
    if not RATE_WPM_MIN <= settings.rate_wpm <= RATE_WPM_MAX:
        raise VoiceError(
            f"rate {settings.rate_wpm} words per minute is out of range "
            f"({RATE_WPM_MIN} to {RATE_WPM_MAX})"
        )
    if not PITCH_MIN <= settings.pitch <= PITCH_MAX:
        raise VoiceError(f"pitch {settings.pitch} is out of range ({PITCH_MIN} to {PITCH_MAX})")
    if not 0.0 <= settings.volume <= 1.0:
        raise VoiceError(f"volume {settings.volume} is out of range (0.0 to 1.0)")


def preview(text: str, words: int = 6) -> str:
    """Return the first few words of a sentence, quoted, for error messages."""
    head = text.split()
    shown = " ".join(head[:words])
    return repr(shown + (" ..." if len(head) > words else ""))
