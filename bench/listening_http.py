"""Listening statistics and feeds over HTTP, through the real server (``listen serve``).

1. 200 simulated listeners, each sending one event a second for 60 s to
   ``POST /api/events`` as a beacon does (a text/plain JSON body, a new
   connection), each from its own loopback address (127.0.x.y), so the
   per-client rate limit sees 200 clients as it would in the field. The
   narrations are plans of real article bodies (``../shared/aeb-dev``). Two
   set-ups: the default install (one server, SQLite, milestones in memory) and
   two servers sharing Redis and PostgreSQL, each listener's events spread over
   both. Afterwards every narration's ``GET /api/narrations/{id}/stats`` must
   equal what was sent: plays, quartiles, paragraphs, seconds, speed changes.
2. ``GET /feeds/{slug}.xml`` of a collection of 1,000 narrations, whole and as
   a conditional GET (``If-None-Match``), medians over a kept-alive connection.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import random
import statistics
import tempfile
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.listening import (
    FEED_ITEMS,
    LISTENERS,
    SECONDS,
    _bodies,
    expected_counts,
    listener_events,
    pace_listeners,
    plan_narrations,
)
from bench.results import write_section
from harness.postgres_server import running_postgres
from harness.redis_server import running_redis
from harness.webserver import running_server
from service.config import Settings
from service.db import open_database
from service.db.collections import file_narration, put_collection
from service.db.stats import COUNTERS, CountBatch
from service.library import upgrade_database
from service.publish.channel import FiledNarration, parse_channel, summary_of

FEED_RUNS = 51
CHANNEL = {
    "title": "The Daily Read",
    "description": "Our stories, read aloud.",
    "author": "Harbour Gazette",
    "language": "en",
    "image_url": "https://news.example/podcast.jpg",
    "category": "News/Daily News",
}
SETTLE_S = 3.0
"""Wait after the last event: every web process flushes its counts each second."""


@dataclass
class HttpRun:
    """What one 60-second run over HTTP measured."""

    name: str
    sent: int = 0
    errors: list[str] = field(default_factory=list)
    answer_ms: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    mismatches: list[str] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)


def _address(listener: int) -> str:
    """Return listener ``listener``'s own loopback address (127.0.1.1 and up)."""
    return f"127.0.{1 + listener // 250}.{1 + listener % 250}"


def _beacon(base: str, body: bytes, source: str) -> tuple[int, bytes]:
    """POST ``body`` to ``/api/events`` as sendBeacon does, from the address ``source``."""
    parts = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(
        parts.hostname or "127.0.0.1", parts.port, timeout=30, source_address=(source, 0)
    )
    try:
        connection.request(
            "POST",
            "/api/events",
            body=body,
            headers={"Content-Type": "text/plain;charset=UTF-8", "Connection": "close"},
        )
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def run_listeners(
    name: str, bases: Sequence[str], narrations: Sequence[tuple[str, int]]
) -> HttpRun:
    """Send 200 listeners' events for 60 s to ``bases``; compare the stats read back."""
    rng = random.Random(19)
    scripts = [listener_events(i, *narrations[i % len(narrations)], rng) for i in range(LISTENERS)]
    day = dt.datetime.now(dt.UTC).date()
    run = HttpRun(name)

    def send(index: int, rng: random.Random, event: dict[str, object]) -> str | None:
        base = bases[rng.randrange(len(bases))]  # a load balancer's choice
        try:
            status, answer = _beacon(base, json.dumps(event).encode(), _address(index))
        except OSError as error:
            return f"{type(error).__name__}: {error}"
        return None if status == 204 else f"{status}: {answer[:200]!r}"

    run.answer_ms, run.errors, run.wall_s = pace_listeners(scripts, send)
    run.sent = len(run.answer_ms)
    time.sleep(SETTLE_S)
    expected = expected_counts([e for script in scripts for e in script], day)
    _compare(run, bases[0], narrations, expected, day)
    return run


