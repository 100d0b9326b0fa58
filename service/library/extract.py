"""Show what a narration would read, without making it: ``listen extract`` and ``/api/extract``.

Both read an input exactly as a narration does (the same loader, limits and
extractor), so what they show is what would be said.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.config import InputSettings
from service.text.article import Article
from service.text.load import load_article
from service.text.segment import segment_article

__all__ = ["Preview", "extraction", "preview", "read_article", "summary"]


@dataclass(frozen=True)
class Preview:
    """An article as it will be spoken: its blocks in their spoken form, and counts."""

    article: Article
    """The article read."""
    blocks: tuple[tuple[str, str], ...]
    """``(kind, spoken text)`` of every block read, title and byline included."""
    sentence_count: int
    """Sentences given to the engine."""


def read_article(source: str, settings: InputSettings) -> Article:
    """Read the article at ``source``: a file path, ``-`` for stdin, or an http(s) URL."""
    return load_article(source, settings)


def extraction(article: Article) -> dict[str, Any]:
    """Return what ``POST /api/extract`` answers: the article's parts in reading order."""
    return {
        "title": article.title,
        "byline": article.byline,
        "language": article.language,
        "site_name": article.site_name,
        "word_count": article.word_count,
        "blocks": [{"kind": kind, "text": text} for kind, text in article.parts],
    }


def summary(source: str, article: Article) -> dict[str, Any]:
    """Return the record ``listen extract --json`` prints for one input."""
    return {
        "input": source,
        "title": article.title,
        "byline": article.byline,
        "language": article.language,
        "paragraphs": [block.text for block in article.blocks],
    }


def preview(article: Article, settings: InputSettings) -> Preview:
    """Split ``article`` into spoken blocks and sentences, as planning a narration does."""
    blocks = segment_article(article, max_sentence_chars=settings.max_sentence_chars)
    return Preview(
        article,
        tuple((block.kind, " ".join(s.spoken for s in block.sentences)) for block in blocks),
        sum(len(block.sentences) for block in blocks),
    )
