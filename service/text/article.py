"""Hold what will be read: an article's title, byline, language and blocks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from service.text.words import count_words

BlockKind = Literal["heading", "paragraph", "quote", "list_item"]
BLOCK_KINDS: tuple[BlockKind, ...] = ("heading", "paragraph", "quote", "list_item")

BLOCK_SEPARATOR = "\n\n"


@dataclass(frozen=True)
class Block:
    """One unit of the body, read in order."""

    kind: BlockKind
    """heading, paragraph, quote or list_item."""
    text: str
    """Plain text as shown to a reader (no markup), whitespace folded."""
    level: int = 0
    """Heading level 1-6 for headings, nesting depth for list items, else 0."""
    language: str | None = None
    """Primary language subtag when the block is in another language than the article."""


@dataclass(frozen=True)
class Article:
    """An article reduced to what a listener should hear."""

    title: str
    """The headline, read first and once."""
    blocks: tuple[Block, ...]
    """Body blocks in reading order; title and byline are not among them."""
    byline: str | None = None
    """Author names as printed, without a leading "By"."""
    language: str = "en"
    """Primary language subtag (``en``, ``ru``...), from markup or detected."""
    site_name: str | None = None
    """Publication name when known."""
    source_url: str | None = None
    """Where the article came from, when it came from a URL."""
    metadata: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    """Anything else worth keeping (publish date...); never read aloud."""

    @property
    def parts(self) -> tuple[tuple[str, str], ...]:
        """Return ``(kind, text)`` for everything read, in order: title, byline, body."""
        head: list[tuple[str, str]] = []
        if self.title:
            head.append(("title", self.title))
        if self.byline:
            head.append(("byline", self.byline))
        return (*head, *((b.kind, b.text) for b in self.blocks))

    @property
    def part_languages(self) -> tuple[str, ...]:
        """Return the language of each of :attr:`parts`: a block's own, else the article's."""
        head = (self.language,) * (bool(self.title) + bool(self.byline))
        return (*head, *(b.language or self.language for b in self.blocks))

    @property
    def text(self) -> str:
        """Return the article text that character offsets refer to.

        Title, byline and blocks joined by blank lines, exactly as displayed.
        """
        return BLOCK_SEPARATOR.join(text for _, text in self.parts)

    @property
    def word_count(self) -> int:
        """Return the number of words of the article text (see :func:`count_words`)."""
        return count_words(self.text)
