"""Load: many listeners of one narration, a burst of new articles, and a soak of mixed traffic.

Runs the real server (``listen serve``, default settings: nginx in front) on a
loopback port; the Range and burst parts run gunicorn alone (``LISTEN_FRONT=none``,
the server as it faced clients before the front) too, one after the other, and
give the ratios.

- Range listeners: wrk with 200 connections for 60 s, each request a 64 KiB
  Range of one cached MP3; errors, p50/p99 latency and requests per second.
- Burst: 50 different new articles posted at once, then 50 more at once; how
  many were accepted and how many refused (429/503 with Retry-After), the time
  until every accepted one is done, and the peak memory of the server's
  process tree (nginx, web worker and engine workers).
- Soak: mixed traffic (create, poll, stream, range, captions) for ``--soak-s``
  seconds; errors, and the server's memory, threads, open files and worker
  processes in the first minute against the last (medians of 5 s samples).

    python -m bench.load [--soak-s 600] [--range-s 60] [--connections 200]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from bench.results import RESULTS, write_section
from harness.api import call, wait_done
from harness.corpus import article_text
from harness.webserver import engine_workers, running_server, server_process, web_worker
from service.malloc import jemalloc_loaded

RANGE_BYTES = 65536
BURST_ARTICLES = 50
SAMPLE_EVERY_S = 5.0


def rss_mb(process: Any) -> float:
    """Return one process's resident memory in MB (0 when it has just ended)."""
    try:
        return float(process.memory_info().rss) / 1e6
    except psutil.NoSuchProcess:
        return 0.0


def tree_rss_mb(base: str) -> float:
    """Return the resident memory of the server's whole process tree, in MB."""
    root = server_process(base)
    total = 0
    for process in [root, *root.children(recursive=True)]:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total / 1e6


# --- 200 listeners ---------------------------------------------------------------

VOICE = {"LISTEN_VOICE": "pyttsx3:gmw/en-us"}
"""Every server reads with eSpeak NG: this measures the web process, and the soak and the
bursts make hundreds of narrations (``bench.slow`` and ``bench.hibari`` load hibari)."""
SERVERS = (("nginx in front", VOICE), ("gunicorn alone", {**VOICE, "LISTEN_FRONT": "none"}))
"""The server as it is deployed, and as it faced clients before the front (the baseline)."""


@dataclass
class RangeRun:
    """The wrk rounds of Range requests against one server."""

    label: str
    size_mb: float = 0.0
    requests: int = 0
    errors: int = 0
    socket_errors: list[str] = field(default_factory=list)
    rates: list[float] = field(default_factory=list)
    latencies_ms: dict[str, list[float]] = field(default_factory=dict)

    def median(self, percent: str) -> float:
        return statistics.median(self.latencies_ms.get(percent, [float("nan")]))

    def row(self) -> str:
        sockets = "; ".join(self.socket_errors) or "none"
        return (
            f"| {self.label} | {self.requests} | {self.errors} | {sockets} | "
            f"{statistics.median(self.rates):.0f} | {self.median('50'):.1f} ms | "
            f"{self.median('90'):.1f} ms | {self.median('99'):.1f} ms |"
        )


def ready_range(base: str) -> tuple[str, int]:
    """Make the cached narration the listeners ask for; return its audio URL and size."""
    _code, _headers, body = call(base, "/api/narrations", body={"text": article_text(3500)})
    made = wait_done(base, json.loads(body)["status_url"])
    return made["audio_url"], int(call(base, made["audio_url"])[1]["Content-Length"])


