"""Turn an article and the settings into a narration plan (no engine loaded)."""

from __future__ import annotations

from service.config import Settings
from service.engines.base import VoiceSettings
from service.engines.registry import engine_version
from service.engines.voices import resolve_voice
from service.errors import VoiceError
from service.pipeline.plan import NarrationPlan, OutputSettings, plan_narration
from service.text.article import Article

RATE_WPM_RANGE = (80, 450)
PITCH_RANGE = (0, 100)


def voice_settings(settings: Settings, language: str, voice: str | None = None) -> VoiceSettings:
    """Choose the voice for ``language`` and check rate, pitch and volume."""
    low, high = RATE_WPM_RANGE
    if not low <= settings.rate_wpm <= high:
        raise VoiceError(f"rate {settings.rate_wpm} wpm is out of range ({low} to {high})")
    if not PITCH_RANGE[0] <= settings.pitch <= PITCH_RANGE[1]:
        raise VoiceError(f"pitch {settings.pitch} is out of range (0 to 100)")
    if not 0.0 <= settings.volume <= 1.0:
        raise VoiceError(f"volume {settings.volume} is out of range (0.0 to 1.0)")
    voice_id = resolve_voice(voice or settings.voice or None, language, settings)
    return VoiceSettings(
        voice_id=voice_id, rate_wpm=settings.rate_wpm, pitch=settings.pitch, volume=settings.volume
    )


def prepare_plan(article: Article, settings: Settings, *, voice: str | None = None) -> NarrationPlan:
    """Segment the article, pick its voice and key everything."""
    chosen = voice_settings(settings, article.language, voice)
    return plan_narration(
        article,
        chosen,
        engine_version(chosen.engine),
        OutputSettings.from_settings(settings),
        max_sentence_chars=settings.max_sentence_chars,
    )
