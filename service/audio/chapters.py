"""Divide a narration into chapters: the title, then each heading, or every few paragraphs.

One rule serves both places a listener meets chapters: the Podcasting 2.0
JSON chapters file a feed points at, and the ID3 ``CHAP``/``CTOC`` frames in
the MP3 itself. Where chapters begin depends on the blocks' kinds and words
only, never on their timing, so the MP3's tag can be laid out (and its size
fixed) before the audio is made, and filled with the times at the end.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from service.text.words import count_words

CHAPTERS_VERSION = "1.2.0"
"""The Podcasting 2.0 JSON chapters format written."""
CHAPTER_WORDS = 300
"""Without headings, a chapter begins at the first paragraph after this many words.

About two minutes at the speaking rates listeners choose (150-175 words a minute).
"""
LAST_CHAPTER_MIN_WORDS = CHAPTER_WORDS // 2
"""Fewer words than this left at a boundary stay in the chapter before: no stub at the end."""
TITLE_WORDS = 8
"""A chapter named after its first paragraph takes this many of its words."""
TITLE_MAX_CHARS = 120
"""Longest chapter title; a longer heading is cut at a word."""
MAX_CHAPTERS = 255
"""The most chapters a narration has: an ID3 table of contents counts its entries in one byte."""
HEAD_KINDS = frozenset({"title", "byline"})


@dataclass(frozen=True)
class ChapterMark:
    """Where a chapter begins, before anything is timed."""

    block_index: int
    """Index of the spoken block the chapter begins with (0 for the first chapter)."""
    title: str
    """The chapter's title as listeners see it."""


@dataclass(frozen=True)
class Chapter:
    """One timed chapter."""

    start_ms: int
    """Where it begins in the audio."""
    end_ms: int
    """Where it ends: the next chapter's start, or the end of the audio."""
    title: str
    """Its title."""


def chapter_marks(title: str, parts: Sequence[tuple[str, str]]) -> tuple[ChapterMark, ...]:
    """Return where an article's chapters begin; ``parts`` are its blocks' kinds and texts.

    The first chapter is the article's title and begins at once. Then one per
    heading; an article without headings gets one per few paragraphs
    (:data:`CHAPTER_WORDS`), named by its first words.
    """
    opening = short_title(title) or (first_words(parts[0][1]) if parts else "") or "Start"
    first = ChapterMark(0, opening)
    headings = [
        ChapterMark(index, short_title(text))
        for index, (kind, text) in enumerate(parts)
        if index > 0 and kind == "heading" and short_title(text)
    ]
    if headings:
        return _thinned((first, *headings))
    words = [0 if kind in HEAD_KINDS else count_words(text) for kind, text in parts]
    left = sum(words)
    marks = [first]
    since = 0
    for index, (kind, text) in enumerate(parts):
        if kind not in HEAD_KINDS and since >= CHAPTER_WORDS and left >= LAST_CHAPTER_MIN_WORDS:
            marks.append(ChapterMark(index, first_words(text)))
            since = 0
        since += words[index]
        left -= words[index]
    return _thinned(tuple(marks))


def _thinned(marks: tuple[ChapterMark, ...]) -> tuple[ChapterMark, ...]:
    """Keep at most :data:`MAX_CHAPTERS` marks, the first and then evenly spread ones."""
    if len(marks) <= MAX_CHAPTERS:
        return marks
    step = (len(marks) - 1) / (MAX_CHAPTERS - 1)
    return tuple(marks[round(i * step)] for i in range(MAX_CHAPTERS))


def short_title(text: str) -> str:
    """Return ``text`` on one line, cut at a word to :data:`TITLE_MAX_CHARS`."""
    line = " ".join(text.split())
    if len(line) <= TITLE_MAX_CHARS:
        return line
    cut = line[: TITLE_MAX_CHARS - 1].rsplit(" ", 1)[0] or line[: TITLE_MAX_CHARS - 1]
    return cut.rstrip(" ,;:.-") + "…"


def first_words(text: str) -> str:
    """Return the first :data:`TITLE_WORDS` words of ``text``, marked as cut when they are."""
    words = text.split()
    if len(words) <= TITLE_WORDS:
        return short_title(text)
    return short_title(" ".join(words[:TITLE_WORDS]).rstrip(" ,;:.-") + "…")


def timed(
    marks: Sequence[ChapterMark], block_starts_ms: Sequence[int], duration_ms: int
) -> tuple[Chapter, ...]:
    """Give each mark its block's start time; the first chapter begins at 0."""
    starts = [0 if i == 0 else block_starts_ms[mark.block_index] for i, mark in enumerate(marks)]
    ends = [*starts[1:], duration_ms]
    return tuple(
        Chapter(start_ms=start, end_ms=max(start, end), title=mark.title)
        for mark, start, end in zip(marks, starts, ends, strict=True)
    )


def manifest_chapters(manifest: Mapping[str, Any]) -> tuple[Chapter, ...]:
    """Return the chapters of a finished narration from its manifest (``timings.json``)."""
    blocks: Iterable[Mapping[str, Any]] = manifest["blocks"]
    parts = [(str(b["kind"]), str(b["text"])) for b in blocks]
    starts = [int(b["start_ms"]) for b in manifest["blocks"]]
    marks = chapter_marks(str(manifest.get("title") or ""), parts)
    return timed(marks, starts, int(manifest["duration_ms"]))


def chapters_document(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """Return the Podcasting 2.0 JSON chapters of a narration (``application/json+chapters``)."""
    document: dict[str, Any] = {"version": CHAPTERS_VERSION}
    if manifest.get("title"):
        document["title"] = str(manifest["title"])
    if manifest.get("byline"):
        document["author"] = str(manifest["byline"])
    if manifest.get("site_name"):
        document["podcastName"] = str(manifest["site_name"])
    document["chapters"] = [
        {"startTime": chapter.start_ms / 1000, "title": chapter.title}
        for chapter in manifest_chapters(manifest)
    ]
    return document
