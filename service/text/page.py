"""Find what to read in a full web page: its metadata and its main content.

trafilatura finds the main content; this module reads the metadata itself
(cheaper than trafilatura's, and it knows which title is the headline) and
cleans what trafilatura keeps but a listener should not hear: the headline
again, the byline, lists of links to other stories, copyright and "write to
us" lines.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from lxml import etree

from service.text.article import Article
from service.text.html import RawBlock, element_text, fold, walk_blocks

log = logging.getLogger(__name__)

_TITLE_SEPARATORS = (" | ", " - ", " – ", " — ", " :: ", " · ", " // ", " • ")
_BY = re.compile(r"^\s*(?:written\s+)?by[:\s]+", re.I)
_NOT_A_NAME = re.compile(r"^(?:https?:|www\.)|@|\d{3,}")
_WORDS = re.compile(r"\w+", re.U)
_MAX_BYLINE_CHARS = 120

# Lines that are about the page, not the story.
_BOILERPLATE_LINE = re.compile(
    r"^(?:"
    r"(?:copyright|©|\(c\))\s.*|.*\ball rights reserved\b.*"
    r"|(?:write to|contact|email) .{0,80}\bat\b\s*\S+@\S+.*"
    r"|.*\b(?:sign up|subscribe) (?:for|to) (?:our|the) .{0,40}newsletter.*"
    r"|(?:read|see) (?:more|also|next)\b.{0,80}"
    r"|(?:related|more)(?: stories| articles| coverage| from [\w .]{1,30})?:?"
    r"|advertisement|sponsored(?: content)?|story continues below(?: advertisement)?"
    r"|this (?:copy|article) is for your personal,? non-commercial use.*"
    r"|(?:share|tweet|email|print)(?: this(?: article| story)?)?"
    r"|(?:thanks|thank you) for (?:reading|signing up).{0,80}"
    r"|click here .{0,80}|(?:image|photo|picture|video)(?: credit)?:.{0,150}"
    r")$",
    re.I,
)
# A list whose items are mostly links is a list of other stories.
_LINK_LIST_DENSITY = 0.5
_LINK_BLOCK_DENSITY = 0.8
_LINK_BLOCK_MAX_WORDS = 30


@dataclass(frozen=True)
class PageMetadata:
    """What a page says about its article, from <meta>, JSON-LD and markup."""

    title: str
    """Headline, without the site name that <title> often appends."""
    byline: str | None
    """Author names, without a leading "By"."""
    site_name: str | None
    """og:site_name or the publisher's name from JSON-LD."""
    language: str | None
    """The language tag as declared (``lang``, content-language, og:locale...)."""
    extra: dict[str, str]
    """Other facts worth keeping (published time, description)."""


def read_metadata(root: etree._Element) -> PageMetadata:
    """Read headline, byline, site name and declared language from a parsed page."""
    meta = _meta_values(root)
    json_ld = list(_json_ld_objects(root))
    site_name = meta.get("og:site_name") or _json_ld_publisher(json_ld)
    title = _choose_title(root, meta, json_ld, site_name)
    byline = _byline(root, meta, json_ld, site_name)
    language = (
        root.get("lang")
        or root.get("{http://www.w3.org/XML/1998/namespace}lang")
        or meta.get("content-language")
        or meta.get("og:locale")
        or _first_string(obj.get("inLanguage") for obj in json_ld)
    )
    extra = {
        key: value
        for key, value in (
            ("published", meta.get("article:published_time") or ""),
            ("description", meta.get("og:description") or meta.get("description") or ""),
        )
        if value
    }
    return PageMetadata(title, byline, site_name or None, language or None, extra)


def main_content(root: etree._Element, url: str | None = None) -> list[RawBlock]:
    """Return the blocks of the page's main content, found by trafilatura, in order."""
    import trafilatura

    document = trafilatura.bare_extraction(
        root,
        url=url,
        include_comments=False,
        include_tables=True,
        include_links=True,
        include_images=False,
        with_metadata=False,
        output_format="python",
    )
    body = getattr(document, "body", None)
    if body is None:
        return []
    return walk_blocks(body, skip_boilerplate=False)


def fallback_content(root: etree._Element) -> list[RawBlock]:
    """Return the blocks of the page's <article> or <main> (or <body>), furniture skipped."""
    for path in ("//article", "//main", "//*[@role='main']", "//body"):
        found = root.xpath(path)
        if found:
            largest = max(found, key=lambda element: len(element_text(element)))
            blocks = walk_blocks(largest)
            if blocks:
                return blocks
    return []


def clean_blocks(blocks: list[RawBlock], title: str, byline: str | None) -> list[RawBlock]:
    """Drop what a page repeats or adds around the story: headline, byline, link lists."""
    title_key = _key(title)
    byline_key = _key(byline or "")
    link_lists = _link_lists(blocks)
    kept: list[RawBlock] = []
    for block in blocks:
        key = _key(block.text)
        if not kept and title_key and key == title_key:
            continue  # the headline, read once as the title
        if byline_key and key in {byline_key, _key("by " + (byline or ""))}:
            continue
        if block.group and block.group in link_lists:
            continue
        words = len(_WORDS.findall(block.text))
        if block.link_density >= _LINK_BLOCK_DENSITY and words <= _LINK_BLOCK_MAX_WORDS:
            continue  # "Read more: ...", a lone link to another story
        if words <= 40 and _BOILERPLATE_LINE.match(block.text):
            continue
        kept.append(block)
    return kept


