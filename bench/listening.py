"""Listening statistics and feeds under load: nothing lost, nothing doubled, feeds fast.

1. 200 simulated listeners, each sending one listening event a second for 60 s
   (play, each paragraph reached, the quartiles, a speed change, then time
   listened), as JSON bodies through the code path the endpoint runs: parse,
   check against the narration's plan, drop repeats, count, flush every
   second. Narrations are plans of real article bodies (``../shared/aeb-dev``).
   Two set-ups: one web process on SQLite with milestones in memory (the
   default install), and two web "nodes" (threads with their own recorders)
   sharing Redis and PostgreSQL. The stored counts must equal what was sent.
2. How many events a second the path takes when pushed (the same events, no
   waiting), with counts flushed in batches against an upsert per event, on
   SQLite and on PostgreSQL with durability on: why counts are batched.
3. A feed of 1,000 narrations (titles and first paragraphs of real articles):
   reading the collection and writing the RSS (the whole answer but HTTP),
   writing alone, and the conditional GET's check (settle, stamp).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.results import write_section
from harness.devset import truths
from harness.postgres_server import PostgresServer, running_postgres
from harness.redis_server import running_redis
from service.config import Settings
from service.db import Database, open_database
from service.db.collections import collection_stamp, feed_source, file_narration, put_collection
from service.db.stats import QUARTILE_COUNTERS, CountBatch, narration_stats
from service.jobs.rq import connect
from service.library.filing import settle
from service.listening.events import parse_events
from service.listening.milestones import MemoryMilestones, Milestones, RedisMilestones
from service.listening.recorder import Recorder, StoredParagraphCounts
from service.pipeline.objects import plan_object
from service.pipeline.prepare import prepare_plan
from service.publish.channel import FiledNarration, parse_channel, summary_of
from service.publish.feed import FeedLinks, build_feed, feed_stamp
from service.store import Store, open_store
from service.text.load import load_article

LISTENERS = 200
SECONDS = 60
NARRATIONS = 8
FEED_ITEMS = 1000
FEED_RUNS = 31
PUSHED_EVENTS = 6000
LINKS = FeedLinks("https://listen.example.com")


def _bodies() -> list[str]:
    bodies = [page["articleBody"] for _key, page in sorted(truths().items())]
    return [b for b in bodies if sum(c.isascii() for c in b) / max(1, len(b)) > 0.99]


def plan_narrations(settings: Settings, folder: Path) -> tuple[Store, list[tuple[str, int]]]:
    """Plan real articles into a store, as creating narrations does; return ids and sizes."""
    store = open_store(settings.store)
    planned = []
    for index, body in enumerate(_bodies()[:NARRATIONS]):
        source = folder / f"article-{index}.txt"
        source.write_text(f"Article {index}\n\n{body}\n", encoding="utf-8")
        plan = prepare_plan(load_article(str(source), settings.input), settings)
        store.put(plan_object(plan.narration_id), plan.to_json().encode())
        planned.append((plan.narration_id, len(plan.blocks)))
    return store, planned


def listener_events(
    listener: int, narration_id: str, blocks: int, rng: random.Random
) -> list[dict[str, object]]:
    """Return one listener's 60 events, a second apart: play, paragraphs, quartiles, speed, time."""
    session = f"bench-listener-{listener:05d}-{rng.getrandbits(48):012x}"
    base = {"narration_id": narration_id, "session": session}
    reach = rng.randint(min(5, blocks), blocks)  # where this listener stops
    events: list[dict[str, object]] = [{**base, "type": "play"}]
    crossed = set()
    for index in range(reach):
        events.append({**base, "type": "paragraph", "index": index, "seconds": 1.0})
        for quartile in (25, 50, 75, 100):
            if quartile not in crossed and (index + 1) * 100 >= quartile * blocks:
                crossed.add(quartile)
                events.append({**base, "type": "progress", "quartile": quartile, "seconds": 0.5})
        if index == 2:
            events.append({**base, "type": "speed", "value": rng.choice((1.25, 1.5, 2.0))})
    events = events[:SECONDS]
    while len(events) < SECONDS:
        events.append({**base, "type": "seconds", "seconds": 1.0})
    return events


