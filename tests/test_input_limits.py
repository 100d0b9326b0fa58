"""The length limit counts everything read, and is checked once, before anything is planned."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from service.config import Settings
from service.errors import TooLargeError
from service.pipeline.prepare import prepare_plan
from service.text.article import Article, Block
from service.text.limits import CHARS_PER_WORD, check_length
from service.web import close_app, create_app
from tests.conftest import SEEDS
from tests.webserver import serving_page

HUGE_TITLE = "word " * 200_000
BODY = "A short story.\n\nIt was a quiet night in the newsroom. Then the phones rang."


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app = create_app(
        {
            "cache_dir": tmp_path / "cache",
            "workers": 1,
            "voice": "pyttsx3:gmw/en-us",
            "allow_private_urls": True,
        }
    )
    app.testing = True
    yield app
    close_app(app)


def assert_too_long(answer: Any, detail: str = "LISTEN_MAX_WORDS") -> None:
    assert answer.status_code == 413, answer.get_json()
    assert answer.mimetype == "application/problem+json"
    assert detail in answer.get_json()["detail"]


def test_limits_title_given_with_a_url_counts_towards_the_word_limit(app: Flask) -> None:
    page = (SEEDS / "newsroom-page.html").read_bytes()
    with serving_page(page) as site:
        client = app.test_client()
        answer = client.post("/api/narrations", json={"url": f"{site}/a", "title": HUGE_TITLE})
        assert_too_long(answer)
        assert "200," in answer.get_json()["detail"]
        fine = client.post("/api/narrations", json={"url": f"{site}/a", "title": " Given "})
        assert fine.status_code == 202, fine.get_json()
        assert fine.get_json()["title"] == "Given"


@pytest.mark.parametrize("kind", ["text", "markdown", "html"])
def test_limits_title_given_with_text_counts_towards_the_word_limit(app: Flask, kind: str) -> None:
    body = {"text": BODY, "markdown": BODY, "html": f"<p>{BODY}</p>"}[kind]
    answer = app.test_client().post("/api/narrations", json={kind: body, "title": HUGE_TITLE})
    assert_too_long(answer)


def test_limits_openai_input_over_the_word_limit_is_413(app: Flask) -> None:
    answer = app.test_client().post(
        "/v1/audio/speech", json={"model": "tts-1", "voice": "alloy", "input": "word " * 60_000}
    )
    assert_too_long(answer)


@pytest.mark.parametrize(
    "text",
    ["Title\n\n" + "x" * 600_000, "Title\n\n" + "語" * 600_000],
    ids=["one-long-token", "no-spaces"],
)
def test_limits_text_without_spaces_is_counted_by_its_characters(app: Flask, text: str) -> None:
    # Two or three "words", but as long to plan and to say as 600,000 characters.
    answer = app.test_client().post(
        "/api/narrations", data=text.encode(), content_type="text/plain"
    )
    assert_too_long(answer, "characters")


def test_limits_byline_counts_and_the_check_is_made_when_planning(tmp_path: Path) -> None:
    settings = Settings(cache_dir=tmp_path, max_words=20, voice="pyttsx3:gmw/en-us")
    article = Article(
        title="Title", byline="A " * 30, blocks=(Block("paragraph", "Five words in this one."),)
    )
    with pytest.raises(TooLargeError, match="36 words; the limit is 20"):
        check_length(article, settings)
    with pytest.raises(TooLargeError, match="LISTEN_MAX_WORDS"):
        prepare_plan(article, settings)
    unlimited = settings.replace(max_words=0)
    check_length(article, unlimited)
    assert prepare_plan(article, unlimited).segments_total == 3


def test_limits_characters_allowed_follow_the_word_limit() -> None:
    settings = Settings(max_words=100)
    fits = Article(title="", blocks=(Block("paragraph", "y" * (100 * CHARS_PER_WORD)),))
    check_length(fits, settings)
    over = Article(title="", blocks=(Block("paragraph", "y" * (100 * CHARS_PER_WORD + 1)),))
    with pytest.raises(TooLargeError, match="1,001 characters; the limit is 1,000"):
        check_length(over, settings)