def range_round(
    base: str, url: str, size: int, seconds: int, connections: int, run: RangeRun
) -> None:
    """Run wrk once against a cached MP3 with Range requests; add its figures to ``run``."""
    start = size // 3
    wrk = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency",
         "-H", f"Range: bytes={start}-{start + RANGE_BYTES - 1}", base + url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    out = wrk.stdout
    print(f"{run.label}:\n{out}", file=sys.stderr, flush=True)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket = re.search(r"Socket errors: (.*)$", out, re.M)
    run.size_mb = size / 1e6
    run.requests += int(total.group(1)) if total else 0
    run.errors += int(non_2xx.group(1)) if non_2xx else 0
    if socket:
        run.socket_errors.append(socket.group(1))
    run.rates.append(float(rate.group(1)) if rate else 0.0)
    for percent, text in re.findall(r"^[ \t]+(50|75|90|99)%[ \t]+(\S+)[ \t]*$", out, re.M):
        run.latencies_ms.setdefault(percent, []).append(_ms(text))


def range_table(runs: list[RangeRun], seconds: int, rounds: int, connections: int) -> str:
    """Return the Range runs side by side, with the ratios of the first to the second."""
    ours, baseline = runs
    speed = statistics.median(ours.rates) / statistics.median(baseline.rates)
    lines = [
        f"wrk, {connections} connections, each request `Range` of {RANGE_BYTES // 1024} KiB of "
        f"one cached {ours.size_mb:.1f} MB MP3. Both servers run at once, and take turns: "
        f"{rounds} rounds of {seconds // rounds} s each; medians of the rounds:",
        "",
        "| server | requests | errors (non-2xx) | socket errors | requests/s | p50 | p90 | p99 |",
        "|---|---|---|---|---|---|---|---|",
        *(run.row() for run in runs),
        "",
        f"{ours.label} / {baseline.label}: **{speed:.2f}x** requests/s, "
        f"p50 {ours.median('50') / baseline.median('50'):.2f}x, "
        f"p99 {ours.median('99') / baseline.median('99'):.2f}x (latency: below 1 is faster). "
        "Requests/s of each round: "
        + "; ".join(
            f"{run.label} " + ", ".join(f"{rate:.0f}" for rate in run.rates) for run in runs
        )
        + ".",
    ]
    return "\n".join(lines)


def _ms(text: str | None) -> float:
    """Read one of wrk's latencies (``183.70ms``, ``1.20s``, ``950.00us``) in milliseconds."""
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text or "")
    if found is None:
        return float("nan")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[found.group(2)]
    return float(found.group(1)) * scale


# --- a burst of new articles -------------------------------------------------------


@dataclass
class BurstRun:
    """Two waves of new articles against one server."""

    label: str
    waves: list[list[int]]
    """The status codes of each wave's answers."""
    finals: list[str]
    elapsed_s: float
    before_mb: float
    peak_mb: float

    def rows(self) -> list[str]:
        return [
            f"| {self.label} | {wave} | {len(codes)} | {codes.count(200) + codes.count(202)} | "
            f"{codes.count(429)} | {codes.count(503)} | {codes.count(500)} |"
            for wave, codes in enumerate(self.waves, start=1)
        ]


def burst(base: str, label: str, round_number: int = 0) -> BurstRun:
    """Post two waves of 50 new articles at once (new ones each round); time them until done."""
    peak = [tree_rss_mb(base)]
    before = peak[0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.5):
            peak.append(tree_rss_mb(base))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    waves = []
    accepted_all: list[str] = []
    started = time.monotonic()
    for wave in (1, 2):
        texts = [
            article_text(400, seed=100_000 * round_number + 10_000 * wave + i)
            for i in range(BURST_ARTICLES)
        ]
        with ThreadPoolExecutor(BURST_ARTICLES) as threads:
            answers = list(
                threads.map(lambda t: call(base, "/api/narrations", body={"text": t}), texts)
            )
        codes = [code for code, _h, _b in answers]
        refused = [(code, h) for code, h, _b in answers if code in (429, 503)]
        assert all(code in (200, 202, 429, 503) for code in codes), codes
        assert all("Retry-After" in h for _code, h in refused)
        accepted_all += [json.loads(b)["status_url"] for c, _h, b in answers if c in (200, 202)]
        waves.append(codes)
    finals = [wait_done(base, url)["status"] for url in accepted_all]
    elapsed = time.monotonic() - started
    stop.set()
    sampler.join()
    return BurstRun(label, waves, finals, elapsed, before, max(peak))


