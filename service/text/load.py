"""Turn any input (file, stdin, URL, text from the API) into an :class:`Article`.

This is the entry point of the text stage: it enforces the size limit, decodes
bytes, decides what kind of document the input is (by content, since file
suffixes lie), and hands it to the reader of that kind.
"""

from __future__ import annotations

import dataclasses
import re

from service.config import InputSettings
from service.errors import InputError, NothingToReadError, TooLargeError
from service.text.article import Article
from service.text.decode import decode_bytes
from service.text.language import block_languages, main_language
from service.text.limits import check_markup
from service.text.markdown import article_from_markdown, looks_like_markdown
from service.text.plain import article_from_plain
from service.text.source import Source, read_source, too_large

KINDS = ("text", "markdown", "html")
# Possessive: a failed match never goes back into the comments before it, which
# took quadratic time on a long run of them.
_HTML_START = re.compile(
    r"\A\s*+(?:<!--(?:(?!-->).)*+-->\s*+)*+"
    r"<(?:!doctype\s+html|html|head|body|article|main|section|div|p|"
    r"h[1-6]|meta|title|ul|ol|table|blockquote|header|nav|figure|span|a|b|i|em|strong)\b",
    re.I | re.S,
)
_HTML_TAG = re.compile(r"</?(?:p|div|br|span|a|h[1-6]|li|article|section|body|html)\b[^<>]*>", re.I)


def load_article(source: str, settings: InputSettings) -> Article:
    """Read the article at ``source``: a file path, ``-`` for stdin, or an http(s) URL."""
    return article_from_source(read_source(source, settings), settings)


def article_from_source(source: Source, settings: InputSettings) -> Article:
    """Read the article in an input's bytes (see :func:`~service.text.source.read_source`)."""
    if source.url is not None:
        text = decode_bytes(source.data, declared_charset=source.charset)
    else:
        text = _decode(source.data, settings)
    return _article(text, settings, hint=source.hint, source_url=source.url)


def load_article_from_text(
    data: str | bytes,
    settings: InputSettings,
    *,
    kind: str | None = None,
    title: str | None = None,
    source_url: str | None = None,
) -> Article:
    """Read an article sent as text or bytes; ``kind`` (text, markdown, html) or None to detect."""
    if kind is not None and kind not in KINDS:
        raise InputError(f"unknown input kind {kind!r}; use one of {', '.join(KINDS)}")
    if isinstance(data, bytes):
        if len(data) > settings.max_input_bytes:
            raise TooLargeError(too_large("the input", len(data), settings.max_input_bytes))
        text = _decode(data, settings)
    else:
        if len(data) > settings.max_input_bytes:
            raise TooLargeError(too_large("the input", len(data), settings.max_input_bytes))
        text = data
    return _article(text, settings, kind=kind, title=title, source_url=source_url)


def detect_kind(text: str, hint: str | None = None) -> str:
    """Return ``html``, ``markdown`` or ``text`` from the content, ``hint`` breaking ties."""
    if _HTML_START.match(text) or (hint == "html" and _HTML_TAG.search(text[:65536])):
        return "html"
    if hint != "markdown" and len(_HTML_TAG.findall(text[:65536])) >= 10:
        return "html"  # a text file full of tags is markup, whatever its name says
    if hint == "markdown" or looks_like_markdown(text):
        return "markdown"
    return "text"


def _article(
    text: str,
    settings: InputSettings,
    *,
    kind: str | None = None,
    hint: str | None = None,
    title: str | None = None,
    source_url: str | None = None,
) -> Article:
    if not text.strip():
        raise InputError("the input is empty")
    kind = kind or detect_kind(text, hint)
    check_markup(text, kind)
    if kind == "html":
        # lxml and trafilatura load only for HTML: plain text starts faster without them
        from service.text.html import is_full_page, parse_html
        from service.text.page import article_from_html

        root = parse_html(text, settings.max_html_depth)
        article = article_from_html(root, full_page=is_full_page(text), url=source_url)
        if title:
            article = dataclasses.replace(article, title=title.strip())
    elif kind == "markdown":
        article = article_from_markdown(text, title=title)
    else:
        article = article_from_plain(text, title=title)
    if not article.blocks:
        raise NothingToReadError("no article text was found in the input")
    return dataclasses.replace(
        _with_languages(article), source_url=article.source_url or source_url
    )


def _with_languages(article: Article) -> Article:
    """Name the article's language, and that of each block written in another one.

    The article's is the one declared in its markup or the one most of its
    words are in (see :func:`~service.text.language.main_language`). A block
    keeps a language of its own only when detection is sure of it (see
    :func:`~service.text.language.block_languages`).
    """
    texts = [block.text for block in article.blocks]
    detected = block_languages(texts)
    title = [article.title] if article.title else []
    language = main_language(title + texts, block_languages(title) + detected, article.language)
    blocks = tuple(
        dataclasses.replace(block, language=found)
        if found is not None and found != language
        else block
        for block, found in zip(article.blocks, detected, strict=True)
    )
    return dataclasses.replace(article, language=language, blocks=blocks)


def _decode(data: bytes, settings: InputSettings) -> str:
    if not data.strip():
        raise InputError("the input is empty")
    return decode_bytes(data)
