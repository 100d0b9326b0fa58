"""The Piper engine with the real en_US-joe-medium voice, from one sentence to the API."""

from __future__ import annotations

import array
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.config import EngineSettings, Settings
from service.engines.base import Pcm, VoiceSettings
from service.engines.piper_engine import PiperEngine, length_scale_for
from service.engines.pool import EnginePool, synthesize
from service.engines.registry import resolve_engine
from service.engines.voices import list_voices, preferred_voices, resolve_voice
from service.errors import VoiceError
from service.pipeline.narrate import NarrationResult, Narrator, audio_object
from service.pipeline.plan import NarrationPlan
from service.pipeline.prepare import prepare_plan
from service.store import open_store
from service.text.load import load_article
from service.web import close_app, create_app
from tests.audio_tools import decode, reported_duration_ms, rms
from tests.conftest import ROOT, SEED_ARTICLE
from tests.word_checks import SENTENCES, check_onsets, check_words

# One xdist worker runs the whole file, so the seed is narrated and the app started once.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("piper")]

JOE = "piper:en_US-joe-medium"
SENTENCE = "The committee met on Tuesday to discuss the new members of the alliance."
SEED_TEXT = SEED_ARTICLE.read_text(encoding="utf-8")

# Makes `import piper` fail as it does where the extra is not installed.
WITHOUT_PIPER = """
import sys
class _NoPiper:
    def find_spec(self, name, path=None, target=None):
        if name == "piper" or name.startswith("piper."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, _NoPiper())
"""


def speak(pool: EnginePool, text: str, **settings: Any) -> Pcm:
    voice = VoiceSettings(settings.pop("voice_id", JOE), **settings)
    return pool.submit(synthesize, text, voice, label=text[:30]).result(timeout=120)


def peak(pcm: Pcm) -> int:
    return max(abs(sample) for sample in array.array("h", pcm.data))


def loaded_piper_models() -> list[str]:
    """Return the Piper models this worker has loaded (a pool task)."""
    from service.engines import pool

    engine = resolve_engine("piper", pool._worker_settings)  # the engine its tasks use
    assert isinstance(engine, PiperEngine)
    return sorted(engine._models)


def run_without_piper(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_PIPER + code, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith("LISTEN_")},
    )


