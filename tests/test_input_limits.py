"""Input is refused or read in bounded time: length, and mark-up that costs more than its size.

The length limit counts everything read and is checked once, before anything is
planned; mark-up is counted before it is parsed. CPU time is measured in
``bench/hostile.py``, not here.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from harness.webserver import serving_page
from service.config import InputSettings, Settings
from service.errors import TooComplexError, TooLargeError
from service.pipeline.prepare import prepare_plan
from service.text.article import Article, Block
from service.text.html import DEPTH_STEPS, MAX_ATTRIBUTES, parse_html, tree_depth
from service.text.limits import CHARS_PER_WORD, check_length
from service.text.load import load_article_from_text
from service.web import close_app, create_app
from tests.conftest import SEEDS

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
    ("text", "refused_by"),
    [
        # two "words", but as long to plan and to say as 600,000 characters
        ("Title\n\n" + "x" * 600_000, "characters"),
        # a script written without spaces counts a word per character
        ("Title\n\n" + "語" * 600_000, "600,001 words"),
    ],
    ids=["one-long-token", "no-spaces"],
)
def test_limits_text_without_spaces_is_refused_by_its_length(
    app: Flask, text: str, refused_by: str
) -> None:
    answer = app.test_client().post(
        "/api/narrations", data=text.encode(), content_type="text/plain"
    )
    assert_too_long(answer, refused_by)


def test_limits_byline_counts_and_the_check_is_made_when_planning(tmp_path: Path) -> None:
    settings = Settings.of(cache_dir=tmp_path, max_words=20, voice="pyttsx3:gmw/en-us")
    article = Article(
        title="Title", byline="A " * 30, blocks=(Block("paragraph", "Five words in this one."),)
    )
    with pytest.raises(TooLargeError, match="36 words; the limit is 20"):
        check_length(article, settings.input)
    with pytest.raises(TooLargeError, match="LISTEN_MAX_WORDS"):
        prepare_plan(article, settings)
    unlimited = settings.replace(max_words=0)
    check_length(article, unlimited.input)
    assert prepare_plan(article, unlimited).chunks_total == 3


def test_limits_characters_allowed_follow_the_word_limit() -> None:
    settings = Settings.of(max_words=100)
    fits = Article(title="", blocks=(Block("paragraph", "y" * (100 * CHARS_PER_WORD)),))
    check_length(fits, settings.input)
    over = Article(title="", blocks=(Block("paragraph", "y" * (100 * CHARS_PER_WORD + 1)),))
    with pytest.raises(TooLargeError, match="1,001 characters; the limit is 1,000"):
        check_length(over, settings.input)


# --- mark-up that costs more than its size --------------------------------------------

SETTINGS = InputSettings(max_words=0)


def test_limits_one_element_with_70000_attributes_is_read_keeping_64() -> None:
    # libxml2 alone took minutes on this (quadratic in the attributes of one element).
    html = "<p " + " ".join(f"a{i}=1" for i in range(70_000)) + ">Hello there.</p>"
    root = parse_html(html, 400)
    paragraph = root.find(".//p")
    assert paragraph is not None and len(paragraph.attrib) == MAX_ATTRIBUTES
    assert paragraph.get("a0") == "1"
    assert load_article_from_text(html, SETTINGS, kind="html").text == "Hello there."


def test_limits_nesting_deep_before_many_closing_tags_is_refused_at_once() -> None:
    # libxml2 looks through every open element for each closing tag: minutes of work.
    html = "<span>" * 100_000 + "</p>" * 100_000
    with pytest.raises(TooComplexError, match=r"more than 1,999 deep among 100,000 closing"):
        parse_html(html, 400)
    within = "<div>" * 1_500 + "Deep words here." + "</div>" * 1_500
    assert "Deep words here." in load_article_from_text(within, SETTINGS, kind="html").text


def test_limits_nesting_kept_is_shallower_in_documents_of_many_tags() -> None:
    deep = "<div>" * 200 + "Deep words here." + "</div>" * 200
    few = parse_html("<html><body>" + deep + "</body></html>", 400)
    assert tree_depth(few) > 200
    many = parse_html("<html><body>" + deep * 200 + "</body></html>", 400)  # 80,000 tags
    assert tree_depth(many) <= DEPTH_STEPS // 80_000 + 1
    assert "Deep words here." in (many.findtext(".//div") or "") + " ".join(many.itertext())


def test_limits_deep_script_text_is_not_read() -> None:
    html = "<div>" * 300 + "<p>Said aloud.</p><script>var hidden = 1;</script>" + "</div>" * 300
    text = load_article_from_text(html, SETTINGS, kind="html").text
    assert "Said aloud." in text and "hidden" not in text


@pytest.mark.parametrize(
    ("kind", "text", "detail"),
    [
        ("html", "<p>a</p>" * 60_000, "120,000 tags; at most 100,000"),
        ("markdown", "- a\n" * 40_000, "40,001 lines; at most 30,000"),
        ("markdown", "**a" * 40_000, "80,000 mark-up characters"),
        ("text", "a\n\n" * 60_000, "120,001 lines; at most 100,000"),
    ],
    ids=["html-tags", "markdown-lines", "markdown-marks", "text-lines"],
)
def test_limits_markup_past_its_limit_is_refused_before_parsing(
    kind: str, text: str, detail: str
) -> None:
    with pytest.raises(TooLargeError, match=detail):
        load_article_from_text(text, SETTINGS, kind=kind)


def test_limits_stray_angle_brackets_are_not_counted_as_tags() -> None:
    text = "<p>" + "1 < 2 and " * 110_000 + "</p>"
    article = load_article_from_text(text, SETTINGS, kind="html")
    assert article.word_count > 300_000


@pytest.mark.parametrize(
    "text",
    [
        "<!---->" * 200_000 + "plain words follow.",
        "<p " * 300_000,
        "(photo " * 200_000,
        "[" * 20_000 + "a",
    ],
    ids=["comments-before-text", "unclosed-tags", "photo-captions", "brackets"],
)
def test_limits_patterns_that_backtracked_are_read_in_linear_time(text: str) -> None:
    # Each took minutes (regular expressions that went back over the text from every
    # position); a generous subprocess timeout only guards against a hang.
    script = (
        "import sys\n"
        "from service.config import InputSettings\n"
        "from service.errors import ListenError\n"
        "from service.text.load import load_article_from_text\n"
        "try:\n"
        "    load_article_from_text(sys.stdin.read(), InputSettings(max_words=0))\n"
        "except ListenError as error:\n"
        "    print(type(error).__name__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], input=text, text=True, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-500:]
