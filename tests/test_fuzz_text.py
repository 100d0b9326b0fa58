"""Fuzz extraction and segmentation with arbitrary Unicode, HTML and Markdown.

Whatever comes in, loading either gives an article or raises one of our named
errors, within a bounded time, and segmenting that article keeps the
invariants checked in ``test_segment``.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.config import InputSettings
from service.errors import ListenError
from service.text.article import Article
from service.text.load import load_article_from_text
from service.text.segment import segment_article
from tests.test_segment import check_segmentation

SETTINGS = InputSettings(max_input_bytes=64 * 1024, max_sentence_chars=120, max_html_depth=60)
CAP = SETTINGS.max_sentence_chars
FUZZ = settings(
    max_examples=150,
    deadline=3000,  # ms per input: a hang or a quadratic blow-up fails, a slow CI does not
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_ANY_TEXT = st.text(max_size=400)
_WORDISH = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=12),
    st.sampled_from(
        ["Dr.", "U.S.", "3.5%", "1990s", "Jan. 5", "…", "—", "😀", "日本語。", "\u200b",
         "\u202e", "\ufeff", "\x00", "\r\n", "&amp;", "&#0;", "&#xD800;", "<", ">", "'", '"']
    ),
)  # fmt: skip
_SENTENCE = st.lists(_WORDISH, min_size=1, max_size=20).map(" ".join)
_TAGS = st.sampled_from(
    ["p", "div", "span", "a", "h1", "h2", "h6", "article", "main", "section", "nav", "aside",
     "script", "style", "li", "ul", "ol", "blockquote", "figure", "figcaption", "table",
     "td", "tr", "pre", "code", "br", "img", "svg", "math", "template", "noscript", "iframe",
     "html", "head", "body", "title", "meta", "x-custom"]
)  # fmt: skip
_ATTRIBUTES = st.sampled_from(
    ['', ' class="byline"', ' lang="ru"', ' hidden', ' style="display:none"',
     ' href="javascript:alert(1)"', ' onerror="alert(1)"', ' itemprop="author"',
     ' aria-hidden="true"', ' class="share-buttons"', ' dir="rtl"', " lang='\u0000'"]
)  # fmt: skip


@st.composite
def _html(draw: st.DrawFn, depth: int = 0) -> str:
    """Draw an HTML fragment: nested tags (closed or not), text, comments and junk."""
    parts: list[str] = []
    for _ in range(draw(st.integers(0, 5))):
        choice = draw(st.integers(0, 9))
        if choice <= 3 and depth < 6:
            tag = draw(_TAGS)
            inner = draw(_html(depth + 1))
            close = draw(st.sampled_from([f"</{tag}>", "", f"</{tag}"]))
            parts.append(f"<{tag}{draw(_ATTRIBUTES)}>{inner}{close}")
        elif choice <= 6:
            parts.append(draw(_SENTENCE))
        elif choice == 7:
            parts.append(draw(st.sampled_from(["<!-- x -->", "<!--", "<![CDATA[x]]>", "<?php?>"])))
        else:
            parts.append(draw(_ANY_TEXT))
    return "".join(parts)


_DOCUMENTS = st.one_of(
    _html(),
    st.builds(
        "<!doctype html><html><head><title>{}</title></head><body>{}</body></html>".format,
        _SENTENCE,
        _html(),
    ),
    st.integers(50, 400).map(lambda depth: "<div>" * depth + "deep words here" + "</div>" * depth),
)
_MARKDOWN_LINES = st.one_of(
    _SENTENCE,
    _SENTENCE.map(lambda s: "# " + s),
    _SENTENCE.map(lambda s: "###### " + s),
    _SENTENCE.map(lambda s: "> " + s),
    _SENTENCE.map(lambda s: "- " + s),
    _SENTENCE.map(lambda s: "1. " + s),
    _SENTENCE.map(lambda s: f"[{s}](http://example.com/{s[:5]})"),
    _SENTENCE.map(lambda s: f"![{s}](x.png)"),
    _SENTENCE.map(lambda s: f"**{s}** _{s}_ `{s}`"),
    st.sampled_from(["```", "---", "***", "| a | b |", "|---|---|", "<div>", "</div>", "", "    "]),
    _html(),
    _ANY_TEXT,
)
_MARKDOWN = st.lists(_MARKDOWN_LINES, max_size=30).map("\n".join)
_INPUTS = st.one_of(
    st.tuples(st.just("text"), st.one_of(_ANY_TEXT, _SENTENCE)),
    st.tuples(st.just("markdown"), _MARKDOWN),
    st.tuples(st.just("html"), _DOCUMENTS),
    st.tuples(st.sampled_from(["text", "markdown", "html"]), st.binary(max_size=400)),
)


@pytest.fixture(scope="module", autouse=True)
def loaded_text_stack() -> None:
    """Load lxml, trafilatura and the language model once, outside any deadline."""
    for kind, data in (("text", "Warm up. Two sentences."), ("markdown", "# Warm\n\nUp."),
                       ("html", "<p>Warm up. Two sentences.</p>")):  # fmt: skip
        load_article_from_text(data, SETTINGS, kind=kind)


def load_and_segment(data: str | bytes, kind: str | None) -> Article | None:
    """Load and segment ``data``; return None when it was refused with a named error."""
    try:
        article = load_article_from_text(data, SETTINGS, kind=kind)
    except ListenError as error:
        assert str(error) and "\n" not in str(error).strip()
        return None
    assert isinstance(article, Article) and article.blocks
    check_segmentation(article, segment_article(article, max_sentence_chars=CAP), CAP)
    return article


@FUZZ
@given(_INPUTS)
def test_fuzz_load_and_segment_any_input_kind(kind_and_data: tuple[str, str | bytes]) -> None:
    kind, data = kind_and_data
    load_and_segment(data, kind)


@FUZZ
@given(st.one_of(_ANY_TEXT, _MARKDOWN, _DOCUMENTS))
@pytest.mark.slow
def test_fuzz_load_detects_the_kind_of_anything(data: str) -> None:
    load_and_segment(data, None)


@settings(max_examples=20, deadline=None)
@given(st.sampled_from(["text", "markdown", "html"]), st.integers(1, 3))
def test_fuzz_input_at_the_size_cap_is_read_or_refused_quickly(kind: str, copies: int) -> None:
    # Half the cap, the cap, and past it (refused): read or refused in seconds, never a hang.
    unit = (
        "<p>Some words of a paragraph, said once more.</p>\n"
        if kind == "html"
        else ("Some words of a paragraph, said once more.\n\n")
    )
    data = unit * (SETTINGS.max_input_bytes * copies // 2 // len(unit))
    started = time.perf_counter()
    load_and_segment(data, kind)
    assert time.perf_counter() - started < 10
