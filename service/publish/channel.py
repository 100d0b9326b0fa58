"""Check what a publisher says about a collection: its slug and its podcast channel.

A collection is a podcast: a slug in URLs (``/feeds/daily.xml``) and a
channel (title, description, author, language, artwork, Apple category,
explicit flag, website, owner's address). Everything is checked here, before
it reaches the database or a feed, with one clear message per mistake.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from service.errors import CollectionError

SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
"""A collection's slug: 1-64 lowercase letters, digits and inner hyphens (``daily-news``)."""
MAX_COLLECTIONS_PER_NARRATION = 20
"""Collections one request may file a narration in."""
TITLE_MAX_CHARS = 255
DESCRIPTION_MAX_CHARS = 4000
"""Apple Podcasts shows at most 4,000 characters of a description."""
URL_MAX_CHARS = 2048
EMAIL_MAX_CHARS = 254
SUMMARY_MAX_CHARS = 4000
"""An item's description (the article's first paragraph) is cut at a word past this."""

LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8}){0,3}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
# characters XML 1.0 cannot carry (and lone surrogates, which JSON can): a feed would not build
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")

APPLE_CATEGORIES: dict[str, tuple[str, ...]] = {
    "Arts": ("Books", "Design", "Fashion & Beauty", "Food", "Performing Arts", "Visual Arts"),
    "Business": (
        "Careers",
        "Entrepreneurship",
        "Investing",
        "Management",
        "Marketing",
        "Non-Profit",
    ),
    "Comedy": ("Comedy Interviews", "Improv", "Stand-Up"),
    "Education": ("Courses", "How To", "Language Learning", "Self-Improvement"),
    "Fiction": ("Comedy Fiction", "Drama", "Science Fiction"),
    "Government": (),
    "History": (),
    "Health & Fitness": (
        "Alternative Health",
        "Fitness",
        "Medicine",
        "Mental Health",
        "Nutrition",
        "Sexuality",
    ),
    "Kids & Family": ("Education for Kids", "Parenting", "Pets & Animals", "Stories for Kids"),
    "Leisure": (
        "Animation & Manga",
        "Automotive",
        "Aviation",
        "Crafts",
        "Games",
        "Hobbies",
        "Home & Garden",
        "Video Games",
    ),
    "Music": ("Music Commentary", "Music History", "Music Interviews"),
    "News": (
        "Business News",
        "Daily News",
        "Entertainment News",
        "News Commentary",
        "Politics",
        "Sports News",
        "Tech News",
    ),
    "Religion & Spirituality": (
        "Buddhism",
        "Christianity",
        "Hinduism",
        "Islam",
        "Judaism",
        "Religion",
        "Spirituality",
    ),
    "Science": (
        "Astronomy",
        "Chemistry",
        "Earth Sciences",
        "Life Sciences",
        "Mathematics",
        "Natural Sciences",
        "Nature",
        "Physics",
        "Social Sciences",
    ),
    "Society & Culture": (
        "Documentary",
        "Personal Journals",
        "Philosophy",
        "Places & Travel",
        "Relationships",
    ),
    "Sports": (
        "Baseball",
        "Basketball",
        "Cricket",
        "Fantasy Sports",
        "Football",
        "Golf",
        "Hockey",
        "Rugby",
        "Running",
        "Soccer",
        "Swimming",
        "Tennis",
        "Volleyball",
        "Wilderness",
        "Wrestling",
    ),
    "Technology": (),
    "True Crime": (),
    "TV & Film": ("After Shows", "Film History", "Film Interviews", "Film Reviews", "TV Reviews"),
}
"""Apple Podcasts' categories and their subcategories, spelled as Apple requires."""


def _category_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for parent, children in APPLE_CATEGORIES.items():
        names[parent.lower()] = parent
        for child in children:
            names[f"{parent}/{child}".lower()] = f"{parent}/{child}"
            names.setdefault(child.lower(), f"{parent}/{child}")
    return names


_CATEGORIES = _category_names()