def _compare(
    run: HttpRun,
    base: str,
    narrations: Sequence[tuple[str, int]],
    expected: CountBatch,
    day: dt.date,
) -> None:
    """Read every narration's stats over HTTP and note each counter that differs."""
    plays = completions = paragraphs = 0
    for narration_id, blocks in narrations:
        url = f"{base}/api/narrations/{narration_id}/stats?since={day}&until={day}"
        parts = urllib.parse.urlsplit(url)
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
        connection.request("GET", f"{parts.path}?{parts.query}")
        stats = json.loads(connection.getresponse().read())
        connection.close()
        counts = dict(zip(COUNTERS, expected.days.get((narration_id, day), [0] * 7), strict=True))
        wanted = {
            "plays": counts["plays"],
            "quartiles": {str(q): counts[f"reached_{q}"] for q in (25, 50, 75, 100)},
            "listened_s": round(counts["listened_ms"] / 1000, 1),
            "speed_changes": counts["speed_changes"],
            "paragraphs": [
                expected.paragraphs.get((narration_id, day, i), 0) for i in range(blocks)
            ],
        }
        for key, value in wanted.items():
            if stats[key] != value:
                run.mismatches.append(f"{narration_id} {key}: stored {stats[key]} != sent {value}")
        plays += stats["plays"]
        completions += stats["completions"]
        paragraphs += sum(stats["paragraphs"])
    run.totals = {"plays": plays, "completions": completions, "paragraphs": paragraphs}


def fill_feed(settings: Settings) -> None:
    """File 1,000 narrations with real titles and first paragraphs in the collection ``daily``."""
    bodies = _bodies()
    database = open_database(settings)
    try:
        with database.session() as session:
            put_collection(session, parse_channel("daily", CHANNEL))
            first = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
            for index in range(FEED_ITEMS):
                paragraphs = [p for p in bodies[index % len(bodies)].split("\n") if p.strip()]
                file_narration(
                    session,
                    ["daily"],
                    FiledNarration(
                        narration_id=f"{index:032x}",
                        title=" ".join(paragraphs[0].split()[:12]),
                        summary=summary_of([("paragraph", p) for p in paragraphs]),
                        language="en",
                        duration_ms=60_000 + 997 * index,
                        audio_bytes=360_000 + 6_011 * index,
                    ),
                    filed_at=first + dt.timedelta(hours=index),
                )
    finally:
        database.dispose()


def feed_times(base: str) -> dict[str, float]:
    """Time the feed over one kept-alive connection (ms): after a change, again, conditional.

    After a change the feed is read from the database and written (a podcast app's first
    poll after a new item); again, it is the feed the process built for that state.
    """
    parts = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)

    def get(headers: dict[str, str]) -> tuple[float, int, bytes, str]:
        began = time.perf_counter()
        connection.request("GET", "/feeds/daily.xml", headers=headers)
        answer = connection.getresponse()
        body = answer.read()
        took = (time.perf_counter() - began) * 1000
        return took, answer.status, body, answer.getheader("ETag", "")

    def change(run: int) -> None:
        channel = {**CHANNEL, "description": f"Our stories, read aloud ({run})."}
        connection.request(
            "PUT",
            "/api/collections/daily",
            body=json.dumps(channel).encode(),
            headers={"Content-Type": "application/json"},
        )
        answer = connection.getresponse()
        answer.read()
        assert answer.status == 200, answer.status

    _took, status, body, etag = get({})
    assert status == 200 and body.count(b"<item>") == FEED_ITEMS, (status, body[:300])
    changed = []
    for run in range(FEED_RUNS):
        change(run)
        took, status, body, etag = get({})
        assert status == 200, status
        changed.append(took)
    again = [get({})[0] for _ in range(FEED_RUNS)]
    conditional = []
    for _ in range(FEED_RUNS):
        took, status, _body, _etag = get({"If-None-Match": etag})
        assert status == 304, status
        conditional.append(took)
    connection.close()
    return {
        "changed": statistics.median(changed),
        "again": statistics.median(again),
        "conditional": statistics.median(conditional),
        "bytes": float(len(body)),
    }


@contextmanager
def _servers(folder: Path, count: int, env: dict[str, str]) -> Iterator[list[str]]:
    with ExitStack() as stack:
        cache = folder / "cache"
        cache.mkdir(exist_ok=True)
        yield [stack.enter_context(running_server(cache, env=env)) for _ in range(count)]


