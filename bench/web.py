"""Web delivery: time to first audio byte while synthesising, and cached delivery rates.

Runs the real server (``listen serve``) on a loopback port.

- Time to first byte: POST a new 3,500-word article, then GET its ``stream.mp3``;
  the time from the POST to the first audio byte, median of 10 fresh articles: runs
  of real articles, no sentence in two of them (``harness.corpus.real_texts``).
- Whole stream: the time to the last byte of the same streams, each against a cold
  ``listen narrate`` of the same text run right after it (the narration benchmark's
  command), so that load on the shared machine hits both alike.
- Cached delivery: requests per second with wrk (16 connections) for a 64 KiB Range
  request of a cached MP3 and for the status JSON, each against ``/livez`` (a
  trivial route of the same app) in the same run, interleaved.

    python -m bench.web
"""

from __future__ import annotations

import re
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.measure import run
from bench.narrate import edited, narrate_command
from bench.results import write_section
from harness.api import create
from harness.corpus import real_texts
from harness.webserver import running_server

WORDS = 3500
FRESH_ARTICLES = 10
EDITED_ARTICLES = 5
WRK_SECONDS = 8
WRK_ROUNDS = 3


def stream_times(base: str, text: str, *, edit: bool = False) -> tuple[float, float]:
    """Return (seconds to first audio byte, seconds to last byte) for the article ``text``.

    With ``edit``, the article is ``text`` with one paragraph changed.
    """
    if edit:
        text = edited(text)
    started = time.perf_counter()
    created = create(base, text)
    with urllib.request.urlopen(base + created["stream_url"]) as stream:
        stream.read(1)
        first = time.perf_counter() - started
        while stream.read(65536):
            pass
    return first, time.perf_counter() - started


def wrk_rate(url: str, headers: tuple[str, ...] = ()) -> float:
    """Return wrk's requests per second for ``url`` at 16 connections."""
    command = ["wrk", "-t2", "-c16", f"-d{WRK_SECONDS}s", "--latency"]
    for header in headers:
        command += ["-H", header]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if match is None or "Non-2xx" in output:
        raise RuntimeError(f"wrk failed or saw errors:\n{output}")
    return float(match.group(1))


def main() -> None:
    """Run the benchmark and write its section of RESULTS.md."""
    texts = real_texts(WORDS, FRESH_ARTICLES)
    with tempfile.TemporaryDirectory(prefix="bench-web-") as scratch:
        folder = Path(scratch)
        with running_server(folder / "cache", env={"LISTEN_VOICE": "pyttsx3:gmw/en-us"}) as base:
            create(base, "Warm up.\n\nThe engines start here.")
            time.sleep(1)
            firsts, wholes, colds = [], [], []
            for index, text in enumerate(texts):
                first, whole = stream_times(base, text)
                firsts.append(first)
                wholes.append(whole)
                # side by side: cold `listen narrate` of the same text, into a cache of its own
                article = folder / f"article-{index}.txt"
                article.write_text(text, encoding="utf-8")
                out, cache = folder / "o.mp3", folder / f"cli-{index}"
                colds.append(run(narrate_command(article, out, cache)).wall_s)
                print(
                    f"first byte {first * 1000:.0f} ms, whole stream {whole:.2f} s, "
                    f"cold CLI {colds[-1]:.2f} s",
                    flush=True,
                )
            edits = [stream_times(base, text, edit=True)[1] for text in texts[:EDITED_ARTICLES]]
            print(f"edited, whole stream: {[round(e, 2) for e in edits]}", flush=True)
            created = create(base, texts[0])  # made above: cached delivery
            audio = base + created["audio_url"]
            status = base + created["status_url"]
            rates: dict[str, list[float]] = {"livez": [], "range": [], "status": []}
            for _ in range(WRK_ROUNDS):
                rates["livez"].append(wrk_rate(base + "/livez"))
                rates["range"].append(wrk_rate(audio, ("Range: bytes=65536-131071",)))
                rates["status"].append(wrk_rate(status))
    median = statistics.median
    ratios = [whole / cold for whole, cold in zip(wholes, colds, strict=True)]
    live, ranged, stat = (median(rates[k]) for k in ("livez", "range", "status"))
    lines = [
        "## Web delivery (issue: web service)",
        "",
        f"Real server (`listen serve`, gunicorn gthread, 1 process), loopback, {WORDS:,}-word "
        "runs of real articles (the extraction development set), no sentence in two of them. "
        f"wrk: 2 threads, 16 connections, {WRK_SECONDS} s per round, {WRK_ROUNDS} "
        "interleaved rounds, medians.",
        "",
        "| measure | value | target |",
        "|---|---:|---|",
        f"| first audio byte after POST, median of {FRESH_ARTICLES} uncached | "
        f"**{median(firsts) * 1000:.0f} ms** (min {min(firsts) * 1000:.0f}, max "
        f"{max(firsts) * 1000:.0f}) | <= 150 ms |",
        f"| whole stream of an uncached article, median | {median(wholes):.2f} s | "
        f"<= cold narration of the same text ({median(colds):.2f} s CLI, process start "
        f"included, run after each stream): **{median(ratios):.2f}x** (median of the pairs) |",
        f"| the same articles with one paragraph edited, whole stream, median of "
        f"{EDITED_ARTICLES} | {median(edits):.2f} s (**{median(edits) / median(wholes):.0%}** of "
        "uncached) | the narration issue's edit target, <= 15% of cold, with warm workers |",
        f"| `/livez` (trivial route) | {live:,.0f} req/s | baseline |",
        f"| 64 KiB Range of a cached MP3 | {ranged:,.0f} req/s (**{ranged / live:.2f}x**) "
        "| >= 0.8x |",
        f"| status JSON of a finished narration | {stat:,.0f} req/s (**{stat / live:.2f}x**) "
        "| >= 0.8x |",
    ]
    print("\n".join(lines))
    write_section("web", "\n".join(lines))


if __name__ == "__main__":
    main()
