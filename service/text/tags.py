"""Language tags as voices, detection and the spoken form read them: one home for all three."""

from __future__ import annotations

import re

_SUBTAG = re.compile(r"^([A-Za-z]{2,3})(?:[-_]|$)")
_NO_LANGUAGE = frozenset({"und", "mul", "zxx"})
"""Undetermined, multiple, no linguistic content: no voice speaks these."""


def normalize_language(tag: str) -> str:
    """Return a language tag in the form voices use: lower case, ``-`` between subtags."""
    return tag.strip().replace("_", "-").lower()


def language_subtag(language: str) -> str:
    """Return the primary language subtag of a tag (``en-GB`` -> ``en``), lower case."""
    return re.split(r"[-_]", language.strip().lower(), maxsplit=1)[0]


def primary_subtag(tag: str | None) -> str | None:
    """Return the primary subtag of a BCP 47 tag (``en-US`` -> ``en``), or None if it names none."""
    if not tag:
        return None
    match = _SUBTAG.match(tag.strip())
    if match is None:
        return None
    subtag = match.group(1).lower()
    return None if subtag in _NO_LANGUAGE else subtag


def language_and_base(tag: str) -> tuple[str, ...]:
    """Return a tag and its primary subtag, most specific first (``en-us``, ``en``)."""
    normalized = normalize_language(tag)
    return tuple(dict.fromkeys(t for t in (normalized, language_subtag(normalized)) if t))
