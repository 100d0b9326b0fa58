"""hibari narrations: cold narration against hibari's own command line, memory, first byte.

1. Cold narration of a real 3,555-word article (the development set's review):
   ``listen narrate article.txt -o out.mp3`` into an empty cache, against
   ``hibari -o out.wav < article.txt && lame --quiet -q 7 -b 48 out.wav out.mp3``
   (one thread), runs alternating; both at hibari's own pace (speed 1.0 is 170
   words per minute of trimmed speech, so ours runs at ``--rate 170``). The same for eSpeak NG
   (``--voice pyttsx3:gmw/en-us`` against ``espeak-ng -s 175 ... && lame``).
2. Peak memory of every process of a cold narration (RSS summed, sampled every
   20 ms) for real text of 3,500 and 10,000 words.
3. First audio byte after ``POST /api/narrations`` of an uncached real 3,500-word
   text, ``listen serve`` with its engine workers warmed, median of 5.
4. hibari's phonemizer as hibari holds it (dicts) and as the engine does (tries):
   the memory it adds to a fresh process, the time to load it, and the time to
   phonemize 6,000 words of real articles with it.

    python -m bench.hibari [--runs 3] [--parts cold,memory,first-byte,phonemizer]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.measure import Series, load_note, run
from bench.results import write_section
from harness.api import create, time_first_byte, wait_done
from harness.corpus import real_article, real_text, real_texts

TITLE = "## hibari narrations (`python -m bench.hibari --parts {}`)"
BIN = Path(sys.executable).parent
LISTEN = str(BIN / "listen")
HIBARI = str(BIN / "hibari")
BUSY_RATE_WPM = 180
"""Where the rates of the busy first-byte runs start: the long article of run n is read at
this + n, the timed text at this - 1 - n. Every rate is new, so no audio is in the cache."""
BUSY_AFTER_S = 2.0
"""How long the long article has been in the making when the timed one is posted."""


def narrate(article: Path, out: Path, cache: Path, *options: str) -> list[str]:
    """Return ``listen narrate`` of ``article`` into ``cache``."""
    return [LISTEN, "narrate", str(article), "-o", str(out), "--cache-dir", str(cache), *options]


def cold_pair(runs: int, work: Path) -> tuple[str, dict[str, Series]]:
    """Measure cold narrations with hibari and eSpeak NG against their raw pipelines."""
    article = work / "article.txt"
    article.write_text(real_article(3500), encoding="utf-8")
    words = len(article.read_text(encoding="utf-8").split())
    wav, mp3 = work / "out.wav", work / "base.mp3"
    lame = ["&&", "lame", "--quiet", "-q", "7", "-b", "48", str(wav), str(mp3)]
    names = ("hibari", "ours", "ours-first", "espeak", "ours-espeak")
    series = {name: Series(name) for name in names}
    # the engine files every worker reuses are made once after installing; made beforehand
    # for "ours", and afresh in each run of "ours-first"
    engine_cache = work / "engines"
    warm_env = {**os.environ, "LISTEN_ENGINE_CACHE_DIR": str(engine_cache)}
    run(narrate(article, work / "ours.mp3", work / "cache-warm", "--rate", "170"), env=warm_env)
    for attempt in range(runs):
        series["hibari"].runs.append(
            run([HIBARI, "-o", str(wav), "<", str(article), *lame], shell=True, memory=False)
        )
        cache = work / f"cache-{attempt}"
        first_env = {**os.environ, "LISTEN_ENGINE_CACHE_DIR": str(work / f"engines-{attempt}")}
        for name, env in (("ours", warm_env), ("ours-first", first_env)):
            hibari_run = narrate(article, work / "ours.mp3", cache, "--rate", "170")
            series[name].runs.append(run(hibari_run, env=env, memory=False))
            shutil.rmtree(cache)
        series["espeak"].runs.append(
            run(
                ["espeak-ng", "-s", "175", "-f", str(article), "-w", str(wav), *lame],
                shell=True,
                memory=False,
            )
        )
        series["ours-espeak"].runs.append(
            run(
                narrate(article, work / "e.mp3", cache, "--voice", "pyttsx3:gmw/en-us"),
                env=warm_env,
                memory=False,
            )
        )
        shutil.rmtree(cache)
        print(
            {
                k: (round(v.runs[-1].wall_s, 2), round(v.runs[-1].cpu_s, 2))
                for k, v in series.items()
            },
            flush=True,
        )
    # memory is sampled in runs of their own: sampling every 20 ms slows what uses both cores
    peaks = {
        "ours": run(narrate(article, work / "m.mp3", work / "m1", "--rate", "170"), env=warm_env),
        "ours-first": run(
            narrate(article, work / "m.mp3", work / "m2", "--rate", "170"),
            env={**os.environ, "LISTEN_ENGINE_CACHE_DIR": str(work / "engines-m")},
        ),
        "ours-espeak": run(
            narrate(article, work / "m.mp3", work / "m3", "--voice", "pyttsx3:gmw/en-us"),
            env=warm_env,
        ),
    }
    rows = []
    for label, raw, ours in (
        ("hibari `heart`, 170 wpm (hibari's pace)", series["hibari"], series["ours"]),
        (
            "hibari `heart`, the first narration after installing (engine files made)",
            series["hibari"],
            series["ours-first"],
        ),
        ("eSpeak NG, 175 wpm", series["espeak"], series["ours-espeak"]),
    ):
        peak = peaks[ours.name]
        rows.append(
            f"| {label} | {raw.median_s:.2f} | {ours.median_s:.2f} | "
            f"**{ours.median_s / raw.median_s:.2f}x** | {raw.median_cpu_s:.2f} | "
            f"{ours.median_cpu_s:.2f} | {ours.median_cpu_s / raw.median_cpu_s:.2f}x | "
            f"{peak.peak_pss_bytes / 2**20:.0f} ({peak.peak_rss_bytes / 2**20:.0f}) |"
        )
    table = "\n".join(
        [
            f"### Cold narration of a real {words:,}-word article (median of {runs}, runs "
            "alternate)",
            "",
            "| engine | raw pipeline s | `listen narrate` s | ours / raw | raw CPU s | ours CPU s "
            "| CPU ours / raw | peak memory MiB, ours: PSS (RSS) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
            *rows,
            "",
            "Wall seconds (s) and CPU seconds (user + system of every process, which the "
            "machine's other work does not inflate); ours uses both cores, the raw pipelines "
            "one. Timed runs are not sampled for memory (sampling every 20 ms took 8-20% "
            "from the wall time of a narration on both cores); peak memory comes from one "
            "sampled run of each.",
            "Raw pipelines: `hibari -o out.wav < article.txt && lame --quiet -q 7 -b 48 out.wav "
            "out.mp3` (one thread) and `espeak-ng -s 175 -f article.txt -w out.wav && lame ...`. "
            "Ours: `listen narrate article.txt -o out.mp3` into an empty audio cache, process "
            "start, engine workers (one per core) and timings included. The files the engine "
            "derives from hibari's package once (its edited model and phonemizer tries, "
            "`LISTEN_ENGINE_CACHE_DIR`) are there, as after any earlier narration, except in "
            "the row of the first narration after installing, where each run starts without "
            "them.",
        ]
    )
    return table, series


def memory(work: Path) -> str:
    """Measure the peak memory of cold hibari narrations of 3,500 and 10,000 words."""
    rows = []
    # the engine files are made once after installing, by whichever narration comes first
    warm = work / "warm.txt"
    warm.write_text("Warming up.\n\nThe engine files are made once.", encoding="utf-8")
    run(narrate(warm, work / "warm.mp3", work / "mem-warm"))
    for words in (3500, 10_000):
        article = work / f"long-{words}.txt"
        article.write_text(real_text(words), encoding="utf-8")
        count = len(article.read_text(encoding="utf-8").split())
        measured = run(narrate(article, work / "long.mp3", work / f"mem-{words}"))
        rows.append(
            f"| {count:,} | {measured.wall_s:.1f} | **{measured.peak_pss_bytes / 2**20:.0f}** | "
            f"{measured.peak_rss_bytes / 2**20:.0f} |"
        )
        print(rows[-1], flush=True)
    return "\n".join(
        [
            "### Peak memory of a cold narration with hibari (all processes)",
            "",
            "PSS summed is what the processes hold (a page shared by n processes counts 1/n "
            "in each: the shared libraries of the CLI and its engine workers); the RSS sum "
            "counts every shared page once per process. The engine files are made beforehand "
            "(as after any earlier narration).",
            "",
            "| words | wall s | peak MiB, PSS summed | peak MiB, RSS summed |",
            "|---:|---:|---:|---:|",
            *rows,
        ]
    )


def first_byte(runs: int, work: Path) -> str:
    """Measure the first audio byte after POSTing uncached real articles to ``listen serve``."""
    from harness.webserver import running_server

    texts = real_texts(3500, runs + 1)
    times: list[float] = []
    busy: list[float] = []
    (work / "serve").mkdir()
    with running_server(work / "serve" / "cache") as base:
        # both engine workers load hibari at start; wait until one narration went through
        wait_done(base, create(base, "A warm-up\n\nFirst paragraph of it.")["status_url"])
        time.sleep(5)
        for text in texts[1:]:
            took, created = time_first_byte(base, text)
            times.append(took)
            print(f"first byte {took * 1000:.0f} ms", flush=True)
            wait_done(base, created["status_url"])
        long = real_text(10_000)
        for attempt, text in enumerate(texts[1:]):
            # another rate is other audio: neither article is in the cache
            making = create(base, long, rate=BUSY_RATE_WPM + attempt)
            time.sleep(BUSY_AFTER_S)
            took, created = time_first_byte(base, text, rate=BUSY_RATE_WPM - 1 - attempt)
            busy.append(took)
            print(f"first byte while a long article is made {took * 1000:.0f} ms", flush=True)
            wait_done(base, created["status_url"])
            wait_done(base, making["status_url"], timeout_s=900)
    sizes = [len(text.split()) for text in texts[1:]]

    def shown(found: list[float]) -> str:
        runs_ms = ", ".join(f"{t * 1000:.0f}" for t in found)
        return f"**{statistics.median(found) * 1000:.0f} ms** (runs: {runs_ms} ms)"

    return "\n".join(
        [
            f"### First audio byte, `listen serve`, uncached real texts of "
            f"{min(sizes):,}-{max(sizes):,} words (hibari `heart`, median of {runs})",
            "",
            f"{shown(times)}; target <= 300 ms.",
            "",
            f"The same texts (at another rate, so uncached) each posted {BUSY_AFTER_S:.0f} s "
            f"after a {len(long.split()):,}-word article, while the server makes it (its rate "
            f"differs each time, so its audio is never in the cache): {shown(busy)}.",
        ]
    )


PHONEMIZER_PROBE = """
import ctypes, gc, json, sys, time
from hibari.g2p import G2P
from service.engines.hibari_compact import compact_phonemizer