def expected_counts(events: Sequence[dict[str, object]], day: dt.date) -> CountBatch:
    """Return what ``events`` must add up to (every milestone in them is a first)."""
    expected = CountBatch()
    for event in events:
        key = (str(event["narration_id"]), day)
        kind = event["type"]
        if "seconds" in event:
            expected.add_day(key, "listened_ms", round(float(event["seconds"]) * 1000))  # type: ignore[arg-type]
        if kind == "play":
            expected.add_day(key, "plays")
        elif kind == "progress":
            expected.add_day(key, QUARTILE_COUNTERS[int(event["quartile"])])  # type: ignore[call-overload]
        elif kind == "paragraph":
            expected.add_paragraph((key[0], day, int(event["index"])))  # type: ignore[call-overload]
        elif kind == "speed":
            expected.add_day(key, "speed_changes")
    return expected


def stored_counts(
    database: Database, narrations: Sequence[tuple[str, int]], day: dt.date
) -> CountBatch:
    """Return what the database holds for ``narrations`` on ``day``, as a batch."""
    stored = CountBatch()
    with database.session() as session:
        for narration_id, blocks in narrations:
            stats = narration_stats(
                session, narration_id, since=day, until=day, paragraph_count=blocks
            )
            if not stats.plays and not any(stats.paragraphs):
                continue
            totals = stats.totals
            key = (narration_id, day)
            stored.days[key] = [
                totals.plays,
                *(totals.quartiles[q] for q in (25, 50, 75, 100)),
                totals.listened_ms,
                totals.speed_changes,
            ]
            for index, reached in enumerate(stats.paragraphs):
                if reached:
                    stored.paragraphs[(narration_id, day, index)] = reached
    return stored


@dataclass
class LoadRun:
    """What one 60-second run measured."""

    name: str
    sent: int = 0
    errors: list[str] = field(default_factory=list)
    record_ms: list[float] = field(default_factory=list)
    flush_ms: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    exact: bool = False
    totals: dict[str, int] = field(default_factory=dict)


class TimedRecorder(Recorder):
    """A recorder that times its flushes."""

    flush_times: list[float]

    def flush(self) -> int:
        started = time.perf_counter()
        written = super().flush()
        if written:
            self.flush_times.append((time.perf_counter() - started) * 1000)
        return written


def pace_listeners(
    scripts: Sequence[Sequence[dict[str, object]]],
    send: Callable[[int, random.Random, dict[str, object]], str | None],
) -> tuple[list[float], list[str], float]:
    """Play each listener's script on its own thread, one event a second, as a page would.

    Each listener starts at its own offset within the first second (they do not
    all tick at once) and sends with ``send(index, rng, event)``, which returns an error
    or None. Return each sent event's time in ms, the errors, and the wall time.
    """
    took_ms: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = time.monotonic() + 1.0

    def listener(index: int) -> None:
        rng = random.Random(index)
        offset = rng.random()
        for second, event in enumerate(scripts[index]):
            delay = start + offset + second - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            began = time.perf_counter()
            error = send(index, rng, event)
            took = (time.perf_counter() - began) * 1000
            with lock:
                if error is None:
                    took_ms.append(took)
                else:
                    errors.append(error)

    threads = [threading.Thread(target=listener, args=(i,)) for i in range(len(scripts))]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return took_ms, errors, time.monotonic() - began


def run_listeners(
    name: str,
    database: Database,
    store: Store,
    narrations: Sequence[tuple[str, int]],
    milestones: Sequence[Milestones],
) -> LoadRun:
    """Run 200 listeners for 60 s against one recorder per node; check the stored counts."""
    rng = random.Random(19)
    scripts = [listener_events(i, *narrations[i % len(narrations)], rng) for i in range(LISTENERS)]
    day = dt.datetime.now(dt.UTC).date()
    nodes = []
    for node_milestones in milestones:
        node = TimedRecorder(database, node_milestones, StoredParagraphCounts(store))
        node.flush_times = []
        node.start(1.0)
        nodes.append(node)
    run = LoadRun(name)

    def send(index: int, rng: random.Random, event: dict[str, object]) -> str | None:
        node = nodes[rng.randrange(len(nodes))]  # a load balancer's choice
        try:
            node.record(parse_events(json.dumps(event).encode()))
        except Exception as error:  # counted and reported: the figure is 0
            return f"{type(error).__name__}: {error}"
        return None

    run.record_ms, run.errors, run.wall_s = pace_listeners(scripts, send)
    run.sent = len(run.record_ms)
    for node in nodes:
        node.close()
        run.flush_ms += node.flush_times
    expected = expected_counts([e for script in scripts for e in script], day)
    stored = stored_counts(database, narrations, day)
    run.exact = stored.days == expected.days and stored.paragraphs == expected.paragraphs
    run.totals = {
        "plays": stored.total("plays"),
        "completions": stored.total("reached_100"),
        "paragraphs": sum(stored.paragraphs.values()),
        "expected paragraphs": sum(expected.paragraphs.values()),
    }
    return run


