"""The web worker's allocator: glibc's malloc against jemalloc, throughput and memory.

Two real servers side by side, one started with ``LISTEN_MALLOC=system``
(glibc's malloc, at most two arenas) and one with the default (jemalloc,
preloaded by ``listen serve``).

- Throughput: wrk requests per second (16 connections) for a 64 KiB Range of a
  cached MP3, the status JSON and the timings JSON, rounds interleaved between
  the two servers; medians, and the ratio of jemalloc to glibc.
- Memory: the load benchmark's soak (mixed traffic) against both servers at
  once; the web worker's memory in the first and in the last minute.

    python -m bench.malloc [--soak-s 600]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench.load import Soak, ready_narrations
from bench.results import write_section
from bench.web import wrk_rate
from harness.webserver import running_server

VOICE = {"LISTEN_VOICE": "pyttsx3:gmw/en-us"}
"""Both servers read with eSpeak NG: this measures the web worker's allocator, not a voice."""
ALLOCATORS = {
    "glibc": {**VOICE, "LISTEN_MALLOC": "system"},
    "jemalloc": {**VOICE, "LISTEN_MALLOC": "jemalloc"},
}
ROUNDS = 3


def rates(bases: dict[str, str], ready: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Return Markdown rows of interleaved wrk rates for each server."""
    targets = {
        "64 KiB Range of a cached MP3": ("audio_url", ("Range: bytes=65536-131071",)),
        "status JSON": ("status_url", ()),
        "timings JSON": ("timings_url", ()),
    }
    rows = []
    for name, (field, headers) in targets.items():
        measured: dict[str, list[float]] = {label: [] for label in bases}
        for _round in range(ROUNDS):
            for label, base in bases.items():
                measured[label].append(wrk_rate(base + str(ready[label][0][field]), headers))
        glibc, jemalloc = (statistics.median(measured[label]) for label in ALLOCATORS)
        rows.append(f"| {name} | {glibc:,.0f} | {jemalloc:,.0f} | **{jemalloc / glibc:.2f}x** |")
    return rows


def soak_both(bases: dict[str, str], ready: dict[str, list[dict[str, Any]]],
              seconds: float) -> list[str]:  # fmt: skip
    """Soak both servers at once; return Markdown rows of the web worker's memory."""
    soaks = {label: Soak(base, seconds, ready[label]) for label, base in bases.items()}
    threads = [threading.Thread(target=soak.run) for soak in soaks.values()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rows = []
    for label, soak in soaks.items():
        _window, first_samples, last_samples = soak.first_and_last()
        first = statistics.median(s[2] for s in first_samples)
        last = statistics.median(s[2] for s in last_samples)
        rows.append(
            f"| {label} | {soak.requests} | {len(soak.errors)} | {first:.1f} | "
            f"{last:.1f} | {last - first:+.1f} |"
        )
    return rows


def main() -> None:
    """Measure both servers and write the malloc section of RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--soak-s", type=float, default=600.0, help="soak duration in seconds")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, ExitStack() as servers:
        bases = {}
        for label, env in ALLOCATORS.items():
            cache = Path(folder) / f"cache-{label}"
            cache.mkdir()
            bases[label] = servers.enter_context(running_server(cache, env=env))
        ready = {label: ready_narrations(base) for label, base in bases.items()}
        rate_rows = rates(bases, ready)
        print("\n".join(rate_rows), flush=True)
        memory_rows = soak_both(bases, ready, options.soak_s)
        print("\n".join(memory_rows), flush=True)
    markdown = "\n".join(
        [
            "## The web worker's allocator (`python -m bench.malloc`)",
            "",
            "Two real servers side by side: `LISTEN_MALLOC=system` (glibc's malloc, two "
            "arenas) and the default, jemalloc; eSpeak NG as the voice "
            "(`LISTEN_VOICE=pyttsx3:gmw/en-us`).",
            "",
            f"wrk, 16 connections, {ROUNDS} interleaved rounds, medians (requests/s):",
            "",
            "| request | glibc | jemalloc | jemalloc / glibc |",
            "|---|---:|---:|---:|",
            *rate_rows,
            "",
            f"The soak's mixed traffic against both servers at once for {options.soak_s / 60:g} "
            "minutes; the web worker's memory (MB), medians of the first and the last minute:",
            "",
            "| server | requests | errors | first minute | last minute | change |",
            "|---|---:|---:|---:|---:|---:|",
            *memory_rows,
        ]
    )
    write_section("malloc", markdown)


if __name__ == "__main__":
    main()
