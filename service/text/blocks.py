"""An article split into sentences, as plain data: spoken blocks of sentences, offsets, ids.

The planner, the workers and the player read these; only
:mod:`service.text.segment` makes them (and loads the segmenter to do so).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from service.text.alignment import Edits


@dataclass(frozen=True)
class Sentence:
    """One sentence: the unit of text given to an engine (its audio, shaped, is a clip)."""

    text: str
    """The sentence as displayed: ``article.text[start_char:end_char]``."""
    spoken: str
    """What the engine is given (URLs, footnote marks, emoji... handled)."""
    start_char: int
    """Offset of the first character in ``Article.text``."""
    end_char: int
    """Offset one past the last character in ``Article.text``."""
    spoken_edits: Edits = ()
    """Where ``spoken`` differs from ``text`` (see :mod:`service.text.alignment`): offsets
    of the engine's words in ``spoken`` lead back to the words shown."""

    @property
    def sentence_id(self) -> str:
        """Return a stable id derived from the spoken text alone."""
        return sentence_id(self.spoken)


@dataclass(frozen=True)
class SpokenBlock:
    """A title, byline, heading, paragraph, quote or list item, as sentences."""

    index: int
    """Position among the spoken blocks, from 0 (the title)."""
    kind: str
    """title, byline, heading, paragraph, quote or list_item."""
    text: str
    """The block as displayed."""
    start_char: int
    """Offset of the block in ``Article.text``."""
    end_char: int
    """Offset one past the block's end in ``Article.text``."""
    sentences: tuple[Sentence, ...]
    """The block's sentences in order; never empty."""
    language: str | None = None
    """Primary language subtag when the block is read in another language than the article."""


def sentence_id(spoken: str) -> str:
    """Return the id of a sentence: the first 16 hex digits of SHA-256 of its spoken text."""
    return hashlib.sha256(spoken.encode("utf-8")).hexdigest()[:16]
