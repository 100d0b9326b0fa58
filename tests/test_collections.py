"""Collections on SQLite and a real PostgreSQL: channels, filings, feeds read by feedparser."""

from __future__ import annotations

import datetime as dt
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from lxml import etree
from sqlalchemy import event

from service.config import Settings
from service.db import Database, open_database
from service.db.collections import (
    check_collections,
    collection_items,
    collection_stamp,
    collections_of,
    delete_collection,
    feed_source,
    file_narration,
    get_collection,
    list_collections,
    put_collection,
    record_audio,
    unfile_narration,
    unready_narrations,
)
from service.db.models import Base
from service.engines.pool import EnginePool
from service.errors import CollectionError, CollectionNotFoundError
from service.library.filing import file_plan, filed_narration, settle
from service.pipeline.narrate import Narrator
from service.pipeline.objects import audio_object, plan_object
from service.pipeline.prepare import prepare_plan
from service.publish.channel import (
    Channel,
    CollectionItem,
    FiledNarration,
    collection_slugs,
    parse_channel,
    summary_of,
)
from service.publish.feed import (
    ITUNES,
    PODCAST,
    FeedLinks,
    build_feed,
    feed_stamp,
    podcast_guid,
)
from service.store import open_store
from service.text.load import load_article
from tests.conftest import SEEDS

CHANNEL = {
    "title": "The Daily Read",
    "description": "Our stories, read aloud. <Every> day & night.",
    "author": "Harbour Gazette",
    "language": "en-GB",
    "image_url": "https://news.example/art/podcast.jpg",
    "category": "news/daily news",
    "explicit": False,
    "link": "https://news.example/",
    "owner_email": "podcast@news.example",
}
LINKS = FeedLinks("https://listen.example")


@pytest.fixture
def database(database_url: str, tmp_path: Path) -> Iterator[Database]:
    settings = Settings.from_env({}, cache_dir=tmp_path, database_url=database_url)
    found = open_database(settings, migrate=True)
    yield found
    found.dispose()


def _filed(index: int, *, ready: bool = True) -> FiledNarration:
    return FiledNarration(
        narration_id=f"{index:032x}",
        title=f"Story {index}",
        summary=f"The first paragraph of story {index}.",
        language="en",
        duration_ms=60_000 + index if ready else None,
        audio_bytes=360_000 + index if ready else None,
    )


def test_db_migrations_make_exactly_the_models(database: Database) -> None:
    with database.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_channel_fields_are_checked_and_normalised() -> None:
    channel = parse_channel("daily", CHANNEL)
    assert channel.category == "News/Daily News"
    assert channel.category_path == ("News", "Daily News")
    assert parse_channel("d", {"title": " A \n title ", "category": "Daily News"}).category == (
        "News/Daily News"
    )
    minimal = parse_channel("d", {"title": "T"})
    assert minimal == Channel(slug="d", title="T")
    assert minimal.as_json()["explicit"] is False


@pytest.mark.parametrize(
    ("slug", "body", "message"),
    [
        ("Daily", {"title": "T"}, "is not a collection slug"),
        ("daily-", {"title": "T"}, "is not a collection slug"),
        ("a" * 65, {"title": "T"}, "is not a collection slug"),
        ("daily\n", {"title": "T"}, "is not a collection slug"),
        ("daily", [], "a collection is a JSON object, not a list"),
        ("daily", {}, "needs a 'title'"),
        ("daily", {"title": "   "}, "needs a 'title'"),
        ("daily", {"title": 5}, "'title' is a string, not a number"),
        ("daily", {"title": "T", "titel": "x"}, "unknown collection field 'titel'"),
        ("daily", {"title": "T", "slug": "other"}, "is not the URL's 'daily'"),
        ("daily", {"title": "x" * 256}, "at most 255"),
        ("daily", {"title": "T", "description": "d" * 4001}, "at most 4000"),
        ("daily", {"title": "T\x00"}, "control characters"),
        ("daily", {"title": "T\ud800"}, "control characters"),
        ("daily", {"title": "T", "explicit": "yes"}, "'explicit' is true or false"),
        ("daily", {"title": "T", "category": "Gossip"}, "not an Apple Podcasts category"),
        ("daily", {"title": "T", "image_url": "ftp://x/a.jpg"}, "http:// or https://"),
        ("daily", {"title": "T", "image_url": "/a.jpg"}, "http:// or https://"),
        ("daily", {"title": "T", "image_url": "http://[::1/a.jpg"}, "http:// or https://"),
        ("daily", {"title": "T", "image_url": "http://x.example:99999/a.jpg"}, "http:// or"),
        ("daily", {"title": "T", "link": "https://[news.example]/"}, "http:// or https://"),
        ("daily", {"title": "T", "link": "https://a b"}, "http:// or https://"),
        ("daily", {"title": "T", "language": "english!"}, "a language tag"),
        ("daily", {"title": "T", "owner_email": "nobody"}, "an email address"),
    ],
)
def test_channel_bad_fields_are_named(slug: str, body: object, message: str) -> None:
    with pytest.raises(CollectionError, match=message):
        parse_channel(slug, body)


