"""A narration's text as the player page shows it: blocks cut into their sentences.

Each sentence is marked with its index, so the player highlights the one being
read (the timings manifest names sentences the same way).
"""

from __future__ import annotations

from dataclasses import dataclass

from service.pipeline.plan import NarrationPlan
from service.text.blocks import SpokenBlock


@dataclass(frozen=True)
class Piece:
    """A run of a block's text: a sentence (with its index) or the space between two."""

    text: str
    """Displayed text."""
    sentence_index: int | None
    """Index of the sentence within its block, or None for text between sentences."""


@dataclass(frozen=True)
class ShownBlock:
    """A block of the article as the player shows it."""

    index: int
    """Index of the spoken block (matches the timings manifest)."""
    kind: str
    """heading, paragraph, quote or list_item."""
    pieces: tuple[Piece, ...]
    """The block's text cut into sentences."""
    language: str | None = None
    """The block's language when it is not the article's (its ``lang`` attribute)."""


def block_pieces(text: str, block: SpokenBlock) -> tuple[Piece, ...]:
    """Cut a block's displayed text into its sentences and the gaps between them."""
    if text[block.start_char : block.end_char] != block.text:
        return (Piece(block.text, None),)
    pieces: list[Piece] = []
    position = block.start_char
    for index, sentence in enumerate(block.sentences):
        start = max(sentence.start_char, position)
        end = min(max(sentence.end_char, start), block.end_char)
        if start > position:
            pieces.append(Piece(text[position:start], None))
        pieces.append(Piece(text[start:end], index))
        position = end
    if position < block.end_char:
        pieces.append(Piece(text[position : block.end_char], None))
    return tuple(piece for piece in pieces if piece.text)


def shown_blocks(plan: NarrationPlan) -> list[ShownBlock]:
    """Return the body blocks (not title or byline) with their sentences marked."""
    return [
        ShownBlock(block.index, block.kind, block_pieces(plan.text, block), block.language)
        for block in plan.blocks
        if block.kind not in ("title", "byline")
    ]


def head_block_index(plan: NarrationPlan, kind: str) -> int | None:
    """Return the index of the spoken title or byline block, if it is read."""
    return next((block.index for block in plan.blocks if block.kind == kind), None)


def grouped_blocks(blocks: list[ShownBlock]) -> list[list[ShownBlock]]:
    """Group consecutive list items, so the template can wrap each run in one ``<ul>``."""
    groups: list[list[ShownBlock]] = []
    for block in blocks:
        if groups and block.kind == "list_item" and groups[-1][-1].kind == "list_item":
            groups[-1].append(block)
        else:
            groups.append([block])
    return groups


def page_blocks(plan: NarrationPlan) -> tuple[list[list[ShownBlock]], dict[str, int | None]]:
    """Return the body blocks grouped for the page, and the indexes of the title and byline."""
    heads = {kind: head_block_index(plan, kind) for kind in ("title", "byline")}
    return grouped_blocks(shown_blocks(plan)), heads


def listening_minutes(duration_ms: int | None, word_count: int, rate_wpm: int) -> int:
    """Return the listening time in whole minutes (at least 1), from the audio or the words."""
    if duration_ms:
        return max(1, round(duration_ms / 60_000))
    return max(1, round(word_count / max(rate_wpm, 1)))
