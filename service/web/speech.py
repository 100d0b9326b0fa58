"""An OpenAI-compatible ``POST /v1/audio/speech``, so existing OpenAI clients can narrate."""

from __future__ import annotations

import io
import time
import wave

from flask import Blueprint, Response, request

from service.audio.pydub_setup import AudioSegment
from service.errors import InputError, NothingToReadError, SynthesisError
from service.pipeline.objects import audio_object
from service.text.article import Article, Block
from service.text.language import detect_language
from service.web.access import require_key
from service.web.api import live_response
from service.web.context import live_place, narrations, settings, store
from service.web.fields import json_object, option_str

speech = Blueprint("speech", __name__, url_prefix="/v1")

OPENAI_VOICES = frozenset(
    {"alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse"}
)
FORMATS = {
    "mp3": ("mp3", "audio/mpeg"),
    "opus": ("ogg", "audio/ogg"),
    "wav": ("wav", "audio/wav"),
    "pcm": ("wav", "audio/pcm"),
}
PCM_RATE_HZ = 24000
"""OpenAI's raw PCM is 24 kHz, 16-bit, mono."""
BASE_RATE_WPM = 175
WAIT_LIMIT_S = 600.0


def _voice_for(requested: str | None) -> str | None:
    """Map an OpenAI voice name to one of ours (configured), else let the language decide."""
    if requested is None:
        return None
    mapping = dict(
        pair.split("=", 1) for pair in settings().openai_voices.split(",") if "=" in pair
    )
    if requested in mapping:
        return mapping[requested].strip()
    if requested.lower() in OPENAI_VOICES:
        return None
    return requested


def _article(text: str) -> Article:
    paragraphs = [" ".join(p.split()) for p in text.replace("\r\n", "\n").split("\n\n")]
    blocks = tuple(Block("paragraph", p) for p in paragraphs if p)
    if not blocks:
        raise NothingToReadError("input holds no text to speak")
    return Article(title="", blocks=blocks, language=detect_language(text))


@speech.post("/audio/speech")
@require_key
def create_speech() -> Response:
    """Speak ``input`` and answer with the audio (MP3 is streamed as it is made)."""
    payload = json_object(request)
    text = payload.get("input")
    if not isinstance(text, str) or not text.strip():
        raise InputError("'input' must be a non-empty string")
    response_format = (
        option_str(payload.get("response_format"), "response_format") or "mp3"
    ).lower()
    if response_format not in FORMATS:
        raise InputError(
            f"response_format {response_format!r} is not offered; choose mp3, opus, wav or pcm"
        )
    speed = payload.get("speed", 1.0)
    if isinstance(speed, bool) or not isinstance(speed, int | float) or not 0.25 <= speed <= 4.0:
        raise InputError("'speed' must be a number from 0.25 to 4.0")
    rate_wpm = max(80, min(450, round(BASE_RATE_WPM * float(speed))))
    fmt, mimetype = FORMATS[response_format]
    voice = _voice_for(option_str(payload.get("voice"), "voice"))
    article = _article(text)
    view = narrations().create(article, voice=voice, rate_wpm=rate_wpm, fmt=fmt)
    narration_id = view.plan.narration_id
    if response_format == "mp3" and view.state.status != "done":
        return live_response(narrations().chunk_stream(narration_id), mimetype)
    if not store().exists(audio_object(narration_id, fmt)):
        leave = live_place()  # waiting holds a thread as a live stream does
        try:
            _wait_done(narration_id, fmt)
        finally:
            leave()
    data = store().get(audio_object(narration_id, fmt))
    if data is None:
        raise SynthesisError("the audio was not produced")
    if response_format == "pcm":
        data = _pcm_24k(data)
    return Response(data, mimetype=mimetype)


def _wait_done(narration_id: str, fmt: str) -> None:
    deadline = time.monotonic() + WAIT_LIMIT_S
    runner = narrations().runner
    while not store().exists(audio_object(narration_id, fmt)):
        state = runner.state(narration_id)
        if state is not None and state.status == "failed":
            raise SynthesisError(state.error or "synthesis failed")
        if time.monotonic() > deadline:
            raise SynthesisError("synthesis took too long")
        runner.wait(narration_id, 0.2)


def _pcm_24k(wav_bytes: bytes) -> bytes:
    with wave.open(io.BytesIO(wav_bytes)) as reader:
        audio = AudioSegment(
            data=reader.readframes(reader.getnframes()),
            sample_width=reader.getsampwidth(),
            frame_rate=reader.getframerate(),
            channels=reader.getnchannels(),
        )
    return bytes(audio.set_frame_rate(PCM_RATE_HZ).raw_data)
