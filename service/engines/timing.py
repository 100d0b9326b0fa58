"""Word timings from what engines report: the words of a sentence, and times put on them.

Every engine reports word times as offsets into the text it was given (phoneme
marks included, see :mod:`service.text.lexicon.marks`) and milliseconds from
the start of its audio (:class:`~service.media.WordTime`). A word here is a run
of characters between spaces, with the punctuation around it trimmed, as shown
(a phoneme mark counts as the words it covers).
"""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Callable, Sequence

from service.media import WordTime
from service.text.lexicon.marks import CLOSE, OPEN, SEPARATOR

Span = tuple[int, int]

_WORD = re.compile(r"\S+")
_EDGE_PUNCTUATION = frozenset(".,;:!?\"'()[]{}“”‘’«»—–…*")
_MARK = re.compile(
    f"{OPEN}([^{OPEN}{SEPARATOR}{CLOSE}]*){SEPARATOR}([^{OPEN}{SEPARATOR}{CLOSE}]*){CLOSE}"
)
_MARK_CHARS = frozenset((OPEN, SEPARATOR, CLOSE))
SILENCE_RMS = 200
"""A 10 ms frame quieter than this (16-bit RMS, about -44 dBFS) ends a word."""
_FRAME_MS = 10


def shown_text(text: str) -> tuple[str, list[int]]:
    """Return ``text`` as shown (each mark as its words, stray mark characters dropped).

    Also return, for each character shown, its offset in ``text``.
    """
    shown: list[str] = []
    source: list[int] = []
    position = 0
    for found in [*_MARK.finditer(text), None]:
        end = found.start() if found is not None else len(text)
        for index in range(position, end):
            if text[index] not in _MARK_CHARS:
                shown.append(text[index])
                source.append(index)
        if found is None:
            break
        shown.append(found.group(1))
        source.extend(range(found.start(1), found.end(1)))
        position = found.end()
    return "".join(shown), source


def engine_input(
    text: str, say: Callable[[str], str], escape: Callable[[str], str]
) -> tuple[str, list[int]]:
    """Return what an engine is given for ``text``, and each character's offset in ``text``.

    As :func:`~service.engines.phonemes.inline_marks`: ``say`` turns a mark's
    IPA into the engine's inline phonemes (each of their characters maps to the
    mark's first word), ``escape`` turns the article's own text into text the
    engine never reads as phonemes.
    """
    from service.engines.phonemes import PhonemeError
    from service.errors import SynthesisError

    out: list[str] = []
    source: list[int] = []
    position = 0
    for found in [*_MARK.finditer(text), None]:
        end = found.start() if found is not None else len(text)
        kept = [index for index in range(position, end) if text[index] not in _MARK_CHARS]
        if kept:
            piece = "".join(text[index] for index in kept)
            escaped = escape(piece)
            out.append(escaped)
            source.extend(kept[index] for index in rewrite_map(piece, escaped))
        if found is None:
            break
        try:
            said = say(found.group(2))
        except PhonemeError as error:
            raise SynthesisError(f"cannot say {found.group(1)!r}: {error}") from None
        out.append(said)
        source.extend([found.start(1)] * len(said))
        position = found.end()
    return "".join(out), source


def word_spans(text: str) -> list[Span]:
    """Return each word's characters in ``text``, punctuation trimmed (see the module docstring)."""
    shown, source = shown_text(text)
    words = []
    for found in _WORD.finditer(shown):
        start, end = trim_punctuation(shown, found.start(), found.end())
        words.append((source[start], source[end - 1] + 1))
    return words


def trim_punctuation(text: str, start: int, end: int) -> Span:
    """Drop punctuation around a word, unless nothing would be left."""
    first, last = start, end
    while first < last and text[first] in _EDGE_PUNCTUATION:
        first += 1
    while last > first and text[last - 1] in _EDGE_PUNCTUATION:
        last -= 1
    return (first, last) if last > first else (start, end)


def rewrite_map(old: str, new: str) -> list[int]:
    """Return, for each character of ``new`` (a rewrite of ``old``), a character of ``old``.

    Unchanged runs map one to one; inserted or replaced characters map to the
    character of ``old`` where the change is.
    """
    if old == new:
        return list(range(len(new)))
    mapped = [0] * len(new)
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, old_start, old_end, new_start, new_end in matcher.get_opcodes():
        for offset in range(new_end - new_start):
            if tag == "equal":
                mapped[new_start + offset] = old_start + offset
            else:
                mapped[new_start + offset] = min(old_start, max(0, old_end - 1), len(old) - 1)
    return [max(0, index) for index in mapped]


def times_from_starts(
    words: Sequence[Span],
    starts: Sequence[tuple[int, float]],
    pcm: bytes,
    sample_rate_hz: int,
) -> tuple[WordTime, ...]:
    """Put times on ``words`` from word starts an engine reported, matched in order.

    ``starts`` holds (offset in the text, ms) pairs; each goes to the word that
    holds the offset, or the next word when it falls between words, and never
    to a word before the one matched last (offsets of some engines drift on
    text that is not ASCII). A word starts at its first report; it ends where
    the sound stops before the next word starts (16-bit mono ``pcm``).
    """
    first: dict[int, float] = {}
    current = 0
    for offset, start_ms in starts:
        while current < len(words) and words[current][1] <= offset:
            current += 1
        if current == len(words):
            break
        if current not in first:
            first[current] = start_ms
    audio_ms = 1000.0 * len(pcm) / 2 / sample_rate_hz
    heard = sorted(first)
    times = []
    previous_end = 0.0
    for position, index in enumerate(heard):
        start_ms = max(first[index], previous_end)
        limit = first[heard[position + 1]] if position + 1 < len(heard) else audio_ms
        end_ms = max(start_ms, sound_end_ms(pcm, sample_rate_hz, start_ms, limit))
        times.append(WordTime(words[index][0], words[index][1], start_ms, end_ms))
        previous_end = end_ms
    return tuple(times)


def sound_end_ms(pcm: bytes, sample_rate_hz: int, start_ms: float, limit_ms: float) -> float:
    """Return where the sound after ``start_ms`` stops before ``limit_ms`` (trailing quiet cut).

    Frames of 10 ms are measured from ``limit_ms`` backwards, only as far as the
    quiet goes (``audioop``, in C: the standard library's up to Python 3.12,
    ``audioop-lts`` after).
    """
    with warnings.catch_warnings():
        # Python 3.12 warns that audioop leaves the standard library; audioop-lts keeps it
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop

    frame = max(1, sample_rate_hz * _FRAME_MS // 1000)
    first = int(start_ms * sample_rate_hz / 1000)
    end = min(len(pcm) // 2, int(limit_ms * sample_rate_hz / 1000))
    while end - frame > first:
        if audioop.rms(pcm[2 * (end - frame) : 2 * end], 2) >= SILENCE_RMS:
            break
        end -= frame
    return 1000.0 * end / sample_rate_hz