@pytest.fixture(scope="module")
def piper_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Return settings on one cache shared by this module, so the seed is narrated once."""
    cache = tmp_path_factory.mktemp("piper") / "cache"
    return Settings.from_env({}, cache_dir=cache, workers=2, voice=JOE)


@pytest.fixture(scope="module")
def seed_narration(
    piper_settings: Settings, engine_pool: EnginePool
) -> tuple[NarrationPlan, NarrationResult]:
    """Narrate the seed article with Piper in the shared pool (its workers warmed eSpeak only)."""
    plan = prepare_plan(load_article(str(SEED_ARTICLE), piper_settings.input), piper_settings)
    result = Narrator(piper_settings, open_store(piper_settings.store), engine_pool).narrate(plan)
    return plan, result


@pytest.fixture(scope="module")
def piper_app(piper_settings: Settings) -> Iterator[Flask]:
    app = create_app(piper_settings.replace(workers=1, voice="", openai_voices="alloy=" + JOE))
    app.testing = True
    yield app
    close_app(app)


@pytest.fixture
def piper_client(piper_app: Flask) -> FlaskClient:
    return piper_app.test_client()


def test_piper_lists_its_voice_without_loading_anything() -> None:
    code = (
        "import sys\n"
        "from service.config import EngineSettings\n"
        "from service.engines.voices import list_voices\n"
        "from service.engines.registry import resolve_engine\n"
        "ids = [v.voice_id for v in list_voices(EngineSettings())]\n"
        "resolve_engine('piper', EngineSettings()).version()\n"
        "heavy = [m for m in ('piper', 'onnxruntime', 'numpy') if m in sys.modules]\n"
        "print(ids.count('piper:en_US-joe-medium'), 'pyttsx3:gmw/en-us' in ids, heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "True", "[]"]


def test_piper_voice_describes_language_and_rate() -> None:
    (joe,) = list_voices(EngineSettings(), engine="piper", language="en-us")
    assert joe.voice_id == JOE
    assert joe.languages[0] == "en-us"
    assert joe.name == "Joe (en_US, medium)"
    assert length_scale_for(175) == 1.0
    assert length_scale_for(350) == 0.5
    assert length_scale_for(80) == pytest.approx(2.1875)


def test_piper_voices_folder_adds_voices_and_changes_the_version(tmp_path: Path) -> None:
    bundled = PiperEngine(EngineSettings())
    joe_files = bundled._voice_files()["en_US-joe-medium"]
    config = json.loads(joe_files.config_path.read_text(encoding="utf-8"))
    config["language"] = {"code": "en_GB", "name_english": "English", "country_english": "UK"}
    (tmp_path / "en_GB-test-medium.onnx").symlink_to(joe_files.model_path)
    (tmp_path / "en_GB-test-medium.onnx.json").write_text(json.dumps(config), encoding="utf-8")
    (tmp_path / "stray.onnx").write_bytes(b"no config beside it")
    engine = PiperEngine(EngineSettings(piper_voices_dir=str(tmp_path)))
    voices = {voice.voice_id: voice for voice in engine.voices()}
    assert set(voices) == {JOE, "piper:en_GB-test-medium"}
    assert voices["piper:en_GB-test-medium"].languages == ("en-gb", "en")
    assert engine.version() != bundled.version()
    assert "en_GB-test-medium=" in engine.version()
    assert "piper-tts " in bundled.version()
    with pytest.raises(VoiceError, match="LISTEN_PIPER_VOICES_DIR"):
        engine.synthesize("Hello.", VoiceSettings("piper:en_AU-missing-low"))


def test_piper_voices_folder_given_to_the_app_reaches_its_engine_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given to create_app only (no LISTEN_PIPER_VOICES_DIR): the web process lists the
    # voice, and the spawned engine workers, which build their own engines, speak it.
    monkeypatch.delenv("LISTEN_PIPER_VOICES_DIR", raising=False)
    joe_files = PiperEngine(EngineSettings())._voice_files()["en_US-joe-medium"]
    voices = tmp_path / "voices"
    voices.mkdir()
    (voices / "en_US-copy-medium.onnx").symlink_to(joe_files.model_path)
    (voices / "en_US-copy-medium.onnx.json").write_bytes(joe_files.config_path.read_bytes())
    app = create_app({"cache_dir": tmp_path / "cache", "workers": 1, "piper_voices_dir": voices})
    try:
        client = app.test_client()
        listed = client.get("/api/voices?language=en-us").get_json()["voices"]
        assert "piper:en_US-copy-medium" in {voice["id"] for voice in listed}
        created = client.post(
            "/api/narrations", json={"text": "A copy.", "voice": "piper:en_US-copy-medium"}
        ).get_json()
        deadline = time.monotonic() + 120
        while (state := client.get(created["status_url"]).get_json())["status"] != "done":
            assert state["status"] != "failed", state
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert state["voice"] == "piper:en_US-copy-medium"
        assert client.get(created["audio_url"]).status_code == 200
    finally:
        close_app(app)


def test_piper_synthesize_honours_rate_and_volume(engine_pool: EnginePool) -> None:
    normal = speak(engine_pool, SENTENCE)
    assert (normal.sample_rate_hz, normal.sample_width_bytes, normal.channels) == (22_050, 2, 1)
    assert 2_500 < normal.duration_ms < 8_000
    slow = speak(engine_pool, SENTENCE, rate_wpm=100)
    fast = speak(engine_pool, SENTENCE, rate_wpm=300)
    assert slow.duration_ms > 1.4 * normal.duration_ms > 1.4 * 1.2 * fast.duration_ms
    quiet = speak(engine_pool, SENTENCE, volume=0.25)
    assert peak(quiet) <= 0.25 * 32767 + 1 < peak(normal)
    assert speak(engine_pool, "  ").data == b""


@pytest.mark.parametrize("rate_wpm", [130, 175, 240])
def test_piper_word_times_match_the_audio(engine_pool: EnginePool, rate_wpm: int) -> None:
    spoken = []
    for sentence in SENTENCES:
        pcm = speak(engine_pool, sentence, rate_wpm=rate_wpm)
        spoken.append(pcm)
        check_words(pcm, sentence)
        said = [sentence[w.start_char : w.end_char] for w in pcm.words or ()]
        words = [word.strip(".,;") for word in sentence.split()]
        assert said[0] == words[0] and said[-1] == words[-1]
        assert len(said) >= 0.85 * len(words) and all(word in words for word in said)
    check_onsets(spoken, median_ms=60, worst_ms=150)


def test_piper_reads_brackets_as_text_not_phonemes(engine_pool: EnginePool) -> None:
    pcm = speak(engine_pool, "See [[the archive]] for details.")
    assert pcm.duration_ms > 1_200


def test_piper_and_espeak_share_a_worker(engine_pool: EnginePool) -> None:
    # Each worker of this pool loaded eSpeak NG for pyttsx3 before any Piper task.
    for _ in range(2):
        assert speak(engine_pool, SENTENCE).duration_ms > 2_500
        assert speak(engine_pool, SENTENCE, voice_id="pyttsx3:gmw/en-us").duration_ms > 2_000


def test_piper_pool_warm_up_loads_the_model_before_any_task() -> None:
    # The shared pool warms eSpeak only, so every other test here loads Piper lazily.
    settings = Settings.from_env({}, default_voices=f"en={JOE}", workers=1)
    assert preferred_voices(settings.speech) == ("pyttsx3", JOE)
    with EnginePool.from_settings(settings) as pool:
        pool.start()
        assert pool.submit(loaded_piper_models).result(timeout=60) == ["en_US-joe-medium"]


def test_piper_narrates_the_seed_article_to_mp3(
    seed_narration: tuple[NarrationPlan, NarrationResult], piper_settings: Settings
) -> None:
    plan, result = seed_narration
    manifest = result.manifest
    assert manifest["voice"] == JOE
    assert manifest["engine_version"].startswith("piper-tts ")
    path = open_store(piper_settings.store).local_path(audio_object(plan.narration_id, "mp3"))
    assert path is not None
    samples = decode(path)
    assert abs(len(samples) * 1000 / 22050 - manifest["duration_ms"]) < 50
    assert abs(reported_duration_ms(path) - manifest["duration_ms"]) < 50
    assert manifest["duration_ms"] > 100_000
    for before, after in zip(manifest["blocks"], manifest["blocks"][1:], strict=False):
        gap_start, gap_end = before["end_ms"] + 60, after["start_ms"] - 60
        assert gap_end - gap_start >= 300
        assert rms(samples, gap_start, gap_end) < 50, (before["text"][:40], after["text"][:40])
        assert rms(samples, after["start_ms"], after["start_ms"] + 400) > 300


def test_piper_cache_keys_differ_from_espeak(
    seed_narration: tuple[NarrationPlan, NarrationResult], piper_settings: Settings
) -> None:
    piper_plan, _ = seed_narration
    espeak_settings = piper_settings.replace(voice="pyttsx3:gmw/en-us")
    espeak_plan = prepare_plan(
        load_article(str(SEED_ARTICLE), espeak_settings.input), espeak_settings
    )
    assert espeak_plan.text == piper_plan.text
    assert espeak_plan.narration_id != piper_plan.narration_id
    piper_keys = {clip.clip_key for chunk in piper_plan.chunks for clip in chunk.clips}
    espeak_keys = {clip.clip_key for chunk in espeak_plan.chunks for clip in chunk.clips}
    assert piper_keys.isdisjoint(espeak_keys)


def test_piper_default_voice_per_language(piper_settings: Settings) -> None:
    settings = piper_settings.replace(voice="", default_voices=f"en={JOE}")
    assert resolve_voice(None, "en", settings.speech, settings.engines) == JOE
    assert resolve_voice(None, "en-gb", settings.speech, settings.engines) == JOE
    assert resolve_voice(None, "de", settings.speech, settings.engines).startswith("pyttsx3:")
    unset = piper_settings.replace(voice="")
    assert resolve_voice(None, "en", unset.speech, unset.engines) == "hibari:heart"


def test_piper_api_chooses_the_voice(
    piper_client: FlaskClient, seed_narration: tuple[NarrationPlan, NarrationResult]
) -> None:
    voices = piper_client.get("/api/voices?language=en").get_json()["voices"]
    assert {voice["id"].split(":")[0] for voice in voices} == {"pyttsx3", "hibari", "piper"}
    cached = piper_client.post("/api/narrations", json={"text": SEED_TEXT, "voice": JOE})
    assert cached.get_json()["id"] == seed_narration[0].narration_id
    assert cached.get_json()["status"] == "done"
    made = piper_client.post(
        "/api/narrations", json={"text": "A short note, read by Piper.", "voice": JOE}
    )
    assert made.status_code == 202, made.get_json()
    assert made.get_json()["voice"] == JOE
    deadline = time.monotonic() + 120
    while (body := piper_client.get(made.get_json()["status_url"]).get_json())["status"] not in (
        "done",
        "failed",
    ):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert body["status"] == "done", body
    assert body["duration_ms"] > 1_000


def test_piper_openai_speech_maps_voice_names(
    piper_client: FlaskClient, piper_settings: Settings, tmp_path: Path
) -> None:
    text = "Piper answers the speech endpoint."
    answer = piper_client.post(
        "/v1/audio/speech",
        json={"model": "tts-1", "input": text, "voice": "alloy", "response_format": "wav"},
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    plans = [
        json.loads(path.read_text(encoding="utf-8"))
        for path in (piper_settings.store.cache_dir / "narrations").glob("*/plan.json")
    ]
    assert [plan["voice"]["voice_id"] for plan in plans if plan["text"] == text] == [JOE]
    (tmp_path / "speech.wav").write_bytes(answer.get_data())
    assert len(decode(tmp_path / "speech.wav")) > 22050


def test_piper_missing_extra_is_omitted_from_listings_and_named_when_chosen(
    tmp_path: Path,
) -> None:
    listed = run_without_piper(
        "from service.config import EngineSettings\n"
        "from service.engines.voices import list_voices\n"
        "print(sorted({v.engine for v in list_voices(EngineSettings())}))\n"
    )
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.strip() == "['hibari', 'pyttsx3']"
    chosen = run_without_piper(
        "import runpy\n"
        "sys.argv = ['listen', *sys.argv[1:]]\n"
        "runpy.run_module('service', run_name='__main__')\n",
        "narrate",
        str(SEED_ARTICLE),
        "--voice",
        JOE,
        "--cache-dir",
        str(tmp_path / "cache"),
        "-o",
        str(tmp_path / "story.mp3"),
    )
    assert chosen.returncode == 2
    assert len(chosen.stderr.strip().splitlines()) == 1, chosen.stderr
    assert "piper" in chosen.stderr
    assert "pip install '.[piper]'" in chosen.stderr
    assert "Traceback" not in chosen.stderr
