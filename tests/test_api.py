"""The narration API, through Flask's test client and through the real server."""

from __future__ import annotations

import hashlib
import json
import re
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from harness.corpus import article_text
from harness.webserver import running_server, serving_page
from service.pipeline.objects import audio_object
from service.web import close_app, create_app
from tests.audio_tools import decode
from tests.conftest import SEED_ARTICLE, SEEDS

SEED_TEXT = SEED_ARTICLE.read_text(encoding="utf-8")


def make_app(tmp_path: Path, **overrides: Any) -> Iterator[Flask]:
    app = create_app({"cache_dir": tmp_path / "cache", "workers": 2, **overrides})
    app.testing = True
    yield app
    close_app(app)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    yield from make_app(tmp_path)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def fetch(client: FlaskClient, url: str, **kwargs: Any) -> Any:
    """GET ``url`` and read and close the response (file responses hold the file open)."""
    response = client.get(url, **kwargs)
    response.get_data()
    response.close()
    return response


def wait_done(client: FlaskClient, narration_id: str, timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = client.get(f"/api/narrations/{narration_id}").get_json()
        if body["status"] in ("done", "failed"):
            return dict(body)
        time.sleep(0.05)
    raise AssertionError("narration did not finish")


@pytest.mark.slow
def test_create_from_text_then_poll_to_done(client: FlaskClient) -> None:
    answer = client.post("/api/narrations", json={"text": SEED_TEXT})
    assert answer.status_code == 202
    body = answer.get_json()
    for field in (
        "id",
        "status",
        "title",
        "language",
        "voice",
        "duration_ms",
        "chunks_total",
        "chunks_done",
        "status_url",
        "audio_url",
        "stream_url",
        "captions_url",
        "timings_url",
        "player_url",
    ):
        assert field in body
    assert body["title"].startswith("NATO assures")
    assert body["language"] == "en"
    done = wait_done(client, body["id"])
    assert done["status"] == "done"
    assert done["chunks_done"] == done["chunks_total"] > 10
    assert done["duration_ms"] > 60_000
    again = client.post("/api/narrations", json={"text": SEED_TEXT})
    assert again.status_code == 200
    assert again.get_json()["id"] == body["id"]


@pytest.mark.parametrize(
    ("kwargs", "title"),
    [
        ({"json": {"html": (SEEDS / "newsroom-page.html").read_text()}}, None),
        ({"data": (SEEDS / "markdown-post.md").read_text(), "content_type": "text/markdown"}, None),
        ({"data": (SEEDS / "short-note.txt").read_text(), "content_type": "text/plain"}, None),
        ({"data": {"text": "A form post.\n\nIt has two paragraphs.", "title": "Form"}}, "Form"),
    ],
    ids=["html-json", "markdown-raw", "text-raw", "form"],
)
@pytest.mark.slow
def test_create_from_each_input_kind(
    client: FlaskClient, kwargs: dict[str, Any], title: str | None
) -> None:
    answer = client.post("/api/narrations", **kwargs)
    assert answer.status_code in (200, 202), answer.get_json()
    body = wait_done(client, answer.get_json()["id"])
    assert body["status"] == "done"
    if title:
        assert body["title"] == title
    timings = client.get(body["timings_url"]).get_json()
    assert timings["blocks"][-1]["end_ms"] <= timings["duration_ms"]


@pytest.mark.slow
def test_create_from_url_of_a_local_page(tmp_path: Path) -> None:
    page = (SEEDS / "newsroom-page.html").read_bytes()

    with serving_page(page) as site:
        url = f"{site}/story"
        for app in make_app(tmp_path, allow_private_urls=True):
            answer = app.test_client().post("/api/narrations", json={"url": url})
            assert answer.status_code == 202, answer.get_json()
        for app in make_app(tmp_path / "strict"):
            refused = app.test_client().post("/api/narrations", json={"url": url})
            assert refused.status_code == 422
            assert refused.mimetype == "application/problem+json"


@pytest.mark.slow
def test_audio_range_etag_and_download(client: FlaskClient) -> None:
    created = client.post("/api/narrations", json={"text": SEED_TEXT}).get_json()
    wait_done(client, created["id"])
    audio = fetch(client, created["audio_url"])
    assert audio.status_code == 200
    assert audio.mimetype == "audio/mpeg"
    assert "immutable" in audio.headers["Cache-Control"]
    etag = audio.headers["ETag"].strip('"')
    assert etag == hashlib.sha256(audio.data).hexdigest()
    probe = fetch(client, created["audio_url"], headers={"Range": "bytes=0-1"})
    assert probe.status_code == 206
    assert probe.headers["Content-Range"] == f"bytes 0-1/{len(audio.data)}"
    assert probe.data == audio.data[:2]
    middle = fetch(client, created["audio_url"], headers={"Range": "bytes=1000-66535"})
    assert middle.status_code == 206 and middle.data == audio.data[1000:66536]
    assert (
        fetch(
            client, created["audio_url"], headers={"Range": f"bytes={len(audio.data) + 10}-"}
        ).status_code
        == 416
    )
    assert (
        fetch(client, created["audio_url"], headers={"If-None-Match": f'"{etag}"'}).status_code
        == 304
    )
    download = fetch(client, created["audio_url"] + "?download=1")
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment")
    assert "nato-assures-that-they-will-not-stop" in disposition and disposition.endswith(".mp3")
    captions = client.get(created["captions_url"])
    assert captions.mimetype == "text/vtt" and captions.data.startswith(b"WEBVTT")


@pytest.mark.slow
def test_audio_before_done_answers_409_with_status(client: FlaskClient) -> None:
    created = client.post("/api/narrations", json={"text": article_text(6000)}).get_json()
    early = client.get(created["audio_url"])
    assert early.status_code == 409
    problem = early.get_json()
    assert problem["narration_status"] in ("queued", "running")
    assert problem["stream_url"] == created["stream_url"]
    assert client.get(created["timings_url"]).status_code == 409
    wait_done(client, created["id"], timeout_s=120)


@pytest.mark.server
def test_stream_plays_before_synthesis_ends_on_real_server(tmp_path: Path) -> None:
    with running_server(tmp_path / "cache") as base:
        request = urllib.request.Request(
            base + "/api/narrations",
            data=json.dumps({"text": article_text(3500)}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request) as answer:
            created = json.load(answer)
        started = time.monotonic()
        with urllib.request.urlopen(base + created["stream_url"]) as stream:
            first = stream.read(1024)
            first_byte_s = time.monotonic() - started
            with urllib.request.urlopen(base + created["status_url"]) as status_answer:
                status_then = json.load(status_answer)["status"]
            rest = stream.read()
        assert first[:2] == b"\xff\xf3"  # an MPEG-2 Layer III frame, playable as it comes
        assert status_then in ("queued", "running"), "stream should start before the job ends"
        assert first_byte_s < 5
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with urllib.request.urlopen(base + created["status_url"]) as status_answer:
                if json.load(status_answer)["status"] == "done":
                    break
            time.sleep(0.1)
        streamed = tmp_path / "streamed.mp3"
        streamed.write_bytes(first + rest)
        with urllib.request.urlopen(base + created["timings_url"]) as answer:
            manifest = json.load(answer)
        decoded_ms = len(decode(streamed)) * 1000 / 22050
        assert abs(decoded_ms - manifest["duration_ms"]) < 50
        with urllib.request.urlopen(base + created["audio_url"]) as answer:
            finished = answer.read()
        assert finished.endswith(first + rest)


@pytest.mark.server
def test_openai_speech_with_the_official_client(tmp_path: Path) -> None:
    from openai import OpenAI

    with running_server(tmp_path / "cache") as base:
        client = OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0)
        out = tmp_path / "speech.mp3"
        with client.audio.speech.with_streaming_response.create(
            model="tts-1",
            voice="alloy",
            input="Hello from an OpenAI client. It works offline.",
        ) as response:
            response.stream_to_file(out)
        assert len(decode(out)) > 22050
        wav = client.audio.speech.create(
            model="tts-1", voice="nova", input="Short one.", response_format="wav", speed=1.25
        )
        assert wav.content[:4] == b"RIFF"


@pytest.mark.slow
def test_speech_that_cannot_be_made_is_503_with_retry_after(tmp_path: Path) -> None:
    # Pieces run past their (absurd) time limit, twice: the service is at fault, not the
    # request, so the answer says to come back later, never a bare 500. The pool looks at
    # the clock every few tens of milliseconds: a long text has pieces that take longer.
    text = article_text(300)
    for app in make_app(tmp_path, segment_timeout_s=0.001):
        answer = app.test_client().post(
            "/v1/audio/speech",
            json={"model": "tts-1", "voice": "alloy", "input": text, "response_format": "wav"},
        )
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "10"
        assert answer.mimetype == "application/problem+json"
        assert answer.get_json()["type"].endswith("/synthesis-failed")
        assert "timed out" in answer.get_json()["detail"]


def test_openapi_document_is_valid_and_lists_every_route(app: Flask) -> None:
    from openapi_spec_validator import validate

    document = app.test_client().get("/openapi.json").get_json()
    validate(document)
    documented = set(document["paths"])
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.startswith(("player.", "editor.")):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)  # <path:voice_id> -> {voice_id}
        assert path in documented, path


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"data": "not json", "content_type": "application/json"}, 400),
        ({"json": {"text": "a", "url": "http://example.com"}}, 400),
        ({"json": {"text": "Hello.", "rate": "fast"}}, 400),
        ({"json": {"text": "Hello.", "format": "flac"}}, 400),
        ({"json": {"url": "ftp://example.com/x"}}, 400),
        ({"data": b"<x/>", "content_type": "application/xml"}, 415),
        ({"json": {"html": "<html><body><nav>Menu</nav></body></html>"}}, 422),
        ({"json": {"text": "Hello.", "voice": "no-such-voice"}}, 400),
    ],
    ids=["bad-json", "two-sources", "bad-rate", "bad-format", "ftp-url", "xml", "nothing", "voice"],
)
def test_create_errors_are_problem_details(
    client: FlaskClient, kwargs: dict[str, Any], status: int
) -> None:
    answer = client.post("/api/narrations", **kwargs)
    assert answer.status_code == status, answer.get_json()
    assert answer.mimetype == "application/problem+json"
    body = answer.get_json()
    assert set(body) >= {"type", "title", "status", "detail"}
    assert body["status"] == status


