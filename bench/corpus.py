"""Make long English articles of a given length, deterministically, from the seed article."""

from __future__ import annotations

import random
import re
from pathlib import Path

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
    """Return a plain-text article of about ``words`` words: a title, headings, paragraphs.

    Every paragraph differs (it names its own number), so no two chunks share a cache key.
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
