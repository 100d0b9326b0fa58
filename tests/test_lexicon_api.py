"""The lexicon API on SQLite and a real PostgreSQL: store, read, refuse, narrate by a lexicon."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from harness.webserver import serving_page
from service.config import Settings
from service.library import upgrade_database
from service.web import close_app, create_app
from tests.conftest import SEED_ARTICLE

pytestmark = pytest.mark.xdist_group("postgres")

NATO = {"match": "NATO", "say": "North Atlantic Treaty Organization"}
NEWS = {
    "sites": ["example.com"],
    "rules": [
        NATO,
        {"match": "Stoltenberg", "ipa": "ˈstɔltənbɛrk"},
        {"match": r"v\d+", "regex": True, "say": "version"},
    ],
}
PLS = """<?xml version="1.0" encoding="UTF-8"?>
<lexicon version="1.0" xmlns="http://www.w3.org/2005/01/pronunciation-lexicon"
         alphabet="ipa" xml:lang="en-US">
  <lexeme><grapheme>NATO</grapheme><alias>North Atlantic Treaty Organization</alias></lexeme>
  <lexeme><grapheme>Paganini</grapheme><phoneme>pɑɡəˈniːni</phoneme></lexeme>
</lexicon>
"""


def make_app(tmp_path: Path, database_url: str, **overrides: Any) -> Flask:
    config = {
        "cache_dir": tmp_path / "cache",
        "workers": 1,
        "voice": "pyttsx3:gmw/en-us",
        "database_url": database_url,
        "allow_private_urls": True,
        **overrides,
    }
    if database_url.startswith("postgresql"):
        upgrade_database(Settings.from_env({}, **config))
    app = create_app(config)
    app.testing = True
    return app


@pytest.fixture
def app(tmp_path: Path, database_url: str) -> Iterator[Flask]:
    made = make_app(tmp_path, database_url)
    yield made
    close_app(made)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def wait_done(client: FlaskClient, status_url: str, timeout_s: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        body: dict[str, Any] = client.get(status_url).get_json()
        if body["status"] in ("done", "failed") or time.monotonic() > deadline:
            assert body["status"] == "done", body
            return body
        time.sleep(0.1)


def sentences_made(client: FlaskClient) -> int:
    """Return how many sentences the engines have synthesised (not found in the cache)."""
    metrics = client.get("/metrics").get_data(as_text=True)
    found = re.search(r'^listen_sentences_total\{cache="miss"\} ([0-9.e+]+)$', metrics, re.M)
    assert found is not None, metrics
    return int(float(found.group(1)))


def test_api_lexicon_put_list_get_export_delete(client: FlaskClient) -> None:
    created = client.put("/api/lexicons/news", json=NEWS)
    assert created.status_code == 201, created.get_json()
    assert created.headers["Location"] == "/api/lexicons/news"
    assert created.get_json() == {"name": "news", **NEWS}
    assert client.put("/api/lexicons/news", json=NEWS).status_code == 200
    listed = client.get("/api/lexicons").get_json()["lexicons"]
    assert [(x["name"], x["rules"], x["sites"]) for x in listed] == [("news", 3, ["example.com"])]
    shown = client.get("/api/lexicons/news")
    assert shown.mimetype == "application/json"
    assert shown.get_json() == {"name": "news", **NEWS}
    assert shown.headers["ETag"] and "Accept" in shown.headers["Vary"]
    # PLS in by its content type, out by Accept (or ?format=pls)
    stored = client.put("/api/lexicons/pls", data=PLS.encode(), content_type="application/pls+xml")
    assert stored.status_code == 201, stored.get_json()
    assert stored.get_json()["rules"][1] == {"match": "Paganini", "ipa": "pɑɡəˈniːni"}
    exported = client.get("/api/lexicons/pls", headers={"Accept": "application/pls+xml"})
    assert exported.mimetype == "application/pls+xml"
    assert "<phoneme>pɑɡəˈniːni</phoneme>" in exported.get_data(as_text=True)
    assert client.get("/api/lexicons/pls?format=pls").get_data() == exported.get_data()
    again = client.put("/api/lexicons/copy", data=exported.get_data(), content_type="text/xml")
    assert again.get_json()["rules"] == stored.get_json()["rules"]
    # a lexicon PLS cannot hold whole is refused, not written with rules lost
    refused = client.get("/api/lexicons/news", headers={"Accept": "application/pls+xml"})
    assert refused.status_code == 406
    assert "regular" in refused.get_json()["detail"]
    assert client.delete("/api/lexicons/news").status_code == 204
    assert client.get("/api/lexicons/news").status_code == 404
    assert client.delete("/api/lexicons/news").status_code == 404
    assert [x["name"] for x in client.get("/api/lexicons").get_json()["lexicons"]] == [
        "copy",
        "pls",
    ]


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"rules": [{"match": "(a+)+", "regex": True, "say": "x"}]}, 422, "nested quantifiers"),
        ({"rules": [{"match": "(a|a)+z", "regex": True, "say": "x"}]}, 422, "catastrophic"),
        ({"rules": [{"match": "v(", "regex": True, "say": "x"}]}, 422, "rule 1"),
        ({"rules": [{"match": r"(\w)\1", "regex": True, "say": "x"}]}, 422, "rule 1"),
        ({"rules": [{"match": "NATO"}]}, 422, "needs 'say'"),
        ({"rules": [NATO] * 2}, 422, "matches the same text as rule 1"),
        ({"rules": [{"match": f"w{n}", "say": "x"} for n in range(10_001)]}, 422, "10,000"),
        ({"rules": [{"match": "a\ud800", "say": "x"}]}, 422, "surrogate"),
        ({"rules": [NATO], "sites": ["https://example.com/"]}, 422, "not a URL"),
        ({"rules": [NATO], "colour": "red"}, 422, "unknown lexicon field"),
    ],
    ids=[
        "nested",
        "overlapping",
        "invalid",
        "backreference",
        "no-say",
        "repeated",
        "too-many",
        "surrogate",
        "site-url",
        "unknown",
    ],
)
def test_api_lexicon_refuses_bad_lexicons_before_storing(
    client: FlaskClient, body: dict[str, Any], status: int, detail: str
) -> None:
    text = json.dumps(body)  # ensure_ascii: a lone surrogate travels as "\ud800"
    answer = client.put("/api/lexicons/bad", data=text, content_type="application/json")
    assert answer.status_code == status, answer.get_json()
    assert answer.mimetype == "application/problem+json"
    assert detail in answer.get_json()["detail"]
    assert client.get("/api/lexicons/bad").status_code == 404


def test_api_lexicon_other_refusals(client: FlaskClient) -> None:
    assert client.put("/api/lexicons/news", json=NEWS).status_code == 201
    conflict = client.put("/api/lexicons/other", json={"sites": ["example.com"], "rules": [NATO]})
    assert conflict.status_code == 409
    assert "already belongs to the lexicon 'news'" in conflict.get_json()["detail"]
    unsupported = client.put("/api/lexicons/x", data=b"NATO", content_type="text/plain")
    assert unsupported.status_code == 415
    assert client.put("/api/lexicons/bad%20name", json=NEWS).status_code == 422
    assert client.get("/api/lexicons/bad%20name").status_code == 404
    entity = '<!DOCTYPE l [<!ENTITY a "a">]><lexicon>&a;</lexicon>'
    refused = client.put("/api/lexicons/x", data=entity, content_type="application/pls+xml")
    assert refused.status_code == 422 and "refused" in refused.get_json()["detail"]
    deep = client.put("/api/lexicons/x", data="[" * 100_000, content_type="application/json")
    assert deep.status_code == 422


@pytest.mark.slow
def test_api_narration_names_its_lexicon_and_refuses_an_unknown_one(client: FlaskClient) -> None:
    client.put("/api/lexicons/news", json=NEWS)
    story = "NATO met in Brussels. The weather was fine."
    plain = client.post("/api/narrations", json={"text": story}).get_json()
    ruled = client.post("/api/narrations", json={"text": story, "lexicon": "news"}).get_json()
    assert (plain["lexicon"], plain["lexicon_rules_applied"]) == (None, 0)
    assert (ruled["lexicon"], ruled["lexicon_rules_applied"]) == ("news", 1)
    assert ruled["id"] != plain["id"]
    plain, ruled = wait_done(client, plain["status_url"]), wait_done(client, ruled["status_url"])
    assert ruled["duration_ms"] > plain["duration_ms"] + 1000  # nine syllables for four
    assert client.get(ruled["status_url"]).get_json()["lexicon"] == "news"
    unknown = client.post("/api/narrations", json={"text": story, "lexicon": "nope"})
    assert unknown.status_code == 422
    assert unknown.get_json()["detail"] == "no lexicon is called 'nope'"
    assert client.post("/api/narrations", json={"text": story, "lexicon": "a b"}).status_code == 422
    speech = {"model": "tts-1", "input": story, "response_format": "wav"}
    bad_speech = client.post("/v1/audio/speech", json={**speech, "lexicon": "nope"})
    assert bad_speech.status_code == 422
    said_plain = client.post("/v1/audio/speech", json=speech)
    said_ruled = client.post("/v1/audio/speech", json={**speech, "lexicon": "news"})
    assert said_plain.status_code == said_ruled.status_code == 200
    assert len(said_ruled.get_data()) > len(said_plain.get_data()) + 22_050  # > 0.5 s longer


@pytest.mark.slow
def test_api_site_lexicon_reads_urls_and_embeds_of_its_hosts(client: FlaskClient) -> None:
    client.put("/api/lexicons/local", json={"sites": ["localhost"], "rules": [NATO]})
    client.put("/api/lexicons/news", json={"sites": ["news.example"], "rules": [NATO]})
    page = b"<html><body><article><h1>Summit</h1><p>NATO met today.</p></article></body></html>"
    with serving_page(page) as site:
        url = site.replace("127.0.0.1", "localhost") + "/story"
        by_url = client.post("/api/narrations", json={"url": url}).get_json()
        assert by_url["lexicon"] == "local", by_url
        other_host = client.post("/api/narrations", json={"url": f"{site}/story"}).get_json()
        assert other_host["lexicon"] is None
        named = client.post("/api/narrations", json={"url": url, "lexicon": "news"}).get_json()
        assert named["lexicon"] == "news"
    html = page.decode()
    page_url = "https://www.news.example/2026/summit"
    embed = {"html": html, "page_url": page_url}
    sent = client.post(
        "/api/narrations", json=embed, headers={"Origin": "https://www.news.example"}
    )
    assert sent.get_json()["lexicon"] == "news"  # a subdomain of a site is covered
    elsewhere = client.post("/api/narrations", json=embed, headers={"Origin": "https://evil.test"})
    assert elsewhere.status_code in (200, 202)
    assert elsewhere.get_json()["lexicon"] is None  # another site's page cannot claim it
    by_program = client.post("/api/narrations", json=embed)  # no Origin: not a browser
    assert by_program.get_json()["lexicon"] == "news"
    assert client.post("/api/narrations", json={"html": html}).get_json()["lexicon"] is None
    bad = client.post("/api/narrations", json={"html": html, "page_url": "javascript:alert(1)"})
    assert bad.status_code == 400


def test_api_keys_guard_lexicons_and_no_keys_guard_against_other_sites(
    tmp_path: Path, database_url: str
) -> None:
    keyed = make_app(tmp_path / "keyed", database_url, api_keys="k1")
    try:
        client = keyed.test_client()
        assert client.get("/api/lexicons").status_code == 401
        assert client.put("/api/lexicons/news", json=NEWS).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert client.put("/api/lexicons/news", json=NEWS, headers=wrong).status_code == 403
        key = {"Authorization": "Bearer k1", "Sec-Fetch-Site": "cross-site"}  # a key: any site
        assert client.put("/api/lexicons/news", json=NEWS, headers=key).status_code == 201
        assert client.get("/api/lexicons/news").status_code == 401
        assert client.get("/api/lexicons/news", headers=key).status_code == 200
        assert client.delete("/api/lexicons/news").status_code == 401
        preview = {"rule": NATO}
        assert client.post("/api/lexicon-preview", json=preview).status_code == 401
        assert client.delete("/api/lexicons/news", headers=key).status_code == 204
    finally:
        close_app(keyed)
    open_app = make_app(tmp_path / "open", database_url)
    try:
        client = open_app.test_client()
        cross = client.put(
            "/api/lexicons/news", json=NEWS, headers={"Sec-Fetch-Site": "cross-site"}
        )
        assert cross.status_code == 403
        assert cross.get_json()["type"].endswith("/cross-site-request")
        origin = {"Origin": "https://evil.test"}
        assert client.put("/api/lexicons/news", json=NEWS, headers=origin).status_code == 403
        for broken in ("http://[::1", "https://news.example:99999", "\x7f"):
            refused = client.put("/api/lexicons/news", json=NEWS, headers={"Origin": broken})
            assert refused.status_code == 403, broken
        ours = {"Sec-Fetch-Site": "same-origin"}
        assert client.put("/api/lexicons/news", json=NEWS, headers=ours).status_code == 201
        assert client.delete("/api/lexicons/news", headers=origin).status_code == 403
        assert client.get("/api/lexicons/news", headers=origin).status_code == 200  # reading
    finally:
        close_app(open_app)


def test_api_preview_says_a_rule_with_and_without(client: FlaskClient) -> None:
    answer = client.post("/api/lexicon-preview", json={"rule": NATO})
    assert answer.status_code in (200, 202)
    body = answer.get_json()
    assert body["without"]["lexicon"] is None
    assert (body["with"]["lexicon"], body["with"]["lexicon_rules_applied"]) == ("preview", 1)
    without = wait_done(client, body["without"]["status_url"])
    ruled = wait_done(client, body["with"]["status_url"])
    assert ruled["duration_ms"] > without["duration_ms"] + 800
    again = client.post("/api/lexicon-preview", json={"rule": NATO})
    assert again.status_code == 200  # made once, cached like any narration
    assert again.get_json()["with"]["id"] == ruled["id"]
    regex_rule = {"match": r"v(\d+)", "regex": True, "say": "version"}
    needs_text = client.post("/api/lexicon-preview", json={"rule": regex_rule})
    assert needs_text.status_code == 400 and "sample" in needs_text.get_json()["detail"]
    sample = client.post("/api/lexicon-preview", json={"rule": regex_rule, "text": "Try v2 now."})
    assert sample.status_code in (200, 202)
    no_match = client.post("/api/lexicon-preview", json={"rule": NATO, "text": "Hello there."})
    assert no_match.status_code == 422 and "does not match" in no_match.get_json()["detail"]
    catastrophic = {"match": "(a+)+", "regex": True, "say": "x"}
    refused = client.post("/api/lexicon-preview", json={"rule": catastrophic, "text": "aaa"})
    assert refused.status_code == 422


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.slow
def test_api_a_new_rule_makes_only_the_sentences_with_its_term_again(
    client: FlaskClient,
) -> None:
    text = SEED_ARTICLE.read_text(encoding="utf-8")
    first = client.post("/api/narrations", json={"text": text}).get_json()
    timings = wait_done(client, first["status_url"])["timings_url"]
    sentences = [s for b in client.get(timings).get_json()["blocks"] for s in b["sentences"]]
    with_term = sum(bool(re.search(r"(?<!\w)NATO(?!\w)", s["spoken"])) for s in sentences)
    assert 0 < with_term < len(sentences)
    made_before = sentences_made(client)
    client.put("/api/lexicons/news", json={"rules": [NATO]})
    again = client.post("/api/narrations", json={"text": text, "lexicon": "news"}).get_json()
    wait_done(client, again["status_url"])
    assert sentences_made(client) - made_before == with_term
    # a rule the article does not hold changes nothing: the same narration, nothing made
    grown = {"rules": [NATO, {"match": "Paganini", "say": "Pa ga nini"}]}
    client.put("/api/lexicons/news", json=grown)
    same = client.post("/api/narrations", json={"text": text, "lexicon": "news"}).get_json()
    assert same["id"] == again["id"] and same["status"] == "done"
    # an edit of the rule that applies is seen at once (nothing kept in memory hides it), and
    # again only the sentences with the term are made
    made_before = sentences_made(client)
    edited = {"rules": [{**NATO, "say": "the Atlantic alliance"}, grown["rules"][1]]}
    assert client.put("/api/lexicons/news", json=edited).status_code == 200
    changed = client.post("/api/narrations", json={"text": text, "lexicon": "news"}).get_json()
    assert changed["id"] != again["id"]
    wait_done(client, changed["status_url"])
    assert sentences_made(client) - made_before == with_term


@pytest.mark.slow  # loads a speech recogniser
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_api_say_rule_changes_what_a_recogniser_hears(client: FlaskClient) -> None:
    from tests.recogniser import heard_words

    client.put("/api/lexicons/news", json={"rules": [NATO]})
    text = "The NATO summit opened in Brussels today."
    heard = {}
    for lexicon in (None, "news"):
        body = {"text": text, **({"lexicon": lexicon} if lexicon else {})}
        made = wait_done(client, client.post("/api/narrations", json=body).get_json()["status_url"])
        heard[lexicon] = heard_words(client.get(made["audio_url"]).data)
    assert "nato" in heard[None] and "atlantic" not in heard[None], heard
    assert heard["news"][1:5] == ["north", "atlantic", "treaty", "organization"], heard
    assert "nato" not in heard["news"], heard
