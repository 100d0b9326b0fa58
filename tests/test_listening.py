"""Listening statistics: events checked, repeats dropped, counts kept on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import inspect, text

from harness.ports import free_port
from harness.redis_server import RedisServer, running_redis
from service.config import Settings
from service.db import Database, database_url, open_database
from service.db.collections import file_narration, put_collection
from service.db.stats import CountBatch, DayStats, collection_stats, narration_stats
from service.errors import DatabaseError, ListenError, ListeningEventError, StatsUnavailableError
from service.jobs.rq import connect
from service.library.filing import filed_narration
from service.listening.events import ListeningEvent, parse_event, parse_events
from service.listening.milestones import (
    REDIS_PREFIX,
    MemoryMilestones,
    RedisMilestones,
    milestone_bit,
    session_key,
)
from service.listening.plots import dropoff_svg, funnel_svg, plays_per_day_svg
from service.listening.recorder import Recorder, StoredParagraphCounts
from service.pipeline.objects import plan_object
from service.pipeline.prepare import prepare_plan
from service.publish.channel import parse_channel
from service.store import Store, open_store
from service.text.load import load_article
from tests.conftest import SEEDS

NARRATION = "0123456789abcdef0123456789abcdef"
SESSION = "Zq3kT9_vX2-pL8mN"
DAY = dt.datetime(2026, 12, 9, 23, 59, 30, tzinfo=dt.UTC)


def _event(**fields: object) -> dict[str, object]:
    return {"narration_id": NARRATION, "session": SESSION, "type": "play", **fields}


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with running_redis() as server:
        yield server


@pytest.fixture
def database(database_url: str, tmp_path: Path) -> Iterator[Database]:
    settings = Settings.from_env({}, cache_dir=tmp_path, database_url=database_url)
    found = open_database(settings, migrate=True)
    yield found
    found.dispose()


@pytest.fixture
def narrations(settings: Settings) -> tuple[Store, list[str]]:
    """Plan two real articles into a store, as creating them does (no audio needed)."""
    store = open_store(settings.store)
    ids = []
    for name in ("markdown-post.md", "short-note.txt"):
        plan = prepare_plan(load_article(str(SEEDS / name), settings.input), settings)
        store.put(plan_object(plan.narration_id), plan.to_json().encode())
        ids.append(plan.narration_id)
    return store, ids


# -- events -----------------------------------------------------------------------------------


def test_events_of_every_kind_are_read() -> None:
    body = json.dumps(
        [
            _event(),
            _event(type="progress", quartile=50, seconds=12.5),
            _event(type="paragraph", index=3, seconds=0),
            _event(type="speed", value=1.5),
            _event(type="seconds", seconds=3600),
        ]
    )
    events = parse_events(body.encode())
    assert events == [
        ListeningEvent(NARRATION, SESSION, "play"),
        ListeningEvent(NARRATION, SESSION, "progress", quartile=50, listened_ms=12_500),
        ListeningEvent(NARRATION, SESSION, "paragraph", paragraph=3),
        ListeningEvent(NARRATION, SESSION, "speed", speed=1.5),
        ListeningEvent(NARRATION, SESSION, "seconds", listened_ms=3_600_000),
    ]
    assert parse_events(json.dumps(_event())) == [events[0]]  # one object, as text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"x" * 8193, "8193 bytes long; at most 8192"),
        (b"{nope", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[" * 5000 + b"]" * 5000, "bytes long|not JSON"),
        (b"[" * 3000 + b"]" * 3000, "not JSON|not an? "),
        (b"[]", "the list of events is empty"),
        (json.dumps([_event()] * 33).encode(), "33 events at once; at most 32"),
        (b"5", "an event is a JSON object, not a number"),
        (b"null", "not null"),
        (json.dumps(_event(ip="1.2.3.4")).encode(), "unknown event field 'ip'"),
        (json.dumps(_event(narration_id="../../etc")).encode(), "a narration's id"),
        (json.dumps(_event(narration_id=NARRATION.upper())).encode(), "a narration's id"),
        (json.dumps(_event(narration_id=5)).encode(), "a narration's id"),
        (json.dumps(_event(session="short")).encode(), "'session' must be"),
        (json.dumps(_event(session="x" * 65)).encode(), "'session' must be"),
        (json.dumps(_event(session="has space in it!!")).encode(), "'session' must be"),
        (json.dumps(_event(session=None)).encode(), "'session' must be"),
        (json.dumps(_event(type="pause")).encode(), "'type' must be one of"),
        (json.dumps(_event(type="progress")).encode(), "needs 'quartile'"),
        (json.dumps(_event(type="progress", quartile=30)).encode(), "25, 50, 75 or 100"),
        (json.dumps(_event(type="progress", quartile="50")).encode(), "25, 50, 75 or 100"),
        (json.dumps(_event(type="progress", quartile=True)).encode(), "25, 50, 75 or 100"),
        (json.dumps(_event(type="progress", quartile=50.0)).encode(), "25, 50, 75 or 100"),
        (json.dumps(_event(quartile=50)).encode(), "'quartile' belongs to 'progress'"),
        (json.dumps(_event(type="paragraph", index=-1)).encode(), "a paragraph's index"),
        (json.dumps(_event(type="paragraph", index=1.5)).encode(), "a paragraph's index"),
        (json.dumps(_event(type="paragraph", index=10**400)).encode(), "a paragraph's index"),
        (json.dumps(_event(type="speed", value=5)).encode(), "a speed from 0.25 to 4.0"),
        (
            b'{"narration_id":"%s","session":"%s","type":"speed","value":NaN}'
            % (NARRATION.encode(), SESSION.encode()),
            "a speed",
        ),
        (json.dumps(_event(seconds=-1)).encode(), "'seconds' must be"),
        (json.dumps(_event(seconds=3601)).encode(), "'seconds' must be"),
        (json.dumps(_event(seconds="3")).encode(), "'seconds' must be"),
        (
            b'{"narration_id":"%s","session":"%s","type":"play","seconds":Infinity}'
            % (NARRATION.encode(), SESSION.encode()),
            "'seconds' must be",
        ),
        (json.dumps(_event(type="seconds")).encode(), "needs 'seconds'"),
        (json.dumps([_event(), _event(type="bad")]).encode(), "^event 1: 'type' must be"),
    ],
)
def test_events_bad_ones_are_named(body: bytes, message: str) -> None:
    with pytest.raises(ListeningEventError, match=message) as caught:
        parse_events(body)
    assert "\n" not in str(caught.value)
    assert caught.value.http_status == 422


# -- milestones -------------------------------------------------------------------------------


def _marks(*events: dict[str, object]) -> list[tuple[str, int]]:
    parsed = [parse_event(e) for e in events]
    return [(session_key(e), bit) for e in parsed if (bit := milestone_bit(e)) is not None]


def test_milestones_in_memory_count_once_per_window() -> None:
    now = [0.0]
    seen = MemoryMilestones(window_s=100, timer=lambda: now[0])
    play, half = _event(), _event(type="progress", quartile=50)
    other = _event(session="another-session-id")
    assert seen.first_times(_marks(play, half, play, other)) == [True, True, False, True]
    now[0] = 90
    assert seen.first_times(_marks(half)) == [False]  # and the window starts again
    now[0] = 180
    assert seen.first_times(_marks(play)) == [False]
    now[0] = 400  # forgotten: a page view never lasts this long
    assert seen.first_times(_marks(play)) == [True]
    assert len(seen) == 1
    assert milestone_bit(parse_event(_event(type="speed", value=2))) is None


@pytest.mark.redis
def test_milestones_in_redis_are_shared_and_expire(redis_server: RedisServer) -> None:
    first = RedisMilestones(connect(redis_server.url), window_s=60)
    second = RedisMilestones(connect(redis_server.url), window_s=60)
    play, par = _event(), _event(type="paragraph", index=40)
    assert first.first_times(_marks(play, par)) == [True, True]
    assert second.first_times(_marks(par, play, _event(type="paragraph", index=41))) == [
        False,
        False,
        True,
    ]
    client = connect(redis_server.url)
    keys = [key.decode() for key in client.keys(REDIS_PREFIX + "*")]
    assert keys == [REDIS_PREFIX + session_key(parse_event(play))]
    assert SESSION not in keys[0]  # only a hash of the session id
    assert 0 < client.ttl(keys[0]) <= 60
    client.flushall()


def test_milestones_redis_down_is_a_named_503() -> None:
    gone = RedisMilestones(connect(f"redis://127.0.0.1:{free_port()}/0"))
    with pytest.raises(StatsUnavailableError, match="Redis failed") as caught:
        gone.first_times(_marks(_event()))
    assert caught.value.http_status == 503


# -- recording and statistics -----------------------------------------------------------------


def _play_through(narration_id: str, session: str, paragraphs: int) -> list[ListeningEvent]:
    events = [ListeningEvent(narration_id, session, "play")]
    for index in range(paragraphs):
        events.append(
            ListeningEvent(narration_id, session, "paragraph", paragraph=index, listened_ms=2000)
        )
    for quartile in (25, 50, 75, 100):
        events.append(ListeningEvent(narration_id, session, "progress", quartile=quartile))
    return events


def test_recorder_counts_each_milestone_once_and_stores_nothing_else(
    database: Database, narrations: tuple[Store, list[str]]
) -> None:
    store, (article, note) = narrations
    counts = StoredParagraphCounts(store)
    blocks = counts(article)
    assert blocks is not None and blocks > 5
    clock = [DAY]
    recorder = Recorder(database, MemoryMilestones(), counts, clock=lambda: clock[0])
    first = _play_through(article, "listener-one-aaaa", blocks)
    done = recorder.record(first)
    assert (done.counted, done.repeated) == (len(first), 0)
    # seeking back over what was heard, the page reloading its beacon: not counted again
    again = recorder.record(
        [*first[:3], ListeningEvent(article, "listener-one-aaaa", "speed", speed=1.5)]
    )
    assert (again.counted, again.repeated) == (1, 3)
    clock[0] = DAY + dt.timedelta(seconds=60)  # the next day (UTC)
    second = _play_through(article, "listener-two-bbbb", 3)[:4]  # stops at paragraph 2
    recorder.record(second)
    recorder.record([ListeningEvent(note, "listener-two-bbbb", "play", listened_ms=1500)])
    assert recorder.flush() > 0
    assert recorder.flush() == 0
    with database.session() as session:
        stats = narration_stats(session, article, paragraph_count=blocks)
        only_first_day = narration_stats(session, article, until=DAY.date())
        note_stats = narration_stats(session, note)
    body = stats.as_json()
    assert body["plays"] == 2 and body["completions"] == 1
    assert body["quartiles"] == {"25": 1, "50": 1, "75": 1, "100": 1}
    assert body["paragraphs"] == [2, 2, 2] + [1] * (blocks - 3)
    # time listened counts even when the milestone it came with was a repeat
    assert body["listened_s"] == (blocks + 2 + 3) * 2.0
    assert body["speed_changes"] == 1
    assert [d["day"] for d in body["days"]] == ["2026-12-09", "2026-12-10"]
    assert [d["plays"] for d in body["days"]] == [1, 1]
    assert only_first_day.plays == 1 and len(only_first_day.paragraphs) == blocks
    assert note_stats.plays == 1 and note_stats.totals.listened_ms == 1500
    # what the database holds: counts per narration, day and paragraph, and nothing else
    with database.engine.connect() as connection:
        tables = inspect(connection).get_table_names()
        dumped = " ".join(
            str(row)
            for table in tables
            for row in connection.execute(text(f"SELECT * FROM {table}"))
        )
    assert "listener-one" not in dumped and "listener-two" not in dumped
    assert session_key(first[0]) not in dumped


def test_recorder_refuses_unknown_narrations_and_paragraphs_whole(
    database: Database, narrations: tuple[Store, list[str]]
) -> None:
    store, (article, _note) = narrations
    counts = StoredParagraphCounts(store)
    recorder = Recorder(database, MemoryMilestones(), counts)
    blocks = counts(article)
    assert blocks is not None
    with pytest.raises(ListeningEventError, match="no narration with id"):
        recorder.record(
            [ListeningEvent(article, SESSION, "play"), ListeningEvent("f" * 32, SESSION, "play")]
        )
    with pytest.raises(ListeningEventError, match=f"paragraph {blocks} does not exist"):
        recorder.record([ListeningEvent(article, SESSION, "paragraph", paragraph=blocks)])
    assert not recorder.pending()
    assert recorder.record([ListeningEvent(article, SESSION, "play")]).counted == 1  # not spent


def test_recorder_keeps_counts_while_the_database_is_away(
    database: Database, narrations: tuple[Store, list[str]], tmp_path: Path
) -> None:
    store, (article, _note) = narrations
    away = Database(
        database_url(
            Settings.from_env({}, database_url=f"postgresql://u@127.0.0.1:{free_port()}/x")
        )
    )
    recorder = Recorder(away, MemoryMilestones(), StoredParagraphCounts(store))
    recorder.record(_play_through(article, "listener-one-aaaa", 2))
    with pytest.raises(DatabaseError):
        recorder.flush()
    recorder.record([ListeningEvent(article, "listener-two-bbbb", "play")])
    assert recorder.pending().total("plays") == 2
    recorder.database = database
    recorder.flush()
    with database.session() as session:
        stats = narration_stats(session, article)
    assert (stats.plays, stats.completions, stats.paragraphs) == (2, 1, [1, 1])
    away.dispose()


def test_recorder_flushes_in_the_background_and_at_close(
    database: Database, narrations: tuple[Store, list[str]]
) -> None:
    store, (article, _note) = narrations
    recorder = Recorder(database, MemoryMilestones(), StoredParagraphCounts(store))
    recorder.start(interval_s=0.1)
    recorder.record([ListeningEvent(article, "listener-one-aaaa", "play")])
    deadline = time.monotonic() + 10
    plays = 0
    while plays < 1 and time.monotonic() < deadline:
        with database.session() as session:
            plays = narration_stats(session, article).plays
        time.sleep(0.05)
    assert plays == 1
    recorder.record([ListeningEvent(article, "listener-two-bbbb", "play")])
    recorder.close()
    with database.session() as session:
        assert narration_stats(session, article).plays == 2


@pytest.mark.redis
def test_two_web_nodes_sharing_redis_and_the_database_reach_the_same_totals(
    database: Database, narrations: tuple[Store, list[str]], redis_server: RedisServer
) -> None:
    """Events of each page view land on either node, some twice; the totals come out exact."""
    store, (article, note) = narrations
    nodes = [
        Recorder(database, RedisMilestones(connect(redis_server.url)), StoredParagraphCounts(store))
        for _ in range(2)
    ]
    blocks = StoredParagraphCounts(store)(article)
    assert blocks is not None
    rng = random.Random(19)
    sent: list[list[ListeningEvent]] = [[], []]
    expected = CountBatch()
    for listener in range(40):
        narration = article if listener % 4 else note
        size = blocks if narration == article else 2
        reach = rng.randint(1, size)
        events = _play_through(narration, f"listener-{listener:04d}-xyz", reach)[: reach + 1]
        events.append(ListeningEvent(narration, f"listener-{listener:04d}-xyz", "speed", speed=2.0))
        key = (narration, DAY.date())
        expected.add_day(key, "plays")
        expected.add_day(key, "speed_changes")
        repeats = rng.sample(events[:-1], 2)  # two milestones delivered twice
        # time listened is summed as reported, repeats included
        expected.add_day(key, "listened_ms", sum(e.listened_ms for e in events + repeats))
        for index in range(reach):
            expected.add_paragraph((narration, DAY.date(), index))
        for event in events + repeats:
            sent[rng.randrange(2)].append(event)

    def run(node: Recorder, events: list[ListeningEvent]) -> None:
        for start in range(0, len(events), 7):
            node.record(events[start : start + 7])
            if start % 28 == 0:
                node.flush()

    for node in nodes:
        node._clock = lambda: DAY  # type: ignore[method-assign]
    threads = [threading.Thread(target=run, args=(n, s)) for n, s in zip(nodes, sent, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for node in nodes:
        node.close()
    assert sum(node.repeated for node in nodes) == 2 * 40
    with database.session() as session:
        for narration in (article, note):
            stats = narration_stats(session, narration)
            counts = expected.days[(narration, DAY.date())]
            assert stats.plays == counts[0]
            assert stats.totals.speed_changes == counts[6]
            assert stats.totals.listened_ms == counts[5]
            reached = [
                expected.paragraphs.get((narration, DAY.date(), index), 0)
                for index in range(len(stats.paragraphs))
            ]
            assert stats.paragraphs == reached
    connect(redis_server.url).flushall()


def test_collection_stats_sum_their_narrations(
    database: Database, narrations: tuple[Store, list[str]], settings: Settings
) -> None:
    store, (article, note) = narrations
    with database.session() as session:
        put_collection(session, parse_channel("daily", {"title": "Daily"}))
        for narration_id in (article, note):
            from service.pipeline.plan import NarrationPlan

            raw = store.get(plan_object(narration_id))
            assert raw is not None
            file_narration(session, ["daily"], filed_narration(NarrationPlan.from_json(raw)))
    recorder = Recorder(
        database, MemoryMilestones(), StoredParagraphCounts(store), clock=lambda: DAY
    )
    recorder.record(_play_through(article, "listener-one-aaaa", 2))
    recorder.record(_play_through(article, "listener-two-bbbb", 1)[:2])
    recorder.record([ListeningEvent(note, "listener-one-aaaa", "play")])
    recorder.record([ListeningEvent(article, "listener-3-cccccccc", "play")])
    recorder.flush()
    with database.session() as session:
        stats = collection_stats(session, "daily").as_json()
        with pytest.raises(ListenError, match="no collection is called 'weekly'"):
            collection_stats(session, "weekly")
        with pytest.raises(ListenError, match=r"starts .* after it ends"):
            narration_stats(
                session, article, since=DAY.date(), until=DAY.date() - dt.timedelta(days=1)
            )
        with pytest.raises(ListenError, match="days at most"):
            narration_stats(session, article, since=dt.date(1900, 1, 1), until=DAY.date())
        empty_span = narration_stats(
            session, note, since=DAY.date() - dt.timedelta(days=2), until=DAY.date()
        )
    assert stats["plays"] == 4 and stats["completions"] == 1
    assert [(n["narration_id"], n["plays"]) for n in stats["narrations"]] == [
        (article, 3),
        (note, 1),
    ]
    assert stats["narrations"][0]["title"]
    assert stats["days"] == [{**stats["days"][0], "day": "2026-12-09", "plays": 4}]
    assert [d.plays for d in empty_span.days] == [0, 0, 1]


# -- plots ------------------------------------------------------------------------------------


def _svg(markup: str) -> etree._Element:
    root = etree.fromstring(markup.encode())
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert b"<script" not in markup.encode() and "href" not in markup
    return root


def _texts(root: etree._Element) -> list[str]:
    return [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]


def test_plots_render_counts_and_say_so_when_empty() -> None:
    days = [
        DayStats(
            dt.date(2026, 12, 1) + dt.timedelta(days=i),
            plays,
            {25: plays, 50: plays, 75: 1, 100: 1},
            0,
            0,
        )
        for i, plays in enumerate([3, 0, 7])
    ]
    per_day = _svg(plays_per_day_svg(days))
    bars = per_day.findall(".//{http://www.w3.org/2000/svg}g/{http://www.w3.org/2000/svg}rect")
    assert len(bars) == 6  # plays and completions of each day
    assert max(float(b.get("height")) for b in bars) > 100
    assert "10 plays and 3 completions over 3 days" in per_day.findtext(
        "{http://www.w3.org/2000/svg}desc"
    )
    funnel = _svg(funnel_svg(DayStats(DAY.date(), 10, {25: 8, 50: 6, 75: 4, 100: 2}, 0, 0)))
    assert "2 · 20 %" in _texts(funnel) and "10 · 100 %" in _texts(funnel)
    texts = ["Title", "First paragraph " + "long " * 40]
    drop = dropoff_svg([10, 5], texts, plays=10, ids="n1")
    dropped = _svg(drop)
    assert "Title" in _texts(dropped) and "50 %" in _texts(dropped)
    assert any(t.startswith("First paragraph long") and t.endswith("…") for t in _texts(dropped))
    assert dropped.get("aria-labelledby") == "n1-title n1-desc"
    for empty in (
        plays_per_day_svg([]),
        funnel_svg(DayStats(DAY.date(), 0, {25: 0, 50: 0, 75: 0, 100: 0}, 0, 0)),
        dropoff_svg([]),
    ):
        root = _svg(empty)
        assert any("yet" in t for t in _texts(root))