def test_collection_field_of_a_narration_request() -> None:
    assert collection_slugs("daily") == ("daily",)
    assert collection_slugs(["daily", "weekly", "daily"]) == ("daily", "weekly")
    assert collection_slugs([]) == ()
    for bad, message in [
        (5, "a slug or a list of slugs, not a number"),
        ({"a": 1}, "not an object"),
        (["ok", "No"], "is not a collection slug"),
        ([1], "a string, not a number"),
        (["c"] * 21, "at most 20"),
    ]:
        with pytest.raises(CollectionError, match=message):
            collection_slugs(bad)


def test_summary_is_the_first_paragraph_cut_at_a_word() -> None:
    parts = [("title", "T"), ("heading", "H"), ("paragraph", "First. " * 1000), ("paragraph", "2")]
    summary = summary_of(parts)
    assert summary.startswith("First. First.") and summary.endswith("…")
    assert len(summary) <= 4000
    assert summary_of([("title", "T"), ("list_item", "only a list")]) == "only a list"
    assert summary_of([("title", "T")]) == ""


def test_db_collections_put_list_get_delete(database: Database) -> None:
    with database.session() as session:
        assert put_collection(session, parse_channel("daily", CHANNEL)) is True
        assert put_collection(session, parse_channel("weekly", {"title": "Weekly"})) is True
    with database.session() as session:
        assert put_collection(session, parse_channel("weekly", {"title": "Weekly!"})) is False
    with database.session() as session:
        listed = list_collections(session)
        daily = get_collection(session, "daily")
    assert [(c.channel.slug, c.channel.title) for c in listed] == [
        ("daily", "The Daily Read"),
        ("weekly", "Weekly!"),
    ]
    assert daily.channel == parse_channel("daily", CHANNEL)
    assert daily.item_count == 0
    assert daily.created_at.tzinfo is not None
    assert daily.as_json()["category"] == "News/Daily News"
    with database.session() as session:
        delete_collection(session, "weekly")
    with database.session() as session:
        assert [c.channel.slug for c in list_collections(session)] == ["daily"]
        with pytest.raises(CollectionNotFoundError, match="no collection is called 'weekly'"):
            get_collection(session, "weekly")
        with pytest.raises(CollectionNotFoundError):
            delete_collection(session, "weekly")


def test_db_file_unfile_and_list_items(database: Database) -> None:
    with database.session() as session:
        put_collection(session, parse_channel("daily", {"title": "Daily"}))
        put_collection(session, parse_channel("tech", {"title": "Tech"}))
    base = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
    with database.session() as session:
        assert file_narration(session, ["daily", "tech"], _filed(1), filed_at=base) == [
            "daily",
            "tech",
        ]
        later = base + dt.timedelta(hours=1)
        assert file_narration(session, ["daily"], _filed(2, ready=False), filed_at=later) == [
            "daily"
        ]
    with database.session() as session:
        # filed again: not new, keeps its first date, keeps its audio facts
        refile = FiledNarration(_filed(1).narration_id, "Story 1, corrected", "New.", "en")
        assert (
            file_narration(session, ["daily"], refile, filed_at=base + dt.timedelta(days=3)) == []
        )
    with database.session() as session:
        items = collection_items(session, "daily")
        ready = collection_items(session, "daily", ready_only=True)
        assert collections_of(session, _filed(1).narration_id) == ["daily", "tech"]
        assert unready_narrations(session) == [_filed(2).narration_id]
        assert unready_narrations(session, "tech") == []
        summary = get_collection(session, "daily")
    assert [i.narration_id for i in items] == [_filed(2).narration_id, _filed(1).narration_id]
    first = items[1]
    assert first.filed_at == base and first.title == "Story 1, corrected"
    assert (first.duration_ms, first.audio_bytes) == (60_001, 360_001)
    assert [i.narration_id for i in ready] == [_filed(1).narration_id]
    assert (summary.item_count, summary.ready_count) == (2, 1)
    assert items[0].as_json()["ready"] is False
    with (
        database.session() as session,
        pytest.raises(CollectionNotFoundError, match="no collection is called 'dayly'"),
    ):
        file_narration(session, ["daily", "dayly"], _filed(3))
    with database.session() as session:  # nothing of the refused filing was kept
        assert len(collection_items(session, "daily")) == 2
        check_collections(session, ["daily", "tech"])
        unfile_narration(session, "tech", _filed(1).narration_id)
    with database.session() as session:
        assert collection_items(session, "tech") == []
        assert collections_of(session, _filed(1).narration_id) == ["daily"]
        with pytest.raises(CollectionNotFoundError, match="is not in the collection 'tech'"):
            unfile_narration(session, "tech", _filed(1).narration_id)
        delete_collection(session, "daily")  # its filings go with it
    with database.session() as session:
        assert collections_of(session, _filed(1).narration_id) == []