def pushed_rate(
    database: Database, store: Store, narrations: Sequence[tuple[str, int]], *, batched: bool
) -> float:
    """Return events a second through the path when pushed; per-event upserts unless ``batched``."""
    rng = random.Random(7)
    events = [
        e
        for i in range(PUSHED_EVENTS // SECONDS)
        for e in listener_events(10_000 + i, *narrations[i % len(narrations)], rng)
    ]
    recorder = Recorder(database, MemoryMilestones(), StoredParagraphCounts(store))
    started = time.perf_counter()
    last_flush = started
    for event in events:
        recorder.record(parse_events(json.dumps(event).encode()))
        now = time.perf_counter()
        if not batched or now - last_flush >= 1.0:
            recorder.flush()
            last_flush = now
    recorder.flush()
    return len(events) / (time.perf_counter() - started)


@contextmanager
def durable_postgres() -> Iterator[PostgresServer]:
    """Run PostgreSQL as production would: fsync and synchronous commits on."""
    import psycopg

    with running_postgres() as server:
        with psycopg.connect(server.url(), autocommit=True) as connection:
            for setting in ("fsync", "synchronous_commit", "full_page_writes"):
                connection.execute(f"ALTER SYSTEM SET {setting} = on")
            connection.execute("SELECT pg_reload_conf()")
        yield server


def feed_figures(database: Database, store: Store) -> dict[str, float]:
    """Fill a collection with 1,000 real-looking narrations; time its feed (medians, ms)."""
    bodies = _bodies()
    with database.session() as session:
        put_collection(
            session,
            parse_channel(
                "daily",
                {
                    "title": "The Daily Read",
                    "description": "Our stories, read aloud.",
                    "author": "Harbour Gazette",
                    "language": "en",
                    "image_url": "https://news.example/podcast.jpg",
                    "category": "News/Daily News",
                    "owner_email": "podcast@news.example",
                },
            ),
        )
        base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        for index in range(FEED_ITEMS):
            body = bodies[index % len(bodies)]
            paragraphs = [p for p in body.split("\n") if p.strip()]
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
                filed_at=base + dt.timedelta(hours=index),
            )

    def whole() -> bytes:
        with database.session() as session:
            settle(session, store, "daily")
            source = feed_source(session, "daily")
        return build_feed(source.channel, source.items, LINKS, updated_at=source.stamp.updated_at)

    with database.session() as session:
        source = feed_source(session, "daily")

    def build_only() -> bytes:
        return build_feed(source.channel, source.items, LINKS, updated_at=source.stamp.updated_at)

    def conditional() -> str:
        with database.session() as session:
            settle(session, store, "daily")
            found = collection_stamp(session, "daily")
        return feed_stamp("daily", found.created_at, found.revision, found.updated_at, LINKS).etag

    figures = {
        "whole": _median_ms(whole),
        "build": _median_ms(build_only),
        "conditional": _median_ms(conditional),
        "bytes": float(len(whole())),
    }
    return figures


def _median_ms(action: Callable[[], object]) -> float:
    action()  # warm
    times = []
    for _ in range(FEED_RUNS):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _load_row(run: LoadRun) -> str:
    ms = sorted(run.record_ms) or [0.0]
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    flush = statistics.median(run.flush_ms) if run.flush_ms else 0.0
    flush_max = max(run.flush_ms, default=0.0)
    return (
        f"| {run.name} | {run.sent:,} in {run.wall_s:.0f} s | {len(run.errors)} | "
        f"{statistics.median(ms):.2f} / {p99:.2f} | {flush:.1f} / {flush_max:.1f} | "
        f"{run.totals['plays']} / {run.totals['completions']} / {run.totals['paragraphs']:,} | "
        f"{'yes' if run.exact else '**no**'} |"
    )


