"""Collections, feeds, chapters, events and statistics through the API, on SQLite and PostgreSQL.

The feed is read by feedparser from the real server over HTTP, and every
enclosure and chapters file it names is fetched from the addresses it gives.
"""

from __future__ import annotations

import base64
import json
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import feedparser
import imageio_ffmpeg
import pytest
from flask import Flask
from flask.testing import FlaskClient

from harness.postgres_server import PostgresServer
from harness.redis_server import running_redis
from harness.webserver import running_server
from service.config import Settings
from service.library import upgrade_database
from service.web import close_app, create_app
from tests.audio_tools import ffprobe_chapters
from tests.conftest import SEEDS

CHANNEL = {
    "title": "The Daily Read",
    "description": "Our stories, read aloud.",
    "author": "Example News",
    "language": "en",
    "image_url": "https://news.example/art.png",
    "category": "News/Daily News",
    "explicit": False,
}
MARKDOWN = (SEEDS / "markdown-post.md").read_text(encoding="utf-8")
SHORT = (SEEDS / "short-note.txt").read_text(encoding="utf-8")
KEY = "publisher-key-1"
UNKNOWN = "0123456789abcdef0123456789abcdef"


def _app(tmp_path: Path, **overrides: Any) -> Iterator[Flask]:
    app = create_app({"cache_dir": tmp_path / "cache", "workers": 2, **overrides})
    app.testing = True
    yield app
    close_app(app)


@pytest.fixture
def client(tmp_path: Path, database_url: str) -> Iterator[FlaskClient]:
    upgrade_database(Settings.of(database_url=database_url))  # as `listen db upgrade` does
    for app in _app(tmp_path, database_url=database_url):
        yield app.test_client()


@pytest.fixture
def keyed(tmp_path: Path) -> Iterator[FlaskClient]:
    for app in _app(tmp_path, api_keys=KEY):
        yield app.test_client()