def anon_kib():
    gc.collect()
    ctypes.CDLL(None).malloc_trim(0)
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("RssAnon"))

paragraphs = json.load(sys.stdin)
G2P(oov=False)("Warm.")  # imports and the assets' first reads, outside the figures
before = anon_kib()
started = time.process_time()
g2p = G2P(oov=False)
if sys.argv[1] == "tries":
    compact_phonemizer(g2p)
loaded = time.process_time() - started
held = anon_kib() - before
started = time.process_time()
for paragraph in paragraphs:
    g2p(paragraph)
spent = time.process_time() - started
print(json.dumps({"mib": held / 1024, "load_s": loaded, "phonemize_s": spent}))
"""


def phonemizer(runs: int) -> str:
    """Compare hibari's phonemizer in its dicts and in the engine's tries, in fresh processes."""
    paragraphs = [p for p in real_text(6000).split("\n") if p.strip()]
    words = sum(len(p.split()) for p in paragraphs)
    found: dict[str, list[dict[str, float]]] = {"dicts": [], "tries": []}
    for _ in range(runs):
        for kind in found:
            done = subprocess.run(
                [sys.executable, "-c", PHONEMIZER_PROBE, kind],
                input=json.dumps(paragraphs),
                capture_output=True,
                text=True,
                check=True,
            )
            found[kind].append(json.loads(done.stdout))

    def median(kind: str, key: str) -> float:
        return statistics.median(run[key] for run in found[kind])

    rows = [
        f"| {label} | {median(kind, 'mib'):.0f} | {median(kind, 'load_s'):.2f} | "
        f"{median(kind, 'phonemize_s'):.2f} |"
        for kind, label in (("dicts", "hibari's own (dicts)"), ("tries", "the engine's (tries)"))
    ]
    return "\n".join(
        [
            f"### hibari's phonemizer (American English), median of {runs} fresh processes",
            "",
            f"Memory it adds to a process (anonymous RSS after a collection), CPU seconds to "
            f"load it, CPU seconds to phonemize {words:,} words of real articles "
            "(the out-of-vocabulary model left out: the same in both).",
            "",
            "| phonemizer | memory MiB | load s | phonemize s |",
            "|---|---:|---:|---:|",
            *rows,
        ]
    )


def main() -> None:
    """Run the benchmark and write its section of RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--parts", default="cold,memory,first-byte,phonemizer")
    args = parser.parse_args()
    parts = args.parts.split(",")
    with tempfile.TemporaryDirectory(prefix="bench-hibari-") as scratch:
        work = Path(scratch)
        # each part keeps its own section of RESULTS.md, so parts can run separately
        if "cold" in parts:
            table = cold_pair(args.runs, work)[0]
            write_section("hibari-cold", f"{TITLE.format('cold')}\n\n{table}\n\n{load_note()}")
        if "memory" in parts:
            write_section(
                "hibari-memory", f"{TITLE.format('memory')}\n\n{memory(work)}\n\n{load_note()}"
            )
        if "phonemizer" in parts:
            write_section(
                "hibari-phonemizer",
                f"{TITLE.format('phonemizer')}\n\n{phonemizer(args.runs)}\n\n{load_note()}",
            )
        if "first-byte" in parts:
            write_section(
                "hibari-first-byte",
                f"{TITLE.format('first-byte')}\n\n{first_byte(5, work)}\n\n{load_note()}",
            )


if __name__ == "__main__":
    main()
