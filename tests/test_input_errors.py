"""Inputs that used to end as a 500: each is now a 4xx problem detail, or accepted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from harness.webserver import serving_page
from service.text.decode import decode_bytes, sniff_charset
from service.web import close_app, create_app

STORY = "A quiet night in the newsroom. Then the phones rang."


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    app = create_app(
        {
            "cache_dir": tmp_path_factory.mktemp("errors") / "cache",
            "workers": 1,
            "voice": "pyttsx3:gmw/en-us",
            "rate_limit_per_minute": 100_000,
            "allow_private_urls": True,
        }
    )
    app.testing = True
    yield app
    close_app(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def post_raw(client: FlaskClient, path: str, body: str | bytes, **kwargs: Any) -> Any:
    return client.post(path, data=body, content_type="application/json", **kwargs)


def assert_problem(answer: Any, status: int, detail: str = "") -> None:
    assert answer.status_code == status, (answer.status_code, answer.get_data()[:300])
    assert answer.mimetype == "application/problem+json"
    assert detail in answer.get_json()["detail"]


def assert_accepted_or_refused(answer: Any) -> None:
    assert answer.status_code < 500, answer.get_data()[:300]
    if answer.status_code >= 400:
        assert answer.mimetype == "application/problem+json"


# --- numbers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rate",
    ["Infinity", "-Infinity", "NaN", "1e400", "-1e999", "1.5", '"1e400"', '"inf"', "1" * 5000],
)
def test_errors_non_finite_or_overflowing_rate_is_400(client: FlaskClient, rate: str) -> None:
    body = '{"text": ' + json.dumps(STORY) + ', "rate": ' + rate + "}"
    answer = post_raw(client, "/api/narrations", body)
    assert_problem(answer, 400)


def test_errors_huge_whole_rate_is_a_voice_error(client: FlaskClient) -> None:
    body = '{"text": ' + json.dumps(STORY) + ', "rate": 1' + "0" * 400 + "}"
    assert_problem(post_raw(client, "/api/narrations", body), 400, "rate")


@pytest.mark.parametrize("speed", ["Infinity", "NaN", "1e400", "-Infinity"])
def test_errors_non_finite_openai_speed_is_400(client: FlaskClient, speed: str) -> None:
    body = '{"model": "tts-1", "voice": "alloy", "input": "Hello.", "speed": ' + speed + "}"
    assert_problem(post_raw(client, "/v1/audio/speech", body), 400)


# --- strings that are not text ------------------------------------------------------


@pytest.mark.parametrize("field", ["text", "title", "markdown", "html"])
@pytest.mark.parametrize("surrogate", ["\\ud800", "\\udfff", "\\udc80\\ud800"])
def test_errors_lone_surrogate_in_a_field_is_read_as_a_replacement(
    client: FlaskClient, field: str, surrogate: str
) -> None:
    fields = {"text": STORY} if field == "title" else {}
    raw = json.dumps(fields)[:-1] + (", " if fields else "")
    body = raw + f'"{field}": "Breaking {surrogate} news. {STORY}"}}'
    answer = post_raw(client, "/api/narrations", body)
    assert answer.status_code in (200, 202), answer.get_data()[:300]
    shown = answer.get_json()["title"] if field == "title" else ""
    assert "\ud800" not in shown


def test_errors_lone_surrogate_as_utf8_bytes_in_json_is_read(client: FlaskClient) -> None:
    body = b'{"text": "Breaking \xed\xa0\x80 news. ' + STORY.encode() + b'"}'
    assert post_raw(client, "/api/narrations", body).status_code in (200, 202)


@pytest.mark.parametrize("field", ["input", "voice", "response_format", "model"])
def test_errors_lone_surrogate_in_openai_fields(client: FlaskClient, field: str) -> None:
    fields = {"model": "tts-1", "voice": "alloy", "input": "Hello.", "response_format": "wav"}
    body = json.dumps(fields).replace(f'"{field}": "', f'"{field}": "\\ud800', 1)
    assert_accepted_or_refused(post_raw(client, "/v1/audio/speech", body))


@pytest.mark.parametrize("field", ["voice", "format"])
def test_errors_long_options_are_refused_without_echoing_them(
    client: FlaskClient, field: str
) -> None:
    answer = client.post("/api/narrations", json={"text": STORY, field: "x" * 1_000_000})
    assert_problem(answer, 400, "longer than")
    assert len(answer.get_data()) < 2000


# --- JSON nested deeply -------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/narrations", "/v1/audio/speech"])
@pytest.mark.parametrize(
    "body",
    ["[" * 100_000 + "]" * 100_000, '{"text": ' + "[" * 100_000 + "]" * 100_000 + "}"],
    ids=["array", "field"],
)
def test_errors_json_nested_100000_deep_is_400(client: FlaskClient, path: str, body: str) -> None:
    assert_problem(post_raw(client, path, body), 400)


# --- keys ---------------------------------------------------------------------------


def test_errors_non_ascii_bearer_is_refused_and_a_non_ascii_key_works(tmp_path: Path) -> None:
    app = create_app(
        {
            "cache_dir": tmp_path / "cache",
            "workers": 1,
            "api_keys": "k1,clé",
            "voice": "pyttsx3:gmw/en-us",
        }
    )
    try:
        client = app.test_client()
        for given in ("ünknown", "Ā€", "k1é"):
            # WSGI hands header bytes over as latin-1: this is the UTF-8 a client sends.
            header = "Bearer " + given.encode().decode("latin-1")
            answer = client.post(
                "/api/narrations", json={"text": STORY}, headers={"Authorization": header}
            )
            assert_problem(answer, 403)
        speech = client.post(
            "/v1/audio/speech",
            json={"model": "tts-1", "input": "Hi."},
            headers={"Authorization": "Bearer \xe9\xe9"},
        )
        assert_problem(speech, 403)
        sent = "Bearer " + "clé".encode().decode("latin-1")
        right = client.post(
            "/api/narrations", json={"text": STORY}, headers={"Authorization": sent}
        )
        assert right.status_code == 202, right.get_json()
    finally:
        close_app(app)


# --- charsets that are not text encodings -------------------------------------------

NOT_TEXT = ["bz2_codec", "base64", "zlib_codec", "hex", "uu", "rot13", "utf-7", "unicode_escape"]


@pytest.mark.parametrize("charset", NOT_TEXT)
def test_errors_meta_charset_that_is_no_text_encoding_is_ignored(
    client: FlaskClient, charset: str
) -> None:
    page = f'<html><head><meta charset="{charset}"></head><body><p>Café. {STORY}</p></body></html>'
    assert sniff_charset(page.encode()) is None
    assert "Café" in decode_bytes(page.encode())
    answer = client.post("/api/narrations", data=page.encode(), content_type="text/html")
    assert answer.status_code in (200, 202), answer.get_data()[:300]


@pytest.mark.parametrize("charset", ["base64", "bz2_codec", "utf-7"])
def test_errors_declared_charset_of_a_fetched_page_that_is_no_text_encoding(
    client: FlaskClient, charset: str
) -> None:
    page = f"<html><body><article><p>Café. {STORY}</p></article></body></html>".encode()
    assert "Café" in decode_bytes(page, declared_charset=charset)
    with serving_page(page, content_type=f"text/html; charset={charset}") as site:
        answer = client.post("/api/narrations", json={"url": f"{site}/story"})
    assert answer.status_code in (200, 202), answer.get_data()[:300]


def test_errors_labels_are_read_as_browsers_read_them() -> None:
    assert sniff_charset(b'<meta charset="latin1">') == "cp1252"
    assert sniff_charset(b'<meta charset="gb2312">') == "gbk"
    assert decode_bytes(b"<p>caf\xe9</p>", declared_charset="iso-8859-1") == "<p>café</p>"


# --- malformed URLs -----------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["http://[::1/", "http://[zz]/", "http://[::1]:99999/", "https://[v1.x/a"]
)
def test_errors_malformed_url_is_a_fetch_error(client: FlaskClient, url: str) -> None:
    assert_problem(client.post("/api/narrations", json={"url": url}), 422, "not a valid address")


def test_errors_redirect_to_a_malformed_url_is_a_fetch_error(client: FlaskClient) -> None:
    with serving_page(b"", status=302, headers={"Location": "http://[::1/x"}) as site:
        answer = client.post("/api/narrations", json={"url": f"{site}/moved"})
    assert_problem(answer, 422, "invalid address")
