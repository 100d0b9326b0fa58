"""Slow clients: hundreds of connections that each would hold a thread, and everyone else.

Runs the real server (``listen serve``, default settings) on a loopback port,
then keeps ``--connections`` connections open at once for ``--hold-s``
seconds, a third of each kind, each from its own loopback address (as many
clients, so no per-client limit is what saves the service):

- headers never finished (``GET /healthz HTTP/1.1`` and one header, no blank line);
- downloads of a finished 20 MB ``audio.mp3`` whose reader takes nothing
  (a 4 KiB receive buffer, never read);
- live streams of a long narration being made, never read (a new one is
  started whenever the last is done, so one is always in the making).

A connection the server closes (a timeout, a refusal) is opened again at once,
so the count stays where it is. Meanwhile a prober asks ``/healthz`` four times
a second (latency median and p99; a probe that takes over 5 s is a failure),
a publisher creates a new small narration and times it until it is done, and
the server's memory (every process: nginx, gunicorn, web and engine workers)
is sampled each second.

The same runs, for ``--baseline-hold-s``, with eSpeak NG reading English (the
memory of a server without the natural voice loaded) and against gunicorn alone
(``LISTEN_FRONT=none``, the server as it faced clients before the front), side
by side in the same command.

    python -m bench.slow [--connections 500] [--hold-s 60] [--baseline-hold-s 30]
"""

from __future__ import annotations

import argparse
import json
import resource
import select
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from bench.results import write_section
from harness.api import call, wait_done
from harness.corpus import article_text
from harness.webserver import running_server, server_process

LARGE_WORDS = 9_800
"""About 20 MB of MP3 at the default 48 kbps."""
LONG_WORDS = 45_000
"""Near the longest article allowed: its narration stays in progress through the run."""
PROBE_EVERY_S = 0.25
PROBE_TIMEOUT_S = 5.0
KINDS = ("headers", "download", "stream")
POLL_EVENTS = select.POLLHUP | select.POLLERR | select.POLLRDHUP | select.POLLIN


@dataclass
class Held:
    """One held connection: its kind, and whether its answer's status was read."""

    kind: str
    sock: socket.socket
    address: str
    status_read: bool = False


@dataclass
class Attack:
    """Keep ``count`` slow connections open against one server until told to stop."""

    base: str
    count: int
    large_url: str
    stream_url: str
    held: dict[int, Held] = field(default_factory=dict)
    opened: Counter[str] = field(default_factory=Counter)
    closed_by_server: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    open_failures: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    next_address: int = 0

    def address(self) -> str:
        """Return the next client address: 127.1.x.y, one per connection."""
        self.next_address += 1
        number = self.next_address % 60_000 + 1
        return f"127.1.{number // 250}.{number % 250 + 1}"

    def open(self, kind: str, poller: select.poll) -> None:
        parts = urllib.parse.urlsplit(self.base)
        sock = socket.socket()
        if kind == "download":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        address = self.address()
        try:
            sock.bind((address, 0))
            sock.settimeout(5)
            sock.connect((parts.hostname or "127.0.0.1", parts.port or 80))
        except OSError:
            sock.close()
            self.open_failures += 1
            return
        sock.setblocking(False)
        if kind == "headers":
            request = b"GET /healthz HTTP/1.1\r\nHost: listen.test\r\n"
        else:
            path = self.large_url if kind == "download" else self.stream_url
            request = f"GET {path} HTTP/1.1\r\nHost: listen.test\r\n\r\n".encode()
        try:
            sock.send(request)
        except OSError:
            sock.close()
            self.open_failures += 1
            return
        self.held[sock.fileno()] = Held(kind, sock, address)
        self.opened[kind] += 1
        events = POLL_EVENTS if kind == "stream" else POLL_EVENTS & ~select.POLLIN
        poller.register(sock, events)

    def run(self) -> None:
        poller = select.poll()
        for index in range(self.count):
            self.open(KINDS[index % len(KINDS)], poller)
        while not self.stop.is_set():
            for fd, event in poller.poll(200):
                held = self.held.get(fd)
                if held is None:
                    continue
                if held.kind == "stream" and not held.status_read and event & select.POLLIN:
                    self.read_status(held, poller)
                    if not event & (select.POLLHUP | select.POLLRDHUP | select.POLLERR):
                        continue
                if event & (select.POLLHUP | select.POLLRDHUP | select.POLLERR):
                    poller.unregister(fd)
                    del self.held[fd]
                    held.sock.close()
                    self.closed_by_server[held.kind] += 1
                    self.open(held.kind, poller)
            while len(self.held) < self.count and not self.stop.is_set():
                self.open(KINDS[len(self.held) % len(KINDS)], poller)
        for held in self.held.values():
            held.sock.close()

    def read_status(self, held: Held, poller: select.poll) -> None:
        """Read a stream's status line once, then stop reading it (a reader that stalls)."""
        try:
            head = held.sock.recv(256)
        except OSError:
            return
        held.status_read = True
        if head.startswith(b"HTTP/"):
            self.statuses[head.split(b" ", 2)[1].decode()] += 1
        poller.modify(held.sock, POLL_EVENTS & ~select.POLLIN)


