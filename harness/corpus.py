"""Text to narrate: real articles for benchmarks, long made-up ones for tests.

:func:`real_article` reads real English article bodies (the development set, see
``harness.devset``) with every sentence distinct: speed is measured on it.
:func:`article_text` builds an article of any length from the seed article's ~25
sentences, repeated, so most of its sentences recur: tests use it where they need a
long article, and it must never be used to measure speed, since the sentence cache
turns its repeats into cache hits.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from pathlib import Path

from harness import devset
from service.text.language import detect_language

SEED = Path(__file__).resolve().parent.parent / "seeds" / "nato-expansion-medium.txt"
NUMBERS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _sentences() -> list[str]:
    text = SEED.read_text(encoding="utf-8")
    body = [p for p in text.split("\n\n") if len(p.split()) > 20]
    found: list[str] = []
    for paragraph in body:
        found += [
            s.strip() for s in re.split(r"(?<=[.])\s+", " ".join(paragraph.split())) if s.strip()
        ]
    return found


def article_text(words: int, *, seed: int = 7) -> str:
    """Return a made-up plain-text article of about ``words`` words: a title, headings, paragraphs.

    Every paragraph differs (it names its own number), so no two chunks share a cache key,
    but its sentences are the seed's, repeated: never measure speed on it.
    """
    rng = random.Random(seed)
    pool = _sentences()
    parts = [f"A long report on European security, {words} words", ""]
    count = len(parts[0].split())
    number = 0
    while count < words:
        number += 1
        if number % 9 == 0:
            heading = f"Part {number // 9} of the report"
            parts += [heading, ""]
            count += len(heading.split())
        picked = rng.sample(pool, k=rng.randint(2, 4))
        tail = NUMBERS[number % 10]
        paragraph = f"In section {number}, the count is {tail}. " + " ".join(picked)
        parts += [paragraph, ""]
        count += len(paragraph.split())
    return "\n".join(parts).strip() + "\n"


def write_article(folder: Path, words: int) -> Path:
    """Write :func:`article_text` to ``folder`` and return the file."""
    path = folder / f"article-{words}.txt"
    path.write_text(article_text(words), encoding="utf-8")
    return path


# --- real text --------------------------------------------------------------------------
# Speed is measured on real articles: the development set's marked article bodies, read
# where they lie (``harness.devset``), every sentence distinct so the sentence cache
# cannot turn a cold narration into cache hits.

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’)\]]*\s+")
_ASCII_SHARE = 0.99
_MIN_WORDS = 150


def sentences(text: str) -> list[str]:
    """Split ``text`` into sentences, roughly: at ``.``, ``!`` or ``?`` and white space."""
    found = []
    for paragraph in text.split("\n"):
        found += [" ".join(s.split()) for s in _SENTENCE_END.split(paragraph) if s.strip()]
    return found


def repeated_sentences(text: str, min_words: int = 4) -> list[str]:
    """Return the sentences of ``min_words`` words or more that occur twice or more in ``text``.

    Case and spaces are ignored. Shorter ones are left out: the rough split makes
    fragments such as "Mr." of abbreviations, and a real article may well say "Also at
    Walmart." twice.
    """
    counts = Counter(s.casefold() for s in sentences(text) if len(s.split()) >= min_words)
    return sorted(s for s, n in counts.items() if n > 1)


def english_bodies() -> list[tuple[str, str]]:
    """Return (page name, article body) of the set's English articles, sorted by name.

    English here: at least 99 % ASCII characters, at least 150 words, and English to
    the service's own language detection (an Indonesian article is all ASCII too: the
    service read it with the English voice, as a text mostly in English).
    """
    found = []
    for name in devset.page_names():
        body = devset.truths()[name]["articleBody"].strip()
        ascii_share = sum(c.isascii() for c in body) / max(1, len(body))
        if (
            ascii_share >= _ASCII_SHARE
            and len(body.split()) >= _MIN_WORDS
            and detect_language(body) == "en"
        ):
            found.append((name, body))
    return found


def _distinct_bodies() -> list[str]:
    """Return the English article bodies in name order, every sentence distinct.

    A body that would repeat a sentence of four words or more already taken (or one of
    its own) is left out.
    """
    taken: list[str] = []
    seen: set[str] = set()
    for _name, body in english_bodies():
        own = [s.casefold() for s in sentences(body) if len(s.split()) >= 4]
        if len(set(own)) < len(own) or seen.intersection(own):
            continue
        taken.append(body)
        seen.update(own)
    return taken


def real_text(words: int) -> str:
    """Return about ``words`` words of real English articles, every sentence distinct.

    Whole article bodies (:func:`_distinct_bodies`), each separated by a blank line,
    until the count is reached.
    """
    parts: list[str] = []
    count = 0
    for body in _distinct_bodies():
        parts.append(body)
        count += len(body.split())
        if count >= words:
            return "\n\n".join(parts) + "\n"
    raise LookupError(f"the set's English articles hold {count} words, fewer than {words}")


def real_texts(words: int, count: int) -> list[str]:
    """Return ``count`` texts of about ``words`` words each, no sentence in two of them.

    The paragraphs of :func:`_distinct_bodies`, in order, cut into runs of at least
    ``words`` words: real text, though a run may start or end inside an article.
    """
    texts: list[str] = []
    run: list[str] = []
    run_words = 0
    for body in _distinct_bodies():
        for paragraph in body.split("\n\n"):
            if not paragraph.strip():
                continue
            run.append(paragraph.strip())
            run_words += len(paragraph.split())
            if run_words >= words:
                texts.append("\n\n".join(run) + "\n")
                run, run_words = [], 0
                if len(texts) == count:
                    return texts
    raise LookupError(f"the set's English articles make {len(texts)} texts of {words} words")


def real_article(words: int) -> str:
    """Return real English text of about ``words`` words, every sentence distinct.

    The one article of the set nearest in length when it is within a quarter of
    ``words`` (400 words: a 403-word news article; 3,500: a 3,555-word review), else
    several articles one after the other (:func:`real_text`).
    """
    _name, body = min(
        english_bodies(), key=lambda item: (abs(len(item[1].split()) - words), item[0])
    )
    if abs(len(body.split()) - words) <= words / 4 and not repeated_sentences(body):
        return body + "\n"
    return real_text(words)