def _row(run: HttpRun) -> str:
    ms = sorted(run.answer_ms) or [0.0]
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return (
        f"| {run.name} | {run.sent:,} in {run.wall_s:.0f} s | {len(run.errors)} | "
        f"{statistics.median(ms):.1f} / {p99:.1f} | "
        f"{run.totals['plays']} / {run.totals['completions']} / {run.totals['paragraphs']:,} | "
        f"{'yes' if not run.mismatches and not run.errors else '**no**'} |"
    )


def main() -> None:
    """Run both set-ups and the feed timing; record them."""
    runs = []
    feeds = {}
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-events-")))
        env = {"LISTEN_VOICE": "pyttsx3:gmw/en-us", "LISTEN_WORKERS": "1"}

        alone = folder / "alone"
        alone.mkdir()
        settings = Settings.from_env({}, cache_dir=alone / "cache")
        _store, narrations = plan_narrations(settings, alone)
        fill_feed(settings)
        with _servers(alone, 1, env) as bases:
            runs.append(run_listeners("one server, SQLite", bases, narrations))
            print(_row(runs[-1]), *runs[-1].errors[:3], *runs[-1].mismatches[:3], flush=True)
            feeds["SQLite"] = feed_times(bases[0])
            print(feeds, flush=True)

        shared = folder / "shared"
        shared.mkdir()
        postgres = stack.enter_context(running_postgres())
        redis = stack.enter_context(running_redis())
        url = postgres.create_database()
        settings = Settings.from_env({}, cache_dir=shared / "cache", database_url=url)
        upgrade_database(settings)
        _store, narrations = plan_narrations(settings, shared)
        fill_feed(settings)
        shared_env = {**env, "LISTEN_DATABASE_URL": url, "LISTEN_REDIS_URL": redis.url}
        with _servers(shared, 2, shared_env) as bases:
            runs.append(run_listeners("two servers, PostgreSQL + Redis", bases, narrations))
            print(_row(runs[-1]), *runs[-1].errors[:3], *runs[-1].mismatches[:3], flush=True)
            feeds["PostgreSQL"] = feed_times(bases[0])
            print(feeds, flush=True)
    problems = [p for run in runs for p in (*run.errors, *run.mismatches)][:5]
    lines = [
        "## Listening events and feeds over HTTP (`python -m bench.listening_http`)",
        "",
        f"{LISTENERS} simulated listeners, each sending one event a second for {SECONDS} s to "
        "`POST /api/events` through `listen serve` (nginx in front when installed, one "
        "gunicorn process of 32 threads), as a beacon does: a text/plain JSON body on a new "
        "connection, each listener from its own loopback address. Then every narration's "
        "`GET /api/narrations/{id}/stats` is compared with what was sent, counter by counter.",
        "",
        "| set-up | events answered 204 | errors | answer ms median / p99 "
        "| plays / completions / paragraphs stored | stored = sent |",
        "|---|---|---|---|---|---|",
        *(_row(run) for run in runs),
        "",
        *(f"- problem: {p}" for p in problems),
        f"`GET /feeds/daily.xml` of {FEED_ITEMS:,} narrations "
        f"({feeds['SQLite']['bytes'] / 1024:,.0f} KiB), medians of {FEED_RUNS} requests on a "
        "kept-alive connection; targets: <= 100 ms whole, <= 10 ms conditional. After a "
        "change (the channel replaced before each request) the feed is read and written "
        "anew; asked again, it is the one the process built for that state (its ETag "
        "unchanged).",
        "",
        "| database | whole feed, after a change | whole feed, again | conditional GET (304) |",
        "|---|---|---|---|",
        *(
            f"| {kind} | {f['changed']:.1f} ms | {f['again']:.1f} ms | {f['conditional']:.2f} ms |"
            for kind, f in feeds.items()
        ),
    ]
    write_section("listening-http", "\n".join(lines))
    if problems:
        raise SystemExit("listening counts over HTTP were lost, doubled, or refused")


if __name__ == "__main__":
    main()