def burst_table(runs: list[BurstRun]) -> str:
    """Return the bursts side by side (rounds in turn), with the ratio of the medians."""
    labels = list(dict.fromkeys(run.label for run in runs))
    by_label = {label: [run for run in runs if run.label == label] for label in labels}
    times = {
        label: statistics.median(r.elapsed_s for r in found) for label, found in by_label.items()
    }
    peaks = {label: max(r.peak_mb for r in found) for label, found in by_label.items()}
    ours, baseline = labels
    lines = [
        f"Two waves of {BURST_ARTICLES} different 400-word articles posted at once from one "
        "client, default limits (60 creations per client per minute, queue of 64); both "
        f"servers run at once and take turns, {len(by_label[ours])} rounds each:",
        "",
        "| server | wave | posted | accepted | 429 | 503 | 500 |",
        "|---|---|---|---|---|---|---|",
        *(row for run in runs for row in run.rows()),
        "",
        "| server | accepted narrations finished in | done | failed | memory before | peak |",
        "|---|---:|---:|---:|---:|---:|",
        *(
            f"| {run.label} | {run.elapsed_s:.1f} s | {run.finals.count('done')} | "
            f"{run.finals.count('failed')} | {run.before_mb:.0f} MB | {run.peak_mb:.0f} MB |"
            for run in runs
        ),
        "",
        f"Every refusal carried `Retry-After`. {ours} / {baseline}: time to finish (medians) "
        f"**{times[ours] / times[baseline]:.2f}x**, peak memory "
        f"{peaks[ours] / peaks[baseline]:.2f}x (the server's whole process tree, nginx included).",
    ]
    return "\n".join(lines)


# --- soak -------------------------------------------------------------------------------


Sample = tuple[float, float, float, float, int, int, int]


