"""Listing voices, choosing one for a language, and finding one by a loose name."""

from __future__ import annotations

import pytest

from service.config import EngineSettings, Settings, SpeechSettings
from service.engines.pool import EnginePool
from service.engines.pyttsx3_engine import mapped_espeak_libraries
from service.engines.voices import (
    find_voice,
    list_voices,
    normalize_language,
    parse_default_voices,
    resolve_voice,
)
from service.errors import EngineUnavailableError, VoiceError
from tests import pool_tasks


def test_list_voices_gives_full_ids_names_languages_and_gender() -> None:
    voices = {voice.voice_id: voice for voice in list_voices(EngineSettings())}
    american = voices["pyttsx3:gmw/en-us"]
    assert american.name == "English (America)"
    assert american.languages == ("en-us", "en")
    assert american.gender == "male"
    assert american.engine == "pyttsx3"
    assert len(voices) > 100


def test_list_voices_loads_no_speech_library() -> None:
    list_voices(EngineSettings())
    assert mapped_espeak_libraries() == set()


def test_list_voices_matches_what_espeak_itself_lists(engine_pool: EnginePool) -> None:
    from_espeak = engine_pool.submit(pool_tasks.pyttsx3_voice_list).result(timeout=60)
    from_files = list_voices(EngineSettings(), "pyttsx3")
    # eSpeak keeps the space before a trailing comment ("Cherokee "); the files reader drops it.
    assert sorted((f"pyttsx3:{vid}", name.strip()) for vid, name, _ in from_espeak) == sorted(
        (voice.voice_id, voice.name) for voice in from_files
    )
    # Language tags are compared without case; the files reader lowers them all.
    first_languages = {f"pyttsx3:{vid}": language.lower() for vid, _, language in from_espeak}
    assert all(first_languages[voice.voice_id] == voice.languages[0] for voice in from_files)


@pytest.mark.parametrize(
    ("language", "included", "excluded"),
    [
        ("en", {"pyttsx3:gmw/en-us", "pyttsx3:gmw/en", "pyttsx3:gmw/en-gb-scotland"}, set()),
        ("EN_us", {"pyttsx3:gmw/en-us", "pyttsx3:gmw/en-us-nyc"}, {"pyttsx3:gmw/en"}),
        ("de", {"pyttsx3:gmw/de"}, {"pyttsx3:gmw/en-us"}),
        ("pt", {"pyttsx3:roa/pt", "pyttsx3:roa/pt-br"}, {"pyttsx3:roa/es"}),
    ],
)
def test_list_voices_filters_by_language(
    language: str, included: set[str], excluded: set[str]
) -> None:
    voices = list_voices(EngineSettings(), language=language)
    ids = {voice.voice_id for voice in voices}
    assert included <= ids
    assert not excluded & ids
    tag = normalize_language(language)
    for voice in voices:
        assert any(lang == tag or lang.startswith(tag + "-") for lang in voice.languages)


def test_list_voices_of_one_engine() -> None:
    assert {voice.engine for voice in list_voices(EngineSettings(), "pyttsx3")} == {"pyttsx3"}
    with pytest.raises(EngineUnavailableError, match="unknown engine"):
        list_voices(EngineSettings(), "festival")


