"""Word timings from the engine (or the estimate) to timings.json and the captions.

The engine path is driven by clips made here from the real engine: each word
is said alone and the words are joined with silences of known length, so
where each word starts is known from the audio itself. Such a clip, with its
words, is put in the clip cache, where a narration finds it as it finds any
clip an engine made with word timings.
"""

from __future__ import annotations

import array
import re
import wave
from pathlib import Path

import webvtt

from service.audio.clip import EDGE_KEEP_MS, shape_clip
from service.audio.pcm import read_wav, wav_bytes
from service.audio.words import estimate_words
from service.config import Settings
from service.engines.base import VoiceSettings
from service.engines.pool import EnginePool, synthesize
from service.media import Pcm, WordTime
from service.pipeline.narrate import Narrator, audio_object
from service.pipeline.objects import clip_object, narration_object
from service.pipeline.prepare import prepare_plan
from service.store import open_store
from service.text.lexicon.model import parse_lexicon
from service.text.load import load_article_from_text
from service.text.words import word_spans
from tests.audio_tools import decode

LEAD_MS = 300
GAP_MS = 250
LOUD = 400


def _trimmed(samples: bytes) -> bytes:
    """Return a word's samples from its first loud sample to its last."""
    values = array.array("h")
    values.frombytes(samples)
    loud = [i for i, value in enumerate(values) if abs(value) > LOUD]
    return values[loud[0] : loud[-1] + 1].tobytes()