@dataclass
class Probe:
    """Ask /healthz at a steady pace; keep each answer's time, or count a failure."""

    base: str
    latencies_s: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                code = call(self.base, "/healthz", timeout_s=PROBE_TIMEOUT_S)[0]
            except OSError as error:
                self.failures.append(type(error).__name__)
            else:
                if code == 200:
                    self.latencies_s.append(time.monotonic() - started)
                else:
                    self.failures.append(str(code))
            self.stop.wait(max(0.0, PROBE_EVERY_S - (time.monotonic() - started)))


ROLES = ("front", "web", "engines")


@dataclass
class Memory:
    """One sample of the server's memory, in MB: each process's PSS summed, and its RSS.

    PSS counts a page shared by n processes as 1/n in each, so the sum is what the
    server holds; the RSS sum counts every shared library and every page a worker
    shares with its parent once per process.
    """

    pss_mb: dict[str, float]
    rss_mb: float

    @property
    def total_mb(self) -> float:
        return sum(self.pss_mb.values())


def role_of(process: psutil.Process) -> str:
    if process.name().startswith("nginx"):
        return "front"
    if any("multiprocessing" in part for part in process.cmdline()):
        return "engines"  # the engine workers and their resource tracker
    return "web"


def tree_memory(base: str) -> Memory:
    """Return the memory of every server process (nginx included), by role."""
    root = server_process(base)
    pss = dict.fromkeys(ROLES, 0.0)
    rss = 0.0
    for process in [root, *root.children(recursive=True)]:
        try:
            info = process.memory_full_info()
            role = role_of(process)
        except psutil.NoSuchProcess:
            continue
        pss[role] += info.pss / 1e6
        rss += info.rss / 1e6
    return Memory(pss, rss)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@dataclass
class Outcome:
    """What one server went through."""

    label: str
    connections: int
    hold_s: float
    attack: Attack
    probe: Probe
    narration_s: float | None
    memory: list[Memory]
    large_mb: float
    longs: int
    """Long narrations started: a new one whenever the last one was done."""

    def peak_row(self) -> str:
        peak = max(self.memory, key=lambda sample: sample.total_mb)
        parts = ", ".join(f"{role} {peak.pss_mb[role]:.0f}" for role in ROLES)
        rss = max(sample.rss_mb for sample in self.memory)
        return f"{peak.total_mb:.0f} MB ({parts}) | {rss:.0f} MB"

    def row(self) -> str:
        latencies = self.probe.latencies_s
        median = f"{statistics.median(latencies) * 1000:.0f} ms" if latencies else "-"
        p99 = f"{percentile(latencies, 0.99) * 1000:.0f} ms" if latencies else "-"
        probes = len(latencies) + len(self.probe.failures)
        made = f"{self.narration_s:.1f} s" if self.narration_s is not None else "not done"
        statuses = ", ".join(f"{n} × {s}" for s, n in sorted(self.attack.statuses.items()))
        return (
            f"| {self.label} | {probes} | {len(self.probe.failures)} | {median} | {p99} | "
            f"{made} | {self.peak_row()} | "
            f"{statuses or 'none answered'} |"
        )


def run_one(label: str, env: dict[str, str], connections: int, hold_s: float) -> Outcome:
    """Start a server, make the narrations, hold the connections, and measure."""
    with tempfile.TemporaryDirectory() as folder:
        cache = Path(folder) / "cache"
        cache.mkdir()
        with running_server(cache, env=env) as base:
            _code, _h, body = call(
                base, "/api/narrations", body={"text": article_text(LARGE_WORDS)}
            )
            large = wait_done(base, json.loads(body)["status_url"])
            large_mb = int(call(base, large["audio_url"])[1]["Content-Length"]) / 1e6
            long = create_long(base, seed=77)
            attack = Attack(base, connections, large["audio_url"], long["stream_url"])
            probe = Probe(base)
            memory: list[Memory] = []
            newcomer = Newcomer(base, delay_s=min(10.0, hold_s / 3), hold_s=hold_s)
            threads = [
                threading.Thread(target=attack.run),
                threading.Thread(target=probe.run),
                threading.Thread(target=newcomer.run),
            ]
            for thread in threads:
                thread.start()
            started = time.monotonic()
            longs = 1
            while time.monotonic() - started < hold_s:
                if status_of(base, long) in ("done", "failed"):  # keep one in the making
                    long = create_long(base, seed=77 + longs)
                    attack.stream_url = long["stream_url"]
                    longs += 1
                memory.append(tree_memory(base))
                time.sleep(1.0)
            attack.stop.set()
            probe.stop.set()
            for thread in threads:
                thread.join()
            narration_s = newcomer.done_after_s
            print(f"{label}: {longs} long narrations were started", file=sys.stderr)
    return Outcome(label, connections, hold_s, attack, probe, narration_s, memory, large_mb,
                   longs)  # fmt: skip


