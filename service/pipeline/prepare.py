"""Turn an article and the settings into a narration plan (no engine loaded)."""

from __future__ import annotations

import dataclasses
import logging

from service.config import Settings
from service.engines.base import VoiceSettings
from service.engines.registry import resolve_engine
from service.engines.voices import find_voice, resolve_voice, speaks, voice_settings
from service.errors import EngineUnavailableError, VoiceError
from service.pipeline.plan import (
    BlockVoices,
    NarrationPlan,
    OutputSettings,
    VoiceFallback,
    plan_narration,
)
from service.text.article import Article
from service.text.blocks import SpokenBlock
from service.text.lexicon.model import Lexicon
from service.text.limits import check_length
from service.text.segment import segment_article

log = logging.getLogger(__name__)


_fallbacks_logged: set[tuple[str, str]] = set()


def choose_voice(
    settings: Settings, language: str, voice: str | None = None
) -> tuple[VoiceSettings, VoiceFallback | None]:
    """Pick the voice for ``language`` (or the one asked for) and check rate, pitch, volume.

    Also return the natural voice passed over because it could not load, if
    any (logged once per process and reason).
    """
    speech = settings.speech
    passed_over: list[tuple[str, str]] = []
    chosen = resolve_voice(
        voice or speech.voice or None, language, speech, settings.engines, passed_over
    )
    fallback = VoiceFallback(*passed_over[0]) if passed_over else None
    if fallback is not None and (fallback.wanted, fallback.reason) not in _fallbacks_logged:
        _fallbacks_logged.add((fallback.wanted, fallback.reason))
        log.warning(
            "%s cannot load, %s reads instead: %s", fallback.wanted, chosen, fallback.reason
        )
    return voice_settings(chosen, speech), fallback


def choose_block_voices(
    blocks: tuple[SpokenBlock, ...], chosen: VoiceSettings, settings: Settings
) -> BlockVoices:
    """Pick a voice for each block in another language than the article, where one is installed.

    The article's voice keeps a block whose language it speaks itself, and any
    block whose language no installed voice speaks.
    """
    languages = sorted({block.language for block in blocks if block.language})
    if not languages:
        return {}
    article_voice = find_voice(chosen.voice_id, settings.engines)
    by_language: dict[str, tuple[VoiceSettings, str]] = {}
    for language in languages:
        if speaks(article_voice, language):
            continue
        try:
            # the configured per-language voices apply, a voice asked for the article does not
            speech = dataclasses.replace(settings.speech, voice="")
            voice_id = resolve_voice(None, language, speech, settings.engines)
            voice = voice_settings(voice_id, speech)
            engine = resolve_engine(voice.engine, settings.engines)
            by_language[language] = (voice, engine.version())
        except (VoiceError, EngineUnavailableError) as error:
            log.info("blocks in %s are read with the article's voice: %s", language, error)
    return {
        block.index: by_language[block.language]
        for block in blocks
        if block.language in by_language
    }


def prepare_plan(
    article: Article,
    settings: Settings,
    *,
    voice: str | None = None,
    lexicon: Lexicon | None = None,
) -> NarrationPlan:
    """Check the article's length, split it into sentences, pick its voices, apply the lexicon,
    and key everything.

    Every narration is planned here, whatever made its article (a file, a
    request, a title given with it): the one place the length limit is checked.
    """
    check_length(article, settings.input)
    chosen, fallback = choose_voice(settings, article.language, voice)
    blocks = segment_article(article, max_sentence_chars=settings.input.max_sentence_chars)
    engine_text = None
    if lexicon is not None:
        from service.pipeline.pronounce import Pronouncer

        engine_text = Pronouncer(lexicon, settings.engines)
    return plan_narration(
        article,
        blocks,
        chosen,
        resolve_engine(chosen.engine, settings.engines).version(),
        OutputSettings.from_settings(settings.audio),
        choose_block_voices(blocks, chosen, settings),
        engine_text,
        fallback,
    )