@pytest.mark.slow
def test_unknown_and_hostile_ids_are_404(client: FlaskClient) -> None:
    created = client.post("/api/narrations", json={"text": "Hello there."}).get_json()["id"]
    hostile = ("0" * 32, "..%2F..%2Fetc%2Fpasswd", "x" * 500, "%C3%A9t%C3%A9", created + "%0A")
    for narration_id in hostile:
        answer = client.get(f"/api/narrations/{narration_id}")
        assert answer.status_code == 404, answer.get_json()
        assert answer.mimetype == "application/problem+json"
        assert client.get(f"/api/narrations/{narration_id}/audio.mp3").status_code == 404
    assert (
        client.get(f"/api/narrations/{created}%0A").get_json()["detail"].startswith("no narration")
    )


def test_a_voice_id_with_a_line_break_is_no_path_404_as_documented(client: FlaskClient) -> None:
    # werkzeug's path converter stops at a line break: the route does not match
    answer = client.get("/api/voices/pyttsx3:gmw%0Aen-us/preview.mp3")
    assert answer.status_code == 404
    assert answer.mimetype == "application/problem+json"
    documented = client.get("/openapi.json").get_json()
    assert "404" in documented["paths"]["/api/voices/{voice_id}/preview.mp3"]["get"]["responses"]
    # without the line break the same voice is looked up (and refused as unknown)
    assert client.get("/api/voices/pyttsx3:gmwen-us/preview.mp3").status_code == 400


