"""Narration speed and memory against the raw engine pipeline, side by side.

Baseline: ``espeak-ng -s RATE -f article.txt -w out.wav && lame --quiet -q 7 -b 48``.
Ours: ``listen narrate article.txt`` into an empty cache (cold), then again
(fully cached), then with one paragraph edited. Runs are interleaved so that
noise on the shared machine hits both sides alike.

    python -m bench.narrate [--runs 5] [--sizes 400,3500,10000]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from bench.corpus import article_text
from bench.measure import Series, run
from bench.results import write_section

RATE_WPM = 175
LISTEN = [str(Path(sys.executable).with_name("listen")), "narrate"]
"""The command people run (the console script installed beside this Python)."""


def baseline_command(article: Path, out: Path) -> list[str]:
    """Return the raw engine pipeline as one shell command line."""
    wav = out.with_suffix(".wav")
    return [
        "espeak-ng",
        "-s",
        str(RATE_WPM),
        "-f",
        str(article),
        "-w",
        str(wav),
        "&&",
        "lame",
        "--quiet",
        "-q",
        "7",
        "-b",
        "48",
        str(wav),
        str(out),
    ]


def narrate_command(source: Path, out: Path, cache: Path) -> list[str]:
    """Return our side: ``listen narrate`` of ``source`` through the cache folder ``cache``."""
    return [
        *LISTEN,
        str(source),
        "-o",
        str(out),
        "--cache-dir",
        str(cache),
        "--rate",
        str(RATE_WPM),
    ]


def edited(text: str) -> str:
    """Change one word of one paragraph in the middle of the article."""
    paragraphs = text.split("\n\n")
    middle = len(paragraphs) // 2
    paragraphs[middle] = paragraphs[middle].replace("the", "this", 1)
    return "\n\n".join(paragraphs)


def bench_size(words: int, runs: int, work: Path) -> dict[str, Series]:
    """Measure one article size; return the series by name."""
    article = work / f"article-{words}.txt"
    article.write_text(article_text(words), encoding="utf-8")
    changed = work / f"article-{words}-edited.txt"
    changed.write_text(edited(article.read_text(encoding="utf-8")), encoding="utf-8")
    series = {name: Series(name) for name in ("baseline", "cold", "cached", "edited")}
    for attempt in range(runs):
        cache = work / f"cache-{words}-{attempt}"
        out = work / "out.mp3"
        series["baseline"].runs.append(
            run(baseline_command(article, work / "base.mp3"), shell=True)
        )
        series["cold"].runs.append(run(narrate_command(article, out, cache)))
        series["cached"].runs.append(run(narrate_command(article, out, cache)))
        series["edited"].runs.append(run(narrate_command(changed, out, cache)))
        shutil.rmtree(cache)
    return series


def main() -> None:
    """Run the benchmark and write its section of RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", default="400,3500,10000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-narrate-") as scratch:
        for words in sizes:
            s = bench_size(words, args.runs, Path(scratch))
            base, cold = s["baseline"].median_s, s["cold"].median_s
            row = (
                f"| {words:,} | {base:.2f} | {cold:.2f} | **{cold / base:.2f}x** | "
                f"{s['cached'].median_s:.2f} | {s['edited'].median_s:.2f} "
                f"({s['edited'].median_s / cold:.0%} of cold) | {s['cold'].peak_rss_mb:.0f} |"
            )
            print(row, flush=True)
            rows.append(row)
    table = "\n".join(
        [
            "## Narration (issue: narrate)",
            "",
            f"Median of {args.runs} interleaved runs, wall seconds, process start included; "
            f"rate {RATE_WPM} wpm, MP3 48 kbps. Baseline = `espeak-ng -s {RATE_WPM} -f "
            "article.txt -w out.wav && lame --quiet -q 7 -b 48 out.wav out.mp3`; ours = "
            "`listen narrate article.txt -o out.mp3` into an empty cache (cold), the same "
            "again (cached), then the article with one paragraph edited (edited). Peak RSS = "
            "all processes of the cold run, summed, sampled every 20 ms.",
            "",
            "| words | baseline s | cold s | cold / baseline | cached s | edited s "
            "| peak RSS MiB |",
            "|---:|---:|---:|---:|---:|---:|---:|",
            *rows,
            "",
            "An edited article re-narrated by a fresh `listen` process pays that process's "
            "start before any audio is made: Python and the CLI, a memo miss, then engine "
            "workers that each import pebble and load eSpeak while this process plans the "
            "article. The same edit through the running service, whose workers are warm, "
            "is in the web delivery section (issue: web service).",
        ]
    )
    write_section("narrate", table)


if __name__ == "__main__":
    main()
