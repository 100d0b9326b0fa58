"""Real English article bodies from the extraction development set, read where it lies.

The set (61 real pages with the article body a person marked) sits beside the
repository in ``../shared/aeb-dev``, or where ``$AEB_DEV_DIR`` says; it is read at
run time, never copied into the repository.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_MIN_WORDS = 150
_ASCII_SHARE = 0.99


def dataset_dir() -> Path:
    """Return the folder of the development set."""
    return Path(os.environ.get("AEB_DEV_DIR") or ROOT.parent / "shared" / "aeb-dev")


@cache
def english_bodies() -> list[tuple[str, str]]:
    """Return (page name, body) of the set's English articles (99 % ASCII, 150 words up)."""
    truths = json.loads((dataset_dir() / "ground-truth.json").read_text(encoding="utf-8"))
    found = []
    for name in sorted(truths):
        body = str(truths[name]["articleBody"]).strip()
        share = sum(c.isascii() for c in body) / max(1, len(body))
        if share >= _ASCII_SHARE and len(body.split()) >= _MIN_WORDS:
            found.append((name, body))
    return found


def real_article(words: int) -> str:
    """Return the English article nearest to ``words`` words (3,500: a 3,555-word review)."""
    _name, body = min(english_bodies(), key=lambda item: abs(len(item[1].split()) - words))
    return body + "\n"


def real_paragraphs(words: int, *, skip: int = 0) -> list[str]:
    """Return paragraphs of several articles, about ``words`` words, after ``skip`` articles."""
    found: list[str] = []
    count = 0
    for _name, body in english_bodies()[skip:]:
        for paragraph in body.split("\n"):
            if len(paragraph.split()) < 12:
                continue
            found.append(" ".join(paragraph.split()))
            count += len(paragraph.split())
            if count >= words:
                return found
            if len(found) % 4 == 0:
                break  # a few paragraphs of each article: many writers, many subjects
    return found