def test_body_over_the_limit_is_413(tmp_path: Path) -> None:
    for app in make_app(tmp_path, max_body_bytes=1000):
        answer = app.test_client().post(
            "/api/narrations", data="x" * 5000, content_type="text/plain"
        )
        assert answer.status_code == 413
        assert answer.mimetype == "application/problem+json"


@pytest.mark.slow
def test_api_keys_guard_creation_only(tmp_path: Path) -> None:
    for app in make_app(tmp_path, api_keys="k1,k2"):
        client = app.test_client()
        assert client.post("/api/narrations", json={"text": "Hi."}).status_code == 401
        wrong = client.post(
            "/api/narrations", json={"text": "Hi."}, headers={"Authorization": "Bearer nope"}
        )
        assert wrong.status_code == 403
        right = client.post(
            "/api/narrations", json={"text": "Hi there."}, headers={"Authorization": "Bearer k2"}
        )
        assert right.status_code == 202
        body = wait_done(client, right.get_json()["id"])
        assert fetch(client, body["audio_url"]).status_code == 200


@pytest.mark.slow
def test_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    for app in make_app(tmp_path, rate_limit_per_minute=2):
        client = app.test_client()
        answers = [client.post("/api/narrations", json={"text": f"Note {i}."}) for i in range(3)]
        assert [a.status_code for a in answers] == [202, 202, 429]
        # An accepted narration is not told to wait: pollers read Retry-After on a 202.
        assert "Retry-After" not in answers[0].headers
        assert answers[0].headers["X-RateLimit-Remaining"] == "1"
        limited = client.post("/api/narrations", json={"text": "Again."})
        assert int(limited.headers["Retry-After"]) > 0
        assert limited.mimetype == "application/problem+json"


