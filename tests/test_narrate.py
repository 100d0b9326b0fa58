"""Narration end to end with the real engine and the real ffmpeg."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from harness.corpus import write_article
from service.config import EngineSettings, Settings
from service.engines.pool import EnginePool
from service.pipeline.narrate import Narrator, audio_object, chunk_due_times
from service.pipeline.objects import manifest_object, read_duration_ms, read_manifest
from service.pipeline.prepare import prepare_plan
from service.pipeline.render import ChunkAudio
from service.store import open_store
from service.text.load import load_article, load_article_from_text
from tests.audio_tools import decode, onsets_ms, reported_duration_ms, rms
from tests.conftest import SEED_ARTICLE

LISTEN = [sys.executable, "-m", "service"]


def _narrate(settings: Settings, pool: EnginePool, source: str | Path, **kwargs: object):
    article = load_article(str(source), settings.input)
    plan = prepare_plan(article, settings)
    made: list[ChunkAudio] = []
    result = Narrator(settings, open_store(settings.store), pool).narrate(
        plan,
        on_chunk=lambda _i, chunk: made.append(chunk),
        **kwargs,  # type: ignore[arg-type]
    )
    return plan, result, made


@pytest.mark.slow
def test_narrate_seed_article_mp3_matches_its_manifest(
    settings: Settings, engine_pool: EnginePool
) -> None:
    plan, result, _ = _narrate(settings, engine_pool, SEED_ARTICLE)
    store = open_store(settings.store)
    path = store.local_path(audio_object(plan.narration_id, "mp3"))
    assert path is not None
    manifest = result.manifest
    samples = decode(path)
    decoded_ms = len(samples) * 1000 / 22050
    assert abs(decoded_ms - manifest["duration_ms"]) < 50
    assert abs(reported_duration_ms(path) - manifest["duration_ms"]) < 50
    kinds = [b["kind"] for b in manifest["blocks"]]
    assert kinds[:2] == ["title", "byline"]
    assert kinds.count("title") == 1
    texts = [b["text"] for b in manifest["blocks"]]
    assert sum(t == plan.title for t in texts) == 1
    assert "Listen to this story" not in manifest["text"]
    # every paragraph boundary is a pause in the decoded audio, and speech follows it
    for before, after in zip(manifest["blocks"], manifest["blocks"][1:], strict=False):
        gap_start, gap_end = before["end_ms"] + 60, after["start_ms"] - 60
        assert gap_end - gap_start >= 300
        assert rms(samples, gap_start, gap_end) < 50, (before["text"][:40], after["text"][:40])
        assert rms(samples, after["start_ms"], after["start_ms"] + 400) > 300


@pytest.mark.slow
def test_narrate_cache_hit_synthesises_nothing(settings: Settings, engine_pool: EnginePool) -> None:
    _, first, made_first = _narrate(settings, engine_pool, SEED_ARTICLE)
    assert not first.cached
    assert sum(c.clips_synthesized for c in made_first) > 10
    plan, second, made_second = _narrate(settings, engine_pool, SEED_ARTICLE)
    assert second.cached
    assert made_second == []  # the finished narration was found: no chunk was even read
    assert second.manifest["duration_ms"] == first.manifest["duration_ms"]
    assert read_manifest(open_store(settings.store), plan.narration_id) is not None


def test_a_narrations_duration_is_read_from_the_start_of_its_timings(
    settings: Settings, engine_pool: EnginePool, tmp_path: Path
) -> None:
    article = tmp_path / "short.txt"
    article.write_text("A title\n\nOne short paragraph.", encoding="utf-8")
    plan, result, _ = _narrate(settings, engine_pool, article)
    store = open_store(settings.store)
    key = f"narrations/{plan.narration_id}/timings.json"
    raw = store.get(key)
    assert raw is not None
    manifest = json.loads(raw)  # the blocks, written one at a time, make valid JSON
    assert list(manifest)[:2] == ["timings_version", "duration_ms"]
    assert list(manifest)[-1] == "blocks" and "audio" in manifest
    assert manifest == result.manifest
    assert read_duration_ms(store, plan.narration_id) == manifest["duration_ms"] > 0
    # a manifest of another order (an older release) is parsed whole
    reordered = {key: value for key, value in manifest.items() if key != "duration_ms"}
    reordered["duration_ms"] = manifest["duration_ms"]
    store.put(key, json.dumps(reordered).encode())
    assert read_duration_ms(store, plan.narration_id) == manifest["duration_ms"]


def test_chunks_are_due_about_when_a_listener_reaches_them_in_the_audio(
    settings: Settings, engine_pool: EnginePool
) -> None:
    # the engine pool makes what is due soonest first: the estimate must follow the audio
    plan, result, _ = _narrate(settings, engine_pool, SEED_ARTICLE)
    starts = {
        (block["index"], sentence["index"]): sentence["start_ms"]
        for block in result.manifest["blocks"]
        for sentence in block["sentences"]
    }
    heard_s = [
        starts[(chunk.clips[0].block_index, chunk.clips[0].sentence_index)] / 1000
        for chunk in plan.chunks
    ]
    due_s = chunk_due_times(plan, 100.0)
    assert due_s[0] == 100.0
    assert due_s == sorted(due_s)
    later = [(due - 100.0) / heard for due, heard in zip(due_s, heard_s, strict=True) if heard > 30]
    assert len(later) >= 5
    assert all(0.6 < ratio < 1.25 for ratio in later), later


@pytest.mark.slow
def test_narrate_edit_one_paragraph_resynthesises_only_it(
    settings: Settings, engine_pool: EnginePool, tmp_path: Path
) -> None:
    text = SEED_ARTICLE.read_text(encoding="utf-8")
    _narrate(settings, engine_pool, SEED_ARTICLE)
    edited = tmp_path / "edited.txt"
    edited.write_text(text.replace("crucial days", "decisive days"), encoding="utf-8")
    plan, result, made = _narrate(settings, engine_pool, edited)
    assert not result.cached
    synthesized = [c for c in made if c.clips_synthesized]
    assert len(synthesized) == 1
    assert sum(c.clips_synthesized for c in made) == 1  # one sentence of that paragraph
    reused = [c for c in made if c.clips_synthesized == 0 and c.clips_cached == 0]
    assert len(reused) == len(made) - 1  # every other chunk came whole from the cache
    assert (
        plan.narration_id
        != prepare_plan(load_article(str(SEED_ARTICLE), settings.input), settings).narration_id
    )


@pytest.mark.slow
def test_narrate_timings_match_decoded_audio_of_long_article(
    settings: Settings, engine_pool: EnginePool, tmp_path: Path
) -> None:
    source = write_article(tmp_path, 3500)
    plan, result, _ = _narrate(settings, engine_pool, source)
    manifest = result.manifest
    assert manifest["word_count"] >= 3400
    path = open_store(settings.store).local_path(audio_object(plan.narration_id, "mp3"))
    assert path is not None
    samples = decode(path)
    assert abs(len(samples) * 1000 / 22050 - manifest["duration_ms"]) < 50
    last = manifest["blocks"][-1]["sentences"][-1]
    onsets = onsets_ms(samples, min_gap_ms=200)
    nearest = min(onsets, key=lambda t: abs(t - last["start_ms"]))
    assert abs(nearest - last["start_ms"]) <= 50, (nearest, last["start_ms"])


@pytest.mark.parametrize("fmt", ["mp3", "ogg", "wav"])
@pytest.mark.slow
def test_cli_narrate_writes_each_format(settings: Settings, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"story.{fmt}"
    timings = tmp_path / "timings.json"
    captions = tmp_path / "captions.vtt"
    done = subprocess.run(
        [
            *LISTEN,
            "narrate",
            str(SEED_ARTICLE),
            "-o",
            str(out),
            "--cache-dir",
            str(tmp_path / "c"),
            "--timings",
            str(timings),
            "--captions",
            str(captions),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(str(out))
    assert out.stat().st_size > 10_000
    import json

    manifest = json.loads(timings.read_text())
    assert abs(reported_duration_ms(out) - manifest["duration_ms"]) < 60
    assert abs(len(decode(out)) * 1000 / 22050 - manifest["duration_ms"]) < 60
    assert captions.read_text().startswith("WEBVTT")
    assert captions.read_text().count(" --> ") == sum(
        len(b["sentences"]) for b in manifest["blocks"]
    )


@pytest.mark.slow
def test_cli_narrate_default_name_from_title_and_tags(tmp_path: Path) -> None:
    done = subprocess.run(
        [*LISTEN, "narrate", str(SEED_ARTICLE), "--cache-dir", str(tmp_path / "c")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    out = (
        tmp_path
        / "nato-assures-that-they-will-not-stop-their-expansion-at-the-request-of-russia.mp3"
    )
    assert out.exists(), list(tmp_path.iterdir())
    from mutagen.id3 import ID3

    tags = ID3(out)
    assert (
        str(tags["TIT2"])
        == "NATO assures that they will not stop their expansion at the request of Russia"
    )
    assert str(tags["TPE1"]) == "Cesar Romero"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--voice", "klingon-warrior"], "voice"),
        (["--rate", "5000"], "rate"),
        (["-o", "/nonexistent-folder/x.mp3"], "folder"),
    ],
)
def test_cli_narrate_bad_options_fail_in_one_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    done = subprocess.run(
        [*LISTEN, "narrate", str(SEED_ARTICLE), "--cache-dir", str(tmp_path / "c"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode != 0
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert message in done.stderr.lower()
    assert "Traceback" not in done.stderr


def test_cli_narrate_empty_article_fails_cleanly(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("   \n\n  ")
    done = subprocess.run(
        [*LISTEN, "narrate", str(empty), "--cache-dir", str(tmp_path / "c")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1


def test_cli_narrate_cache_dir_that_is_a_file(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("x")
    done = subprocess.run(
        [*LISTEN, "narrate", str(SEED_ARTICLE), "--cache-dir", str(not_a_folder)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode != 0
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr


def _narrate_in_child(cache_dir: str, source: str, results: multiprocessing.Queue[bool]) -> None:
    settings = Settings.from_env({}, cache_dir=Path(cache_dir), workers=1)
    with EnginePool(1, task_timeout_s=60) as pool:
        article = load_article(source, settings.input)
        result = Narrator(settings, open_store(settings.store), pool).narrate(
            prepare_plan(article, settings)
        )
    results.put(result.cached)


@pytest.mark.slow
def test_narrate_same_key_in_two_processes_synthesises_once(
    settings: Settings, tmp_path: Path
) -> None:
    source = write_article(tmp_path, 600)
    context = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue[bool] = context.Queue()
    children = [
        context.Process(
            target=_narrate_in_child, args=(str(settings.store.cache_dir), str(source), results)
        )
        for _ in range(2)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join(120)
    cached = sorted(results.get(timeout=5) for _ in children)
    assert cached == [False, True]


@pytest.mark.slow
def test_narrate_survives_a_worker_killed_mid_job(settings: Settings, tmp_path: Path) -> None:
    source = write_article(tmp_path, 4000)
    article = load_article(str(source), settings.input)
    plan = prepare_plan(article, settings)
    with EnginePool(2, task_timeout_s=60) as pool:
        pool.start()
        victims = pool.worker_pids()
        chunks_dir = settings.store.cache_dir / "chunks"

        def kill_once_chunks_are_made() -> None:
            # mid-job: both workers are busy once the first chunk is in the cache
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not (
                chunks_dir.exists() and any(chunks_dir.rglob("*.json"))
            ):
                time.sleep(0.01)
            os.kill(victims[0], signal.SIGKILL)

        killer = threading.Thread(target=kill_once_chunks_are_made)
        killer.start()
        result = Narrator(settings, open_store(settings.store), pool).narrate(plan)
        killer.join()
        assert result.manifest["duration_ms"] > 60_000
        assert victims[0] not in pool.worker_pids()
        again = load_article_from_text("A short note after the crash.", settings.input)
        assert Narrator(settings, open_store(settings.store), pool).narrate(
            prepare_plan(again, settings)
        )


@pytest.mark.slow
def test_narrate_killed_mid_write_leaves_nothing_half_done(
    settings: Settings, tmp_path: Path
) -> None:
    source = write_article(tmp_path, 6000)
    command = [
        *LISTEN,
        "narrate",
        str(source),
        "-o",
        str(tmp_path / "out.mp3"),
        "--cache-dir",
        str(settings.store.cache_dir),
    ]
    child = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    store = open_store(settings.store)
    article = load_article(str(source), settings.input)
    plan = prepare_plan(article, settings)
    deadline = time.monotonic() + 60
    chunks_dir = settings.store.cache_dir / "chunks"
    while time.monotonic() < deadline and not (
        chunks_dir.exists() and len(list(chunks_dir.rglob("*.json"))) > 5
    ):
        time.sleep(0.02)
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    assert not store.exists(manifest_object(plan.narration_id))
    assert not store.exists(audio_object(plan.narration_id, "mp3"))
    assert not (tmp_path / "out.mp3").exists()
    # a new run finishes the job, reusing what the killed one left complete
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    manifest = read_manifest(store, plan.narration_id)
    assert manifest is not None
    assert abs(reported_duration_ms(tmp_path / "out.mp3") - manifest["duration_ms"]) < 60


def test_cli_say_plays_or_says_clearly_why_not(tmp_path: Path) -> None:
    from service.audio.playback import has_sound_device

    done = subprocess.run(
        [*LISTEN, "say", str(SEED_ARTICLE), "--rate", "450"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    if has_sound_device():
        assert done.returncode == 0, done.stderr
    else:
        assert done.returncode == 1
        assert done.stderr.strip().splitlines() == [
            "listen: error: no sound device here; write a file instead: "
            "listen narrate INPUT -o story.mp3"
        ]


def test_narrate_block_in_another_language_is_read_by_a_voice_of_that_language(
    settings: Settings, engine_pool: EnginePool, tmp_path: Path
) -> None:
    from service.audio.clip import shape_clip
    from service.audio.pcm import read_wav
    from service.engines.pool import synthesize
    from service.engines.registry import resolve_engine
    from service.engines.voices import voice_settings
    from service.pipeline.objects import clip_object
    from service.pipeline.plan import NarrationPlan, clip_key
    from tests.test_text_load import MIXED

    source = tmp_path / "mixed.txt"
    source.write_text(MIXED, encoding="utf-8")
    plan, result, _made = _narrate(settings, engine_pool, source)
    # English is read by the natural voice, the German block by eSpeak NG's German
    english = voice_settings("hibari:heart", settings.speech)
    german = voice_settings("pyttsx3:gmw/de", settings.speech)
    manifest = result.manifest
    assert (manifest["language"], manifest["voice"]) == ("en", english.voice_id)
    assert [(block["language"], block["voice"]) for block in manifest["blocks"]] == [
        ("en", english.voice_id)
    ] * 4 + [("de", german.voice_id)]
    assert NarrationPlan.from_json(plan.to_json()) == plan

    # the German block's clips are keyed, and made, with the German voice
    store = open_store(settings.store)
    for chunk in plan.chunks:
        voice = german if chunk.clips[0].block_index == 4 else english
        assert plan.voice_of(chunk) == voice
        version = resolve_engine(voice.engine, EngineSettings()).version()
        for clip in chunk.clips:
            assert clip.clip_key == clip_key(clip.spoken, voice, version, plan.output)
    last = plan.chunks[-1].clips[-1]
    stored = read_wav(store.get(clip_object(last.clip_key)) or b"").data
    said: dict[str, bytes] = {
        voice.voice_id: shape_clip(
            engine_pool.submit(synthesize, last.spoken, voice).result(),
            target_dbfs=plan.output.target_dbfs,
        ).data
        for voice in (english, german)
    }
    # a voice's timing is its own: the stored clip lasts as long as the German voice's
    # reading, not the English voice's
    assert abs(len(stored) - len(said[german.voice_id])) <= 0.02 * len(stored)
    assert abs(len(stored) - len(said[english.voice_id])) >= 0.05 * len(stored)


def test_plan_block_voice_follows_configured_voices_else_keeps_the_articles(
    settings: Settings,
) -> None:
    import dataclasses

    from service.pipeline.prepare import choose_block_voices, choose_voice
    from service.text.segment import segment_article

    article = load_article_from_text("Title\n\nOne paragraph here.\n\nAnother one.", settings.input)
    blocks = segment_article(article)
    klingon = (*blocks[:-1], dataclasses.replace(blocks[-1], language="tlh"))
    chosen, _fallback = choose_voice(settings, "en")
    assert choose_block_voices(klingon, chosen, settings) == {}
    german = (*blocks[:-1], dataclasses.replace(blocks[-1], language="de"))
    (index, (voice, _version)), *_ = choose_block_voices(german, chosen, settings).items()
    assert (index, voice.voice_id) == (blocks[-1].index, "pyttsx3:gmw/de")
    # the voices configured per language apply to blocks as to whole articles...
    configured = settings.replace(default_voices="de=pyttsx3:gmw/lb")
    (_index, (voice, _version)), *_ = choose_block_voices(german, chosen, configured).items()
    assert voice.voice_id == "pyttsx3:gmw/lb"
    # ...and a voice that speaks the block's language itself keeps it
    speaks_german, _fallback = choose_voice(settings, "en", "gmw/de")
    assert choose_block_voices(german, speaks_german, settings) == {}