def _link_lists(blocks: list[RawBlock]) -> set[int]:
    totals: dict[int, list[int]] = {}
    for block in blocks:
        if block.group and block.kind == "list_item":
            chars = totals.setdefault(block.group, [0, 0])
            chars[0] += block.link_chars
            chars[1] += len(block.text)
    return {
        group for group, (links, chars) in totals.items() if links >= _LINK_LIST_DENSITY * chars
    }


def _key(text: str) -> str:
    return " ".join(_WORDS.findall(text.lower()))


def _meta_values(root: etree._Element) -> dict[str, str]:
    values: dict[str, str] = {}
    for element in root.iter("meta"):
        name = element.get("property") or element.get("name") or element.get("itemprop") or ""
        name = name.strip().lower() or (element.get("http-equiv") or "").strip().lower()
        content = fold(element.get("content") or "")
        if name and content and name not in values:
            values[name] = content
    return values


def _json_ld_objects(root: etree._Element) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for script in root.xpath("//script[@type='application/ld+json']"):
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        pending = [data]
        while pending and len(found) < 50:
            item = pending.pop()
            if isinstance(item, list):
                pending.extend(item)
            elif isinstance(item, dict):
                found.append(item)
                graph = item.get("@graph")
                if isinstance(graph, list):
                    pending.extend(graph)
    return found


def _json_ld_publisher(objects: list[dict[str, Any]]) -> str | None:
    for obj in objects:
        publisher = obj.get("publisher")
        if isinstance(publisher, dict) and isinstance(publisher.get("name"), str):
            return fold(publisher["name"]) or None
    return None


def _first_string(values: Any) -> str | None:
    for value in values:
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _choose_title(
    root: etree._Element,
    meta: dict[str, str],
    json_ld: list[dict[str, Any]],
    site_name: str | None,
) -> str:
    headings = [element_text(h1) for h1 in root.iter("h1")]
    headings = [text for text in headings if text and len(text) < 300]
    declared = [
        _strip_site_name(candidate, site_name)
        for candidate in (
            meta.get("og:title"),
            meta.get("twitter:title"),
            _first_string(obj.get("headline") for obj in json_ld),
            element_text(root.find(".//title")) if root.find(".//title") is not None else None,
        )
        if candidate
    ]
    # The h1 that the metadata agrees with is the headline as printed.
    for heading in headings:
        key = _key(heading)
        if key and any(key in _key(candidate) or _key(candidate) in key for candidate in declared):
            return heading
    if declared:
        return declared[0]
    return headings[0] if headings else ""


def _strip_site_name(title: str, site_name: str | None) -> str:
    title = fold(title)
    for separator in _TITLE_SEPARATORS:
        if separator not in title:
            continue
        parts = [part.strip() for part in title.split(separator)]
        if site_name:
            site_key = _key(site_name)
            remaining = [part for part in parts if _key(part) != site_key]
            if remaining and len(remaining) < len(parts):
                return separator.join(remaining)
        head, tail = separator.join(parts[:-1]), parts[-1]
        if len(tail.split()) <= 4 and len(head) > len(tail):
            return head
    return title


def _byline(
    root: etree._Element,
    meta: dict[str, str],
    json_ld: list[dict[str, Any]],
    site_name: str | None,
) -> str | None:
    candidates: list[str | None] = [
        meta.get("author"),
        meta.get("article:author"),
        meta.get("byl"),
        meta.get("parsely-author"),
        meta.get("dc.creator"),
        _json_ld_author(json_ld),
    ]
    for path in ("//*[@rel='author']", "//*[@itemprop='author']", "//*[contains(@class,'byline')]"):
        found = root.xpath(path)
        if found:
            candidates.append(element_text(found[0]))
    publisher = _key(site_name or "")
    for candidate in candidates:
        name = _clean_byline(candidate)
        # Many sites name themselves as the author; that is no byline.
        if name and _key(name) != publisher:
            return name
    return None


def _json_ld_author(objects: list[dict[str, Any]]) -> str | None:
    for obj in objects:
        author = obj.get("author")
        authors = author if isinstance(author, list) else [author]
        found = [item.get("name") if isinstance(item, dict) else item for item in authors]
        names = [fold(name) for name in found if isinstance(name, str) and name.strip()]
        if names:
            return " and ".join(names) if len(names) <= 2 else ", ".join(names)
    return None


def _clean_byline(candidate: str | None) -> str | None:
    if not candidate:
        return None
    name = _BY.sub("", fold(candidate)).strip(" ,;|")
    if not name or len(name) > _MAX_BYLINE_CHARS or _NOT_A_NAME.search(name):
        return None
    return name


def article_from_html(root: etree._Element, *, full_page: bool, url: str | None) -> Article:
    """Read a parsed page or fragment into an article (language as declared, maybe empty)."""
    metadata = read_metadata(root)
    if full_page:
        blocks = main_content(root, url) or fallback_content(root)
    else:
        # A fragment is the article itself: read all of it but its furniture.
        body = root.find("body")
        blocks = walk_blocks(body if body is not None else root)
    blocks = clean_blocks(blocks, metadata.title, metadata.byline)
    language = metadata.language
    if not language:
        declared = root.xpath("(//*[@lang])[1]/@lang")
        language = str(declared[0]) if declared else None
    return Article(
        title=metadata.title,
        blocks=tuple(block.to_block() for block in blocks),
        byline=metadata.byline,
        language=language or "",
        site_name=metadata.site_name,
        source_url=url,
        metadata=dict(metadata.extra),
    )
