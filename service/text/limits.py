"""Refuse input whose reading would cost more than its size suggests, before the costly step.

The byte limit (``max_input_bytes``) bounds what is read, but not the work:
some inputs cost far more than their size. Every check here is cheap (a count
over the text, or a look at the finished article) and runs before the step it
guards, so any input is refused or read in bounded time. ``bench/hostile.py``
measures the worst inputs found against these bounds.
"""

from __future__ import annotations

import re

from service.config import InputSettings
from service.errors import TooLargeError
from service.text.article import Article

CHARS_PER_WORD = 10
"""Characters read allowed per word of ``max_words``.

A text without spaces (one long token, or a script written without them)
counts as few words but takes as long to plan and to say as its length: this
bounds it. English averages about six characters a word, spaces included.
"""


def check_length(article: Article, settings: InputSettings) -> None:
    """Refuse an article longer than ``max_words``, title and byline included.

    Call it once, on the article as it will be read (after any title given
    with the request has replaced the document's own), before any work is
    planned for it.
    """
    if not settings.max_words:
        return
    words = article.word_count
    if words > settings.max_words:
        raise TooLargeError(
            f"the article has {words:,} words; the limit is {settings.max_words:,} "
            "(LISTEN_MAX_WORDS)"
        )
    chars = len(article.text)
    max_chars = settings.max_words * CHARS_PER_WORD
    if chars > max_chars:
        raise TooLargeError(
            f"the article has {chars:,} characters; the limit is {max_chars:,} "
            f"({CHARS_PER_WORD} for each word of LISTEN_MAX_WORDS)"
        )


MAX_HTML_TAGS = 100_000
"""Tags read in an HTML document (the longest real pages have a few tens of thousands)."""
MAX_TEXT_LINES = 100_000
"""Lines read in plain text."""
MAX_MARKDOWN_LINES = 30_000
"""Lines read in Markdown, whose parser spends up to 50 µs on a line."""
MAX_MARKDOWN_MARKS = 60_000
"""Characters that Markdown gives a meaning to (emphasis, links, code, HTML...) read."""
_MARKDOWN_MARKS = "*_`[]<>!\\&~|#"
_HTML_TAG = re.compile(r"<[A-Za-z/!?]")


def check_markup(text: str, kind: str) -> None:
    """Refuse text whose mark-up would cost too much to read, before it is parsed.

    Parsers spend time on each tag or line far beyond their size: ten megabytes
    of ``<p>a</p>`` or ``- a`` lines took minutes. ``kind`` is html, markdown or text.
    """
    if kind == "html":
        # Every "<" first, as it costs nothing; the tags only when that is too many.
        if text.count("<") > MAX_HTML_TAGS:
            _refuse_count("tags", _HTML_TAG.subn("", text)[1], MAX_HTML_TAGS, "HTML")
        return
    lines = text.count("\n") + 1
    if kind == "markdown":
        _refuse_count("lines", lines, MAX_MARKDOWN_LINES, "Markdown")
        marks = sum(text.count(mark) for mark in _MARKDOWN_MARKS)
        _refuse_count(
            f"mark-up characters ({_MARKDOWN_MARKS})", marks, MAX_MARKDOWN_MARKS, "Markdown"
        )
    else:
        _refuse_count("lines", lines, MAX_TEXT_LINES, "text")


def _refuse_count(what: str, found: int, limit: int, kind: str) -> None:
    if found > limit:
        raise TooLargeError(f"the {kind} has {found:,} {what}; at most {limit:,} are read")