def _done(client: FlaskClient, narration_id: str, timeout_s: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = client.get(f"/api/narrations/{narration_id}").get_json()
        if body["status"] == "done":
            return dict(body)
        assert body["status"] != "failed", body
        time.sleep(0.05)
    raise AssertionError("the narration did not finish")


def _session() -> str:
    return secrets.token_urlsafe(16)


def _no_cookie(response: Any) -> None:
    assert "Set-Cookie" not in response.headers


@pytest.mark.slow
def test_collections_are_made_listed_filed_and_emptied(client: FlaskClient) -> None:
    made = client.put("/api/collections/daily", json=CHANNEL)
    assert made.status_code == 201, made.get_json()
    assert made.headers["Location"].endswith("/api/collections/daily")
    body = made.get_json()
    assert body["title"] == "The Daily Read" and body["category"] == "News/Daily News"
    assert body["feed_url"] == "http://localhost/feeds/daily.xml"
    again = client.put("/api/collections/daily", json={**CHANNEL, "title": "Daily"})
    assert again.status_code == 200 and again.get_json()["title"] == "Daily"
    assert client.put("/api/collections/weekly", json={"title": "Weekly"}).status_code == 201

    created = client.post(
        "/api/narrations", json={"markdown": MARKDOWN, "collection": ["daily", "weekly"]}
    )
    assert created.status_code in (200, 202), created.get_json()
    narration_id = created.get_json()["id"]
    listed = client.get("/api/collections").get_json()["collections"]
    assert [(c["slug"], c["items"]) for c in listed] == [("daily", 1), ("weekly", 1)]
    _done(client, narration_id)
    shown = client.get("/api/collections/daily").get_json()
    (item,) = shown["narrations"]
    assert item["id"] == narration_id and item["ready"] is True
    assert item["title"] == created.get_json()["title"]
    assert item["audio_bytes"] > 0 and item["duration_ms"] > 0

    # out of one collection, into it again by id, and the collection itself deleted
    gone = client.delete(f"/api/collections/weekly/items/{narration_id}")
    assert gone.status_code == 204
    assert client.get("/api/collections/weekly").get_json()["narrations"] == []
    again_gone = client.delete(f"/api/collections/weekly/items/{narration_id}")
    assert again_gone.status_code == 404
    assert again_gone.get_json()["type"].endswith("/collection-not-found")
    assert client.put(f"/api/collections/weekly/items/{narration_id}").status_code == 201
    assert client.put(f"/api/collections/weekly/items/{narration_id}").status_code == 204
    assert client.delete("/api/collections/weekly").status_code == 204
    assert client.get("/api/collections/weekly").status_code == 404
    assert client.get(f"/api/narrations/{narration_id}").status_code == 200  # the narration stays


@pytest.mark.parametrize(
    ("method", "url", "body", "status", "slug"),
    [
        ("put", "/api/collections/Daily", CHANNEL, 422, "bad-collection"),
        ("put", "/api/collections/daily", {"description": "no title"}, 422, "bad-collection"),
        ("put", "/api/collections/daily", {**CHANNEL, "explicit": "no"}, 422, "bad-collection"),
        ("put", "/api/collections/daily", {**CHANNEL, "colour": "red"}, 422, "bad-collection"),
        ("put", "/api/collections/daily", [1, 2], 400, "bad-input"),
        ("get", "/api/collections/nothing-here", None, 404, "collection-not-found"),
        ("get", "/feeds/nothing-here.xml", None, 404, "collection-not-found"),
        ("get", "/feeds/Bad_Slug.xml", None, 422, "bad-collection"),
        (
            "post",
            "/api/narrations",
            {"text": SHORT, "collection": "nowhere"},
            422,
            "bad-collection",
        ),
        ("post", "/api/narrations", {"text": SHORT, "collection": 7}, 422, "bad-collection"),
        ("post", "/api/narrations", {"text": SHORT, "collection": ["a b"]}, 422, "bad-collection"),
        (
            "post",
            "/api/narrations",
            {"text": SHORT, "collection": "daily", "format": "wav"},
            422,
            "bad-collection",
        ),
        ("get", "/api/narrations/0123456789abcdef0123456789abcdef/chapters.json", None, 404, ""),
        ("get", "/api/stats", None, 400, "bad-input"),
        ("get", "/api/stats?collection=nothing-here", None, 404, "collection-not-found"),
    ],
)
def test_publishing_refuses_bad_input_with_problem_details(
    client: FlaskClient, method: str, url: str, body: Any, status: int, slug: str
) -> None:
    client.put("/api/collections/daily", json=CHANNEL)
    answer = getattr(client, method)(url, json=body) if body is not None else client.get(url)
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert answer.mimetype == "application/problem+json"
    problem = answer.get_json()
    assert problem["status"] == status and problem["detail"]
    if slug:
        assert problem["type"].endswith("/" + slug)


def test_collection_body_that_is_not_json_is_refused(client: FlaskClient) -> None:
    answer = client.put("/api/collections/daily", data="title=x", content_type="text/plain")
    assert answer.status_code == 415 and answer.mimetype == "application/problem+json"


@pytest.mark.slow
def test_feed_conditional_get_and_chapters(client: FlaskClient) -> None:
    client.put("/api/collections/daily", json=CHANNEL)
    narration_id = client.post(
        "/api/narrations", json={"markdown": MARKDOWN, "collection": "daily"}
    ).get_json()["id"]
    early = client.get(f"/api/narrations/{narration_id}/chapters.json")
    assert early.status_code in (200, 409)  # 409 while it is being made
    _done(client, narration_id)
    first = client.get("/feeds/daily.xml")
    assert first.status_code == 200 and first.mimetype == "application/rss+xml"
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert first.headers["Cache-Control"] == "public, no-cache"
    parsed = feedparser.parse(first.data)
    assert not parsed.bozo and len(parsed.entries) == 1
    for header in ({"If-None-Match": etag}, {"If-Modified-Since": modified}):
        same = client.get("/feeds/daily.xml", headers=header)
        assert same.status_code == 304 and same.data == b"" and same.headers["ETag"] == etag
    # any change to the channel or its items changes the validators
    client.put("/api/collections/daily", json={**CHANNEL, "title": "Renamed"})
    changed = client.get("/feeds/daily.xml", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert feedparser.parse(changed.data).feed.title == "Renamed"

    chapters = client.get(f"/api/narrations/{narration_id}/chapters.json")
    assert chapters.status_code == 200 and chapters.mimetype == "application/json+chapters"
    document = json.loads(chapters.data)
    assert document["version"] == "1.2.0" and len(document["chapters"]) >= 3
    timings = client.get(f"/api/narrations/{narration_id}/timings.json").get_json()
    headings = [b["text"] for b in timings["blocks"] if b["kind"] == "heading"]
    assert [c["title"] for c in document["chapters"][1:]] == headings
    _no_cookie(chapters)
    _no_cookie(first)


@pytest.mark.slow
def test_feed_addresses_under_the_public_url_or_the_host_asked(
    tmp_path: Path, client: FlaskClient
) -> None:
    client.put("/api/collections/daily", json=CHANNEL)
    narration_id = client.post(
        "/api/narrations", json={"text": SHORT, "collection": "daily"}
    ).get_json()["id"]
    _done(client, narration_id)
    one = client.get("/feeds/daily.xml", headers={"Host": "one.example"})
    two = client.get("/feeds/daily.xml", headers={"Host": "two.example"})
    assert one.headers["ETag"] != two.headers["ETag"] and "Host" in one.headers["Vary"]
    same = client.get(
        "/feeds/daily.xml", headers={"Host": "one.example", "If-None-Match": one.headers["ETag"]}
    )
    assert same.status_code == 304 and "Host" in same.headers["Vary"]
    other = client.get(
        "/feeds/daily.xml", headers={"Host": "two.example", "If-None-Match": one.headers["ETag"]}
    )
    assert other.status_code == 200  # another host's copy is not this one
    # a podcast app in a browser may read the feed from its own origin
    shared = client.get("/feeds/daily.xml", headers={"Origin": "https://app.example"})
    assert shared.headers["Access-Control-Allow-Origin"] in ("*", "https://app.example")
    (entry,) = feedparser.parse(one.data).entries
    assert entry.enclosures[0].href == f"http://one.example/api/narrations/{narration_id}/audio.mp3"
    for app in _app(tmp_path / "public", public_url="https://listen.example.com/"):
        public = app.test_client()
        public.put("/api/collections/daily", json=CHANNEL)
        public.post("/api/narrations", json={"text": SHORT, "collection": "daily"})
        _done(public, narration_id)
        feed = public.get("/feeds/daily.xml", headers={"Host": "evil.example"})
        parsed = feedparser.parse(feed.data)
        assert b"evil.example" not in feed.data
        assert parsed.entries[0].podcast_chapters["url"] == (
            f"https://listen.example.com/api/narrations/{narration_id}/chapters.json"
        )
        assert "Vary" not in feed.headers or "Host" not in feed.headers["Vary"]


def _probe_duration_s(path: Path) -> float:
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    out = subprocess.run(
        [ffmpeg, "-hide_banner", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    stamp = [line for line in out.splitlines() if "time=" in line][-1]
    hours, minutes, seconds = stamp.split("time=")[1].split()[0].split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _send(url: str, method: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.server
def test_feed_over_http_is_read_by_feedparser_and_every_enclosure_fetched(
    tmp_path: Path, database_url: str
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    env = {"LISTEN_DATABASE_URL": database_url, "LISTEN_WORKERS": "2"}
    upgrade_database(Settings.of(database_url=database_url))
    with running_server(cache, env=env) as base:
        assert _send(base + "/api/collections/daily", "PUT", CHANNEL)[0] == 201
        ids = []
        for body in ({"markdown": MARKDOWN}, {"text": SHORT}):
            status, raw = _send(base + "/api/narrations", "POST", {**body, "collection": "daily"})
            assert status in (200, 202), raw
            ids.append(json.loads(raw)["id"])
        deadline = time.monotonic() + 120
        while True:  # the feed lists an item once its MP3 is made
            parsed = feedparser.parse(base + "/feeds/daily.xml")
            if len(parsed.entries) == 2 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert not parsed.bozo, parsed.bozo_exception
        assert parsed.status == 200 and len(parsed.entries) == 2
        assert parsed.feed.title == CHANNEL["title"]
        assert parsed.feed.author == CHANNEL["author"]
        assert not parsed.feed.itunes_explicit  # "false", which feedparser reads as None
        assert parsed.feed.image.href == CHANNEL["image_url"]
        assert {entry.id for entry in parsed.entries} == set(ids)
        for entry in parsed.entries:
            (enclosure,) = entry.enclosures
            assert enclosure.href.startswith(base + "/api/narrations/")
            assert enclosure.type == "audio/mpeg"
            status, headers, audio = _get(enclosure.href)
            assert status == 200 and len(audio) == int(enclosure.length)
            path = tmp_path / f"{entry.id}.mp3"
            path.write_bytes(audio)
            duration_s = _probe_duration_s(path)
            assert abs(int(entry.itunes_duration) - duration_s) <= 1.0
            chapters_url = entry.podcast_chapters["url"]
            assert entry.podcast_chapters["type"] == "application/json+chapters"
            status, headers, raw = _get(chapters_url)
            chapters = json.loads(raw)["chapters"]
            assert status == 200 and chapters[0]["startTime"] == 0
            assert "Set-Cookie" not in headers
            # the file served carries the same chapters, as a player reading it alone sees
            probed = ffprobe_chapters(path)
            assert [title for _start, _end, title in probed] == [c["title"] for c in chapters]
            assert [start for start, _end, _title in probed] == [
                round(c["startTime"] * 1000) for c in chapters
            ]
        # a podcast client's conditional GET
        again = feedparser.parse(
            base + "/feeds/daily.xml", etag=parsed.etag, modified=parsed.modified
        )
        assert again.status == 304 and not again.entries


def _events(client: FlaskClient, body: Any, **headers: str) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    # a beacon's body: text/plain, so that no CORS preflight is needed
    return client.post(
        "/api/events", data=data, content_type="text/plain;charset=UTF-8", headers=headers
    )


@pytest.mark.slow
def test_events_counted_into_stats_once_per_page_view(client: FlaskClient) -> None:
    client.put("/api/collections/daily", json=CHANNEL)
    narration_id = client.post(
        "/api/narrations", json={"markdown": MARKDOWN, "collection": "daily"}
    ).get_json()["id"]
    _done(client, narration_id)
    paragraphs = len(
        client.get(f"/api/narrations/{narration_id}/timings.json").get_json()["blocks"]
    )

    def view(session: str, reach: int, complete: bool) -> None:
        sent = [{"narration_id": narration_id, "session": session, "type": "play"}]
        sent += [
            {"narration_id": narration_id, "session": session, "type": "paragraph", "index": i}
            for i in range(reach)
        ]
        quartiles = (25, 50, 75, 100) if complete else (25,)
        sent += [
            {"narration_id": narration_id, "session": session, "type": "progress", "quartile": q}
            for q in quartiles
        ]
        sent.append(
            {"narration_id": narration_id, "session": session, "type": "seconds", "seconds": 12.5}
        )
        for event in sent:
            answer = _events(client, event)
            assert answer.status_code == 204, answer.get_data(as_text=True)
            _no_cookie(answer)

    first, second = _session(), _session()
    view(first, paragraphs, True)
    view(first, paragraphs, True)  # the same page view again: milestones count once
    view(second, 2, False)
    speed = {"narration_id": narration_id, "session": second, "type": "speed", "value": 1.5}
    assert _events(client, [speed, speed]).status_code == 204
    stats = client.get(f"/api/narrations/{narration_id}/stats")
    assert stats.status_code == 200
    body = stats.get_json()
    assert body["plays"] == 2 and body["completions"] == 1
    assert body["quartiles"] == {"25": 2, "50": 1, "75": 1, "100": 1}
    assert body["paragraphs"][:2] == [2, 2] and body["paragraphs"][2:] == [1] * (paragraphs - 2)
    assert body["listened_s"] == 37.5 and body["speed_changes"] == 2
    (today,) = [day for day in body["days"] if day["plays"]]
    assert today["plays"] == 2
    collection = client.get("/api/stats?collection=daily").get_json()
    assert collection["plays"] == 2 and collection["narrations"][0]["narration_id"] == narration_id
    span = client.get(f"/api/narrations/{narration_id}/stats?since=2020-01-01&until=2020-01-02")
    assert span.get_json()["plays"] == 0 and len(span.get_json()["days"]) == 2


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"", 422),
        (b"not json", 422),
        (b"[]", 422),
        (b"{}", 422),
        (
            json.dumps({"narration_id": UNKNOWN, "session": "short", "type": "play"}).encode(),
            422,
        ),
        (
            json.dumps(
                {"narration_id": UNKNOWN, "session": "Zq3kT9_vX2-pL8mN", "type": "play"}
            ).encode(),
            422,
        ),
        (b"[" + b"[" * 5000 + b"]" * 5000 + b"]", 413),
        (b"x" * 9000, 413),
    ],
)
def test_events_bad_ones_are_4xx(client: FlaskClient, body: bytes, status: int) -> None:
    answer = _events(client, body)
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert answer.mimetype == "application/problem+json"
    _no_cookie(answer)


@pytest.mark.slow
def test_events_are_rate_limited_per_client(tmp_path: Path) -> None:
    for app in _app(tmp_path, events_per_minute=5):
        client = app.test_client()
        bad = b"{}"
        answers = [_events(client, bad).status_code for _ in range(7)]
        assert answers[:5] == [422] * 5 and answers[5:] == [429, 429]
        other = _events(client, bad, **{"X-Forwarded-For": "203.0.113.9"})
        assert other.status_code == 429  # the address is the peer's, not a header's claim
        # creating narrations has its own limit, untouched by events
        assert client.post("/api/narrations", json={"text": SHORT}).status_code in (200, 202)


def test_keys_guard_collections_and_stats_not_events_or_feeds(keyed: FlaskClient) -> None:
    bearer = {"Authorization": f"Bearer {KEY}"}
    refused = keyed.put("/api/collections/daily", json=CHANNEL)
    assert refused.status_code == 401 and refused.get_json()["type"].endswith("/missing-key")
    wrong = keyed.put("/api/collections/daily", json=CHANNEL, headers={"Authorization": "Bearer x"})
    assert wrong.status_code == 403
    assert keyed.put("/api/collections/daily", json=CHANNEL, headers=bearer).status_code == 201
    assert keyed.get("/api/collections").status_code == 200
    assert keyed.get("/feeds/daily.xml").status_code == 200
    assert keyed.delete("/api/collections/daily").status_code == 401
    assert keyed.get("/api/stats?collection=daily").status_code == 401
    assert keyed.get("/api/stats?collection=daily", headers=bearer).status_code == 200
    narration = "0123456789abcdef0123456789abcdef"
    assert keyed.get(f"/api/narrations/{narration}/stats").status_code == 401
    event = {"narration_id": narration, "session": _session(), "type": "play"}
    assert _events(keyed, event).status_code == 422  # no key asked: unknown narration
    page = keyed.get("/dashboard")
    assert page.status_code == 401 and page.mimetype == "text/html"
    assert page.headers["WWW-Authenticate"].startswith("Basic ")
    basic = base64.b64encode(f"anyone:{KEY}".encode()).decode()
    shown = keyed.get("/dashboard?collection=daily", headers={"Authorization": f"Basic {basic}"})
    assert shown.status_code == 200 and b"The Daily Read" in shown.data
    wrong_basic = base64.b64encode(b"anyone:nope").decode()
    assert (
        keyed.get("/dashboard", headers={"Authorization": f"Basic {wrong_basic}"}).status_code
        == 401
    )


@pytest.mark.slow
def test_dashboard_plots_a_narration_and_a_collection(client: FlaskClient) -> None:
    client.put("/api/collections/daily", json=CHANNEL)
    narration_id = client.post(
        "/api/narrations", json={"markdown": MARKDOWN, "collection": "daily"}
    ).get_json()["id"]
    _done(client, narration_id)
    session = _session()
    for event in (
        {"type": "play"},
        {"type": "paragraph", "index": 0},
        {"type": "paragraph", "index": 1},
        {"type": "progress", "quartile": 25},
    ):
        assert (
            _events(client, {"narration_id": narration_id, "session": session, **event}).status_code
            == 204
        )
    page = client.get(f"/dashboard?narration={narration_id}")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert html.count("<svg") == 3 and 'id="plays-total">1<' in html
    timings = client.get(f"/api/narrations/{narration_id}/timings.json").get_json()
    assert timings["blocks"][1]["text"][:20] in html  # the paragraph's words beside its bar
    board = client.get("/dashboard?collection=daily").get_data(as_text=True)
    assert board.count("<svg") == 2 and narration_id in board
    assert client.get("/dashboard").status_code == 200
    missing = client.get("/dashboard?collection=nothing-here")
    assert missing.status_code == 404 and missing.mimetype == "text/html"
    bad_day = client.get("/dashboard?since=yesterday")
    assert bad_day.status_code == 400 and bad_day.mimetype == "text/html"
    _no_cookie(page)


@pytest.mark.server
@pytest.mark.redis
def test_two_web_nodes_sharing_redis_and_postgres_count_into_the_same_totals(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    url = postgres.create_database()
    upgrade_database(Settings.of(database_url=url))
    cache = tmp_path / "cache"
    cache.mkdir()
    with running_redis() as redis:
        env = {"LISTEN_DATABASE_URL": url, "LISTEN_REDIS_URL": redis.url}
        with running_server(cache, env=env) as one, running_server(cache, env=env) as two:
            status, raw = _send(one + "/api/narrations", "POST", {"markdown": MARKDOWN})
            assert status in (200, 202), raw
            narration_id = json.loads(raw)["id"]  # planned (its audio is not needed here)
            sessions = [_session() for _ in range(6)]
            sent = 0
            for number, session in enumerate(sessions):
                for kind, extra in (
                    ("play", {}),
                    ("paragraph", {"index": 0}),
                    ("paragraph", {"index": 1}),
                    ("progress", {"quartile": 25}),
                    ("seconds", {"seconds": 2.0}),
                ):
                    for base in (one, two):  # each event reaches both nodes: counted once
                        event = {"narration_id": narration_id, "session": session}
                        event |= {"type": kind, **extra}
                        status, raw = _send(base + "/api/events", "POST", event)
                        assert status == 204, raw
                        sent += 1
                if number % 2:  # every other listener reaches the end, on one node only
                    end = {"narration_id": narration_id, "session": session}
                    end |= {"type": "progress", "quartile": 100}
                    assert _send((one, two)[number % 4 // 2] + "/api/events", "POST", end)[0] == 204
            time.sleep(2.5)  # each node writes its counts every second
            for base in (one, two):
                status, _headers, raw = _get(f"{base}/api/narrations/{narration_id}/stats")
                stats = json.loads(raw)
                assert stats["plays"] == 6 and stats["completions"] == 3, stats
                assert stats["quartiles"]["25"] == 6 and stats["paragraphs"][:2] == [6, 6]
                assert stats["listened_s"] == 24.0  # time adds up as reported: 6 x 2 x 2 s
    postgres.drop_database(url)