def main() -> None:
    """Run the three measurements and record them."""
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-listening-")))
        settings = Settings.from_env({}, cache_dir=folder / "cache")
        store, narrations = plan_narrations(settings, folder)
        print(
            f"{len(narrations)} narrations, {sum(b for _, b in narrations)} paragraphs", flush=True
        )
        postgres = stack.enter_context(durable_postgres())
        redis = stack.enter_context(running_redis())

        def database(kind: str) -> Database:
            url = f"sqlite:///{folder / f'{kind}-{time.monotonic_ns()}.db'}"
            if kind == "postgresql":
                url = postgres.create_database()
            opened = open_database(settings.replace(database_url=url), migrate=True)
            stack.callback(opened.dispose)
            return opened

        runs = [
            run_listeners(
                "one process, SQLite, milestones in memory",
                database("sqlite"),
                store,
                narrations,
                [MemoryMilestones()],
            ),
        ]
        print(_load_row(runs[-1]), flush=True)
        shared = [RedisMilestones(connect(redis.url)) for _ in range(2)]
        runs.append(
            run_listeners(
                "two nodes, PostgreSQL + Redis", database("postgresql"), store, narrations, shared
            )
        )
        print(_load_row(runs[-1]), flush=True)
        rates = {}
        for kind in ("sqlite", "postgresql"):
            for batched in (True, False):
                rates[(kind, batched)] = pushed_rate(
                    database(kind), store, narrations, batched=batched
                )
                print(
                    kind,
                    "batched" if batched else "per event",
                    f"{rates[(kind, batched)]:.0f}/s",
                    flush=True,
                )
        feeds = {kind: feed_figures(database(kind), store) for kind in ("sqlite", "postgresql")}
        print(feeds, flush=True)
    errors = [e for run in runs for e in run.errors][:3]
    lines = [
        "## Listening statistics and feeds (`python -m bench.listening`)",
        "",
        f"{LISTENERS} simulated listeners, each sending one event a second for {SECONDS} s "
        f"(play, each paragraph, the quartiles, a speed change, then time listened) on "
        f"{len(narrations)} planned narrations of real articles, as JSON through the "
        "endpoint's path (parse, check against the plan, drop repeats, count, flush every "
        "second). Counts are read back and compared with what was sent, counter by counter.",
        "",
        "| set-up | events counted | errors | record ms median / p99 | flush ms median / max "
        "| plays / completions / paragraphs stored | stored = sent |",
        "|---|---|---|---|---|---|---|",
        *(_load_row(run) for run in runs),
        "",
        *(f"- error: {e}" for e in errors),
        f"Pushed without waiting ({PUSHED_EVENTS:,} events, one thread), events a second "
        "through the path; PostgreSQL with fsync and synchronous commits on:",
        "",
        "| database | counts flushed every second | one upsert per event | ratio |",
        "|---|---|---|---|",
        *(
            f"| {kind} | {rates[(kind, True)]:,.0f} | {rates[(kind, False)]:,.0f} | "
            f"{rates[(kind, True)] / rates[(kind, False)]:.1f}x |"
            for kind in ("sqlite", "postgresql")
        ),
        "",
        f"A feed of {FEED_ITEMS:,} narrations ({feeds['sqlite']['bytes'] / 1024:,.0f} KiB of RSS), "
        f"medians of {FEED_RUNS} runs, target <= 100 ms for the whole answer and <= 10 ms for a "
        "conditional GET (in process; through the server: `bench.listening_http`):",
        "",
        "| database | read + write the feed | write only | conditional check (settle + stamp) |",
        "|---|---|---|---|",
        *(
            f"| {kind} | {f['whole']:.1f} ms | {f['build']:.1f} ms | {f['conditional']:.2f} ms |"
            for kind, f in feeds.items()
        ),
    ]
    write_section("listening", "\n".join(lines))
    if any(run.errors or not run.exact for run in runs):
        raise SystemExit("listening counts were lost, doubled, or refused")


if __name__ == "__main__":
    main()
