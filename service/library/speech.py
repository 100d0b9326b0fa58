"""Speak text for OpenAI's ``/v1/audio/speech`` clients: their voices, formats and speeds, ours.

A request becomes an ordinary narration (so it is cached and streamed like
any other): its text split into paragraphs, its voice name mapped to one of
ours (``LISTEN_OPENAI_VOICES``) or left to the language, its speed turned into
words per minute. Raw PCM is answered at OpenAI's 24 kHz.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from service.audio.pcm import mono16_at, read_wav
from service.config import WebSettings
from service.errors import InputError, NothingToReadError, SynthesisError
from service.library.narrations import Narrations, NarrationView
from service.library.requests import lexicon_name, option_str
from service.pipeline.objects import audio_object
from service.text.article import Article, Block
from service.text.language import detect_language
from service.text.lexicon.model import Lexicon

OPENAI_VOICES = frozenset(
    {"alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse"}
)
RESPONSE_FORMATS = {
    "mp3": ("mp3", "audio/mpeg"),
    "opus": ("ogg", "audio/ogg"),
    "wav": ("wav", "audio/wav"),
    "pcm": ("wav", "audio/pcm"),
}
"""OpenAI's response formats: the format we make for each, and the media type answered."""
PCM_RATE_HZ = 24000
"""OpenAI's raw PCM is 24 kHz, 16-bit, mono."""
NATURAL_VOICES: dict[str, tuple[str, ...]] = {
    "alloy": ("hibari:heart", "hibari:kore"),
    "ash": ("hibari:fenrir",),
    "ballad": ("hibari:fable",),
    "coral": ("hibari:kore", "hibari:heart"),
    "echo": ("hibari:fenrir",),
    "fable": ("hibari:fable", "hibari:emma"),
    "nova": ("hibari:heart", "hibari:kore"),
    "onyx": ("hibari:fenrir",),
    "sage": ("hibari:emma", "hibari:heart"),
    "shimmer": ("hibari:kore", "hibari:heart"),
    "verse": ("hibari:fable", "hibari:fenrir"),
}
"""Our natural voices closest to each OpenAI voice (by gender and accent), the first installed."""
BASE_RATE_WPM = 175
"""The rate of speed 1.0."""
WAIT_LIMIT_S = 600.0
"""Longest a synchronous answer waits for its narration."""


@dataclass(frozen=True)
class SpeechRequest:
    """What an OpenAI client asked for."""

    text: str
    """The input to speak."""
    response_format: str
    """OpenAI's name of the format (mp3, opus, wav, pcm)."""
    voice: str | None
    """Our voice id, or None to let the text's language decide."""
    rate_wpm: int
    """The speed as a speaking rate."""
    lexicon: str | None = None
    """The pronunciation lexicon asked for by name (our extension), if any."""

    @property
    def fmt(self) -> str:
        """Return the audio format made for the answer."""
        return RESPONSE_FORMATS[self.response_format][0]

    @property
    def mimetype(self) -> str:
        """Return the answer's media type."""
        return RESPONSE_FORMATS[self.response_format][1]

    @property
    def streams(self) -> bool:
        """Tell whether the answer can be streamed while it is made (MP3 can)."""
        return self.response_format == "mp3"


def speech_request(
    payload: Mapping[str, Any], settings: WebSettings, installed: Collection[str] = ()
) -> SpeechRequest:
    """Read an OpenAI speech request's JSON object (``installed``: our voice ids that can speak)."""
    text = payload.get("input")
    if not isinstance(text, str) or not text.strip():
        raise InputError("'input' must be a non-empty string")
    response_format = (
        option_str(payload.get("response_format"), "response_format") or "mp3"
    ).lower()
    if response_format not in RESPONSE_FORMATS:
        raise InputError(
            f"response_format {response_format!r} is not offered; choose mp3, opus, wav or pcm"
        )
    speed = payload.get("speed", 1.0)
    if isinstance(speed, bool) or not isinstance(speed, int | float) or not 0.25 <= speed <= 4.0:
        raise InputError("'speed' must be a number from 0.25 to 4.0")
    rate_wpm = max(80, min(450, round(BASE_RATE_WPM * float(speed))))
    voice = our_voice(option_str(payload.get("voice"), "voice"), settings.openai_voices, installed)
    return SpeechRequest(
        text, response_format, voice, rate_wpm, lexicon_name(payload.get("lexicon"))
    )


def our_voice(requested: str | None, mapping: str, installed: Collection[str] = ()) -> str | None:
    """Map an OpenAI voice name to one of ours: configured, else the closest natural voice
    installed (:data:`NATURAL_VOICES`), else None to let the language decide.

    A name that is not OpenAI's is taken as one of our voice ids.
    """
    if requested is None:
        return None
    pairs = dict(pair.split("=", 1) for pair in mapping.split(",") if "=" in pair)
    if requested in pairs:
        return pairs[requested].strip()
    if requested.lower() in OPENAI_VOICES:
        closest = NATURAL_VOICES.get(requested.lower(), ())
        return next((voice for voice in closest if voice in installed), None)
    return requested


def speech_article(text: str) -> Article:
    """Return the article of a speech input: its paragraphs, in the language they are in."""
    paragraphs = [" ".join(p.split()) for p in text.replace("\r\n", "\n").split("\n\n")]
    blocks = tuple(Block("paragraph", p) for p in paragraphs if p)
    if not blocks:
        raise NothingToReadError("input holds no text to speak")
    return Article(title="", blocks=blocks, language=detect_language(text))


def start_speech(
    narrations: Narrations, wanted: SpeechRequest, lexicon: Lexicon | None = None
) -> NarrationView:
    """Create (or find) the narration of a speech request, read by ``lexicon`` if given."""
    return narrations.create(
        speech_article(wanted.text),
        voice=wanted.voice,
        rate_wpm=wanted.rate_wpm,
        fmt=wanted.fmt,
        lexicon=lexicon,
    )


def wait_for_audio(narrations: Narrations, narration_id: str, fmt: str) -> None:
    """Block until the narration's audio in ``fmt`` exists; raise SynthesisError if it fails."""
    deadline = time.monotonic() + WAIT_LIMIT_S
    runner, store = narrations.runner, narrations.store
    while not store.exists(audio_object(narration_id, fmt)):
        state = runner.state(narration_id)
        if state is not None and state.status == "failed":
            raise SynthesisError(state.error or "synthesis failed")
        if time.monotonic() > deadline:
            raise SynthesisError("synthesis took too long")
        runner.wait(narration_id, 0.2)


def speech_audio(narrations: Narrations, narration_id: str, wanted: SpeechRequest) -> bytes:
    """Return the finished answer's bytes: the audio file, or its samples as 24 kHz PCM."""
    data = narrations.store.get(audio_object(narration_id, wanted.fmt))
    if data is None:
        raise SynthesisError("the audio was not produced")
    if wanted.response_format == "pcm":
        return mono16_at(read_wav(data), PCM_RATE_HZ)
    return data
