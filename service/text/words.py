"""Count words one way everywhere: the CLI's preview, the API, the player and the length limit."""

from __future__ import annotations

import re

import regex

# A word is a run of non-space characters holding a letter or a digit ("state-of-the-art",
# "1,200", "don't" are one word each; a lone dash or bullet is none).
_WORD = re.compile(r"[^\s\w]*[^\W_]\S*")
# Scripts written without spaces count one word per character, as word processors count them.
_UNSPACED = r"\p{Han}\p{Hiragana}\p{Katakana}"
_HAS_UNSPACED = regex.compile(rf"[{_UNSPACED}]")
_UNSPACED_WORD = regex.compile(
    rf"[{_UNSPACED}]|[^\s{_UNSPACED}]*[\p{{L}}\p{{N}}][^\s{_UNSPACED}]*", regex.V1
)


def word_spans(text: str) -> list[tuple[int, int]]:
    """Return where each word of ``text`` starts and ends, counted as :func:`count_words` counts."""
    pattern = _UNSPACED_WORD if _HAS_UNSPACED.search(text) else _WORD
    return [match.span() for match in pattern.finditer(text)]


def count_words(text: str) -> int:
    """Return the number of words of ``text`` as displayed (not as spoken)."""
    if _HAS_UNSPACED.search(text):
        return sum(1 for _ in _UNSPACED_WORD.finditer(text))
    return sum(1 for _ in _WORD.finditer(text))