def test_db_every_change_moves_the_feed_stamp(database: Database) -> None:
    stamps = []

    def stamp() -> str:
        with database.session() as session:
            found = collection_stamp(session, "daily")
        etag = feed_stamp("daily", found.created_at, found.revision, found.updated_at, LINKS).etag
        stamps.append(etag)
        return etag

    with database.session() as session:
        put_collection(session, parse_channel("daily", {"title": "Daily"}))
    stamp()
    stamp()
    assert stamps[0] == stamps[1]  # nothing changed, same validator
    changes = [
        lambda s: put_collection(s, parse_channel("daily", {"title": "Daily 2"})),
        lambda s: file_narration(s, ["daily"], _filed(1, ready=False)),
        lambda s: record_audio(s, _filed(1).narration_id, duration_ms=5, audio_bytes=9),
        lambda s: unfile_narration(s, "daily", _filed(1).narration_id),
    ]
    for change in changes:
        with database.session() as session:
            change(session)
        stamp()
    assert len(set(stamps)) == len(stamps) - 1
    with database.session() as session:  # the same facts again change nothing
        file_narration(session, ["daily"], _filed(1))
        before = collection_stamp(session, "daily").revision
        assert (
            record_audio(session, _filed(1).narration_id, duration_ms=60_001, audio_bytes=360_001)
            == 0
        )
        assert collection_stamp(session, "daily").revision == before
    # another base URL, or a collection made again under the same slug: other validators
    with database.session() as session:
        found = collection_stamp(session, "daily")
    other = feed_stamp(
        "daily", found.created_at, found.revision, found.updated_at, FeedLinks("https://b.example")
    )
    assert other.etag != stamp()
    with database.session() as session:
        delete_collection(session, "daily")
        put_collection(session, parse_channel("daily", {"title": "Daily"}))
    assert stamp() not in stamps[:-1]


