"""Send hostile values in every field of every endpoint: no answer may be a 5xx.

Values are those that broke the service before and their neighbours: numbers
JSON does not allow (``Infinity``, ``NaN``) or that overflow a float, lone
surrogates, control characters, nesting 100,000 deep, long runs of mark-up,
malformed URLs and ids, non-ASCII keys, charsets that are not text encodings.
Each field of each operation in the OpenAPI document gets them in turn, the
other fields holding valid values; the bodies are written by hand, as JSON's
own writer refuses some of them. Through the app's WSGI interface, in process.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.web import close_app, create_app
from service.web.openapi import openapi_document

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("api-fuzz")]

STORY = "A quiet night in the newsroom. Then the phones rang."
FUZZ = settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


class Raw(str):
    """A JSON value written as is: ``Infinity``, ``1e400``, ``[[[...]]]``."""

    __slots__ = ()

    def __repr__(self) -> str:
        text = str(self)
        return f"Raw({text[:40]!r}{'...' if len(text) > 40 else ''}, {len(text)} chars)"


def dump(value: Any) -> str:
    """Write ``value`` as JSON text, :class:`Raw` pieces verbatim, surrogates escaped."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{dump(str(k))}: {dump(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(dump(item) for item in value) + "]"
    return json.dumps(value)  # ensure_ascii: a lone surrogate becomes "\ud800"


def utf8(text: str) -> bytes:
    """Encode text as a client would, lone surrogates included (as CESU-like bytes)."""
    return text.encode("utf-8", "surrogatepass")


_SURROGATES = st.text(alphabet=st.characters(categories=["Cs"]), min_size=1, max_size=3)
_STRINGS = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "\n",
            "x\n",
            "%0A",
            "\u202e",
            "\ufeff",
            "e\u0301",
            "😀" * 5,
            "<script>alert(1)</script>",
            "&amp;" * 50,
            "\u201c" * 200,
            "[" * 300,
            "**a" * 200,
            "http://[::1/",
            "http://[zz]/",
            "http://127.0.0.1:9/",
            "https://x.invalid/a",
            "ftp://x/",
            "..",
            "../../etc/passwd",
            "0" * 32 + "\n",
            "Infinity",
            "NaN",
            "1e400",
            "-1",
            "9" * 5000,
            "pyttsx3:gmw/en-us",
            "alloy",
            "mp3",
            "wav",
            "pcm",
            "opus",
            "<meta charset=bz2_codec><p>x</p>",
        ]
    ),
    st.text(max_size=40),
    st.builds(
        lambda head, s, tail: head + s + tail, st.text(max_size=5), _SURROGATES, st.text(max_size=5)
    ),
    st.builds(
        lambda unit, count: unit * count,
        st.sampled_from(["a", "<b>", "&#65;", "*", "> ", "\u201cA. ", "x y ", "1,"]),
        st.integers(500, 5000),
    ),
)
_NUMBERS = st.one_of(
    st.sampled_from(
        [
            Raw("Infinity"),
            Raw("-Infinity"),
            Raw("NaN"),
            Raw("1e400"),
            Raw("-1e400"),
            Raw("1" + "0" * 400),
            Raw("9" * 5000),
            Raw("1.5"),
            Raw("-0"),
            Raw("4.9e-324"),
            Raw("175"),
            Raw("1.0"),
            Raw("0.25"),
            Raw("true"),
            Raw("null"),
        ]
    ),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
)
_STRUCTURES = st.sampled_from(
    [
        Raw("[" * 100_000 + "]" * 100_000),
        Raw('{"a": ' * 20_000 + "1" + "}" * 20_000),
        Raw("[]"), Raw("{}"), Raw('["text"]'), Raw('{"text": "x"}'),
    ]
)  # fmt: skip
HOSTILE = st.one_of(_STRINGS, _NUMBERS, _STRUCTURES)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    app = create_app(
        {
            "cache_dir": tmp_path_factory.mktemp("fuzz") / "cache",
            "workers": 1,
            "voice": "pyttsx3:gmw/en-us",
            "rate_limit_per_minute": 1_000_000,
            "queue_max": 100_000,
            "fetch_timeout_s": 2.0,
        }
    )
    app.testing = True
    yield app
    close_app(app)


@pytest.fixture(scope="module")
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="module")
def made(client: FlaskClient) -> str:
    """Return the id of a narration that exists."""
    answer = client.post("/api/narrations", json={"text": STORY})
    assert answer.status_code in (200, 202)
    return str(answer.get_json()["id"])


def assert_no_server_error(answer: Any, what: str, *, page: bool = False) -> None:
    """Assert an answer is not a 5xx, and that an error is problem details (a page: HTML)."""
    try:
        assert answer.status_code < 500, (what[:300], answer.get_data()[:300])
        if answer.status_code >= 400:
            wanted = "text/html" if page else "application/problem+json"
            assert answer.mimetype == wanted, (what[:300], answer.mimetype)
    finally:
        answer.close()