@dataclass(frozen=True)
class Channel:
    """A collection's slug and what its feed says about the podcast."""

    slug: str
    """Name in URLs: ``/feeds/{slug}.xml``."""
    title: str
    """The podcast's name."""
    description: str = ""
    """What the podcast is about (the feed falls back to the title)."""
    author: str | None = None
    """Who makes it (``itunes:author``)."""
    language: str | None = None
    """Language tag (``en``, ``en-GB``); unset, the feed takes its narrations' language."""
    image_url: str | None = None
    """Square artwork, JPEG or PNG, 1400-3000 px, as Apple asks (``itunes:image``)."""
    category: str | None = None
    """Apple category, ``Parent`` or ``Parent/Subcategory`` (``News/Daily News``)."""
    explicit: bool = False
    """Whether the podcast has explicit content (``itunes:explicit``)."""
    link: str | None = None
    """The publisher's website; unset, the service's own address."""
    owner_email: str | None = None
    """Who to contact about the feed; set, the feed is ``podcast:locked`` to this owner."""

    @property
    def category_path(self) -> tuple[str, ...]:
        """Return the category and subcategory, as separate names (empty when unset)."""
        return tuple(self.category.split("/", 1)) if self.category else ()

    def as_json(self) -> dict[str, Any]:
        """Return the channel as the API shows it (the fields ``PUT`` takes, and the slug)."""
        return {
            "slug": self.slug,
            "title": self.title,
            "description": self.description,
            "author": self.author,
            "language": self.language,
            "image_url": self.image_url,
            "category": self.category,
            "explicit": self.explicit,
            "link": self.link,
            "owner_email": self.owner_email,
        }


CHANNEL_FIELDS = (
    "title",
    "description",
    "author",
    "language",
    "image_url",
    "category",
    "explicit",
    "link",
    "owner_email",
)
"""The fields ``PUT /api/collections/{slug}`` takes."""


@dataclass(frozen=True)
class FiledNarration:
    """What a collection keeps of a narration filed in it: enough for its feed item."""

    narration_id: str
    """The narration's id (the feed item's guid)."""
    title: str
    """The article's title."""
    summary: str
    """The article's first paragraph (the item's description)."""
    language: str | None = None
    """The article's language."""
    duration_ms: int | None = None
    """The MP3's duration, once it is made."""
    audio_bytes: int | None = None
    """The MP3's exact size, once it is made."""


@dataclass(frozen=True)
class CollectionItem:
    """A narration as filed in one collection."""

    narration_id: str
    """The narration's id."""
    title: str
    """The article's title."""
    summary: str
    """The article's first paragraph."""
    language: str | None
    """The article's language."""
    filed_at: dt.datetime
    """When it was filed (the item's publication date)."""
    duration_ms: int | None
    """The MP3's duration; None while it is being made."""
    audio_bytes: int | None
    """The MP3's size in bytes; None while it is being made."""

    @property
    def ready(self) -> bool:
        """Return True once the audio is made (only then is it in the feed)."""
        return self.duration_ms is not None and self.audio_bytes is not None

    def as_json(self) -> dict[str, Any]:
        """Return the item as the API lists it."""
        return {
            "id": self.narration_id,
            "title": self.title,
            "summary": self.summary,
            "language": self.language,
            "filed_at": self.filed_at.isoformat(timespec="seconds"),
            "duration_ms": self.duration_ms,
            "audio_bytes": self.audio_bytes,
            "ready": self.ready,
        }


def check_slug(value: object) -> str:
    """Return ``value`` if it is a collection slug, else raise :class:`CollectionError`."""
    if not isinstance(value, str):
        raise CollectionError(f"a collection slug is a string, not {_kind(value)}")
    if SLUG.fullmatch(value) is None:  # fullmatch: match() and $ would let a final newline in
        shown = value if len(value) <= 80 else value[:80] + "…"
        raise CollectionError(
            f"{shown!r} is not a collection slug: use 1-64 lowercase letters, digits and "
            "hyphens, starting and ending with a letter or digit (such as 'daily-news')"
        )
    return value


def collection_slugs(value: object) -> tuple[str, ...]:
    """Return the slugs of a narration request's ``collection`` field: one slug or a list.

    Duplicates are dropped, order kept; an empty list files nowhere.
    """
    if isinstance(value, str):
        return (check_slug(value),)
    if not isinstance(value, list):
        raise CollectionError(f"'collection' is a slug or a list of slugs, not {_kind(value)}")
    if len(value) > MAX_COLLECTIONS_PER_NARRATION:
        raise CollectionError(
            f"'collection' lists {len(value)} collections; at most "
            f"{MAX_COLLECTIONS_PER_NARRATION} at once"
        )
    return tuple(dict.fromkeys(check_slug(slug) for slug in value))