@pytest.mark.slow
def test_db_feed_source_is_two_queries_for_a_thousand_items(database: Database) -> None:
    with database.session() as session:
        put_collection(session, parse_channel("daily", {"title": "Daily"}))
        base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        for index in range(1000):
            file_narration(
                session, ["daily"], _filed(index), filed_at=base + dt.timedelta(minutes=index)
            )
    statements: list[str] = []
    event.listen(database.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with database.session() as session:
        source = feed_source(session, "daily")
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2, selects
    assert len(source.items) == 1000
    assert source.items[0].narration_id == _filed(999).narration_id
    started = time.perf_counter()
    feed = build_feed(source.channel, source.items, LINKS, updated_at=source.stamp.updated_at)
    assert time.perf_counter() - started < 5  # a sanity bound; bench/ measures the speed
    assert len(feedparser.parse(feed).entries) == 1000


def _narration(settings: Settings, pool: EnginePool, name: str):  # type: ignore[no-untyped-def]
    plan = prepare_plan(load_article(str(SEEDS / name), settings.input), settings)
    store = open_store(settings.store)
    store.put(plan_object(plan.narration_id), plan.to_json().encode())
    return plan, store


def _ffprobe_duration_s(path: Path) -> float:
    found = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(found.stdout)


@pytest.mark.slow
def test_feed_of_real_narrations_as_a_podcast_client_reads_it(
    database: Database, settings: Settings, engine_pool: EnginePool
) -> None:
    with database.session() as session:
        put_collection(session, parse_channel("daily", CHANNEL))
    plans = []
    for name in ("markdown-post.md", "short-note.txt"):
        plan, store = _narration(settings, engine_pool, name)
        with database.session() as session:  # filed when asked for, before its audio exists
            assert file_plan(session, store, ["daily"], plan) == ["daily"]
        plans.append(plan)
    with database.session() as session:
        assert settle(session, store) == 0
        assert feed_source(session, "daily").items == []  # nothing playable yet
    narrator = Narrator(settings, store, engine_pool)
    for plan in plans:
        narrator.narrate(plan)
    with database.session() as session:
        assert settle(session, store, "daily") == 2
        assert settle(session, store, "daily") == 0
        source = feed_source(session, "daily")
    feed = build_feed(source.channel, source.items, LINKS, updated_at=source.stamp.updated_at)
    assert feed == build_feed(
        source.channel, source.items, LINKS, updated_at=source.stamp.updated_at
    )

    parsed = feedparser.parse(feed)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "rss20"
    channel = parsed.feed
    assert channel.title == "The Daily Read"
    assert channel.link == "https://news.example/"
    assert channel.subtitle == "Our stories, read aloud. &lt;Every&gt; day &amp; night."
    assert channel.language == "en-GB"
    assert channel.author == "Harbour Gazette"
    assert channel.image.href == "https://news.example/art/podcast.jpg"
    assert [tag.term for tag in channel.tags] == ["News", "Daily News"]
    assert channel.podcast_locked == {"owner": "podcast@news.example"}
    assert channel.podcast_guid == podcast_guid(LINKS.feed("daily"))
    assert any(
        link.rel == "self" and link.href == "https://listen.example/feeds/daily.xml"
        for link in channel.links
    )
    assert [entry.id for entry in parsed.entries] == [p.narration_id for p in reversed(plans)]
    for entry, plan in zip(parsed.entries, reversed(plans), strict=True):
        path = store.local_path(audio_object(plan.narration_id, "mp3"))
        assert path is not None
        assert entry.title == plan.title
        assert entry.guidislink is False
        assert entry.link == f"https://listen.example/listen/{plan.narration_id}"
        assert entry.published_parsed is not None
        assert entry.summary == filed_narration(plan).summary.replace("&", "&amp;")
        (enclosure,) = entry.enclosures
        assert (
            enclosure.href == f"https://listen.example/api/narrations/{plan.narration_id}/audio.mp3"
        )
        assert enclosure.type == "audio/mpeg"
        assert int(enclosure.length) == path.stat().st_size  # the exact size of the file
        assert int(entry.itunes_duration) == round(_ffprobe_duration_s(path))
        assert entry.podcast_chapters == {
            "url": f"https://listen.example/api/narrations/{plan.narration_id}/chapters.json",
            "type": "application/json+chapters",
        }
    # namespaced elements as Apple's and Podcasting 2.0's specifications spell them
    root = etree.fromstring(feed)
    assert root.find(f"channel/{{{ITUNES}}}explicit").text == "false"
    assert root.find(f"channel/{{{ITUNES}}}category").get("text") == "News"
    locked = root.find(f"channel/{{{PODCAST}}}locked")
    assert (locked.text, locked.get("owner")) == ("yes", "podcast@news.example")
    assert root.find("channel/item/guid").get("isPermaLink") == "false"


def test_feed_without_optional_fields_is_still_a_feed() -> None:
    channel = parse_channel("bare", {"title": "Bare"})
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    items = [
        CollectionItem(f"{1:032x}", "Ünïcode & <stuff>", "", "de", now, 1499, 10),
        CollectionItem(f"{2:032x}", "Not ready", "x", "de", now, None, None),
    ]
    parsed = feedparser.parse(build_feed(channel, items, LINKS))
    assert not parsed.bozo
    assert parsed.feed.language == "de"  # the narrations' language when the channel has none
    assert parsed.feed.link == "https://listen.example/"
    assert "podcast_locked" not in parsed.feed
    assert [e.title for e in parsed.entries] == ["Ünïcode & <stuff>"]
    assert parsed.entries[0].itunes_duration == "1"
    assert parsed.entries[0].summary == "Ünïcode &amp; &lt;stuff&gt;"