def _said_word_by_word(pool: EnginePool, text: str, voice: VoiceSettings) -> Pcm:
    """Say each word of ``text`` alone and join them with silence; the words start where known."""
    pieces: list[bytes] = []
    words: list[WordTime] = []
    rate = 0
    frames = 0
    for index, (start, end) in enumerate(word_spans(text)):
        said = pool.submit(synthesize, text[start:end], voice).result(timeout=120)
        rate = said.sample_rate_hz
        gap = (LEAD_MS if index == 0 else GAP_MS) * rate // 1000
        sound = _trimmed(said.data)
        pieces += [bytes(2 * gap), sound]
        frames += gap
        words.append(
            WordTime(start, end, 1000 * frames / rate, 1000 * (frames + len(sound) // 2) / rate)
        )
        frames += len(sound) // 2
    pieces.append(bytes(2 * LEAD_MS * rate // 1000))
    return Pcm(b"".join(pieces), rate, words=tuple(words))


def _values(pcm: Pcm) -> array.array[int]:
    values = array.array("h")
    values.frombytes(pcm.data)
    return values


def test_shape_clip_moves_word_times_with_the_trimmed_silence_to_the_sample(
    engine_pool: EnginePool, settings: Settings
) -> None:
    plan = prepare_plan(load_article_from_text("Paid five million.", settings.input), settings)
    made = _said_word_by_word(engine_pool, "Doctor Smith paid five million dollars.", plan.voice)
    shaped = shape_clip(made, target_dbfs=-20.0)
    assert shaped.words is not None and len(shaped.words) == 6
    values = _values(shaped)
    rate = shaped.sample_rate_hz
    assert shaped.words[0].start_ms < LEAD_MS - EDGE_KEEP_MS + 15  # the lead was trimmed
    for word in shaped.words:
        first = round(word.start_ms * rate / 1000)
        before = values[max(0, first - (GAP_MS - 20) * rate // 1000) : first]
        assert not any(before), word  # silence right up to the word...
        assert values[first] != 0, word  # ...which starts on the sample its time names
        last = round(word.end_ms * rate / 1000)
        assert not any(values[last + 1 : last + 200]) and values[last - 1] != 0, word


def test_clip_cache_keeps_words_beside_samples_that_any_reader_decodes(
    engine_pool: EnginePool, settings: Settings, tmp_path: Path
) -> None:
    plan = prepare_plan(load_article_from_text("One two.", settings.input), settings)
    made = shape_clip(
        _said_word_by_word(engine_pool, "One two three.", plan.voice), target_dbfs=-20.0
    )
    data = wav_bytes(made)
    again = read_wav(data)
    assert again.data == made.data
    assert again.words is not None and [(w.start_char, w.end_char) for w in again.words] == [
        (0, 3),
        (4, 7),
        (8, 14),
    ]
    assert all(
        abs(a.start_ms - b.start_ms) < 0.01 and abs(a.end_ms - b.end_ms) < 0.01
        for a, b in zip(again.words, made.words or (), strict=True)
    )
    path = tmp_path / "clip.wav"
    path.write_bytes(data)
    with wave.open(str(path)) as reader:  # a reader that knows nothing of the words chunk
        assert reader.readframes(reader.getnframes()) == made.data
    decoded = decode(path, sample_rate_hz=made.sample_rate_hz)
    assert decoded.tobytes() == made.data  # and so does ffmpeg
    assert read_wav(wav_bytes(Pcm(made.data, made.sample_rate_hz))).words is None


ARTICLE = "Dr. Smith paid $5m\n\nDr. Smith paid $5m on 5 January 1990, in cash.\n\nThey agreed."


def test_engine_word_times_reach_timings_json_on_the_words_shown(
    engine_pool: EnginePool, settings: Settings
) -> None:
    article = load_article_from_text(ARTICLE, settings.input, kind="text")
    # a lexicon rule says one shown word in two: both lead back to it
    lexicon = parse_lexicon([{"match": "cash", "say": "hard cash"}], "t")
    plan = prepare_plan(article, settings, lexicon=lexicon)
    assert any("hard cash" in c.spoken for chunk in plan.chunks for c in chunk.clips)
    store = open_store(settings.store)
    for chunk in plan.chunks:
        for clip in chunk.clips:
            made = _said_word_by_word(engine_pool, clip.spoken, plan.voice_of(chunk))
            shaped = shape_clip(made, target_dbfs=plan.output.target_dbfs)
            store.put(clip_object(clip.clip_key), wav_bytes(shaped))
    result = Narrator(settings, store, engine_pool).narrate(plan)
    sentences = [s for b in result.manifest["blocks"] for s in b["sentences"]]
    assert {s["word_timing"] for s in sentences} == {"engine"}
    body = next(s for s in sentences if "January" in s["text"])
    assert [w["text"] for w in body["words"]] == [
        "Dr",
        "Smith",
        "paid",
        "$5m",
        "on",
        "5",
        "January",
        "1990",
        "in",
        "cash",
    ]
    text = result.manifest["text"]
    for sentence in sentences:
        for word in sentence["words"]:
            assert text[word["start_char"] : word["end_char"]] == word["text"]
    # every word starts where the decoded MP3 goes from silence to sound
    path = store.local_path(audio_object(plan.narration_id, "mp3"))
    assert path is not None
    samples = decode(path)
    for sentence in sentences:
        for word in sentence["words"]:
            start = round(word["start_ms"] * 22.05)
            quiet = samples[
                max(0, start - round((GAP_MS - 60) * 22.05)) : start - round(10 * 22.05)
            ]
            assert max((abs(v) for v in quiet), default=0) < 150, word
            loud = samples[start : start + round(40 * 22.05)]
            assert max(abs(v) for v in loud) > 1000, word
    # several spoken words said for one shown word: "$5m" from "5" to "dollars", and
    # "cash" from the lexicon's "hard" to "cash"
    money = body["words"][3]
    assert money["end_ms"] - money["start_ms"] > 3 * GAP_MS
    cash = body["words"][-1]
    assert cash["end_ms"] - cash["start_ms"] > GAP_MS


def test_a_chunk_reused_from_the_cache_keeps_its_words(
    engine_pool: EnginePool, settings: Settings
) -> None:
    first = "A harbour story\n\nThe lights came back on Tuesday.\n\nThe quay was full."
    second = first + "\n\nA new paragraph, added later."
    store = open_store(settings.store)
    made = []
    for text in (first, second):
        plan = prepare_plan(load_article_from_text(text, settings.input), settings)
        chunks: list[int] = []
        result = Narrator(settings, store, engine_pool).narrate(
            plan, on_chunk=lambda _i, chunk, chunks=chunks: chunks.append(chunk.clips_synthesized)
        )
        made.append((result.manifest, chunks))
    (before, _), (after, synthesized) = made
    assert synthesized[:3] == [0, 0, 0]  # the first three chunks came from the cache
    for old_block, new_block in zip(before["blocks"], after["blocks"][:3], strict=True):
        for old, new in zip(old_block["sentences"], new_block["sentences"], strict=True):
            assert new["words"] == old["words"] and new["words"]
            assert new["word_timing"] == old["word_timing"]


def test_estimate_finds_words_between_the_pauses_of_the_audio(engine_pool: EnginePool) -> None:
    text = "Councillors voted on Tuesday night to rebuild the sea wall."
    espeak = VoiceSettings(voice_id="pyttsx3:gmw/en-us")  # the voice the weights were fitted on
    made = shape_clip(_said_word_by_word(engine_pool, text, espeak), target_dbfs=-20.0)
    assert made.words is not None
    estimated = estimate_words(text, made.data, made.sample_rate_hz)
    assert [(w.start_char, w.end_char) for w in estimated] == [
        (w.start_char, w.end_char) for w in made.words
    ]
    errors = [abs(a.start_ms - b.start_ms) for a, b in zip(estimated, made.words, strict=True)]
    assert max(errors) < 30, errors


def test_every_narration_has_words_and_captions_with_word_timestamps(
    engine_pool: EnginePool, settings: Settings
) -> None:
    text = (
        "A sea wall for Porthavon\n\n"
        "Councillors voted on Tuesday to rebuild the wall, after storms breached it.\n\n"
        "Work starts in 2027 and costs $12m, said Dr. Ann Lee (ann@example.org)."
    )
    plan = prepare_plan(load_article_from_text(text, settings.input), settings)
    store = open_store(settings.store)
    result = Narrator(settings, store, engine_pool).narrate(plan)
    manifest = result.manifest
    assert manifest["timings_version"] == 2
    sentences = [s for b in manifest["blocks"] for s in b["sentences"]]
    for sentence in sentences:
        assert sentence["word_timing"] in {"engine", "estimated"}
        words = sentence["words"]
        shown = re.findall(r"\w+", sentence["text"])
        assert re.findall(r"\w+", " ".join(w["text"] for w in words)) == shown
        starts = [w["start_ms"] for w in words]
        assert starts == sorted(starts)
        assert sentence["start_ms"] <= starts[0] and words[-1]["end_ms"] <= sentence["end_ms"]
        for word in words:
            assert manifest["text"][word["start_char"] : word["end_char"]] == word["text"]
            assert word["start_ms"] <= word["end_ms"]
    captions = store.get(narration_object(plan.narration_id, "captions.vtt"))
    assert captions is not None
    cues = webvtt.from_string(captions.decode())
    assert len(cues) == len(sentences)
    for cue, sentence in zip(cues, sentences, strict=True):
        assert cue.text == " ".join(sentence["text"].split())
        stamps = [_ms(t) for t in re.findall(r"<(\d\d:\d\d:\d\d\.\d\d\d)>", cue.raw_text)]
        assert len(stamps) >= len(sentence["words"]) - 2
        assert stamps == sorted(stamps)
        assert all(_ms(cue.start) < t < _ms(cue.end) for t in stamps)


def _ms(stamp: str) -> int:
    hours, minutes, seconds = stamp.split(":")
    return round((int(hours) * 3600 + int(minutes) * 60 + float(seconds)) * 1000)
