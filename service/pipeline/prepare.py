"""Turn an article and the settings into a narration plan (no engine loaded)."""

from __future__ import annotations

from service.config import Settings
from service.engines.base import VoiceSettings
from service.engines.registry import resolve_engine
from service.engines.voices import resolve_voice, voice_settings
from service.pipeline.plan import NarrationPlan, OutputSettings, plan_narration
from service.text.article import Article
from service.text.limits import check_length
from service.text.segment import segment_article


def choose_voice(settings: Settings, language: str, voice: str | None = None) -> VoiceSettings:
    """Pick the voice for ``language`` (or the one asked for) and check rate, pitch, volume."""
    return voice_settings(
        resolve_voice(voice or settings.voice or None, language, settings), settings
    )


def prepare_plan(
    article: Article, settings: Settings, *, voice: str | None = None
) -> NarrationPlan:
    """Check the article's length, then segment it, pick its voice and key everything.

    Every narration is planned here, whatever made its article (a file, a
    request, a title given with it): the one place the length limit is checked.
    """
    check_length(article, settings)
    chosen = choose_voice(settings, article.language, voice)
    return plan_narration(
        article,
        segment_article(article, max_sentence_chars=settings.max_sentence_chars),
        chosen,
        resolve_engine(chosen.engine).version(),
        OutputSettings.from_settings(settings),
    )
