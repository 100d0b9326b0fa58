"""How a phoneme rule travels inside a sentence's spoken text, from the planner to the engine.

An applied ``ipa`` rule becomes ``\\ue000term\\ue001phonemes\\ue002``: the
matched words, then the phonemes in IPA, between characters of Unicode's
private use area. The spoken form removes every private-use character from
article text, and lexicon rules may not hold one, so a mark can only come from
a rule. The clip key hashes the text with its marks, so a sentence's key
changes exactly when a rule applies to it; each engine turns a mark into its
own inline phoneme syntax (eSpeak's ``[[...]]``, Piper's ``[[ ... ]]``,
misaki's ``[term](/.../)``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OPEN = "\ue000"
"""Starts a phoneme mark."""
SEPARATOR = "\ue001"
"""Separates the matched words from the phonemes."""
CLOSE = "\ue002"
"""Ends a phoneme mark."""
_MARK = re.compile(
    f"{OPEN}([^{OPEN}{SEPARATOR}{CLOSE}]*){SEPARATOR}([^{OPEN}{SEPARATOR}{CLOSE}]*){CLOSE}"
)
_STRAY = re.compile(f"[{OPEN}{SEPARATOR}{CLOSE}]")


@dataclass(frozen=True)
class PhonemeMark:
    """Words of the text to be said as the given phonemes."""

    term: str
    """The words as written in the sentence."""
    ipa: str
    """Their phonemes, in IPA."""


def mark(term: str, ipa: str) -> str:
    """Return the mark that says ``term`` as ``ipa``."""
    return f"{OPEN}{term}{SEPARATOR}{ipa}{CLOSE}"


def has_marks(text: str) -> bool:
    """Return True when ``text`` holds a phoneme mark."""
    return OPEN in text


def split_marks(text: str) -> list[str | PhonemeMark]:
    """Split spoken text into plain pieces and phoneme marks, in order.

    A stray mark character (never made by :func:`mark`) is dropped, never said.
    """
    pieces: list[str | PhonemeMark] = []
    position = 0
    for found in _MARK.finditer(text):
        if found.start() > position:
            pieces.append(_STRAY.sub("", text[position : found.start()]))
        pieces.append(PhonemeMark(found.group(1), found.group(2)))
        position = found.end()
    if position < len(text):
        pieces.append(_STRAY.sub("", text[position:]))
    return [piece for piece in pieces if piece != ""]


def blank_marks(text: str) -> str:
    """Return ``text`` with each mark's own characters and phonemes made spaces, words kept.

    Offsets stay where they were, so a word found in the result is found in ``text``.
    """
    if not has_marks(text):
        return text
    return _STRAY.sub(
        " ",
        _MARK.sub(lambda m: " " + m.group(1) + " " * (len(m.group(2)) + 2), text),
    )


def plain_text(text: str) -> str:
    """Return ``text`` with every mark replaced by the words it covers (for display)."""
    return "".join(
        piece.term if isinstance(piece, PhonemeMark) else piece for piece in split_marks(text)
    )