@pytest.mark.slow
def test_full_queue_answers_503_with_retry_after(tmp_path: Path) -> None:
    for app in make_app(tmp_path, queue_max=1):
        client = app.test_client()
        first = client.post("/api/narrations", json={"text": article_text(3000)})
        assert first.status_code == 202
        second = client.post(
            "/api/narrations", json={"text": "Another article.\n\nWith a body paragraph."}
        )
        assert second.status_code == 503
        assert second.headers["Retry-After"] == "5"  # the queue's own advice, not the limiter's
        wait_done(client, first.get_json()["id"], timeout_s=120)


@pytest.mark.slow
def test_twenty_identical_posts_make_one_synthesis(app: Flask) -> None:
    client = app.test_client()
    text = article_text(800)
    with ThreadPoolExecutor(20) as threads:
        answers = list(
            threads.map(lambda _: client.post("/api/narrations", json={"text": text}), range(20))
        )
    ids = {a.get_json()["id"] for a in answers}
    assert len(ids) == 1
    wait_done(client, ids.pop())
    assert app.extensions["listen"].library.runner.jobs_started == 1


def test_voices_and_health(client: FlaskClient) -> None:
    voices = client.get("/api/voices?language=en").get_json()["voices"]
    assert any(v["id"].startswith("pyttsx3:") for v in voices)
    assert all(any(lang.startswith("en") for lang in v["languages"]) for v in voices)
    hibari = {v["id"]: v for v in voices if v["id"].startswith("hibari:")}
    assert hibari["hibari:heart"]["installed"] is True
    assert hibari["hibari:fenrir"]["installed"] is False
    assert "am_fenrir_v2.int8.onnx" in hibari["hibari:fenrir"]["detail"]
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.get_json()["store"] is True


@pytest.mark.slow
def test_cors_headers_go_to_requests_that_carry_an_origin(tmp_path: Path) -> None:
    for app in make_app(tmp_path, cors_origins="https://news.example"):
        client = app.test_client()
        created = client.post("/api/narrations", json={"text": "Hello there."}).get_json()
        wait_done(client, created["id"])
        for url in (created["status_url"], created["timings_url"], created["audio_url"]):
            allowed = fetch(client, url, headers={"Origin": "https://news.example"})
            assert allowed.headers["Access-Control-Allow-Origin"] == "https://news.example"
            assert "Content-Range" in allowed.headers["Access-Control-Expose-Headers"]
            assert "Origin" in allowed.headers["Vary"]  # caches keep one answer per origin
            other = fetch(client, url, headers={"Origin": "https://elsewhere.example"})
            assert "Access-Control-Allow-Origin" not in other.headers
            plain = fetch(client, url)  # an <audio> element or a same-origin page
            assert "Access-Control-Allow-Origin" not in plain.headers
            assert "Origin" in plain.headers["Vary"]


@pytest.mark.slow
def test_status_of_a_finished_narration_shows_a_format_made_later(client: FlaskClient) -> None:
    text = "A short note.\n\nIt is read twice, in two formats."
    created = client.post("/api/narrations", json={"text": text}).get_json()
    assert wait_done(client, created["id"])["formats"] == ["mp3"]
    again = client.post("/api/narrations", json={"text": text, "format": "ogg"}).get_json()
    assert again["id"] == created["id"]
    deadline = time.monotonic() + 60
    while "ogg" not in client.get(created["status_url"]).get_json()["formats"]:
        assert time.monotonic() < deadline, "the status kept its old formats"
        time.sleep(0.05)
    assert fetch(client, again["audio_url"]).status_code == 200


@pytest.mark.slow
def test_audio_removed_from_the_cache_is_not_served_from_an_open_file(app: Flask) -> None:
    client = app.test_client()
    created = client.post("/api/narrations", json={"text": "Kept open for a moment."}).get_json()
    wait_done(client, created["id"])
    assert fetch(client, created["audio_url"], headers={"Range": "bytes=0-99"}).status_code == 206
    state = app.extensions["listen"]
    state.open_files.recheck_s = 0.0  # look the file up in the store at once
    state.library.store.delete(audio_object(created["id"], "mp3"))
    gone = fetch(client, created["audio_url"], headers={"Range": "bytes=0-99"})
    assert gone.status_code == 409  # made again on request, never served from the old file
    wait_done(client, created["id"])
    assert fetch(client, created["audio_url"]).status_code == 200