def _schema(ref: dict[str, Any]) -> dict[str, Any]:
    """Follow a body's schema to its definition (a body may also give it in place)."""
    if "$ref" not in ref:
        return ref
    name = ref["$ref"].rsplit("/", 1)[-1]
    schema: dict[str, Any] = openapi_document()["components"]["schemas"][name]
    return schema


def _json_fields() -> list[tuple[str, str]]:
    """List (path, field) for every property of every JSON request body (POST and PUT)."""
    found = []
    for path, item in openapi_document()["paths"].items():
        for method in ("post", "put"):
            body = item.get(method, {}).get("requestBody", {}).get("content", {})
            if "application/json" in body:
                schema = _schema(body["application/json"]["schema"])
                found += [(path, field) for field in schema["properties"]]
    return found


RULE = {"match": "NATO", "say": "North Atlantic Treaty Organization"}
VALID = {
    "/api/narrations": {"text": STORY},
    "/api/extract": {"text": STORY},
    "/v1/audio/speech": {"model": "tts-1", "voice": "alloy", "input": "Hello there."},
    "/api/lexicon-preview": {"rule": RULE},
    "/api/lexicons/{name}": {"sites": ["fuzz.example"], "rules": [RULE]},
    "/api/collections/{slug}": {"title": "The Daily Read"},
    "/api/events": {"narration_id": "0" * 32, "session": "Zq3kT9_vX2-pL8mN", "type": "play"},
    "/api/narrations/{narration_id}/voice": {"voice": "pyttsx3:gmw/en-us"},
}
JSON_FIELDS = _json_fields()
RULE_FIELDS = list(_schema({"$ref": "#/components/schemas/Rule"})["properties"])


def test_fuzz_every_body_field_is_covered() -> None:
    assert {path for path, _ in JSON_FIELDS} == set(VALID)
    assert ("/api/narrations", "rate") in JSON_FIELDS
    assert ("/api/narrations", "lexicon") in JSON_FIELDS
    assert ("/api/narrations", "page_url") in JSON_FIELDS
    assert ("/v1/audio/speech", "speed") in JSON_FIELDS
    assert ("/v1/audio/speech", "lexicon") in JSON_FIELDS
    assert ("/api/lexicons/{name}", "sites") in JSON_FIELDS
    assert ("/api/narrations", "collection") in JSON_FIELDS
    assert ("/api/collections/{slug}", "explicit") in JSON_FIELDS
    assert ("/api/events", "quartile") in JSON_FIELDS
    assert set(RULE_FIELDS) == {"match", "say", "ipa", "regex", "ignore_case"}


def send_json(client: FlaskClient, path: str, text: str) -> Any:
    """PUT a lexicon's or a collection's body, POST any other."""
    if "{name}" in path or "{slug}" in path:
        target = path.replace("{name}", "fuzz").replace("{slug}", "daily")
        return client.put(target, data=utf8(text), content_type="application/json")
    target = path.replace("{narration_id}", "0" * 32)
    return client.post(target, data=utf8(text), content_type="application/json")


@pytest.mark.parametrize(("path", "field"), JSON_FIELDS, ids=[f"{p} {f}" for p, f in JSON_FIELDS])
@FUZZ
@given(value=HOSTILE)
def test_fuzz_json_field(client: FlaskClient, path: str, field: str, value: Any) -> None:
    body = {**VALID[path], field: value}
    if field in ("text", "markdown", "html", "url") and path != "/api/lexicon-preview":
        body.pop("text")
        body[field] = value
    text = dump(body)
    assert_no_server_error(send_json(client, path, text), text)


@pytest.mark.parametrize("path", ["/api/lexicons/{name}", "/api/lexicon-preview"])
@pytest.mark.parametrize("field", RULE_FIELDS)
@FUZZ
@given(value=HOSTILE, regex=st.booleans())
def test_fuzz_rule_field(
    client: FlaskClient, path: str, field: str, value: Any, regex: bool
) -> None:
    rule = {**RULE, "regex": regex, field: value}
    body = {"rules": [rule]} if "{name}" in path else {"rule": rule, "text": STORY}
    text = dump(body)
    assert_no_server_error(send_json(client, path, text), text)


