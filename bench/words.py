"""How far the estimated word times fall from an engine's own, on real article text.

For engines that report no word times, each word's time is estimated in the
sentence's audio (``service.audio.words``). This measures that estimate where
the truth is known: an engine that reports its word times (eSpeak NG's word
events) says each sentence of real English articles, and the estimate is made
from the same shaped clip; the error is the distance between the two starts.
A spread by characters over the whole clip is measured beside it as the
baseline. The articles are the development set, read at run time from
``../shared/aeb-dev`` beside the repository (or ``$AEB_DEV_DIR``).

    python -m bench.words [--voice pyttsx3:gmw/en-us] [--sentences 25]
"""

from __future__ import annotations

import argparse
import re
import statistics
import time

from bench.results import write_section
from harness.devset import truths
from service.audio.clip import shape_clip
from service.audio.words import estimate_words
from service.engines.base import VoiceSettings
from service.engines.pool import EnginePool, synthesize
from service.text.spoken import spoken_form
from service.text.words import word_spans

TARGET_DBFS = -20.0
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def english_sentences(per_article: int) -> list[str]:
    """Return up to ``per_article`` sentences of three words or more from each English article."""
    truth = truths()
    found: list[str] = []
    for key in sorted(truth):
        body = " ".join(str(truth[key]["articleBody"]).split())
        if sum(ch.isascii() for ch in body) < 0.97 * max(1, len(body)):
            continue
        sentences = [s for s in _SENTENCE_END.split(body) if len(s.split()) >= 3]
        found += sentences[:per_article]
    return found


def percentile(values: list[float], share: float) -> float:
    """Return the value ``share`` of the way through ``values`` sorted."""
    ordered = sorted(values)
    return ordered[int(share * (len(ordered) - 1))]


def by_characters(text: str, duration_ms: float) -> dict[int, float]:
    """Return each word's start when the clip is shared out by characters (the baseline)."""
    spans = word_spans(text)
    total = sum(end - start for start, end in spans) or 1
    starts: dict[int, float] = {}
    at = 0.0
    for start, end in spans:
        starts[start] = at
        at += (end - start) / total * duration_ms
    return starts


def main() -> None:
    """Measure and write the ``words`` section of bench/RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voice", default="pyttsx3:gmw/en-us")
    parser.add_argument("--sentences", type=int, default=25, help="per article")
    args = parser.parse_args()
    voice = VoiceSettings(voice_id=args.voice)
    texts = [spoken_form(s) for s in english_sentences(args.sentences)]
    texts = [t for t in texts if t.strip()]
    estimate_errors: list[float] = []
    baseline_errors: list[float] = []
    estimate_s = 0.0
    sentences = 0
    with EnginePool(2, task_timeout_s=120, warm_engines=(args.voice,)) as pool:
        pool.start()
        futures = [pool.submit(synthesize, text, voice) for text in texts]
        for text, future in zip(texts, futures, strict=True):
            clip = shape_clip(future.result(), target_dbfs=TARGET_DBFS)
            if not clip.words:
                continue
            started = time.perf_counter()
            estimated = estimate_words(text, clip.data, clip.sample_rate_hz)
            estimate_s += time.perf_counter() - started
            ours = {word.start_char: word.start_ms for word in estimated}
            baseline = by_characters(text, clip.duration_ms)
            sentences += 1
            for word in clip.words:
                if word.start_char in ours and word.start_char in baseline:
                    estimate_errors.append(abs(ours[word.start_char] - word.start_ms))
                    baseline_errors.append(abs(baseline[word.start_char] - word.start_ms))
    if not estimate_errors:
        raise SystemExit(f"{args.voice} reports no word times: there is nothing to measure against")
    words = len(estimate_errors)

    def row(name: str, errors: list[float]) -> str:
        median, p90 = statistics.median(errors), percentile(errors, 0.9)
        return f"| {name} | {median:.0f} ms | {p90:.0f} ms |"

    rows = [
        "| word starts | median | p90 |",
        "|---|---|---|",
        row("estimate (letters, digits, pauses; pinned to silences)", estimate_errors),
        row("baseline: spread by characters over the clip", baseline_errors),
    ]
    markdown = "\n".join(
        [
            "## Estimated word times against the engine's own",
            "",
            f"{words:,} words of {sentences:,} sentences of real English articles, said by "
            f"`{args.voice}`, whose own word times are the truth; the distance from each "
            "word's estimated start to the engine's:",
            "",
            *rows,
            "",
            f"Estimating took {1000 * estimate_s / words * 1000:.0f} ms per 1,000 words "
            "(one core).",
        ]
    )
    print(markdown)
    write_section("words", markdown)


if __name__ == "__main__":
    main()
