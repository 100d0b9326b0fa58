"""The registry and the pyttsx3 engine, speaking for real in spawned workers."""

from __future__ import annotations

import array
import dataclasses
import os
from pathlib import Path
from typing import Any

import pytest

from service.engines.base import Engine, Pcm, VoiceSettings
from service.engines.pool import EnginePool, synthesize
from service.engines.pyttsx3_engine import (
    Pyttsx3Engine,
    mapped_espeak_libraries,
    probe_espeak,
    read_espeak_voices,
)
from service.engines.registry import ENGINES, EngineEntry, engine_names, resolve_engine
from service.engines.voices import check_voice_settings
from service.errors import EngineUnavailableError, VoiceError
from tests import pool_tasks

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
    assert resolve_engine("pyttsx3").version() == in_worker


def test_worker_loads_only_the_bundled_espeak(engine_pool: EnginePool) -> None:
    loaded = engine_pool.submit(pool_tasks.loaded_espeak_libraries).result(timeout=60)
    bundled = Pyttsx3Engine().library.path
    assert loaded
    assert all(os.path.samefile(path, bundled) for path in loaded)


def test_resolve_engine_returns_one_instance_per_process() -> None:
    engine = resolve_engine("pyttsx3")
    assert isinstance(engine, Engine)
    assert resolve_engine("pyttsx3") is engine
    assert engine_names()[0] == "pyttsx3"


def test_resolve_engine_unknown_name_lists_known_engines() -> None:
    with pytest.raises(EngineUnavailableError, match=r"unknown engine 'festival'.*pyttsx3"):
        resolve_engine("festival")


def test_resolve_engine_missing_dependency_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Not "piper": once installed, an earlier test may have resolved it in this process.
    entry = EngineEntry("listen_engine_not_installed_anywhere:Engine", "pip install '.[kokoro]'")
    monkeypatch.setitem(ENGINES, "kokoro", entry)
    with pytest.raises(EngineUnavailableError, match=r"pip install '\.\[kokoro\]'"):
        resolve_engine("kokoro")


def test_registry_and_version_do_not_load_espeak_here() -> None:
    engine = resolve_engine("pyttsx3")
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
