"""Range requests of finished audio, as RFC 9110 says, whoever sends the bytes.

The same answers come from the app alone (Flask's test client) and from the
real server, where nginx sends the file named by the app.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from harness.webserver import running_server
from service.web import close_app, create_app
from service.web.ranges import RangeNotSatisfiableError, Span, wanted_span
from tests.conftest import SEED_ARTICLE

ETAG = "0" * 64


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, (0, 100, False)),
        ("bytes=0-1", (0, 2, True)),
        ("bytes=10-", (10, 100, True)),
        ("bytes=-30", (70, 100, True)),
        ("bytes=-500", (0, 100, True)),  # a suffix longer than the file: all of it, as a part
        ("bytes=90-5000", (90, 100, True)),
        ("Bytes=0-1", (0, 2, True)),
        ("bytes= 0 - 1", (0, 2, True)),
        ("bytes=abc", (0, 100, False)),
        ("bytes=5-3", (0, 100, False)),
        ("bytes=-", (0, 100, False)),
        ("items=0-1", (0, 100, False)),
        ("bytes=0-1,5-6", (0, 100, False)),
        ("bytes=0-1, 5-6", (0, 100, False)),
        ("bytes 0-1", (0, 100, False)),
    ],
)
def test_ranges_span_follows_rfc_9110(header: str | None, expected: tuple[int, int, bool]) -> None:
    span = wanted_span(header, None, ETAG, 100)
    assert (span.start, span.stop, span.partial) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=1000-2000", "bytes=-0"])
def test_ranges_unsatisfiable_ranges_are_416_with_the_length(header: str) -> None:
    with pytest.raises(RangeNotSatisfiableError) as raised:
        wanted_span(header, None, ETAG, 100)
    assert raised.value.length == 100


def test_ranges_if_range_with_another_version_or_a_date_asks_for_the_whole() -> None:
    assert wanted_span("bytes=0-1", f'"{ETAG}"', ETAG, 100) == Span(0, 2, partial=True)
    for if_range in ('"stale"', f'W/"{ETAG}"', "Tue, 01 Dec 2026 10:00:00 GMT"):
        assert not wanted_span("bytes=0-1", if_range, ETAG, 100).partial


def test_ranges_positions_nginx_reads_otherwise_are_not_plain() -> None:
    assert wanted_span("bytes=0-" + "9" * 20, None, ETAG, 100) == Span(
        0, 100, partial=True, plain=False
    )


CASES: list[tuple[dict[str, str], int]] = [
    ({}, 200),
    ({"Range": "bytes=0-1"}, 206),  # Safari's probe
    ({"Range": "bytes=1000-66535"}, 206),
    ({"Range": "bytes=-500"}, 206),
    ({"Range": "bytes=5000-"}, 206),
    ({"Range": "bytes= 10 - 19"}, 206),
    ({"Range": "bytes=abc"}, 200),
    ({"Range": "items=0-1"}, 200),
    ({"Range": "bytes=0-1,5-6"}, 200),
    ({"Range": "bytes=5-3"}, 200),
    ({"Range": "bytes=0-" + "9" * 25}, 206),
    ({"Range": "bytes=99999999-"}, 416),
    ({"Range": "bytes=-0"}, 416),
    ({"Range": "bytes=10-19", "If-Range": '"stale"'}, 200),
]
COMPARED = ("Content-Range", "Content-Length", "Content-Type", "Cache-Control", "ETag",
            "X-Content-Type-Options", "Vary")  # fmt: skip


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Flask, str]]:
    """Run the real server and an app on the same cache; yield both and a finished narration."""
    cache = tmp_path_factory.mktemp("ranges") / "cache"
    with running_server(cache, env={"LISTEN_WORKERS": "1"}) as base:
        netloc = urllib.parse.urlsplit(base).netloc
        made = send(netloc, "POST", "/api/narrations", SEED_ARTICLE.read_bytes(),
                    {"Content-Type": "text/plain"})  # fmt: skip
        narration = json.loads(made[2])
        deadline = time.monotonic() + 60
        while json.loads(send(netloc, "GET", narration["status_url"])[2])["status"] != "done":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        app = create_app({"cache_dir": cache, "workers": 1})
        try:
            yield netloc, app, narration["audio_url"]
        finally:
            close_app(app)


def send(
    netloc: str,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection(netloc, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        answer = connection.getresponse()
        return answer.status, dict(answer.getheaders()), answer.read()
    finally:
        connection.close()


@pytest.mark.server
@pytest.mark.parametrize(
    ("headers", "expected"), CASES, ids=[" ".join(h.values()) or "none" for h, _s in CASES]
)
def test_ranges_the_server_and_the_app_answer_alike(
    served: tuple[str, Flask, str], headers: dict[str, str], expected: int
) -> None:
    netloc, app, url = served
    whole = send(netloc, "GET", url)[2]
    status, got, body = send(netloc, "GET", url, headers=headers)
    local = app.test_client().get(url, headers=headers)
    local_body = local.get_data()
    local.close()
    assert status == local.status_code == expected, headers
    expected: dict[str, Any] = {name: local.headers.get(name) for name in COMPARED}
    assert {name: got.get(name) for name in COMPARED} == expected, headers
    if status in (200, 206):
        assert body == local_body
        assert got["Accept-Ranges"] == "bytes"
        assert "Last-Modified" not in got
        assert got["ETag"] == f'"{hashlib.sha256(whole).hexdigest()}"'
    if status == 200:
        assert body == whole
    if status == 416:
        assert got["Content-Range"] == f"bytes */{len(whole)}"
        assert json.loads(body)["status"] == 416


@pytest.mark.server
def test_ranges_conditional_and_head_requests_through_the_front(
    served: tuple[str, Flask, str],
) -> None:
    netloc, _app, url = served
    status, headers, whole = send(netloc, "GET", url)
    assert status == 200
    assert send(netloc, "GET", url, headers={"If-None-Match": headers["ETag"]})[0] == 304
    head = send(netloc, "HEAD", url, headers={"Range": "bytes=0-1"})
    assert head[0] == 206 and head[1]["Content-Length"] == "2" and head[2] == b""
    matching = send(
        netloc, "GET", url, headers={"Range": "bytes=10-19", "If-Range": headers["ETag"]}
    )
    assert matching[0] == 206 and matching[2] == whole[10:20]
    publisher = send(
        netloc, "GET", url, headers={"Origin": "https://news.example", "Range": "bytes=0-1"}
    )
    assert publisher[0] == 206 and publisher[2] == whole[:2]
    assert publisher[1]["Access-Control-Allow-Origin"] in ("*", "https://news.example")
    assert "Content-Range" in publisher[1]["Access-Control-Expose-Headers"]
    assert publisher[1]["Vary"] == "Origin"
    download = send(netloc, "GET", url + "?download=1")
    assert download[0] == 200 and download[1]["Content-Disposition"].startswith("attachment")
    assert download[2] == whole