def parse_channel(slug: str, data: object) -> Channel:
    """Return the channel ``data`` (a ``PUT`` body) describes for the collection ``slug``.

    Every field but ``title`` is optional; a field left out takes its default,
    as ``PUT`` replaces the whole channel.
    """
    check_slug(slug)
    if not isinstance(data, Mapping):
        raise CollectionError(f"a collection is a JSON object, not {_kind(data)}")
    unknown = sorted(str(key) for key in data if key not in CHANNEL_FIELDS and key != "slug")
    if unknown:
        raise CollectionError(
            f"unknown collection field {', '.join(repr(k[:40]) for k in unknown[:5])}; "
            f"the fields are {', '.join(CHANNEL_FIELDS)}"
        )
    if "slug" in data and data["slug"] != slug:
        raise CollectionError(
            f"the body's slug {str(data['slug'])[:80]!r} is not the URL's {slug!r}"
        )
    title = _line(data, "title", TITLE_MAX_CHARS)
    if not title:
        raise CollectionError("a collection needs a 'title': the podcast's name")
    explicit = data.get("explicit", False)
    if not isinstance(explicit, bool):
        raise CollectionError(f"'explicit' is true or false, not {_kind(explicit)}")
    return Channel(
        slug=slug,
        title=title,
        description=_text(data, "description", DESCRIPTION_MAX_CHARS),
        author=_line(data, "author", TITLE_MAX_CHARS) or None,
        language=_language(data),
        image_url=_url(data, "image_url"),
        category=_category(data),
        explicit=explicit,
        link=_url(data, "link"),
        owner_email=_email(data),
    )


def summary_of(parts: tuple[tuple[str, str], ...] | list[tuple[str, str]]) -> str:
    """Return an article's first paragraph (else its first quote or list item), cut if long."""
    for kinds in (("paragraph",), ("quote", "list_item")):
        for kind, text in parts:
            if kind in kinds and text.strip():
                return clip_text(text, SUMMARY_MAX_CHARS)
    return ""


def clip_text(text: str, max_chars: int) -> str:
    """Return ``text`` without characters XML cannot carry, cut at a word past ``max_chars``."""
    clean = _NOT_XML.sub("", text).strip()
    if len(clean) <= max_chars:
        return clean
    cut = clean[: max_chars - 1].rsplit(" ", 1)[0] or clean[: max_chars - 1]
    return cut.rstrip() + "…"


def _kind(value: object) -> str:
    names = {str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    names |= {list: "a list", dict: "an object", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _string(data: Mapping[str, Any], name: str, max_chars: int) -> str:
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise CollectionError(f"'{name}' is a string, not {_kind(value)}")
    if _NOT_XML.search(value):
        raise CollectionError(f"'{name}' holds control characters a feed cannot carry")
    if len(value) > max_chars:
        raise CollectionError(f"'{name}' is {len(value)} characters long; at most {max_chars}")
    return value


def _line(data: Mapping[str, Any], name: str, max_chars: int) -> str:
    return " ".join(_string(data, name, max_chars).split())


def _text(data: Mapping[str, Any], name: str, max_chars: int) -> str:
    return _string(data, name, max_chars).strip()


def _url(data: Mapping[str, Any], name: str) -> str | None:
    value = _string(data, name, URL_MAX_CHARS).strip()
    if not value:
        return None
    refused = CollectionError(
        f"'{name}' must be an http:// or https:// address, not {value[:80]!r}"
    )
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (reading it checks it: "http://x:99999" raises ValueError)
    except ValueError:  # brackets that hold no IPv6 address ("http://[::1/"), a bad port
        raise refused from None
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value):
        raise refused
    return value


def _language(data: Mapping[str, Any]) -> str | None:
    value = _string(data, "language", 35).strip()
    if not value:
        return None
    if LANGUAGE.fullmatch(value) is None:
        raise CollectionError(
            f"'language' must be a language tag such as 'en' or 'en-GB', not {value!r}"
        )
    return value


def _email(data: Mapping[str, Any]) -> str | None:
    value = _string(data, "owner_email", EMAIL_MAX_CHARS).strip()
    if not value:
        return None
    if EMAIL.fullmatch(value) is None:
        raise CollectionError(f"'owner_email' must be an email address, not {value[:80]!r}")
    return value


def _category(data: Mapping[str, Any]) -> str | None:
    value = _line(data, "category", 100)
    if not value:
        return None
    key = "/".join(part.strip() for part in value.split("/")).lower()
    found = _CATEGORIES.get(key)
    if found is None:
        raise CollectionError(
            f"'category' {value!r} is not an Apple Podcasts category; use one such as "
            "'News', 'News/Daily News' or 'Technology'"
        )
    return found
