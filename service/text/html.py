"""Read HTML: parse it safely, then walk an element tree into body blocks in reading order.

The walker serves both an HTML fragment (the article element a publisher
sends) and the XML that trafilatura makes of a full page; ``service.text.page``
finds the main content of a full page.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

import lxml.html
from lxml import etree

from service.errors import NothingToReadError, TooComplexError
from service.text.article import Block, BlockKind

# Trees are kept below 256 levels, which libxml2 silently drops wherever a tree is
# parsed again, and which the walkers here and in trafilatura recurse through.
LIBXML_SAFE_DEPTH = 250

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
_FULL_PAGE = re.compile(r"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]", re.I)
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"\w", re.U)

# Elements whose content is never read aloud.
SKIPPED_TAGS = frozenset(
    {
        "nav", "header", "footer", "aside", "figure", "figcaption", "script", "style",
        "noscript", "template", "form", "button", "select", "textarea", "input", "label",
        "pre", "svg", "math", "iframe", "object", "embed", "video", "audio", "canvas",
        "img", "picture", "source", "map", "dialog", "menu", "title", "meta",
        "link", "graphic", "fieldset", "del", "s", "strike", "sup",
    }
)  # fmt: skip
# Block elements: each starts and ends a block of text.
_BLOCK_TAGS = frozenset(
    {
        "p", "div", "section", "article", "main", "body", "html", "blockquote", "ul", "ol",
        "dl", "dt", "dd", "li", "table", "thead", "tbody", "tfoot", "tr", "caption",
        "address", "center", "details", "summary", "hr",
        "h1", "h2", "h3", "h4", "h5", "h6",
        # trafilatura's XML vocabulary
        "doc", "head", "list", "item", "quote", "row",
    }
)  # fmt: skip
_LIST_TAGS = frozenset({"ul", "ol", "dl", "list"})
_ITEM_TAGS = frozenset({"li", "dt", "dd", "item"})
_QUOTE_TAGS = frozenset({"blockquote", "quote"})
_SPACED_TAGS = frozenset({"br", "lb", "td", "th", "cell", "hr"})
_LINK_TAGS = frozenset({"a", "ref"})

# class/id words of page furniture: share bars, ads, related lists, comments...
_BOILERPLATE_WORDS = frozenset(
    {
        "ad", "ads", "advert", "adverts", "advertisement", "advertising", "adslot", "sponsor",
        "sponsored", "promo", "promotion", "share", "sharing", "sharebar", "social", "related",
        "recommended", "recirculation", "readmore", "newsletter", "subscribe", "subscription",
        "signup", "comment", "comments", "disqus", "breadcrumb", "breadcrumbs", "navbar",
        "sidebar", "menu", "cookie", "cookies", "consent", "popup", "modal", "outbrain",
        "taboola", "byline", "caption", "credit", "credits", "tags", "toolbar", "skip",
        "print", "paywall", "trending", "popular", "widget", "footer", "masthead",
    }
)  # fmt: skip
_BOILERPLATE_PHRASES = ("read-more", "more-stories", "most-read", "you-may-like", "also-read")
_CLASS_WORDS = re.compile(r"[a-z]+")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)


def is_full_page(text: str) -> bool:
    """Tell a whole HTML page from a fragment (an article element, a few paragraphs)."""
    return _FULL_PAGE.search(text[:8192]) is not None


def parse_html(text: str, max_depth: int) -> lxml.html.HtmlElement:
    """Parse ``text`` into an lxml tree, flattening elements nested deeper than ``max_depth``.

    The tree is built by :class:`_BoundedTree` from the parser's events, not by
    libxml2 itself, which takes time quadratic in the attributes of one element
    (70,000 attributes: minutes) and drops everything nested deeper than 256.
    """
    text = _XML_DECLARATION.sub("", text, count=1)
    if not text.strip():
        raise NothingToReadError("the HTML is empty")
    # Some passes of trafilatura (jusText's) take time in proportion to each
    # element's depth: in a document of many tags, flatten sooner.
    limit = max(8, min(max_depth, LIBXML_SAFE_DEPTH, DEPTH_STEPS // (text.count("<") + 1)))
    # libxml2 looks through its stack of open elements for each closing tag (and
    # each <body>): bound that work by how deep the stack may grow.
    closing = text.count("</") + text.lower().count("<body")
    deepest = max(limit * 4, STACK_STEPS // (closing + 1))
    tree = _BoundedTree(limit, deepest)
    parser = etree.HTMLParser(
        target=tree, remove_comments=True, remove_pis=True, collect_ids=False,
        default_doctype=False,
    )  # fmt: skip
    try:
        # Fed in pieces, because libxml2 goes on to the end of what it was given
        # after the tree stops it: a piece is the most it does in vain.
        for start in range(0, len(text), FEED_CHARS):
            parser.feed(text[start : start + FEED_CHARS])
            if tree.too_deep:
                break
        root = None if tree.too_deep else parser.close()
    except TooComplexError:
        pass
    except (etree.XMLSyntaxError, etree.ParserError, ValueError) as error:
        raise NothingToReadError(f"the HTML holds no document ({error})") from None
    if tree.too_deep:
        raise TooComplexError(
            f"the HTML nests elements more than {deepest:,} deep among {closing:,} "
            "closing tags, which would take too long to read"
        )
    if not isinstance(root, lxml.html.HtmlElement):
        raise NothingToReadError("the HTML holds no document")
    return root


FEED_CHARS = 4096
DEPTH_STEPS = 5_000_000
"""Tags times nesting depth kept: past 20,000 tags, the depth kept falls below 250."""
STACK_STEPS = 200_000_000
"""Closing tags times nesting depth allowed: about 0.4 s of libxml2 looking through its stack."""
MAX_ATTRIBUTES = 64
"""Attributes kept per element (real pages have a few dozen at most); the rest are dropped."""


class _BoundedTree:
    """Build the tree from parser events, bounding what costs more than its size.

    Elements nested deeper than ``limit`` are not made: their text joins the
    element at the limit, as words apart (the text of elements never read,
    such as scripts, is dropped). An element keeps its first
    :data:`MAX_ATTRIBUTES` attributes. Past ``deepest`` levels the parse stops.
    """

    def __init__(self, limit: int, deepest: int) -> None:
        self._builder = etree.TreeBuilder(parser=lxml.html.HTMLParser())
        self._limit = limit
        self._deepest = deepest
        self._depth = 0
        self._skipping_depth = 0
        self.too_deep = False

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self._depth += 1
        if self._depth > self._limit:
            if self._depth > self._deepest:
                self.too_deep = True
                raise TooComplexError("nested too deeply")
            if not self._skipping_depth and tag in SKIPPED_TAGS:
                self._skipping_depth = self._depth
            self._builder.data(" ")
            return
        if len(attrib) > MAX_ATTRIBUTES:
            attrib = dict(itertools.islice(attrib.items(), MAX_ATTRIBUTES))
        self._builder.start(tag, attrib)

    def end(self, tag: str) -> None:
        depth = self._depth
        self._depth -= 1
        if depth > self._limit:
            if depth == self._skipping_depth:
                self._skipping_depth = 0
            self._builder.data(" ")
            return
        self._builder.end(tag)

    def data(self, text: str) -> None:
        if not self._skipping_depth:
            self._builder.data(text)

    def close(self) -> etree._Element | None:
        if self.too_deep:
            return None  # the error is raised by the caller, which knows the numbers
        return self._builder.close()


def tree_depth(root: etree._Element) -> int:
    """Return how deeply elements nest under ``root`` (without recursion)."""
    depth = deepest = 0
    for event, _element in etree.iterwalk(root, events=("start", "end")):
        if event == "start":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def fold(text: str) -> str:
    """Fold runs of whitespace to one space and strip the ends."""
    return _SPACES.sub(" ", text).strip()


def element_text(element: etree._Element) -> str:
    """Return the visible text of ``element``, whitespace folded, skipped elements left out."""
    parts: list[str] = []
    _inline_text(element, parts)
    return fold("".join(parts))


def _inline_text(element: etree._Element, parts: list[str]) -> None:
    if element.text and _tag(element) not in SKIPPED_TAGS:
        parts.append(element.text)
    for child in element:
        if isinstance(child.tag, str) and _tag(child) not in SKIPPED_TAGS:
            _inline_text(child, parts)
        elif isinstance(child.tag, str) and _tag(child) in _SPACED_TAGS:
            parts.append(" ")
        if child.tail:
            parts.append(child.tail)


def _tag(element: etree._Element) -> str:
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].lower()


def is_boilerplate(element: etree._Element) -> bool:
    """Tell page furniture (share bar, ad, related list, comments...) by its class, id, role."""
    role = (element.get("role") or "").lower()
    if role in {"navigation", "banner", "contentinfo", "complementary", "search", "dialog"}:
        return True
    if element.get("hidden") is not None or element.get("aria-hidden") == "true":
        return True
    if _HIDDEN_STYLE.search(element.get("style") or ""):
        return True
    names = f"{element.get('class') or ''} {element.get('id') or ''}".lower()
    if not names.strip():
        return False
    if any(phrase in names for phrase in _BOILERPLATE_PHRASES):
        return True
    return any(word in _BOILERPLATE_WORDS for word in _CLASS_WORDS.findall(names))


@dataclass
class RawBlock:
    """A block as found, with what the clean-up needs to judge it."""

    kind: BlockKind
    text: str
    level: int
    link_chars: int
    """Characters of the text that were link text."""
    group: int
    """Identity of the list the item belongs to (0 outside lists)."""

    @property
    def link_density(self) -> float:
        """Return the share of the text that is link text."""
        return self.link_chars / max(1, len(self.text))

    def to_block(self) -> Block:
        """Return the public, frozen block."""
        return Block(kind=self.kind, text=self.text, level=self.level)


@dataclass
class _Context:
    heading_level: int = 0
    quote: bool = False
    list_depth: int = 0
    in_item: bool = False
    group: int = 0

    @property
    def kind(self) -> BlockKind:
        if self.heading_level:
            return "heading"
        if self.in_item:
            return "list_item"
        if self.quote:
            return "quote"
        return "paragraph"

    @property
    def level(self) -> int:
        if self.heading_level:
            return self.heading_level
        return self.list_depth if self.in_item else 0


@dataclass
class _Walker:
    skip_boilerplate: bool
    blocks: list[RawBlock] = field(default_factory=list)
    buffer: list[str] = field(default_factory=list)
    link_chars: int = 0
    link_depth: int = 0

    def add(self, text: str | None) -> None:
        if text:
            self.buffer.append(text)
            if self.link_depth:
                self.link_chars += len(fold(text)) + 1

    def flush(self, context: _Context) -> None:
        text = fold("".join(self.buffer))
        if text and _WORD.search(text):
            self.blocks.append(
                RawBlock(
                    kind=context.kind,
                    text=text,
                    level=context.level,
                    link_chars=min(self.link_chars, len(text)),
                    group=context.group,
                )
            )
        self.buffer.clear()
        self.link_chars = 0

    def walk(self, element: etree._Element, context: _Context) -> None:
        tag = _tag(element)
        if not tag or tag in SKIPPED_TAGS or (self.skip_boilerplate and is_boilerplate(element)):
            if tag in _SPACED_TAGS:
                self.add(" ")
            return
        parent = element.getparent()
        parent_tag = _tag(parent) if parent is not None else ""
        if tag == "head" and parent_tag in {"html", ""}:
            return  # the HTML <head>, not trafilatura's <head rend="h2"> heading
        if tag == "code" and parent_tag in {"body", "main", "doc"}:
            return  # a code block in trafilatura's output
        if tag not in _BLOCK_TAGS:
            is_link = tag in _LINK_TAGS
            self.link_depth += is_link
            self.add(element.text)
            for child in element:
                self.walk(child, context)
                self.add(child.tail)
            self.link_depth -= is_link
            if tag in _SPACED_TAGS:
                self.add(" ")
            return
        self.flush(context)
        inner = _inner_context(element, tag, context)
        self.add(element.text)
        for child in element:
            self.walk(child, inner)
            self.add(child.tail)
        self.flush(inner)


def _inner_context(element: etree._Element, tag: str, outer: _Context) -> _Context:
    if tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
        return _Context(int(tag[1]), outer.quote, outer.list_depth, outer.in_item, outer.group)
    if tag == "head":  # trafilatura: <head rend="h2">
        rend = element.get("rend") or "h2"
        level = int(rend[1]) if len(rend) == 2 and rend[1].isdigit() else 2
        return _Context(level, outer.quote, outer.list_depth, outer.in_item, outer.group)
    if tag in _QUOTE_TAGS:
        return _Context(outer.heading_level, True, outer.list_depth, outer.in_item, outer.group)
    if tag in _LIST_TAGS:
        return _Context(outer.heading_level, outer.quote, outer.list_depth + 1, False, id(element))
    if tag in _ITEM_TAGS:
        depth = max(1, outer.list_depth)
        return _Context(outer.heading_level, outer.quote, depth, True, outer.group)
    return outer


def walk_blocks(root: etree._Element, *, skip_boilerplate: bool = True) -> list[RawBlock]:
    """Return the blocks under ``root`` in reading order."""
    walker = _Walker(skip_boilerplate=skip_boilerplate)
    context = _Context()
    walker.walk(root, context)
    walker.flush(context)
    return walker.blocks
