"""Read plain text, including text pasted from a web page, into an article.

Blank lines separate paragraphs and hard-wrapped lines are joined. Text copied
from a page brings its furniture along ("Listen to this story", "2 min read",
the headline twice, a photo caption, "Follow"): those lines are recognised by
their shape and position, not by the page they came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from service.text.article import Article, Block, BlockKind

_BLANK = re.compile(r"\n[ \t\u00a0\u3000]*\n")
_LIST_MARKER = re.compile(r"^\s*(?:[-*•‣◦▪–]|\d{1,3}[.)]|[a-z][.)])\s+(?=\S)")
_END_PUNCTUATION = tuple('.!?…:;,"”’)»」』。！？')
_CONTINUES = tuple(",;:-–—(")
_WORD = re.compile(r"\w+", re.U)
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u3000]+")

_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE = (
    rf"(?:{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?(?:\s+\d{{4}})?"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH},?(?:\s+\d{{4}})?"
    r"|\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4})"
)
# Whole lines that belong to the page around a story, never to the story.
_CHROME = re.compile(
    r"^(?:"
    r"listen to (?:this|the) (?:story|article|post)|listen|play|pause"
    r"|\d+\s*(?:min|minute)s?\s+(?:read|listen)|member[- ]only(?: story)?"
    r"|share(?: this)?(?: story| article| post| on \w+)?|follow(?:ing)?|unfollow|subscribe|save"
    r"|sign (?:in|up)|log ?in|get started|open in app|get the app|skip to (?:main )?content"
    r"|advertisement|sponsored|story continues below(?: advertisement)?|click to expand"
    r"|copy link|print|email|tweet|facebook|twitter|linkedin|whatsapp|reddit|pinterest"
    r"|home|menu|search|close|more|top|back to top"
    r"|\d+(?:[.,]\d+)?\s*[km]?(?:\s+(?:claps?|likes?|responses?|comments?|followers?|views?))?"
    r"|(?:responses?|comments?|claps?)\s*\(?\d*\)?"
    r"|written by .{1,60}|more from .{1,60}|recommended from .{1,60}|published in .{1,60}"
    r"|(?:updated|published|posted)(?: on)?:?\s+.{0,40}\d.{0,20}"
    rf"|{_DATE}"
    r")$",
    re.I,
)
_CAPTION_CUE = re.compile(
    r"^(?:photo|image|picture|illustration|credit|source|video|graphic)s?(?:\s+by)?\s*[:©]"
    r"|^(?:photo|image|illustration) by\b|\((?:photo|image)[^()]*\)$"
    r"|\b(?:getty images|reuters|ap photo|afp|shutterstock|unsplash)\b",
    re.I,
)
_NAME_WORD = re.compile(r"^(?:[A-ZÀ-ÖØ-Þ][\w'’.-]*|de|da|di|van|von|der|den|del|la|le|bin|al|y)$")
_BY = re.compile(r"^by\s+", re.I)

_TITLE_MAX_WORDS = 25
_HEADING_MAX_WORDS = 12
_HEADING_MAX_CHARS = 100
_BYLINE_MAX_CHARS = 60
_WRAP_MIN_WIDTH = 40
_WRAP_MAX_WIDTH = 100
_WRAP_SHARE = 0.7


@dataclass(frozen=True)
class _Unit:
    text: str
    list_item: bool = False
    level: int = 0


def article_from_plain(text: str, *, title: str | None = None) -> Article:
    """Read plain ``text`` into an article; ``title`` overrides the one found in the text."""
    units = [unit for unit in _units(text) if _WORD.search(unit.text)]
    units = [unit for unit in units if not _CHROME.match(unit.text)]
    found_title = ""
    if units and not units[0].list_item and _looks_like_title(units[0].text):
        found_title = units.pop(0).text
    title = (title or "").strip() or found_title
    title_key = _key(title)
    byline, units = _read_head(units, title_key)
    blocks: list[Block] = []
    for index, unit in enumerate(units):
        if title_key and _key(unit.text) == title_key:
            continue
        if _CAPTION_CUE.search(unit.text) and _is_short(unit.text):
            continue
        kind: BlockKind = "paragraph"
        level = 0
        if unit.list_item:
            kind, level = "list_item", unit.level
        elif _is_heading(unit.text) and blocks and index + 1 < len(units):
            kind, level = "heading", 2
        blocks.append(Block(kind=kind, text=unit.text, level=level))
    return Article(title=title, blocks=tuple(blocks), byline=byline, language="")


def _read_head(units: list[_Unit], title_key: str) -> tuple[str | None, list[_Unit]]:
    """Take the byline, the repeated headline and captions from before the first paragraph."""
    byline: str | None = None
    kept: list[_Unit] = []
    after_repeat = False
    for position, unit in enumerate(units):
        if _is_prose(unit.text) or unit.list_item:
            return byline, kept + units[position:]
        key = _key(unit.text)
        if title_key and key == title_key:
            after_repeat = True
            continue
        if byline is None and _looks_like_byline(unit.text):
            byline = _BY.sub("", unit.text).strip()
            continue
        if after_repeat and not unit.text.endswith(_END_PUNCTUATION):
            continue  # the caption of the lead image, shown under the repeated headline
        if _CAPTION_CUE.search(unit.text):
            continue
        after_repeat = False
        kept.append(unit)
    return byline, kept


def _units(text: str) -> list[_Unit]:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    units: list[_Unit] = []
    for group in _BLANK.split(text):
        lines = [_SPACES.sub(" ", line).strip() for line in group.split("\n")]
        lines = [line for line in lines if line]
        if lines:
            units.extend(_group_units(lines))
    return units


def _group_units(lines: list[str]) -> list[_Unit]:
    """Split one block of consecutive lines into paragraphs or list items."""
    if any(_LIST_MARKER.match(line) for line in lines):
        return _list_units(lines)
    if _is_hard_wrapped(lines):
        return [_Unit(_join(lines))]
    units: list[list[str]] = []
    for line in lines:
        if units and _continues(units[-1][-1], line):
            units[-1].append(line)
        else:
            units.append([line])
    return [_Unit(_join(unit)) for unit in units]


def _list_units(lines: list[str]) -> list[_Unit]:
    items: list[tuple[list[str], int, bool]] = []
    for line in lines:
        marker = _LIST_MARKER.match(line)
        if marker:
            indent = len(line) - len(line.lstrip())
            items.append(([line[marker.end() :]], 1 + indent // 2, True))
        elif items:
            items[-1][0].append(line)
        else:
            items.append(([line], 0, False))
    return [_Unit(_join(parts), list_item=is_item, level=level) for parts, level, is_item in items]


def _is_hard_wrapped(lines: list[str]) -> bool:
    """Tell a paragraph wrapped at a fixed width from lines that stand alone."""
    if len(lines) < 3:
        return False
    longest = max(len(line) for line in lines)
    if longest < _WRAP_MIN_WIDTH:
        return False
    return all(len(line) >= _WRAP_SHARE * longest for line in lines[:-1])


def _continues(previous: str, line: str) -> bool:
    """Tell whether ``line`` carries on the paragraph of ``previous`` (a hard wrap)."""
    first = line[0]
    if first.islower() or previous.endswith(_CONTINUES):
        return True
    # Wrapped lines are of a typical width; a longer line is a paragraph of its own,
    # and a line ending without punctuation before a capital is a title or a caption.
    wrapped_width = _WRAP_MIN_WIDTH <= len(previous) <= _WRAP_MAX_WIDTH
    return wrapped_width and previous.endswith(_END_PUNCTUATION)


def _join(lines: list[str]) -> str:
    text = lines[0]
    for line in lines[1:]:
        # A word hyphenated at the line end stays one word.
        if text.endswith("-") and len(text) > 1 and text[-2].isalpha() and line[0].islower():
            text += line
        else:
            text += " " + line
    return text


def _key(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def _words(text: str) -> int:
    return len(_WORD.findall(text))


def _is_short(text: str) -> bool:
    return _words(text) <= 30


def _is_prose(text: str) -> bool:
    """Tell a paragraph of the story from a line of furniture around it."""
    words = _words(text)
    return words >= 25 or (words >= 8 and text.endswith(_END_PUNCTUATION))


def _looks_like_title(text: str) -> bool:
    return _words(text) <= _TITLE_MAX_WORDS and not text.endswith(tuple(".,;:"))


def _is_heading(text: str) -> bool:
    return (
        len(text) <= _HEADING_MAX_CHARS
        and _words(text) <= _HEADING_MAX_WORDS
        and not text.endswith(_END_PUNCTUATION)
    )


def _looks_like_byline(text: str) -> bool:
    """Tell "By Jane Doe", "Cesar Romero", "Ana Swanson and Keith Bradsher" from other lines."""
    if len(text) > _BYLINE_MAX_CHARS or any(char.isdigit() for char in text):
        return False
    has_by = _BY.match(text) is not None
    names = re.split(r",\s*|\s+and\s+|\s*&\s*", _BY.sub("", text))
    for name in names:
        words = name.split()
        if not 2 <= len(words) <= 4 or not all(_NAME_WORD.match(word) for word in words):
            return has_by and 1 <= len(words) <= 4
    return True
