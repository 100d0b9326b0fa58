"""Lexicons reach the engines: what eSpeak NG and Piper say changes, and only where it should."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from service.config import EngineSettings, Settings
from service.engines.base import Pcm, VoiceSettings
from service.engines.phonemes import (
    PhonemeError,
    ipa_to_espeak,
    ipa_to_misaki,
    ipa_to_piper,
    misaki_markup,
)
from service.engines.pool import EnginePool, synthesize
from service.engines.pyttsx3_engine import Pyttsx3Engine
from service.errors import LexiconError
from service.pipeline.plan import NarrationPlan
from service.pipeline.prepare import prepare_plan
from service.pipeline.pronounce import Pronouncer
from service.text.lexicon.model import parse_lexicon
from service.text.load import load_article
from tests.conftest import SEED_ARTICLE
from tests.espeak_phonemes import espeak_phonemes

ESPEAK = VoiceSettings("pyttsx3:gmw/en-us")
NATO = {"match": "NATO", "say": "North Atlantic Treaty Organization"}


def _speak(pool: EnginePool, text: str, voice: VoiceSettings = ESPEAK) -> Pcm:
    return pool.submit(synthesize, text, voice, label=text[:30]).result(timeout=60)


def _engine_text(rules: list[dict[str, object]], sentence: str, voice: VoiceSettings) -> str:
    return Pronouncer(parse_lexicon(rules, "test"))(sentence, voice)


# eSpeak's own IPA for a word (espeak-ng --ipa) and the phoneme names it says for it (-x)
ESPEAK_WORDS = [
    ("hello", "həlˈoʊ", "h@l'oU"),
    ("thought", "θˈɔːt", "T'O:t"),
    ("church", "tʃˈɜːtʃ", "tS'3:tS"),
    ("judge", "dʒˈʌdʒ", "dZ'VdZ"),
    ("vision", "vˈɪʒən", "v'IZ@n"),
    ("think", "θˈɪŋk", "T'INk"),
    ("this", "ðˈɪs", "D'Is"),
    ("yes", "jˈɛs", "j'Es"),
    ("butter", "bˈʌɾɚ", "b'Vt#3"),
    ("tomato", "təmˈeɪɾoʊ", "t@m'eIt#oU"),
    ("kitten", "kˈɪʔn̩", "k'I?n-"),
    ("cure", "kjˈʊɹ", "kj'U@"),
    ("Stoltenberg", "stˈoʊltənbˌɜːɡ", "st'oUlt@nb,3:g"),
]


@pytest.mark.parametrize(("word", "ipa", "names"), ESPEAK_WORDS)
def test_ipa_to_espeak_gives_espeak_its_own_phonemes_back(word: str, ipa: str, names: str) -> None:
    assert ipa_to_espeak(ipa) == names
    said = espeak_phonemes(f"[[{ipa_to_espeak(ipa)}]]", phoneme_input=True)
    assert said == espeak_phonemes(word)


def test_ipa_to_espeak_moves_stress_to_the_vowel_and_refuses_unknown_symbols() -> None:
    assert ipa_to_espeak("/ˈdʒɪf/") == ipa_to_espeak("dʒˈɪf") == "dZ'If"
    assert ipa_to_espeak("pɑɡəˈniːni") == "pA:g@n'i:ni"
    with pytest.raises(PhonemeError, match="no English phoneme for 'ǃ'"):
        ipa_to_espeak("ǃxóõ")


def test_espeak_ipa_rule_changes_what_espeak_says() -> None:
    rules = [{"match": "GIF", "ipa": "ˈdʒɪf"}]
    engine_text = _engine_text(rules, "Say GIF now.", ESPEAK)
    espeak_input, as_phonemes = Pyttsx3Engine().espeak_text(engine_text, ESPEAK)
    assert (espeak_input, as_phonemes) == ("Say [[dZ'If]] now.", True)
    with_rule = espeak_phonemes(espeak_input, phoneme_input=True)
    assert with_rule == espeak_phonemes("Say jif now.") == "s'eI dZ'If n'aU"
    assert espeak_phonemes("Say GIF now.") == "s'eI g'If n'aU"


def test_espeak_ipa_rule_changes_the_audio(engine_pool: EnginePool) -> None:
    marked = _engine_text([{"match": "Paganini", "ipa": "ˈpɑːɡəniːni"}], "Paganini.", ESPEAK)
    plain = _speak(engine_pool, "Paganini.")
    ruled = _speak(engine_pool, marked)
    assert ruled.data != plain.data
    # the rule stresses the first syllable: what eSpeak says is what the rule asked for
    said = espeak_phonemes(Pyttsx3Engine().espeak_text(marked, ESPEAK)[0], phoneme_input=True)
    assert said == "p'A:g@ni:ni" != espeak_phonemes("Paganini.")
    assert 0.5 * plain.duration_ms < ruled.duration_ms < 2 * plain.duration_ms


def test_article_brackets_stay_text_when_phonemes_are_read() -> None:
    engine_text = _engine_text([{"match": "GIF", "ipa": "ˈdʒɪf"}], "GIF [[h@l'oU]]", ESPEAK)
    espeak_input, _ = Pyttsx3Engine().espeak_text(engine_text, ESPEAK)
    assert espeak_input == "[[dZ'If]] [ [h@l'oU] ]"


def test_say_rule_changes_what_is_heard(engine_pool: EnginePool) -> None:
    sentence = "NATO leaders met in Brussels."
    engine_text = _engine_text([NATO], sentence, ESPEAK)
    assert engine_text == "North Atlantic Treaty Organization leaders met in Brussels."
    plain = _speak(engine_pool, sentence)
    ruled = _speak(engine_pool, engine_text)
    assert ruled.duration_ms > plain.duration_ms + 1_000  # nine syllables for four
    assert espeak_phonemes(sentence).startswith("n'eIt#oU l'i:d3z")
    assert espeak_phonemes(engine_text).startswith("n'O@T a#tl'aantIk tr'i:t#i; ,O@ga#nI#z'eIS@n")


def test_ipa_rule_a_voice_cannot_say_falls_back_to_say_or_is_refused() -> None:
    german = VoiceSettings("pyttsx3:gmw/de")
    rules = [{"match": "Zug", "ipa": "tsuːk", "say": "Zug"}]
    assert _engine_text(rules, "Der Zug.", german) == "Der Zug."
    with pytest.raises(LexiconError, match=r"rule 1 \('Zug'\): the voice pyttsx3:gmw/de cannot"):
        _engine_text([{"match": "Zug", "ipa": "tsuːk"}], "Der Zug.", german)


def test_piper_phonemes_are_checked_against_the_voice() -> None:
    from service.engines.piper_engine import PiperEngine

    joe = VoiceSettings("piper:en_US-joe-medium")
    engine = PiperEngine(EngineSettings())
    assert engine.phonemes("/ˈdʒɪf/", joe) == "[[ dʒˈɪf ]]"
    assert engine.phonemes("ˈrɛd", joe) == "[[ ɹˈɛd ]]"  # English r and stress, as eSpeak writes
    with pytest.raises(PhonemeError, match="no phoneme 'ж'"):
        engine.phonemes("жʊk", joe)
    assert ipa_to_piper("aɪ", {"a", "ɪ"}) == "aɪ"


@pytest.mark.slow
@pytest.mark.xdist_group("piper")
def test_piper_ipa_rule_changes_the_audio(engine_pool: EnginePool) -> None:
    joe = VoiceSettings("piper:en_US-joe-medium")
    marked = _engine_text([{"match": "Stoltenberg", "ipa": "ˈstɔltənbɛrk"}], "Stoltenberg.", joe)
    plain = _speak(engine_pool, "Stoltenberg.", joe)
    ruled = _speak(engine_pool, marked, joe)
    assert ruled.duration_ms > 300
    assert ruled.data != plain.data


def test_ipa_to_misaki_matches_hibaris_own_phonemizer() -> None:
    # hibari's G2P gives stˈOltənbˌɜɹɡ for Stoltenberg and həlˈO for hello
    assert ipa_to_misaki("stˈoʊltənbˌɜːɡ") == "stˈOltənbˌɜɹɡ"
    assert ipa_to_misaki("/həˈloʊ/") == "həlˈO"
    assert ipa_to_misaki("ˈdʒɪf") == "ʤˈɪf"
    assert misaki_markup("GIF", "ˈdʒɪf") == "[GIF](/ʤˈɪf/)"
    with pytest.raises(PhonemeError, match="hibari has no phoneme 'ǃ'"):
        ipa_to_misaki("ǃa")


def _plan(settings: Settings, rules: list[dict[str, object]] | None) -> NarrationPlan:
    article = load_article(str(SEED_ARTICLE), settings.input)
    lexicon = parse_lexicon(rules, "news") if rules is not None else None
    return prepare_plan(article, settings, lexicon=lexicon)


def test_lexicon_changes_the_keys_of_exactly_the_sentences_with_the_term(tmp_path: Path) -> None:
    settings = Settings.from_env({}, cache_dir=tmp_path)
    without = _plan(settings, None)
    with_rule = _plan(settings, [NATO])
    clips_without = [clip for chunk in without.chunks for clip in chunk.clips]
    clips_with = [clip for chunk in with_rule.chunks for clip in chunk.clips]
    assert len(clips_without) == len(clips_with)
    changed = [a.clip_key != b.clip_key for a, b in zip(clips_without, clips_with, strict=True)]
    has_term = [bool(re.search(r"(?<!\w)NATO(?!\w)", clip.spoken)) for clip in clips_without]
    assert changed == has_term
    assert 0 < sum(changed) < len(changed)
    for chunk_a, chunk_b in zip(without.chunks, with_rule.chunks, strict=True):
        touched = any(
            a.clip_key != b.clip_key for a, b in zip(chunk_a.clips, chunk_b.clips, strict=True)
        )
        assert (chunk_a.chunk_key != chunk_b.chunk_key) == touched
    assert without.narration_id != with_rule.narration_id
    # a lexicon none of whose rules match keys nothing differently
    unrelated = _plan(settings, [{"match": "Paganini", "say": "Pa ga ni ni"}])
    assert unrelated.narration_id == without.narration_id
