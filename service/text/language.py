"""Name an article's language: from markup when declared, else detected from the text."""

from __future__ import annotations

import re

DEFAULT_LANGUAGE = "en"
_SAMPLE_CHARS = 4000
_SUBTAG = re.compile(r"^([A-Za-z]{2,3})(?:[-_]|$)")


def primary_subtag(tag: str | None) -> str | None:
    """Return the primary language subtag of a BCP 47 tag (``en-US`` -> ``en``), or None."""
    if not tag:
        return None
    match = _SUBTAG.match(tag.strip())
    if match is None:
        return None
    subtag = match.group(1).lower()
    # "und" (undetermined) and "mul" (multiple) name no language a voice can speak.
    return None if subtag in {"und", "mul", "zxx"} else subtag


def detect_language(text: str, declared: str | None = None) -> str:
    """Return the primary subtag of ``declared`` if usable, else the one py3langid finds."""
    subtag = primary_subtag(declared)
    if subtag is not None:
        return subtag
    sample = text[:_SAMPLE_CHARS]
    if not sample.strip():
        return DEFAULT_LANGUAGE
    import py3langid

    code, _score = py3langid.classify(sample)
    return str(code)
