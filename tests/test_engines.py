"""The registry and the pyttsx3 engine, speaking for real in spawned workers."""

from __future__ import annotations

import array
import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.config import EngineSettings
from service.engines.base import Engine, Pcm, VoiceSettings
from service.engines.pool import EnginePool, synthesize
from service.engines.pyttsx3_engine import (
    Pyttsx3Engine,
    mapped_espeak_libraries,
    probe_espeak,
    read_espeak_voices,
)
from service.engines.registry import engine_names, refresh_engines, resolve_engine
from service.engines.voices import check_voice_settings, list_voices
from service.errors import EngineUnavailableError, VoiceError
from service.text.lexicon.marks import mark
from tests import pool_tasks
from tests.word_checks import SENTENCES, check_onsets, check_words

SENTENCE = "The committee met on Tuesday to discuss the new members of the alliance."
US_ENGLISH = "pyttsx3:gmw/en-us"


def speak(
    pool: EnginePool,
    text: str,
    *,
    voice_id: str = US_ENGLISH,
    rate_wpm: int = 175,
    volume: float = 1.0,
) -> Pcm:
    settings = VoiceSettings(voice_id, rate_wpm=rate_wpm, volume=volume)
    return pool.submit(synthesize, text, settings, label=text[:30]).result(timeout=60)


def peak(pcm: Pcm) -> int:
    samples = array.array("h", pcm.data)
    return max(abs(sample) for sample in samples)


def test_synthesize_sentence_has_plausible_duration_and_sound(engine_pool: EnginePool) -> None:
    pcm = speak(engine_pool, SENTENCE)
    assert (pcm.sample_rate_hz, pcm.sample_width_bytes, pcm.channels) == (22_050, 2, 1)
    assert 2_000 < pcm.duration_ms < 10_000
    assert peak(pcm) > 3_000


def test_synthesize_rate_changes_duration(engine_pool: EnginePool) -> None:
    slow = speak(engine_pool, SENTENCE, rate_wpm=100)
    fast = speak(engine_pool, SENTENCE, rate_wpm=300)
    assert slow.duration_ms > 1.8 * fast.duration_ms


def test_synthesize_volume_changes_loudness(engine_pool: EnginePool) -> None:
    loud = speak(engine_pool, SENTENCE, volume=1.0)
    quiet = speak(engine_pool, SENTENCE, volume=0.2)
    assert peak(quiet) < 0.5 * peak(loud)


def test_synthesize_voice_changes_sound(engine_pool: EnginePool) -> None:
    english = speak(engine_pool, "Guten Morgen, wie geht es Ihnen heute?")
    german = speak(engine_pool, "Guten Morgen, wie geht es Ihnen heute?", voice_id="pyttsx3:gmw/de")
    assert english.data != german.data


def test_synthesize_reads_non_ascii_text(engine_pool: EnginePool) -> None:
    pcm = speak(engine_pool, "Grüße aus Köln — «ça va» — 東京.", voice_id="pyttsx3:gmw/de")
    assert pcm.duration_ms > 500


def test_synthesize_blank_text_is_empty_audio(engine_pool: EnginePool) -> None:
    assert speak(engine_pool, "  \n ").frame_count == 0


@pytest.mark.parametrize("rate_wpm", [120, 175, 230])
def test_espeak_word_times_match_the_audio(engine_pool: EnginePool, rate_wpm: int) -> None:
    spoken = []
    for sentence in SENTENCES:
        pcm = speak(engine_pool, sentence, rate_wpm=rate_wpm)
        spoken.append(pcm)
        check_words(pcm, sentence)
        said = [sentence[w.start_char : w.end_char] for w in pcm.words or ()]
        words = [word.strip(".,;") for word in sentence.split()]
        # eSpeak runs some unstressed words into the one before ("that it"): no event of their own
        assert said[0] == words[0] and said[-1] == words[-1]
        assert len(said) >= 0.85 * len(words)
        assert all(word in words for word in said)
    check_onsets(spoken, median_ms=50, worst_ms=120)


