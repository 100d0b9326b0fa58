"""Load: many listeners of one narration, a burst of new articles, and a soak of mixed traffic.

Runs the real server (``listen serve``, default settings) on a loopback port.

- Range listeners: wrk with 200 connections for 60 s, each request a 64 KiB
  Range of one cached MP3; errors, p50/p99 latency and requests per second.
- Burst: 50 different new articles posted at once, then 50 more at once; how
  many were accepted and how many refused (429/503 with Retry-After), the time
  until every accepted one is done, and the peak memory of the server's
  process tree (web worker and engine workers).
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
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from bench.corpus import article_text
from bench.results import RESULTS, write_section
from service.malloc import jemalloc_loaded
from tests.webserver import engine_workers, running_server, server_process, web_worker

RANGE_BYTES = 65536
BURST_ARTICLES = 50
SAMPLE_EVERY_S = 5.0


def call(
    base: str,
    path: str,
    *,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """Send one request; return status, headers and body (errors are answers too)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        base + path,
        data=data,
        headers={**({"Content-Type": "application/json"} if data else {}), **(headers or {})},
        method="POST" if data else "GET",
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def wait_done(base: str, status_url: str, timeout_s: float = 600) -> dict[str, Any]:
    """Poll a narration until it is done or failed."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        _code, _headers, body = call(base, status_url)
        state = json.loads(body)
        if state["status"] in ("done", "failed"):
            return dict(state)
        time.sleep(0.25)
    raise TimeoutError(status_url)


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


def range_listeners(base: str, seconds: int, connections: int) -> str:
    """Run wrk against a cached MP3 with Range requests; return a Markdown table."""
    _code, _headers, body = call(base, "/api/narrations", body={"text": article_text(3500)})
    made = wait_done(base, json.loads(body)["status_url"])
    size = int(call(base, made["audio_url"])[1]["Content-Length"])
    start = size // 3
    wrk = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency",
         "-H", f"Range: bytes={start}-{start + RANGE_BYTES - 1}", base + made["audio_url"]],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    out = wrk.stdout
    print(out, file=sys.stderr, flush=True)
    latency = dict(re.findall(r"^[ \t]+(50|75|90|99)%[ \t]+(\S+)[ \t]*$", out, re.M))
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket = re.search(r"Socket errors: (.*)$", out, re.M)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    return "\n".join(
        [
            f"wrk, {connections} connections for {seconds} s, each request `Range` of "
            f"{RANGE_BYTES // 1024} KiB of one cached {size / 1e6:.1f} MB MP3:",
            "",
            "| requests | errors (non-2xx) | socket errors | requests/s | p50 | p90 | p99 |",
            "|---|---|---|---|---|---|---|",
            f"| {total.group(1) if total else '?'} | {errors} | "
            f"{socket.group(1) if socket else 'none'} | {rate.group(1) if rate else '?'} | "
            f"{latency.get('50', '?')} | {latency.get('90', '?')} | {latency.get('99', '?')} |",
        ]
    )


# --- a burst of new articles -------------------------------------------------------


def burst(base: str) -> str:
    """Post two waves of 50 new articles at once; return a Markdown summary."""
    peak = [tree_rss_mb(base)]
    before = peak[0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.5):
            peak.append(tree_rss_mb(base))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    rows = []
    accepted_all: list[str] = []
    started = time.monotonic()
    for wave in (1, 2):
        texts = [article_text(400, seed=10_000 * wave + i) for i in range(BURST_ARTICLES)]
        with ThreadPoolExecutor(BURST_ARTICLES) as threads:
            answers = list(
                threads.map(lambda t: call(base, "/api/narrations", body={"text": t}), texts)
            )
        codes = [code for code, _h, _b in answers]
        refused = [(code, h) for code, h, _b in answers if code in (429, 503)]
        assert all(code in (200, 202, 429, 503) for code in codes), codes
        assert all("Retry-After" in h for _code, h in refused)
        accepted_all += [json.loads(b)["status_url"] for c, _h, b in answers if c in (200, 202)]
        rows.append(
            f"| {wave} | {BURST_ARTICLES} | {codes.count(200) + codes.count(202)} | "
            f"{codes.count(429)} | {codes.count(503)} | {codes.count(500)} |"
        )
    finals = [wait_done(base, url)["status"] for url in accepted_all]
    elapsed = time.monotonic() - started
    stop.set()
    sampler.join()
    return "\n".join(
        [
            f"Two waves of {BURST_ARTICLES} different 400-word articles posted at once from one "
            "client, default limits (60 creations per client per minute, queue of 64):",
            "",
            "| wave | posted | accepted | 429 | 503 | 500 |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
            f"All {len(finals)} accepted narrations finished in {elapsed:.1f} s "
            f"({finals.count('done')} done, {finals.count('failed')} failed); every refusal "
            f"carried `Retry-After`. Server process tree memory: {before:.0f} MB before, "
            f"{max(peak):.0f} MB at the peak.",
        ]
    )


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
    parser.add_argument("--range-s", type=int, default=60, help="wrk duration in seconds")
    parser.add_argument("--connections", type=int, default=200, help="wrk connections")
    parser.add_argument(
        "--only", choices=("range", "burst", "soak"), action="append", help="run only these parts"
    )
    options = parser.parse_args()
    parts = options.only or ["range", "burst", "soak"]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    sections = []
    with tempfile.TemporaryDirectory() as folder:
        cache = Path(folder) / "cache"
        cache.mkdir()
        with running_server(cache) as base:
            if "range" in parts:
                sections.append("### 200 listeners of one narration\n\n" + range_listeners(
                    base, options.range_s, options.connections
                ))  # fmt: skip
                print(sections[-1], flush=True)
            if "burst" in parts:
                sections.append("### A burst of new articles\n\n" + burst(base))
                print(sections[-1], flush=True)
        if "soak" in parts:
            cache = Path(folder) / "soak-cache"
            cache.mkdir()
            with running_server(cache) as base:
                sections.append("### Soak\n\n" + soak(base, options.soak_s))
                print(sections[-1], flush=True)
    markdown = (
        "## Load (`python -m bench.load`)\n\n"
        "The real server on loopback with default settings (one web process, "
        f"{psutil.cpu_count()} engine workers); the load generators run on the same machine.\n\n"
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