@dataclass
class Newcomer:
    """A publisher who creates a new small narration during the run and waits for it."""

    base: str
    delay_s: float
    hold_s: float
    done_after_s: float | None = None
    """Seconds from posting it until its status said done (None: not within the run)."""

    def run(self) -> None:
        started = time.monotonic()
        time.sleep(self.delay_s)
        made = create_small(self.base)
        if "status_url" not in made:
            return
        while time.monotonic() - started < self.hold_s:
            if status_of(self.base, made) == "done":
                self.done_after_s = time.monotonic() - made["created"]
                return
            time.sleep(0.1)


def status_of(base: str, made: dict[str, Any]) -> str:
    """Return a narration's status, or "unknown" when the server does not answer in time."""
    try:
        return str(
            json.loads(call(base, made["status_url"], timeout_s=PROBE_TIMEOUT_S)[2])["status"]
        )
    except OSError:
        return "unknown"


def create_long(base: str, seed: int) -> dict[str, Any]:
    """Start a long narration; return its answer once it is running."""
    _code, _h, body = call(
        base, "/api/narrations", body={"text": article_text(LONG_WORDS, seed=seed)}
    )
    made = dict(json.loads(body))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and status_of(base, made) == "queued":
        time.sleep(0.2)
    return made


def create_small(base: str) -> dict[str, Any]:
    """Create a new 60-word narration; return its answer with the time it was sent."""
    created = time.monotonic()
    text = article_text(60, seed=int(created))
    try:
        code, _h, body = call(base, "/api/narrations", body={"text": text}, timeout_s=10)
    except OSError as error:
        print(f"creating a narration failed: {error}", file=sys.stderr)
        return {"created": created}
    answer = json.loads(body) if code in (200, 202) else {}
    return {**answer, "created": created}


def main() -> None:
    """Run the front and gunicorn alone, and write the slow-clients section of RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=500)
    parser.add_argument("--hold-s", type=float, default=60.0)
    parser.add_argument("--baseline-hold-s", type=float, default=30.0)
    options = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    outcomes = [
        run_one("nginx in front (default)", {}, options.connections, options.hold_s),
        run_one(
            "nginx in front, eSpeak NG reading English (`LISTEN_VOICE=pyttsx3:gmw/en-us`)",
            {"LISTEN_VOICE": "pyttsx3:gmw/en-us"},
            options.connections,
            options.baseline_hold_s,
        ),
        run_one(
            "gunicorn alone (`LISTEN_FRONT=none`)",
            {"LISTEN_FRONT": "none"},
            options.connections,
            options.baseline_hold_s,
        ),
    ]
    ours = outcomes[0]
    lines = [
        "## Slow clients (`python -m bench.slow`)",
        "",
        f"{options.connections} connections held open at once, each from its own loopback "
        "address, a third of each kind: headers never finished, downloads of a finished "
        f"{ours.large_mb:.1f} MB MP3 never read (4 KiB receive buffer), live streams of a "
        f"{LONG_WORDS:,}-word narration being made never read. A connection the server "
        "closes is opened again at once. Meanwhile `/healthz` is asked 4 times a second (a "
        f"probe over {PROBE_TIMEOUT_S:g} s fails), a new 60-word narration is created and "
        "timed until done, and the memory of every server process is sampled each second. "
        "Default settings otherwise (32 web threads, 2 engine workers). Memory is each "
        "process's PSS summed (a page shared by n processes counts 1/n in each: what the "
        "server holds), by role (nginx; the web processes; the engine workers with their "
        "resource tracker); the RSS sum beside it counts shared pages once per process.",
        "",
        "| server | probes | failed | `/healthz` median | p99 | new narration done in | "
        "peak memory, PSS (by role) | peak memory, RSS summed | live streams answered |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
        *(outcome.row() for outcome in outcomes),
        "",
    ]
    for outcome in outcomes:
        attack = outcome.attack
        lines.append(
            f"- {outcome.label}, held {outcome.hold_s:.0f} s: connections opened "
            + ", ".join(f"{kind} {attack.opened[kind]}" for kind in KINDS)
            + "; closed by the server "
            + ", ".join(f"{kind} {attack.closed_by_server[kind]}" for kind in KINDS)
            + f"; failed to connect {attack.open_failures}; long narrations in the making: "
            f"{outcome.longs} (a new one whenever the last was done)."
        )
    markdown = "\n".join(lines)
    print(markdown, flush=True)
    write_section("slow", markdown)


if __name__ == "__main__":
    main()