def test_espeak_word_times_follow_the_words_of_non_ascii_text(engine_pool: EnginePool) -> None:
    # eSpeak's text positions count bytes or code points differently past non-ASCII letters
    text = "Grüße aus Köln — «ça va» — und dann, nach einer Pause, München."
    pcm = speak(engine_pool, text, voice_id="pyttsx3:gmw/de")
    check_words(pcm, text)
    said = [text[w.start_char : w.end_char] for w in pcm.words or ()]
    assert said[:3] == ["Grüße", "aus", "Köln"]
    assert said[-3:] == ["einer", "Pause", "München"]
    check_onsets([pcm], median_ms=50, worst_ms=120)


def test_espeak_times_a_word_said_by_a_lexicon_rule(engine_pool: EnginePool) -> None:
    text = "The " + mark("NATO", "ˈneɪtoʊ") + " summit ended, and everyone went home."
    pcm = speak(engine_pool, text)
    check_words(pcm, text)
    said = [text[w.start_char : w.end_char] for w in pcm.words or ()]
    assert said[:3] == ["The", "NATO", "summit"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"rate_wpm": 79}, "rate 79"),
        ({"rate_wpm": 451}, "rate 451"),
        ({"pitch": -1}, "pitch -1"),
        ({"pitch": 101}, "pitch 101"),
        ({"volume": 1.5}, "volume 1.5"),
    ],
)
def test_voice_settings_out_of_range_are_voice_errors(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(VoiceError, match=message):
        check_voice_settings(dataclasses.replace(VoiceSettings(US_ENGLISH), **changes))


@pytest.mark.parametrize("rate_wpm", [80, 450])
def test_voice_settings_accept_the_rate_bounds(rate_wpm: int) -> None:
    check_voice_settings(VoiceSettings(US_ENGLISH, rate_wpm=rate_wpm))


def test_synthesize_rejects_bad_settings_in_the_worker(engine_pool: EnginePool) -> None:
    with pytest.raises(VoiceError, match="rate 500"):
        speak(engine_pool, SENTENCE, rate_wpm=500)
    with pytest.raises(VoiceError, match="unknown pyttsx3 voice"):
        speak(engine_pool, SENTENCE, voice_id="pyttsx3:gmw/xx")


def test_engine_version_names_pyttsx3_and_the_loaded_espeak(engine_pool: EnginePool) -> None:
    in_worker = engine_pool.submit(pool_tasks.engine_version).result(timeout=60)
    assert in_worker.startswith("pyttsx3 2.99; espeak-ng 1.")
    assert "espeakng-loader" in in_worker
    # Asked here, without eSpeak loaded, the answer is the same.
    assert resolve_engine("pyttsx3", EngineSettings()).version() == in_worker


def test_worker_loads_only_the_bundled_espeak(engine_pool: EnginePool) -> None:
    loaded = engine_pool.submit(pool_tasks.loaded_espeak_libraries).result(timeout=60)
    bundled = Pyttsx3Engine().library.path
    assert loaded
    assert all(os.path.samefile(path, bundled) for path in loaded)


def test_resolve_engine_returns_one_instance_per_process() -> None:
    engine = resolve_engine("pyttsx3", EngineSettings())
    assert isinstance(engine, Engine)
    assert resolve_engine("pyttsx3", EngineSettings()) is engine
    assert engine_names()[0] == "pyttsx3"


def test_resolve_engine_unknown_name_lists_known_engines() -> None:
    with pytest.raises(EngineUnavailableError, match=r"unknown engine 'festival'.*pyttsx3"):
        resolve_engine("festival", EngineSettings())


TOY_ENGINE = """
import array, math
from service.engines.base import Voice
from service.media import Pcm

class ToyEngine:
    name = "toy"

    def __init__(self, settings):
        self.settings = settings

    def version(self):
        return "toy 1"

    def voices(self):
        return [Voice("toy:beep", "Beep", ("en-x-toy",))]

    def synthesize(self, text, settings):
        # a 440 Hz tone, 60 ms a word, at eSpeak's rate
        samples = array.array("h", (
            int(8000 * math.sin(2 * math.pi * 440 * n / 22050))
            for n in range(len(text.split()) * 1323)
        ))
        return Pcm(samples.tobytes(), 22050)
"""


@pytest.fixture
def installed_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Install a third-party engine package the way pip lays one out: a module and its metadata.

    Its ``entry_points.txt`` registers a working engine, ``toy``, and ``kokoro``,
    whose module is missing, as a broken or half-installed plugin would be.
    """
    (tmp_path / "listen_toy_engine.py").write_text(TOY_ENGINE, encoding="utf-8")
    metadata = tmp_path / "listen_toy-0.1.dist-info"
    metadata.mkdir()
    (metadata / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: listen-toy\nVersion: 0.1\n", encoding="utf-8"
    )
    (metadata / "entry_points.txt").write_text(
        "[listen.engines]\n"
        "toy = listen_toy_engine:ToyEngine\n"
        "kokoro = listen_engine_not_installed_anywhere:Engine\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    refresh_engines()
    yield tmp_path
    monkeypatch.undo()
    refresh_engines()


def test_engines_are_found_through_their_entry_points() -> None:
    # registered by this project's metadata
    assert engine_names()[:3] == ["pyttsx3", "hibari", "piper"]


@pytest.mark.slow
def test_an_installed_plugin_engine_narrates_like_ours(installed_plugin: Path) -> None:
    from service.config import Settings
    from service.pipeline.narrate import Narrator
    from service.pipeline.prepare import prepare_plan
    from service.store import open_store
    from service.text.load import load_article_from_text
    from tests.audio_tools import decode

    assert "toy" in engine_names()
    settings = Settings.of(cache_dir=installed_plugin / "cache", voice="toy:beep", workers=1)
    voices = list_voices(settings.engines, language="en-x-toy")
    assert [voice.voice_id for voice in voices] == ["toy:beep"]
    article = load_article_from_text("A toy\n\nIt says four words.", settings.input)
    plan = prepare_plan(article, settings)
    assert plan.voice.voice_id == "toy:beep" and plan.engine_version == "toy 1"
    store = open_store(settings.store)
    # the spawned worker finds the plugin from the registry its parent discovered
    with EnginePool(1, task_timeout_s=60, warm_engines=(), settings=settings.engines) as pool:
        result = Narrator(settings, store, pool).narrate(plan)
    path = store.local_path(f"narrations/{result.narration_id}/audio.mp3")
    assert path is not None
    assert len(decode(path)) > 22050 * 6 * 0.06  # six words of tone, and the pauses


def test_a_plugin_whose_module_is_missing_names_its_package(installed_plugin: Path) -> None:
    with pytest.raises(EngineUnavailableError, match=r"pip install listen-toy"):
        resolve_engine("kokoro", EngineSettings())
    # a broken plugin hides no other engine
    assert "toy" in {voice.engine for voice in list_voices(EngineSettings())}


def test_registry_and_version_do_not_load_espeak_here() -> None:
    engine = resolve_engine("pyttsx3", EngineSettings())
    engine.voices()
    engine.version()
    assert mapped_espeak_libraries() == set()


def test_probe_reports_a_system_espeak_and_its_voices() -> None:
    # A system library is only usable because the cache key can tell it apart.
    version, data_dir = probe_espeak("libespeak-ng.so.1", None)
    assert version[:1].isdigit()
    voices = read_espeak_voices(Path(data_dir))
    assert "pyttsx3:gmw/en-us" in {voice.voice_id for voice in voices}
    assert mapped_espeak_libraries() == set()
