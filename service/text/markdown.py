"""Read Markdown into an article: headings, lists, quotes and link text are read.

Code blocks, images (and their alt text), raw HTML, tables and link addresses
are not read. A YAML front matter block gives the title, author and language.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from service.text.article import Article, Block, BlockKind

if TYPE_CHECKING:
    from markdown_it.token import Token

_FRONT_MATTER = re.compile(
    r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S
)
_FIELD = re.compile(r"^([A-Za-z_][\w-]*)\s*:\s*(.*?)\s*$")
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"\w", re.U)
_MARKDOWN_HINTS = re.compile(
    r"^(?:#{1,6}\s+\S|```|~~~|\s*[-*+]\s+\S|\s*\d+\.\s+\S|>\s?\S)|\[[^\[\]\n]+\]\([^()\s]+\)|\*\*\S"
    r"|(?<![\w*])[*_][^\s*_][^*_\n]*[*_](?![\w*])",
    re.M,
)


def looks_like_markdown(text: str) -> bool:
    """Tell Markdown from plain text by its marks (headings, fences, links, lists)."""
    sample = text[:20000]
    return _FRONT_MATTER.match(sample) is not None or len(_MARKDOWN_HINTS.findall(sample)) >= 2


def front_matter(text: str) -> tuple[dict[str, str], str]:
    """Split off YAML front matter; return its simple ``key: value`` fields and the rest."""
    match = _FRONT_MATTER.match(text)
    if match is None:
        return {}, text
    fields: dict[str, str] = {}
    for line in match.group(1).splitlines():
        field = _FIELD.match(line)
        if field:
            value = field.group(2).strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            fields[field.group(1).lower()] = value
    return fields, text[match.end() :]


def article_from_markdown(text: str, *, title: str | None = None) -> Article:
    """Read Markdown ``text`` into an article; ``title`` overrides the document's own."""
    fields, body = front_matter(text)
    from markdown_it import MarkdownIt  # imported on use: plain-text runs never need it

    tokens = MarkdownIt("commonmark").enable("table").enable("strikethrough").parse(body)
    blocks = _blocks(tokens)
    found_title = fields.get("title", "")
    leading_h1 = blocks and blocks[0].kind == "heading" and blocks[0].level == 1
    if leading_h1 and (not found_title or _SPACES.sub(" ", found_title) == blocks[0].text):
        found_title = blocks[0].text
        blocks = blocks[1:]
    byline = fields.get("author") or fields.get("authors") or None
    return Article(
        title=(title or "").strip() or found_title,
        blocks=tuple(blocks),
        byline=byline.strip("[] ") if byline else None,
        language=fields.get("lang") or fields.get("language") or "",
    )


def _blocks(tokens: Sequence[Token]) -> list[Block]:
    blocks: list[Block] = []
    heading_level = 0
    list_depth = 0
    quote_depth = 0
    item_depth = 0
    table_depth = 0
    for token in tokens:
        kind = token.type
        if kind == "heading_open":
            heading_level = int(token.tag[1])
        elif kind == "heading_close":
            heading_level = 0
        elif kind in {"bullet_list_open", "ordered_list_open"}:
            list_depth += 1
        elif kind in {"bullet_list_close", "ordered_list_close"}:
            list_depth -= 1
        elif kind == "list_item_open":
            item_depth += 1
        elif kind == "list_item_close":
            item_depth -= 1
        elif kind == "blockquote_open":
            quote_depth += 1
        elif kind == "blockquote_close":
            quote_depth -= 1
        elif kind == "table_open":
            table_depth += 1
        elif kind == "table_close":
            table_depth -= 1
        elif kind == "inline" and not table_depth:
            text = _inline_text(token.children or [])
            if not _WORD.search(text):
                continue
            block_kind: BlockKind = "paragraph"
            level = 0
            if heading_level:
                block_kind, level = "heading", heading_level
            elif item_depth:
                block_kind, level = "list_item", list_depth
            elif quote_depth:
                block_kind = "quote"
            blocks.append(Block(kind=block_kind, text=text, level=level))
    return blocks


def _inline_text(children: Sequence[Token]) -> str:
    parts: list[str] = []
    skipping = 0
    for child in children:
        if child.type == "s_open":
            skipping += 1
        elif child.type == "s_close":
            skipping -= 1
        elif skipping:
            continue
        elif child.type in {"text", "code_inline"}:
            parts.append(child.content)
        elif child.type in {"softbreak", "hardbreak"}:
            parts.append(" ")
        # images (with their alt text) and inline HTML are not read
    return _SPACES.sub(" ", "".join(parts)).strip()
