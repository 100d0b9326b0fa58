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


def assert_no_server_error(answer: Any, what: str) -> None:
    """Assert an answer is not a 5xx, and that an error is problem details."""
    try:
        assert answer.status_code < 500, (what[:300], answer.get_data()[:300])
        if answer.status_code >= 400:
            assert answer.mimetype == "application/problem+json", (what[:300], answer.mimetype)
    finally:
        answer.close()


def _schema(ref: dict[str, Any]) -> dict[str, Any]:
    name = ref["$ref"].rsplit("/", 1)[-1]
    schema: dict[str, Any] = openapi_document()["components"]["schemas"][name]
    return schema


def _json_fields() -> list[tuple[str, str]]:
    """List (path, field) for every property of every JSON request body."""
    found = []
    for path, item in openapi_document()["paths"].items():
        body = item.get("post", {}).get("requestBody", {}).get("content", {})
        if "application/json" in body:
            schema = _schema(body["application/json"]["schema"])
            found += [(path, field) for field in schema["properties"]]
    return found


VALID = {
    "/api/narrations": {"text": STORY},
    "/api/extract": {"text": STORY},
    "/v1/audio/speech": {"model": "tts-1", "voice": "alloy", "input": "Hello there."},
}
JSON_FIELDS = _json_fields()


def test_fuzz_every_body_field_is_covered() -> None:
    assert {path for path, _ in JSON_FIELDS} == set(VALID)
    assert ("/api/narrations", "rate") in JSON_FIELDS
    assert ("/v1/audio/speech", "speed") in JSON_FIELDS


@pytest.mark.parametrize(("path", "field"), JSON_FIELDS, ids=[f"{p} {f}" for p, f in JSON_FIELDS])
@FUZZ
@given(value=HOSTILE)
def test_fuzz_json_field(client: FlaskClient, path: str, field: str, value: Any) -> None:
    body = {**VALID[path], field: value}
    if field in ("text", "markdown", "html", "url"):
        body.pop("text")
        body[field] = value
    text = dump(body)
    answer = client.post(path, data=utf8(text), content_type="application/json")
    assert_no_server_error(answer, text)


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
    answer = client.post(path, data=utf8(text), content_type="application/json")
    assert_no_server_error(answer, text)


FORM_FIELDS = ["text", "markdown", "html", "url", "title", "voice", "rate", "format"]


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
        st.sampled_from(["title", "voice", "rate", "format"]), _STRINGS, max_size=3
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
    path for path, item in openapi_document()["paths"].items() if "get" in item and "{" in path
]


@pytest.mark.parametrize("path", PATHS)
@FUZZ
@given(narration_id=_STRINGS, fmt=_STRINGS, suffix=st.sampled_from(["", "\n", "%0A", "/..", "x"]))
def test_fuzz_path_parameters(
    client: FlaskClient, made: str, path: str, narration_id: str, fmt: str, suffix: str
) -> None:
    for candidate in (narration_id, made + suffix):
        quoted = urllib.parse.quote(utf8(candidate), safe="%")
        url = path.replace("{narration_id}", quoted).replace(
            "{fmt}", urllib.parse.quote(utf8(fmt), safe="") or "mp3"
        )
        assert_no_server_error(client.get(url, buffered=False), url)


@pytest.mark.parametrize("path", ["/api/voices", "/api/narrations/{id}/audio.mp3"])
@FUZZ
@given(value=_STRINGS, name=st.sampled_from(["language", "download", "engine", "\ud800"]))
def test_fuzz_query_parameters(
    client: FlaskClient, made: str, path: str, value: str, name: str
) -> None:
    url = path.replace("{id}", made) + "?" + urllib.parse.quote(utf8(name)) + "="
    url += urllib.parse.quote(utf8(value))
    assert_no_server_error(client.get(url, buffered=False), url)


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
        answer = keyed.post(path, json=json.loads(dump(body)), headers={"Authorization": header})
        status = answer.status_code
        assert_no_server_error(answer, header)
        assert status in (401, 403)