_PLS_HEAD = '<lexicon xmlns="http://www.w3.org/2005/01/pronunciation-lexicon" version="1.0">'
PLS_BODIES = st.one_of(
    st.sampled_from(
        [
            '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
            + _PLS_HEAD
            + "<lexeme><grapheme>&b;</grapheme><alias>x</alias></lexeme></lexicon>",
            '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            + _PLS_HEAD
            + "<lexeme><grapheme>&e;</grapheme><alias>x</alias></lexeme></lexicon>",
            _PLS_HEAD + "<lexeme>" * 50_000 + "</lexeme>" * 50_000 + "</lexicon>",
            _PLS_HEAD
            + "<lexeme><grapheme>NATO</grapheme><alias>x</alias></lexeme>" * 10_001
            + "</lexicon>",
            _PLS_HEAD + "<lexeme><grapheme></grapheme><phoneme>ʒ</phoneme></lexeme></lexicon>",
            _PLS_HEAD + "<lexeme><grapheme>a\ue000b</grapheme><alias>x</alias></lexeme></lexicon>",
            "<lexicon/>",
            "<",
            "",
        ]
    ),
    _STRINGS.map(
        lambda value: (
            _PLS_HEAD
            + f"<lexeme><grapheme>{value}</grapheme><alias>{value}</alias></lexeme></lexicon>"
        )
    ),
)


@FUZZ
@given(body=st.one_of(PLS_BODIES.map(utf8), st.binary(max_size=2000)))
def test_fuzz_pls_body(client: FlaskClient, body: bytes) -> None:
    answer = client.put("/api/lexicons/fuzz", data=body, content_type="application/pls+xml")
    assert_no_server_error(answer, repr(body[:300]))


@pytest.mark.parametrize("path", list(VALID))
@FUZZ
@given(
    fields=st.dictionaries(
        st.sampled_from(
            [
                "text",
                "title",
                "voice",
                "rate",
                "format",
                "url",
                "input",
                "speed",
                "response_format",
                "model",
                "markdown",
                "html",
                "lexicon",
                "page_url",
                "rule",
                "rules",
                "sites",
                "language",
                "collection",
                "explicit",
                "category",
                "image_url",
                "narration_id",
                "session",
                "type",
                "index",
                "quartile",
                "seconds",
                "\ud800",
                "",
            ]
        ),
        HOSTILE,
        max_size=5,
    ),
    whole=st.one_of(st.none(), _STRUCTURES, _NUMBERS, _STRINGS),
)
def test_fuzz_json_body(client: FlaskClient, path: str, fields: dict[str, Any], whole: Any) -> None:
    text = dump(fields if whole is None else whole)
    assert_no_server_error(send_json(client, path, text), text)


@FUZZ
@given(
    body=st.one_of(st.binary(max_size=9000), _STRINGS.map(utf8)),
    content_type=st.sampled_from(["text/plain;charset=UTF-8", "", "application/json", "x/y"]),
)
def test_fuzz_events_body_as_a_beacon_sends_it(
    client: FlaskClient, body: bytes, content_type: str
) -> None:
    answer = client.post("/api/events", data=body, headers={"Content-Type": content_type})
    assert_no_server_error(answer, f"{content_type} {body[:200]!r}")
    assert answer.status_code in (204, 413, 422)


FORM_FIELDS = [
    "text", "markdown", "html", "url", "title", "voice", "rate", "format", "lexicon", "page_url"
]  # fmt: skip


