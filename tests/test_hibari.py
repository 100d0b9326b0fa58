"""hibari, the natural English voice: voices on disk, same sentence same sound, rate, word times."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.corpus import real_text
from service.audio.clip import shape_clip
from service.config import EngineSettings, Settings
from service.engines.base import VoiceSettings
from service.engines.hibari_compact import (
    CompactMap,
    compact_phonemizer,
    mapped_phonemizer,
    save_phonemizer,
)
from service.engines.hibari_engine import RATE_TABLE, HibariEngine, speed_for_rate
from service.engines.hibari_model import hibari_assets, registry
from service.errors import VoiceError
from service.library.speech import our_voice
from service.pipeline.prepare import prepare_plan
from service.text.article import Article, Block
from service.text.lexicon.marks import mark
from service.text.segment import segment_article
from service.text.words import count_words
from tests.conftest import SEED_ARTICLE
from tests.word_checks import SENTENCES, check_onsets, check_words

HEART = VoiceSettings("hibari:heart")
LISTEN = [sys.executable, "-m", "service"]


@pytest.fixture(scope="module")
def hibari() -> HibariEngine:
    return HibariEngine(EngineSettings())


def _clean_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("LISTEN_")}
    env.update(extra)
    return env


# --- voices ----------------------------------------------------------------------------


def test_hibari_lists_every_registry_voice_with_its_state(hibari: HibariEngine) -> None:
    voices = {voice.voice_id: voice for voice in hibari.voices()}
    assert set(voices) == {f"hibari:{name}" for name in registry()}
    heart = voices["hibari:heart"]
    assert heart.installed and heart.languages == ("en-us", "en") and heart.gender == "female"
    fenrir = voices["hibari:fenrir"]
    assert not fenrir.installed
    assert fenrir.detail is not None
    assert "am_fenrir_v2.int8.onnx" in fenrir.detail
    assert "LISTEN_HIBARI_VOICES_DIR" in fenrir.detail


def test_cli_voices_marks_voices_that_are_not_installed(tmp_path: Path) -> None:
    done = subprocess.run(
        [*LISTEN, "voices", "--engine", "hibari"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=_clean_env(),
    )
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines()}
    assert lines["hibari:heart"].endswith("female")
    assert lines["hibari:kore"].endswith("(not installed)")
    as_json = subprocess.run(
        [*LISTEN, "voices", "--engine", "hibari", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=_clean_env(),
    )
    records = {r["id"]: r for r in map(json.loads, as_json.stdout.splitlines())}
    assert records["hibari:heart"]["installed"] is True
    assert records["hibari:emma"]["installed"] is False
    assert "bf_emma.int8.onnx" in records["hibari:emma"]["detail"]


def test_a_voice_file_that_is_not_the_registrys_is_refused(tmp_path: Path) -> None:
    # heart's model has the very size of kore's in the registry: only the sha256 tells them apart
    assert registry()["kore"]["bytes"] == registry()["heart"]["bytes"]
    shutil.copy(hibari_assets() / "hibari.onnx", tmp_path / registry()["kore"]["file"])
    engine = HibariEngine(EngineSettings(hibari_voices_dir=str(tmp_path)))
    kore = next(v for v in engine.voices() if v.voice_id == "hibari:kore")
    assert not kore.installed
    assert kore.detail is not None and "is not hibari's kore voice" in kore.detail
    with pytest.raises(VoiceError, match="is not hibari's kore voice"):
        engine.synthesize("Hello.", VoiceSettings("hibari:kore"))


def test_cli_narrate_with_a_missing_voice_names_the_file_and_the_folder(tmp_path: Path) -> None:
    article = tmp_path / "a.txt"
    article.write_text("A short note.\n\nIt was quiet.\n", encoding="utf-8")
    done = subprocess.run(
        [*LISTEN, "narrate", str(article), "-o", str(tmp_path / "a.mp3"), "--voice", "fenrir"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=_clean_env(LISTEN_HIBARI_VOICES_DIR=str(tmp_path / "voices")),
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert "am_fenrir_v2.int8.onnx" in lines[0]
    assert "LISTEN_HIBARI_VOICES_DIR" in lines[0] and str(tmp_path / "voices") in lines[0]
    assert not (tmp_path / "a.mp3").exists()


# --- the same sentence, the same sound ------------------------------------------------------


def _digest_in_new_process(text: str, engine_cache: Path | None = None) -> str:
    """Return the SHA-256 of ``text`` read by heart in a new process, and what it loaded."""
    script = (
        "import hashlib, sys\n"
        "from service.config import EngineSettings\n"
        "from service.engines.base import VoiceSettings\n"
        "from service.engines.hibari_engine import HibariEngine\n"
        "engine = HibariEngine(EngineSettings(engine_cache_dir=sys.argv[2]))\n"
        "pcm = engine.synthesize(sys.argv[1], VoiceSettings('hibari:heart'))\n"
        "print(hashlib.sha256(pcm.data).hexdigest(), 'onnx' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, text, str(engine_cache or "")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.slow  # five new processes, each loading hibari
def test_hibari_builds_its_files_once_and_sounds_the_same_from_them(tmp_path: Path) -> None:
    sentence = SENTENCES[1]
    cache = tmp_path / "engines"
    built = _digest_in_new_process(sentence, cache)
    assert built.endswith(" True")  # the model was edited with the onnx package
    assert sorted(path.name.rsplit("-", 1)[0] for path in cache.iterdir()) == [
        "hibari-model",
        "hibari-phonemizer",
    ]
    made = {path: path.stat().st_mtime_ns for path in cache.rglob("*")}
    # a later process maps the files: the same samples, without loading onnx or rebuilding
    digest = built.split()[0]
    assert _digest_in_new_process(sentence, cache) == f"{digest} False"
    assert {path: path.stat().st_mtime_ns for path in cache.rglob("*")} == made
    # a file changed on disk is not trusted: it is made again
    model = next(cache.glob("hibari-model-*/model.onnx"))
    model.write_bytes(model.read_bytes()[:-100])
    assert _digest_in_new_process(sentence, cache) == f"{digest} True"
    assert _digest_in_new_process(sentence, cache) == f"{digest} False"
    # nowhere to keep them: built in memory, the same samples
    (tmp_path / "a file").write_text("")
    assert _digest_in_new_process(sentence, tmp_path / "a file" / "engines") == f"{digest} True"


@pytest.mark.slow
@pytest.mark.parametrize("british", [False, True], ids=["american", "british"])
def test_compact_lexicons_phonemize_real_articles_exactly_as_hibaris_dicts(
    british: bool, tmp_path: Path
) -> None:
    from hibari.g2p import G2P

    paragraphs = [p for p in real_text(6000).split("\n") if p.strip()]
    plain = G2P(british=british)
    expected = [plain(paragraph) for paragraph in paragraphs]
    compact = compact_phonemizer(G2P(british=british))
    assert isinstance(compact.lexicon.golds.d, CompactMap)
    assert [compact(paragraph) for paragraph in paragraphs] == expected
    # written to disk and mapped back (as every worker after the first loads it): the same
    save_phonemizer(compact, tmp_path)
    mapped = mapped_phonemizer(tmp_path)
    assert vars(mapped).keys() == vars(plain).keys()
    assert vars(mapped.tagger).keys() == vars(plain.tagger).keys()
    assert vars(mapped.lexicon).keys() == vars(plain.lexicon).keys()
    assert [mapped(paragraph) for paragraph in paragraphs] == expected
    # every kind of entry decodes to what the dict held
    for word in ("read", "used", "the", "Stoltenberg", "AA", "zebra", "Zebra", "ZEBRA"):
        assert compact.lexicon.golds.get(word) == plain.lexicon.golds.get(word), word
        assert compact.lexicon.silvers.get(word) == plain.lexicon.silvers.get(word), word
        assert (word in compact.lexicon.golds) == (word in plain.lexicon.golds), word
    for feature in ("b", "w=the", "s3=ced", "sh=Xx"):
        assert compact.tagger.weights.get(feature) == plain.tagger.weights[feature], feature
    assert compact.tagger.weights.get("no such feature") is None


@pytest.mark.slow
def test_hibari_voices_hold_the_compact_lexicons(hibari: HibariEngine) -> None:
    hibari.synthesize("Loaded.", HEART)
    g2p = hibari._voice(HEART).g2p
    assert isinstance(g2p.lexicon.golds.d, CompactMap)
    assert isinstance(g2p.tagger.weights, CompactMap)


def test_hibari_same_sentence_same_samples_whatever_came_before(hibari: HibariEngine) -> None:
    sentence = SENTENCES[1]
    alone = hibari.synthesize(sentence, HEART).data
    hibari.synthesize(SENTENCES[0], HEART)
    after_another = hibari.synthesize(sentence, HEART).data
    assert alone == after_another
    assert _digest_in_new_process(sentence).split()[0] == hashlib.sha256(alone).hexdigest()


def test_hibari_version_names_what_changes_the_samples(hibari: HibariEngine) -> None:
    version = hibari.version()
    for part in ("hibari-tts ", "onnxruntime ", "numpy ", "fft ", "threads 1", "graph "):
        assert part in version
    assert "heart=5f70741d4e900f4e" in version


# --- rate ------------------------------------------------------------------------------------


def _paragraphs() -> list[str]:
    text = SEED_ARTICLE.read_text(encoding="utf-8")
    return [p.strip() for p in text.split("\n\n") if len(p.split()) > 40][:2]


@pytest.mark.parametrize("rate_wpm", [100, 175, 280])
@pytest.mark.slow
def test_hibari_speaks_at_the_rate_asked(hibari: HibariEngine, rate_wpm: int) -> None:
    article = Article("", tuple(Block("paragraph", p) for p in _paragraphs()), language="en")
    sentences = [s.spoken for block in segment_article(article) for s in block.sentences]
    settings = VoiceSettings("hibari:heart", rate_wpm=rate_wpm)
    # measured as the pipeline uses each sentence: its leading and trailing silence trimmed
    duration_ms = sum(
        shape_clip(hibari.synthesize(s, settings), target_dbfs=-20).duration_ms for s in sentences
    )
    words = sum(count_words(s) for s in sentences)
    measured = words / (duration_ms / 60_000)
    assert abs(measured - rate_wpm) / rate_wpm < 0.08, measured


def test_speed_for_rate_inverts_the_calibration() -> None:
    for speed, wpm in RATE_TABLE:
        assert speed_for_rate(wpm) == pytest.approx(speed, abs=1e-3)
    assert speed_for_rate(175) == pytest.approx(1.034, abs=0.01)


def test_a_rate_hibari_cannot_reach_is_refused_before_anything_is_read(tmp_path: Path) -> None:
    article = tmp_path / "a.txt"
    article.write_text("A short note.\n\nIt was quiet.\n", encoding="utf-8")
    done = subprocess.run(
        [*LISTEN, "narrate", str(article), "-o", str(tmp_path / "a.mp3"), "--rate", "320"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=_clean_env(),
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        "listen: error: rate 320 words per minute is out of range for hibari voices (90 to 310)"
    )


# --- word times --------------------------------------------------------------------------------


@pytest.mark.parametrize("rate_wpm", [150, 175, 230])
def test_hibari_word_times_match_the_audio(hibari: HibariEngine, rate_wpm: int) -> None:
    spoken = []
    for sentence in SENTENCES:
        pcm = hibari.synthesize(sentence, VoiceSettings("hibari:heart", rate_wpm=rate_wpm))
        spoken.append(pcm)
        check_words(pcm, sentence)
        said = [sentence[w.start_char : w.end_char] for w in pcm.words or ()]
        assert said[:2] in (
            ["The", "alliance"],
            ["Finland", "joined"],
            ["Critics", "say"],
            ["Dr", "Smith"],
        )
    check_onsets(spoken, median_ms=60, worst_ms=150)


def test_hibari_reads_a_sentence_longer_than_one_model_call_whole(hibari: HibariEngine) -> None:
    # over 200 phonemes: the model is given pieces, cut at clause punctuation, then between words
    sentence = " ".join(SENTENCES).replace(".", ",").rstrip(",") + "."
    pcm = hibari.synthesize(sentence, HEART)
    check_words(pcm, sentence)
    said = [sentence[w.start_char : w.end_char] for w in pcm.words or ()]
    assert said == [word.strip(".,;") for word in sentence.split()]
    pieces_ms = sum(hibari.synthesize(s, HEART).duration_ms for s in SENTENCES)
    assert 0.8 * pieces_ms < pcm.duration_ms < 1.2 * pieces_ms


def test_hibari_reads_a_lexicon_phoneme_rule_and_times_its_word(hibari: HibariEngine) -> None:
    plain = "The NATO summit ended."
    marked = "The " + mark("NATO", "ˈnæt.oʊ") + " summit ended."
    as_written = hibari.synthesize(plain, HEART)
    as_ruled = hibari.synthesize(marked, HEART)
    assert as_written.data != as_ruled.data
    check_words(as_ruled, marked)
    said = [marked[w.start_char : w.end_char] for w in as_ruled.words or ()]
    assert said == ["The", "NATO", "summit", "ended"]


def test_hibari_reads_markup_in_the_article_as_text(hibari: HibariEngine) -> None:
    text = "See [this](/ɡˈɑɡəl/) page."
    pcm = hibari.synthesize(text, HEART)
    check_words(pcm, text)
    assert pcm.data != hibari.synthesize("See ɡˈɑɡəl page.", HEART).data


def test_hibari_says_nothing_for_what_it_cannot_read(hibari: HibariEngine) -> None:
    assert hibari.synthesize("   ", HEART).data == b""
    pcm = hibari.synthesize("Wait — 🙂 then go.", HEART)
    said = ["Wait — 🙂 then go."[w.start_char : w.end_char] for w in pcm.words or ()]
    assert said == ["Wait", "then", "go"]


# --- natural by default, eSpeak NG as the fallback ------------------------------------------


def _article(language: str, text: str) -> Article:
    return Article(title="", blocks=(Block("paragraph", text),), language=language)


def test_english_is_read_by_heart_and_other_languages_by_espeak(settings: Settings) -> None:
    english = prepare_plan(_article("en", "It was a quiet night in the newsroom."), settings)
    assert english.voice.voice_id == "hibari:heart"
    assert english.voice_fallback is None
    german = prepare_plan(_article("de", "Es war eine ruhige Nacht in der Redaktion."), settings)
    assert german.voice.voice_id == "pyttsx3:gmw/de"
    chosen = prepare_plan(
        _article("en", "It was a quiet night."), settings.replace(voice="pyttsx3:gmw/en-us")
    )
    assert chosen.voice.voice_id == "pyttsx3:gmw/en-us"


def test_espeak_reads_english_when_hibari_cannot_load_and_the_status_says_so(
    tmp_path: Path,
) -> None:
    # None in sys.modules is how Python marks a module that cannot be imported: a broken install
    script = (
        "import json, logging, sys\n"
        "sys.modules['hibari'] = None\n"
        "logging.basicConfig(level=logging.WARNING, format='%(message)s')\n"
        "from pathlib import Path\n"
        "from service.config import Settings\n"
        "from service.jobs.base import JobState\n"
        "from service.library.narrations import Narrations, NarrationView\n"
        "from service.pipeline.prepare import prepare_plan\n"
        "from service.text.article import Article, Block\n"
        "settings = Settings.from_env({}, cache_dir=Path(sys.argv[1]))\n"
        "blocks = (Block('paragraph', 'A quiet night.'),)\n"
        "article = Article(title='', blocks=blocks, language='en')\n"
        "plans = [prepare_plan(article, settings) for _ in range(2)]\n"
        "state = JobState(plans[0].narration_id, 'queued', 1, 0)\n"
        "view = NarrationView(plans[0], state, None, ())\n"
        "print(json.dumps(Narrations.describe(None, view, {})))\n"  # it reads the view alone
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "cache")],
        capture_output=True,
        text=True,
        timeout=120,
        env=_clean_env(),
    )
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert status["voice"] == "pyttsx3:gmw/en-us"
    assert status["voice_fallback"]["wanted"] == "hibari:heart"
    assert "hibari" in status["voice_fallback"]["reason"]
    warnings = [line for line in done.stderr.splitlines() if "cannot load" in line]
    assert len(warnings) == 1, done.stderr  # logged once, not once per narration


def test_openai_voice_names_map_to_the_closest_natural_voice_installed() -> None:
    assert our_voice("alloy", "", {"hibari:heart"}) == "hibari:heart"
    assert our_voice("shimmer", "", {"hibari:heart", "hibari:kore"}) == "hibari:kore"
    assert our_voice("onyx", "", {"hibari:heart", "hibari:fenrir"}) == "hibari:fenrir"
    assert our_voice("onyx", "", {"hibari:heart"}) is None  # the language decides
    assert our_voice("alloy", "alloy=pyttsx3:gmw/en", {"hibari:heart"}) == "pyttsx3:gmw/en"
    assert our_voice("hibari:heart", "", set()) == "hibari:heart"
