"""What the service writes and who may do what: public URLs, framing, forms, metrics, keys."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from flask import Flask

from service.errors import ListenError
from service.pipeline.objects import audio_object
from service.web import close_app, create_app

KEY = {"Authorization": "Bearer k1"}


def make_app(tmp_path: Path, **overrides: Any) -> Iterator[Flask]:
    app = create_app({"cache_dir": tmp_path / "cache", "workers": 1, **overrides})
    app.testing = True
    yield app
    close_app(app)


def wait_done(app: Flask, narration_id: str, headers: dict[str, str]) -> dict[str, Any]:
    client = app.test_client()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body = client.get(f"/api/narrations/{narration_id}", headers=headers).get_json()
        if body["status"] in ("done", "failed"):
            return dict(body)
        time.sleep(0.05)
    raise AssertionError("narration did not finish")


def embed_snippet(page: bytes) -> str:
    return str(lxml.html.fromstring(page).xpath("//code[@data-embed]")[0].text_content())


# --- absolute URLs ------------------------------------------------------------------


@pytest.mark.slow
def test_guards_pages_never_write_the_host_header_into_urls(tmp_path: Path) -> None:
    for app in make_app(tmp_path):
        client = app.test_client()
        made = client.post("/api/narrations", json={"text": "A note.\n\nShort."}).get_json()
        for path in ("/", made["player_url"]):
            page = client.get(path, base_url="http://evil.example").data
            assert b"evil.example" not in page
            assert 'src="/embed.js"' in embed_snippet(page)  # relative: the page completes it
        document = client.get("/openapi.json", base_url="http://evil.example").get_json()
        assert "servers" not in document and b"evil.example" not in client.get("/openapi.json").data


@pytest.mark.slow
def test_guards_public_url_names_every_absolute_url(tmp_path: Path) -> None:
    for app in make_app(tmp_path, public_url="https://listen.example.com/"):
        client = app.test_client()
        made = client.post("/api/narrations", json={"text": "A note.\n\nShort."}).get_json()
        for path in ("/", made["player_url"]):
            page = client.get(path, base_url="http://evil.example").data
            assert b"evil.example" not in page
            assert 'src="https://listen.example.com/embed.js"' in embed_snippet(page)
        document = client.get("/openapi.json").get_json()
        assert document["servers"] == [
            {"url": "https://listen.example.com", "description": "This service"}
        ]


@pytest.mark.parametrize(
    "value", ["listen.example.com", "javascript:alert(1)", "https://", "https://x/?a=1", "ftp://x"]
)
def test_guards_public_url_must_be_an_http_address(tmp_path: Path, value: str) -> None:
    with pytest.raises(ListenError, match="LISTEN_PUBLIC_URL"):
        create_app({"cache_dir": tmp_path, "public_url": value})


# --- framing ------------------------------------------------------------------------


def test_guards_pages_say_who_may_frame_them(tmp_path: Path) -> None:
    for app in make_app(tmp_path):
        policy = app.test_client().get("/").headers["Content-Security-Policy"]
        assert "frame-ancestors 'self'" in policy
    allowed = "'self' https://news.example.com"
    for app in make_app(tmp_path / "b", frame_ancestors=allowed):
        policy = app.test_client().get("/").headers["Content-Security-Policy"]
        assert policy.endswith(f"frame-ancestors {allowed}")
    with pytest.raises(ListenError, match="LISTEN_FRAME_ANCESTORS"):
        create_app({"cache_dir": tmp_path, "frame_ancestors": "'self'; script-src *"})


# --- the form -----------------------------------------------------------------------

FORM = {"content": "A form post.\n\nIt makes a narration.", "kind": "auto"}


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site", "Origin": "http://localhost"},
    ],
)
def test_guards_form_posted_from_another_site_is_refused(
    tmp_path: Path, headers: dict[str, str]
) -> None:
    for app in make_app(tmp_path):
        client = app.test_client()
        refused = client.post("/narrate", data=FORM, headers=headers)
        assert refused.status_code == 403
        assert refused.mimetype == "text/html" and b"another site" in refused.data
        assert app.extensions["listen"].library.runner.jobs_started == 0


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"},
        {"Sec-Fetch-Site": "none"},
        {"Origin": "http://localhost"},
        {},
    ],
    ids=["browser", "typed", "older-browser", "no-browser"],
)
@pytest.mark.slow
def test_guards_form_from_our_page_or_no_page_is_taken(
    tmp_path: Path, headers: dict[str, str]
) -> None:
    for app in make_app(tmp_path):
        answer = app.test_client().post("/narrate", data=FORM, headers=headers)
        assert answer.status_code == 303, answer.data[:300]


@pytest.mark.slow
def test_guards_form_from_the_public_address_is_taken(tmp_path: Path) -> None:
    for app in make_app(tmp_path, public_url="https://listen.example.com"):
        answer = app.test_client().post(
            "/narrate", data=FORM, headers={"Origin": "https://listen.example.com"}
        )
        assert answer.status_code == 303


# --- keys ---------------------------------------------------------------------------


def test_guards_metrics_need_a_key_when_keys_are_set(tmp_path: Path) -> None:
    for app in make_app(tmp_path):
        assert app.test_client().get("/metrics").status_code == 200
    for app in make_app(tmp_path / "keys", api_keys="k1,k2"):
        client = app.test_client()
        missing = client.get("/metrics")
        assert missing.status_code == 401 and missing.mimetype == "application/problem+json"
        assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 403
        odd = client.get("/metrics", headers={"Authorization": "Bearer k\u00e9"})
        assert odd.status_code == 403
        assert client.get("/metrics", headers=KEY).status_code == 200


@pytest.mark.slow
def test_guards_evicted_narration_is_made_again_only_with_a_key(tmp_path: Path) -> None:
    for app in make_app(tmp_path, api_keys="k1"):
        client = app.test_client()
        state = app.extensions["listen"]
        made = client.post("/api/narrations", json={"text": "Kept.\n\nFor a while."}, headers=KEY)
        narration = wait_done(app, made.get_json()["id"], {})
        assert client.get(narration["audio_url"]).status_code == 200  # listening needs no key
        state.open_files.recheck_s = 0.0
        state.library.store.delete(audio_object(narration["id"], "mp3"))  # as the cache evicts it
        state.narrations.forget_finished(narration["id"])  # as 5 s later
        started = state.library.runner.jobs_started
        for path in (
            narration["status_url"],
            narration["audio_url"],
            narration["stream_url"],
            narration["audio_url"] + "?download=1",
        ):
            refused = client.get(path)
            assert refused.status_code == 401, path
            assert "API key" in refused.get_json()["detail"]
        page = client.get(narration["player_url"])
        assert page.status_code == 401 and page.mimetype == "text/html"
        assert state.library.runner.jobs_started == started, "nothing was made again"
        again = client.get(narration["status_url"], headers=KEY)
        assert again.status_code == 202
        assert state.library.runner.jobs_started == started + 1
        assert wait_done(app, narration["id"], {})["status"] == "done"
        assert client.get(narration["audio_url"]).status_code == 200