@pytest.mark.parametrize("field", FORM_FIELDS)
@FUZZ
@given(value=_STRINGS)
def test_fuzz_form_field(client: FlaskClient, field: str, value: str) -> None:
    fields = (
        {"text": STORY, field: value}
        if field not in ("markdown", "html", "url")
        else {field: value}
    )
    body = "&".join(
        f"{urllib.parse.quote(k)}={urllib.parse.quote(utf8(v))}" for k, v in fields.items()
    )
    answer = client.post(
        "/api/narrations", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert_no_server_error(answer, body)


RAW_TYPES = [
    "text/plain", "text/markdown", "text/html", "text/html; charset=bz2_codec",
    "text/plain; charset=base64", "text/html; charset=utf-7", "application/json; charset=rot13",
    "multipart/form-data", "application/x-www-form-urlencoded; charset=hex", "application/xml", "",
]  # fmt: skip


@pytest.mark.parametrize("content_type", RAW_TYPES)
@FUZZ
@given(
    body=st.one_of(st.binary(max_size=2000), _STRINGS.map(utf8)),
    query=st.dictionaries(
        st.sampled_from(["title", "voice", "rate", "format", "lexicon", "page_url"]),
        _STRINGS,
        max_size=3,
    ),
)
def test_fuzz_raw_body_and_query(
    client: FlaskClient, content_type: str, body: bytes, query: dict[str, str]
) -> None:
    target = "/api/narrations?" + "&".join(
        f"{k}={urllib.parse.quote(utf8(v))}" for k, v in query.items()
    )
    answer = client.post(target, data=body, headers={"Content-Type": content_type})
    assert_no_server_error(answer, f"{content_type} {target} {body[:200]!r}")


PATHS = [
    (method, path)
    for path, item in openapi_document()["paths"].items()
    for method in ("get", "delete")
    if method in item and "{" in path
]


@pytest.fixture(scope="module")
def stored(client: FlaskClient) -> str:
    """Return the name of a lexicon that exists."""
    answer = client.put("/api/lexicons/kept", json={"rules": [RULE]})
    assert answer.status_code in (200, 201)
    return "kept"


@pytest.mark.parametrize(("method", "path"), PATHS, ids=[f"{m} {p}" for m, p in PATHS])
@FUZZ
@given(narration_id=_STRINGS, fmt=_STRINGS, suffix=st.sampled_from(["", "\n", "%0A", "/..", "x"]))
def test_fuzz_path_parameters(
    client: FlaskClient,
    made: str,
    stored: str,
    method: str,
    path: str,
    narration_id: str,
    fmt: str,
    suffix: str,
) -> None:
    # a DELETE gets the kept lexicon's name only with something after it
    kept = stored + (suffix or "x") if method == "delete" else stored + suffix
    for candidate, name in ((narration_id, narration_id), (made + suffix, kept)):
        quoted = urllib.parse.quote(utf8(candidate), safe="%")
        url = (
            path.replace("{narration_id}", quoted)
            .replace("{name}", urllib.parse.quote(utf8(name), safe="%"))
            .replace("{fmt}", urllib.parse.quote(utf8(fmt), safe="") or "mp3")
            .replace("{slug}", urllib.parse.quote(utf8(fmt), safe="") or "daily")
        )
        answer = client.open(url, method=method.upper(), buffered=False)
        assert_no_server_error(answer, f"{method} {url}")


QUERY_PATHS = [
    "/api/voices",
    "/api/narrations/{id}/audio.mp3",
    "/api/lexicons/{lexicon}",
    "/api/narrations/{id}/stats",
    "/api/stats?collection=daily",
    "/dashboard",
    "/dashboard?collection=daily",
    "/dashboard?narration={id}",
]
QUERY_NAMES = ["language", "download", "engine", "format", "since", "until", "collection"]


@pytest.mark.parametrize("path", QUERY_PATHS)
@FUZZ
@given(value=_STRINGS, name=st.sampled_from([*QUERY_NAMES, "narration", "\ud800"]))
def test_fuzz_query_parameters(
    client: FlaskClient, made: str, stored: str, path: str, value: str, name: str
) -> None:
    client.put("/api/collections/daily", json={"title": "Daily"})
    url = path.replace("{id}", made).replace("{lexicon}", stored)
    url += ("&" if "?" in url else "?") + urllib.parse.quote(utf8(name)) + "="
    url += urllib.parse.quote(utf8(value))
    assert_no_server_error(client.get(url, buffered=False), url, page=path.startswith("/dash"))


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    """Return a client of an app that needs an API key (one of them not ASCII)."""
    app = create_app(
        {
            "cache_dir": tmp_path_factory.mktemp("fuzz-keys") / "cache",
            "workers": 1,
            "api_keys": "k1,clé",
            "rate_limit_per_minute": 1_000_000,
        }
    )
    yield app.test_client()
    close_app(app)


@FUZZ
@given(key=st.one_of(_STRINGS, st.binary(max_size=40).map(lambda b: b.decode("latin-1"))))
def test_fuzz_authorization_header(keyed: FlaskClient, key: str) -> None:
    header = "Bearer " + key.encode("utf-8", "surrogatepass").decode("latin-1")
    header = header.replace("\r", "").replace("\n", "")  # a header cannot hold a line break
    for path, body in VALID.items():
        if path == "/api/events":
            continue  # a listener's page has no key, and needs none
        answer = keyed.open(
            path.replace("{name}", "keyed")
            .replace("{slug}", "daily")
            .replace("{narration_id}", "0" * 32),
            method="PUT" if "{name}" in path or "{slug}" in path else "POST",
            json=json.loads(dump(body)),
            headers={"Authorization": header},
        )
        status = answer.status_code
        assert_no_server_error(answer, header)
        assert status in (401, 403)
    basic = "Basic " + base64.b64encode(key.encode("utf-8", "surrogatepass")).decode()
    for authorization in (basic, header.replace("Bearer", "Basic", 1)):
        page = keyed.get("/dashboard", headers={"Authorization": authorization})
        assert_no_server_error(page, authorization, page=True)
        assert page.status_code == 401
    reads = (("GET", "/api/lexicons"), ("GET", "/api/lexicons/keyed"))
    for method, path in (*reads, ("GET", "/api/stats?collection=daily")):
        answer = keyed.open(path, method=method, headers={"Authorization": header})
        status = answer.status_code
        assert_no_server_error(answer, header)
        assert status in (401, 403)