def test_list_voices_of_a_language_nobody_speaks_is_empty() -> None:
    assert list_voices(EngineSettings(), language="xx") == []


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "hibari:heart"),
        ("", "hibari:heart"),
        ("en-US", "hibari:heart"),
        ("en-GB", "hibari:heart"),
        ("en_AU", "hibari:heart"),
        ("en-CA", "hibari:heart"),
        ("de", "pyttsx3:gmw/de"),
        ("de-AT", "pyttsx3:gmw/de"),
        ("fr", "pyttsx3:roa/fr"),
        ("fr-BE", "pyttsx3:roa/fr-be"),
        ("pt-BR", "pyttsx3:roa/pt-br"),
        ("es-MX", "pyttsx3:roa/es-419"),
        ("zh", "pyttsx3:sit/cmn"),
        ("no", "pyttsx3:gmq/nb"),
    ],
)
def test_resolve_voice_follows_the_article_language(language: str, expected: str) -> None:
    assert resolve_voice(None, language, SpeechSettings(), EngineSettings()) == expected


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        ("pyttsx3:gmw/en-us", "pyttsx3:gmw/en-us"),
        ("gmw/en-US", "pyttsx3:gmw/en-us"),
        ("en-us", "pyttsx3:gmw/en-us"),
        ("English (America)", "pyttsx3:gmw/en-us"),
        ("english (great britain)", "pyttsx3:gmw/en"),
        ("en-gb", "pyttsx3:gmw/en"),
        ("  roa/fr ", "pyttsx3:roa/fr"),
    ],
)
def test_resolve_voice_finds_a_requested_voice_loosely(requested: str, expected: str) -> None:
    # The article's language does not matter once a voice is asked for.
    assert resolve_voice(requested, "ja", SpeechSettings(), EngineSettings()) == expected


def test_resolve_voice_uses_the_configured_voice_when_none_is_requested() -> None:
    settings = Settings.of(voice="gmw/en-gb-x-rp")
    assert resolve_voice(None, "de", settings.speech, settings.engines) == "pyttsx3:gmw/en-gb-x-rp"
    assert resolve_voice("roa/it", "de", settings.speech, settings.engines) == "pyttsx3:roa/it"


def test_resolve_voice_default_voices_mapping_wins() -> None:
    settings = Settings.of(default_voices="en=pyttsx3:gmw/en-gb-x-rp, de=gmw/de")
    assert resolve_voice(None, "en", settings.speech, settings.engines) == "pyttsx3:gmw/en-gb-x-rp"
    assert (
        resolve_voice(None, "en-GB", settings.speech, settings.engines) == "pyttsx3:gmw/en-gb-x-rp"
    )
    assert resolve_voice(None, "fr", settings.speech, settings.engines) == "pyttsx3:roa/fr"


def test_resolve_voice_ignores_a_mapping_to_a_missing_voice() -> None:
    settings = Settings.of(default_voices="en=piper:en_US-nobody-low,de=pyttsx3:gmw/nope")
    assert resolve_voice(None, "en", settings.speech, settings.engines) == "hibari:heart"
    assert resolve_voice(None, "de", settings.speech, settings.engines) == "pyttsx3:gmw/de"


def test_resolve_voice_unknown_voice_suggests_close_matches() -> None:
    with pytest.raises(VoiceError) as raised:
        resolve_voice("gmw/en-uss", "en", SpeechSettings(), EngineSettings())
    message = str(raised.value)
    assert "unknown voice 'gmw/en-uss'" in message
    assert "pyttsx3:gmw/en-us" in message


def test_find_voice_suggests_voices_for_a_misspelt_language() -> None:
    with pytest.raises(VoiceError, match=r"did you mean .*pyttsx3:gmw/de"):
        find_voice("Germn", EngineSettings())


def test_resolve_voice_language_without_a_voice_is_a_voice_error() -> None:
    with pytest.raises(VoiceError, match="no voice speaks 'tlh'"):
        resolve_voice(None, "tlh", SpeechSettings(), EngineSettings())


def test_resolve_voice_unknown_engine_prefix() -> None:
    with pytest.raises(EngineUnavailableError, match="unknown engine 'festival'"):
        resolve_voice("festival:kal", "en", SpeechSettings(), EngineSettings())


def test_parse_default_voices() -> None:
    assert parse_default_voices("en=pyttsx3:gmw/en-us, pt_BR = roa/pt-br,") == {
        "en": "pyttsx3:gmw/en-us",
        "pt-br": "roa/pt-br",
    }
    with pytest.raises(VoiceError, match="language=voice"):
        parse_default_voices("en:pyttsx3:gmw/en-us")