def test_kept_status_answers_expire_and_are_dropped(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.library import narrations as module

    monkeypatch.setattr(module, "FINISHED_STATUS_TTL_S", 0.05)
    state = app.extensions["listen"]
    kept = module.Narrations(state.settings, state.library.store, state.library.runner)
    for number in range(100):
        kept.keep_finished_status(f"{number:032x}", "", b"{}")
    assert kept.finished_status(f"{99:032x}", "") == b"{}"
    assert kept.finished_status(f"{99:032x}", "/elsewhere") is None  # another URL root
    time.sleep(0.1)
    assert kept.finished_status(f"{99:032x}", "") is None
    kept.keep_finished_status("f" * 32, "", b"{}")
    assert len(kept._finished) == 1  # the expired ones do not pile up


@pytest.mark.slow
def test_finished_audio_answers_the_same_before_flask_and_through_it(app: Flask) -> None:
    client = app.test_client()
    created = client.post("/api/narrations", json={"text": SEED_TEXT}).get_json()
    wait_done(client, created["id"])
    url = created["audio_url"]
    compared = ("ETag", "Content-Range", "Content-Length", "Content-Type", "Cache-Control",
                "Accept-Ranges", "X-Content-Type-Options", "Vary")  # fmt: skip
    for headers in ({}, {"Range": "bytes=1000-66535"}, {"Range": "bytes=-500"}):
        lean = fetch(client, url, headers=headers)  # answered before Flask's routing
        full = fetch(client, url + "?through=flask", headers=headers)  # a query: the app
        assert lean.status_code == full.status_code in (200, 206)
        assert lean.data == full.data
        assert {h: lean.headers.get(h) for h in compared} == {
            h: full.headers.get(h) for h in compared
        }
    etag = fetch(client, url).headers["ETag"]
    assert fetch(client, url, headers={"If-None-Match": etag}).status_code == 304
    refused = fetch(client, url, headers={"Range": "bytes=99999999-"})
    assert refused.status_code == 416 and refused.mimetype == "application/problem+json"
    served = [
        line
        for line in client.get("/metrics").get_data(as_text=True).splitlines()
        if line.startswith("listen_audio_bytes_served")
    ]
    assert served and float(served[0].split()[-1]) > 2 * 65536  # both paths count bytes


def test_kept_plans_are_bounded_in_count_and_in_words(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.library import narrations as module
    from service.pipeline.objects import plan_object
    from service.pipeline.prepare import prepare_plan
    from service.text.load import load_article_from_text

    state = app.extensions["listen"]
    plans = [
        prepare_plan(
            load_article_from_text(
                article_text(200, seed=700 + n), state.settings.input, kind="text"
            ),
            state.settings,
            voice=None,
        )
        for n in range(module.PLAN_CACHE_SIZE + 3)
    ]
    for plan in plans:
        state.library.store.put(plan_object(plan.narration_id), plan.to_json().encode())
        assert state.narrations.plan(plan.narration_id) == plan
    assert list(state.narrations._plans) == [
        p.narration_id for p in plans[-module.PLAN_CACHE_SIZE :]
    ]

    def narrations() -> Any:
        return module.Narrations(state.settings, state.library.store, state.library.runner)

    monkeypatch.setattr(module, "PLAN_CACHE_WORDS", plans[1].word_count + plans[2].word_count)
    bounded = narrations()
    for plan in plans[:3]:
        bounded.plan(plan.narration_id)  # read again from the store
    assert list(bounded._plans) == [p.narration_id for p in plans[1:3]]
    monkeypatch.setattr(module, "PLAN_CACHE_WORDS", 10)
    tiny = narrations()
    for plan in plans[4:6]:
        tiny.plan(plan.narration_id)
    assert list(tiny._plans) == [plans[5].narration_id]  # the newest stays
    assert tiny.plan(plans[0].narration_id) == plans[0]  # and nothing is lost


def test_index_form_refusing_a_private_address_says_how_to_allow_it(client: FlaskClient) -> None:
    response = client.post("/narrate", data={"url": "http://127.0.0.1:9/story"})
    assert response.status_code == 422
    assert "set LISTEN_ALLOW_PRIVATE_URLS=1 to allow private addresses" in response.text


WORDY = (
    "Prices and places\n\n"
    "The plan costs $5m — about 1990s money — and Dr. Smith says it's state-of-the-art.\n\n"
    "• It opens on 2024-01-05 at No. 10, says news@example.org (pp. 12–14)."
)


@pytest.mark.slow
def test_word_count_is_the_same_in_the_cli_the_api_and_the_limit(
    client: FlaskClient, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from service.cli import cli
    from service.config import InputSettings
    from service.errors import TooLargeError
    from service.text.limits import check_length
    from service.text.load import load_article_from_text
    from service.text.words import count_words

    expected = count_words(WORDY)
    assert expected == 27  # as displayed: "$5m" is one word, "—" and "•" are none
    source = tmp_path / "wordy.txt"
    source.write_text(WORDY, encoding="utf-8")
    shown = CliRunner().invoke(cli, ["extract", str(source)], env={}).output
    assert f" {expected} words " in shown
    created = client.post("/api/narrations", json={"text": WORDY}).get_json()
    assert created["word_count"] == expected
    article = load_article_from_text(WORDY, InputSettings())
    assert article.word_count == expected
    check_length(article, InputSettings(max_words=expected))
    with pytest.raises(TooLargeError, match=f"has {expected} words"):
        check_length(article, InputSettings(max_words=expected - 1))


@pytest.mark.slow
def test_player_marks_a_block_in_another_language(client: FlaskClient) -> None:
    from tests.test_text_load import MIXED

    created = client.post("/api/narrations", json={"text": MIXED}).get_json()
    page = fetch(client, f"/listen/{created['id']}").get_data(as_text=True)
    assert page.count(' lang="de"') == 1
    assert '<p class="block" data-block="4" lang="de">' in page
    assert '<html lang="en">' in page
    german = MIXED.split("German:\n\n")[1]
    created = client.post("/api/narrations", json={"text": f"Ein Brief\n\n{german}"}).get_json()
    page = fetch(client, f"/listen/{created['id']}").get_data(as_text=True)
    assert '<html lang="de">' in page


@pytest.mark.parametrize(
    ("host", "port", "prefix"),
    [
        ("127.0.0.1", 8123, "http://127.0.0.1:8123"),
        ("::1", 8000, "http://[::1]:8000"),
        ("listen.example.com", 80, "http://listen.example.com:80"),
        ("0.0.0.0", 8000, ""),  # every address: no one URL to give
    ],
)
@pytest.mark.slow
def test_seed_links_are_full_urls_when_the_address_is_known(
    tmp_path: Path, host: str, port: int, prefix: str
) -> None:
    from service.web.seeds import prepare_seeds

    for app in make_app(tmp_path, host=host, port=port):
        with app.app_context():
            (line,) = prepare_seeds((str(SEEDS / "short-note.txt"),))
    assert line.startswith(f"seed short-note.txt: {prefix}/listen/"), line


@pytest.mark.slow
def test_extract_shows_what_the_narration_of_the_same_page_reads(client: FlaskClient) -> None:
    page = (SEEDS / "newsroom-page.html").read_text(encoding="utf-8")
    answer = client.post("/api/extract", json={"html": page})
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    found = answer.get_json()
    assert found["blocks"][0] == {"kind": "title", "text": found["title"]}
    created = client.post("/api/narrations", json={"html": page}).get_json()
    timings = fetch(client, wait_done(client, created["id"])["timings_url"]).get_json()
    assert [(b["kind"], b["text"]) for b in timings["blocks"]] == [
        (b["kind"], b["text"]) for b in found["blocks"]
    ]
    assert found["word_count"] == sum(len(b["text"].split()) for b in found["blocks"])


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"html": "<!doctype html><html><body><div id='app'></div></body></html>"}, 422),
        ({"html": "<p>Two</p>", "text": "Two"}, 400),
        ({"html": 12}, 400),
        ({}, 400),
    ],
)
def test_extract_bad_input_is_a_problem(
    client: FlaskClient, body: dict[str, Any], status: int
) -> None:
    answer = client.post("/api/extract", json=body)
    assert answer.status_code == status
    assert answer.mimetype == "application/problem+json"


def test_extract_needs_a_key_when_creation_does(tmp_path: Path) -> None:
    for app in make_app(tmp_path, api_keys="k1"):
        client = app.test_client()
        assert client.post("/api/extract", json={"text": "Hi there."}).status_code == 401
        keyed = {"Authorization": "Bearer k1"}
        assert client.post("/api/extract", json={"text": "Hi."}, headers=keyed).status_code == 200