@dataclass
class Soak:
    """Mixed traffic against one server, with its counts."""

    base: str
    seconds: float
    ready: list[dict[str, Any]]
    requests: int = 0
    errors: list[str] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    """(seconds, tree MB, web worker MB, engine workers MB, threads, open files, engines)."""
    created: int = 0
    allocator: str = "unknown"
    """The web worker's malloc: jemalloc or glibc's."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, what: str, code: int, allowed: tuple[int, ...]) -> None:
        with self.lock:
            self.requests += 1
            if code not in allowed:
                self.errors.append(f"{what}: {code}")

    def listener(self, seed: int) -> None:
        rng = random.Random(seed)
        deadline = time.monotonic() + self.seconds
        while time.monotonic() < deadline:
            made = rng.choice(self.ready)
            choice = rng.random()
            if choice < 0.3:
                start = rng.randrange(0, 100_000)
                code = call(
                    self.base,
                    made["audio_url"],
                    headers={"Range": f"bytes={start}-{start + 65535}"},
                )[0]
                self.check("range", code, (206,))
            elif choice < 0.5:
                self.check("status", call(self.base, made["status_url"])[0], (200,))
            elif choice < 0.65:
                self.check("captions", call(self.base, made["captions_url"])[0], (200,))
            elif choice < 0.8:
                self.check("timings", call(self.base, made["timings_url"])[0], (200,))
            else:
                self.check("stream", call(self.base, made["stream_url"])[0], (200,))
            time.sleep(rng.uniform(0.0, 0.1))

    def creator(self) -> None:
        deadline = time.monotonic() + self.seconds
        index = 0
        while time.monotonic() < deadline:
            index += 1
            code, _h, body = call(
                self.base, "/api/narrations", body={"text": article_text(150, seed=50_000 + index)}
            )
            self.check("create", code, (200, 202))
            if code in (200, 202):
                with self.lock:
                    self.created += 1
                status_url = json.loads(body)["status_url"]
                stream_url = json.loads(body)["stream_url"]
                self.check("new stream", call(self.base, stream_url)[0], (200,))
                state = wait_done(self.base, status_url)
                if state["status"] != "done":
                    self.errors.append(f"narration failed: {state.get('error')}")
            time.sleep(2.0)  # 30 a minute: under the per-client limit of 60

    def sampler(self) -> None:
        root = server_process(self.base)
        on_jemalloc = jemalloc_loaded(web_worker(self.base).pid)
        self.allocator = "jemalloc" if on_jemalloc else "glibc's malloc"
        started = time.monotonic()
        while time.monotonic() - started < self.seconds:
            worker = web_worker(self.base)
            engines = engine_workers(self.base)
            engines_mb = sum(rss_mb(engine) for engine in engines)
            sample = (time.monotonic() - started, tree_rss_mb(self.base), rss_mb(worker),
                      engines_mb, worker.num_threads(), worker.num_fds(), len(engines))  # fmt: skip
            self.samples.append(sample)
            print("soak sample: " + " ".join(f"{value:.1f}" for value in sample), file=sys.stderr)
            time.sleep(SAMPLE_EVERY_S)
        assert root.is_running()

    def first_and_last(self) -> tuple[float, list[Sample], list[Sample]]:
        """Return the window length and the samples of the first and of the last window."""
        window = min(60.0, self.seconds / 3)
        end = self.samples[-1][0]
        return (window, [s for s in self.samples if s[0] < window],
                [s for s in self.samples if s[0] >= end - window])  # fmt: skip

    def run(self) -> str:
        threads = [threading.Thread(target=self.listener, args=(i,)) for i in range(8)]
        threads += [threading.Thread(target=self.creator), threading.Thread(target=self.sampler)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        window, first, last = self.first_and_last()

        def median(rows: list[Sample], column: int) -> str:
            digits = 1 if column in (1, 2, 3) else 0  # megabytes to a tenth
            return f"{statistics.median(row[column] for row in rows):.{digits}f}"

        def lowest(rows: list[Sample], column: int) -> str:
            return f"{min(row[column] for row in rows):.1f}"

        names = ("memory of the process tree (MB)", "of which the web worker (MB)",
                 "of which the engine workers (MB)", "web worker threads",
                 "web worker open files", "engine worker processes")  # fmt: skip
        table = [
            f"| {name} | {median(first, i + 1)} | {median(last, i + 1)} |"
            for i, name in enumerate(names)
        ]
        table.insert(3, f"| of which the engine workers, lowest (MB) | {lowest(first, 3)} | "
                        f"{lowest(last, 3)} |")  # fmt: skip
        minutes = [
            f"| {minute + 1} | {median(rows, 2)} | {median(rows, 3)} | {lowest(rows, 3)} | "
            f"{median(rows, 4)} | {median(rows, 5)} |"
            for minute in range(int(self.samples[-1][0] // 60) + 1)
            if (rows := [s for s in self.samples if minute * 60 <= s[0] < (minute + 1) * 60])
        ]
        return "\n".join(
            [
                f"{self.seconds / 60:.0f} minutes of mixed traffic: 8 listeners (Range, status, "
                "captions, timings, stream of cached narrations) and one publisher creating a "
                f"new 150-word article every 2 s and streaming it. {self.requests} requests, "
                f"{self.created} narrations created, **{len(self.errors)} errors**"
                + (f" ({'; '.join(self.errors[:5])})" if self.errors else "")
                + f". The web worker runs on {self.allocator}.",
                "",
                f"| medians of {SAMPLE_EVERY_S:g} s samples | first {window:.0f} s | "
                f"last {window:.0f} s |",
                "|---|---|---|",
                *table,
                "",
                "Minute by minute (medians; the engine workers' lowest is what they hold "
                "between tasks, their median swings with the synthesis in flight):",
                "",
                "| minute | web worker MB | engine workers MB | lowest | threads | open files |",
                "|---:|---:|---:|---:|---:|---:|",
                *minutes,
            ]
        )


def ready_narrations(base: str) -> list[dict[str, Any]]:
    """Make four cached 1,200-word narrations (the soak's listeners play them)."""
    ready = []
    for seed in range(4):
        _code, _h, body = call(
            base, "/api/narrations", body={"text": article_text(1200, seed=90_000 + seed)}
        )
        ready.append(wait_done(base, json.loads(body)["status_url"]))
    return ready


def soak(base: str, seconds: float) -> str:
    """Soak the server with mixed traffic; return a Markdown summary."""
    return Soak(base, seconds, ready_narrations(base)).run()


def main() -> None:
    """Run the chosen parts and write the load section of RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--soak-s", type=float, default=600.0, help="soak duration in seconds")
    parser.add_argument("--range-s", type=int, default=60, help="wrk seconds per server")
    parser.add_argument("--rounds", type=int, default=6, help="turns the Range part takes")
    parser.add_argument("--connections", type=int, default=200, help="wrk connections")
    parser.add_argument(
        "--only", choices=("range", "burst", "soak"), action="append", help="run only these parts"
    )
    options = parser.parse_args()
    parts = options.only or ["range", "burst", "soak"]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    sections = []
    with tempfile.TemporaryDirectory() as folder, ExitStack() as servers:
        bases = []
        for index, (_label, env) in enumerate(SERVERS):
            cache = Path(folder) / f"cache-{index}"
            cache.mkdir()
            bases.append(servers.enter_context(running_server(cache, env=env)))
        if "range" in parts:
            ranges = [RangeRun(label) for label, _env in SERVERS]
            targets = [ready_range(base) for base in bases]
            seconds = max(1, options.range_s // options.rounds)
            for _round in range(options.rounds):
                for base, (url, size), run in zip(bases, targets, ranges, strict=True):
                    range_round(base, url, size, seconds, options.connections, run)
            sections.append(
                f"### {options.connections} listeners of one narration\n\n"
                + range_table(ranges, options.range_s, options.rounds, options.connections)
            )
            print(sections[-1], flush=True)
        if "burst" in parts:
            bursts = []
            started: dict[str, float] = {}
            for round_number in range(2):
                for base, (label, _env) in zip(bases, SERVERS, strict=True):
                    # the per-client limit counts a minute from the server's previous burst
                    time.sleep(max(0.0, started.get(label, 0.0) + 61 - time.monotonic()))
                    started[label] = time.monotonic()
                    bursts.append(burst(base, label, round_number))
            sections.append("### A burst of new articles\n\n" + burst_table(bursts))
            print(sections[-1], flush=True)
        servers.close()
        if "soak" in parts:
            cache = Path(folder) / "soak-cache"
            cache.mkdir()
            with running_server(cache, env=VOICE) as base:
                sections.append("### Soak\n\n" + soak(base, options.soak_s))
                print(sections[-1], flush=True)
    markdown = (
        "## Load (`python -m bench.load`)\n\n"
        "The real server on loopback with default settings (one web process, "
        f"{psutil.cpu_count()} engine workers, nginx in front) but eSpeak NG as the voice "
        "(`LISTEN_VOICE=pyttsx3:gmw/en-us`); the load generators run on the "
        "same machine. The Range and burst parts also run gunicorn alone (`LISTEN_FRONT=none`), "
        "as the server faced clients before the front, as the baseline.\n\n"
        + "\n\n".join(merged_parts(sections))
    )
    write_section("load", markdown)


def merged_parts(sections: list[str]) -> list[str]:
    """Return this run's parts, with the parts not run now kept from RESULTS.md."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    found = re.search(r"<!-- bench:load -->(.*?)<!-- /bench:load -->", text, re.S)
    kept: dict[str, str] = {}
    if found:
        body = found.group(1).rsplit("\n_", 1)[0]  # without the dated footer
        for part in body.split("\n### ")[1:]:
            kept["### " + part.split("\n", 1)[0]] = "### " + part.strip()
    for section in sections:
        kept[section.split("\n", 1)[0]] = section
    order = ("### 200 listeners", "### A burst", "### Soak")
    return [kept[title] for prefix in order for title in kept if title.startswith(prefix)]


if __name__ == "__main__":
    main()
