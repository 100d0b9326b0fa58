"""Keep track of where each character of a rewritten text came from.

The spoken form rewrites a sentence ("Dr." becomes "Doctor", "$5m" becomes "5
million dollars"), a lexicon rewrites it again, and an engine reports its word
offsets in what it was given. :data:`Edits` say, for each stretch a rewriting
replaced, which characters of the source it stands for; everything between two
edits was copied one to one. They are plain data (tuples of ints, empty for a
text left as it was), so they travel in a plan, and mapping an offset back
through them is a binary search.

A replacement is aligned word by word with what it replaced: in "5 January
1990" -> "the 5th of January nineteen ninety", "January" stays "January",
"the 5th of" stands for "5" and "nineteen ninety" for "1990".
"""

from __future__ import annotations

import bisect
import difflib
import re
from collections.abc import Callable
from typing import Any, TypeAlias

import regex

Edit = tuple[int, int, int, int]
"""(start, end) of a stretch of the rewritten text, and (start, end) of the source it stands for."""
Edits = tuple[Edit, ...]
"""A rewritten text's edits in order; characters outside them are copied from the source."""

Pattern: TypeAlias = re.Pattern[str] | regex.Pattern[str]
Replacement: TypeAlias = str | Callable[[Any], str]

_WORD = re.compile(r"\w+")
_ORDINAL = re.compile(r"^(\d+)(?:st|nd|rd|th)$")


def source_span(edits: Edits, start: int, end: int) -> tuple[int, int]:
    """Return the stretch of the source that characters ``start`` to ``end`` come from.

    An empty stretch maps to the empty stretch where it sits; text that was
    inserted (a byline's "By") maps to an empty stretch.
    """
    if end <= start:
        low, _ = _char_source(edits, start, empty_at=True)
        return low, low
    low, _ = _char_source(edits, start)
    _, high = _char_source(edits, end - 1)
    return low, max(low, high)


def _char_source(edits: Edits, position: int, *, empty_at: bool = False) -> tuple[int, int]:
    """Return the source stretch of the character at ``position`` of the rewritten text."""
    index = bisect.bisect_right(edits, (position, float("inf"))) - 1
    if index < 0:
        return position, position if empty_at else position + 1
    _, out_end, source_start, source_end = edits[index]
    if position < out_end and not empty_at:
        return source_start, source_end
    if position < out_end:
        return source_start, source_start
    shifted = position + source_end - out_end
    return shifted, shifted if empty_at else shifted + 1


def prefixed(edits: Edits, prefix_chars: int) -> Edits:
    """Return the edits of a text after ``prefix_chars`` characters that stand for nothing."""
    if prefix_chars <= 0:
        return edits
    moved = tuple((a + prefix_chars, b + prefix_chars, c, d) for a, b, c, d in edits)
    return ((0, prefix_chars, 0, 0), *moved)


def then(later: Edits, earlier: Edits) -> Edits:
    """Return the edits of two rewritings in a row: ``earlier`` (A to B), then ``later``."""
    if not earlier:
        return later
    if not later:
        return earlier
    return _edits(_compose(_runs(later), _runs(earlier)))


# -- runs: the working form of edits while a text is being rewritten -----------------------

Run = tuple[int, int, bool]
"""Characters of the rewritten text, characters of the source, and whether they were copied."""


def _runs(edits: Edits) -> list[Run]:
    """Return ``edits`` as runs; the last copied run reaches as far as any text does."""
    runs: list[Run] = []
    position = 0
    for out_start, out_end, source_start, source_end in edits:
        copied = out_start - position
        if copied > 0:
            runs.append((copied, copied, True))
        runs.append((out_end - out_start, source_end - source_start, False))
        position = out_end
    runs.append((_OPEN_END, _OPEN_END, True))
    return runs


_OPEN_END = 1 << 60
"""Length of the copied run that ends every text whose length the edits do not know."""


def _edits(runs: list[Run]) -> Edits:
    edits: list[Edit] = []
    out = source = 0
    for out_length, source_length, copied in runs:
        if not copied and (out_length or source_length):
            edits.append((out, out + out_length, source, source + source_length))
        out += out_length
        source += source_length
    return tuple(edits)


def _compose(later: list[Run], earlier: list[Run]) -> list[Run]:
    """Compose runs: ``later`` maps C onto B, ``earlier`` maps B onto A; return C onto A.

    Where a run of ``later`` covers part of a replaced run of ``earlier``, the
    replaced run's whole source goes with the larger part (the words, not a
    space collapsed next to them).
    """
    composed: list[Run] = []
    pending = list(reversed(earlier))  # a stack: runs of B (with their A) still to be used

    def take(length: int) -> list[Run]:
        taken: list[Run] = []
        while length > 0 and pending:
            middle, source, copied = pending.pop()
            if middle <= length:
                taken.append((middle, source, copied))
                length -= middle
                continue
            if copied:
                taken.append((length, length, True))
                pending.append((middle - length, source - length, True))
            elif 2 * length >= middle:
                taken.append((length, source, False))
                pending.append((middle - length, 0, False))
            else:  # a sliver (a space collapsed later): the source stays with the rest
                taken.append((length, 0, False))
                pending.append((middle - length, source, False))
            length = 0
        return taken

    for out_length, middle_length, copied in later:
        pieces = take(middle_length)
        if copied:
            composed += pieces
        else:
            composed.append((out_length, sum(source for _, source, _ in pieces), False))
    return _merged(composed)


def _merged(runs: list[Run]) -> list[Run]:
    merged: list[Run] = []
    for run in runs:
        if run[0] == 0 and run[1] == 0:
            continue
        if merged and run[2] and merged[-1][2]:
            merged[-1] = (merged[-1][0] + run[0], merged[-1][1] + run[1], True)
        else:
            merged.append(run)
    return merged


def _word_key(word: str) -> str:
    ordinal = _ORDINAL.match(word)
    return ordinal.group(1) if ordinal else word.casefold()


def replacement_runs(replaced: str, replacement: str) -> list[Run]:
    """Align a replacement with what it replaced, word by word (words in common pin it).

    Words said where nothing was written ("the" in "the 5th of January") go with
    the pinned word after them (or before them, at the end), and so do words
    written but not said: a date said in another order stands as a whole for
    the date written.
    """
    if replaced == replacement:
        return [(len(replaced), len(replaced), True)]
    old_words = list(_WORD.finditer(replaced))
    new_words = list(_WORD.finditer(replacement))
    if len(old_words) < 2 or len(new_words) < 2:  # nothing to pin apart: one stands for the other
        return [(len(replacement), len(replaced), False)]
    matcher = difflib.SequenceMatcher(
        None,
        [_word_key(w.group()) for w in old_words],
        [_word_key(w.group()) for w in new_words],
        autojunk=False,
    )
    # [old start, old end, new start, new end, pinned]: pinned words and the gaps between
    pieces: list[list[Any]] = []
    old_at = new_at = 0
    for old_index, new_index, size in matcher.get_matching_blocks():
        for offset in range(size):
            old_word, new_word = old_words[old_index + offset], new_words[new_index + offset]
            pieces.append([old_at, old_word.start(), new_at, new_word.start(), False])
            pieces.append(
                [old_word.start(), old_word.end(), new_word.start(), new_word.end(), True]
            )
            old_at, new_at = old_word.end(), new_word.end()
    pieces.append([old_at, len(replaced), new_at, len(replacement), False])
    pieces = [piece for piece in pieces if piece[1] > piece[0] or piece[3] > piece[2]]
    index = 0
    while index < len(pieces):
        old_start, old_end, new_start, new_end, pinned = pieces[index]
        lopsided = bool(_WORD.search(replaced, old_start, old_end)) != bool(
            _WORD.search(replacement, new_start, new_end)
        )
        if pinned or not lopsided or len(pieces) == 1:
            index += 1
            continue
        # merge the gap into the pinned word after it, else the one before it
        other = index + 1 if index + 1 < len(pieces) else index - 1
        low, high = min(index, other), max(index, other)
        first, last = pieces[low], pieces[high]
        pieces[low : high + 1] = [[first[0], last[1], first[2], last[3], True]]
        index = low
    runs: list[Run] = []
    for old_start, old_end, new_start, new_end, _ in pieces:
        old_piece, new_piece = replaced[old_start:old_end], replacement[new_start:new_end]
        runs.append((len(new_piece), len(old_piece), old_piece == new_piece))
    return _merged(runs)


class Rewriting:
    """A text rewritten step by step, remembering where each character came from.

    Each step gives exactly what the same ``str`` or ``re`` call gives, so a
    rewriting done with and without tracking ends in the same text.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self._runs: list[Run] = [(len(text), len(text), True)]

    def sub(self, pattern: Pattern, replacement: Replacement) -> None:
        """Replace every match of ``pattern``, as ``pattern.sub(replacement, text)`` does."""
        if isinstance(replacement, str):
            # most steps change nothing (single spaces stay single spaces): find out at C speed
            rewritten = pattern.sub(replacement, self.text)
            if rewritten == self.text:
                return
        found: list[tuple[int, int, str]] = []

        def record(match: Any) -> str:
            if callable(replacement):
                new = replacement(match)
            elif "\\" in replacement:
                new = match.expand(replacement)
            else:
                new = replacement
            if new != match.group():
                found.append((match.start(), match.end(), new))
            return str(new)

        rewritten = pattern.sub(record, self.text)
        if found:
            self._step(found)
        self.text = rewritten

    def strip(self) -> None:
        """Remove leading and trailing whitespace, as ``str.strip`` does."""
        kept = self.text.strip()
        if kept == self.text:
            return
        lead = len(self.text) - len(self.text.lstrip())
        found = [(0, lead, "")] if lead else []
        if kept:
            found.append((lead + len(kept), len(self.text), ""))
        elif not lead:
            found.append((0, len(self.text), ""))
        self._step([item for item in found if item[1] > item[0]])
        self.text = kept

    def prepend(self, prefix: str) -> None:
        """Put ``prefix``, which stands for nothing of the source, before the text."""
        if prefix:
            self._step([(0, 0, prefix)])
            self.text = prefix + self.text

    def edits(self) -> Edits:
        """Return the edits from the original text to the current one."""
        return _edits(self._runs)

    def _step(self, found: list[tuple[int, int, str]]) -> None:
        step: list[Run] = []
        position = 0
        for start, end, new in found:
            if start > position:
                step.append((start - position, start - position, True))
            step += replacement_runs(self.text[start:end], new)
            position = end
        if len(self.text) > position:
            step.append((len(self.text) - position, len(self.text) - position, True))
        self._runs = _compose(_merged(step), self._runs)


class PlainRewriting:
    """The same steps as :class:`Rewriting` on a plain string, remembering nothing (faster)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def sub(self, pattern: Pattern, replacement: Replacement) -> None:
        """Replace every match of ``pattern``."""
        self.text = pattern.sub(replacement, self.text)

    def strip(self) -> None:
        """Remove leading and trailing whitespace."""
        self.text = self.text.strip()

    def prepend(self, prefix: str) -> None:
        """Put ``prefix`` before the text."""
        self.text = prefix + self.text


_EDGE_PUNCTUATION = regex.compile(
    r"^[\p{Ps}\p{Pe}\p{Pi}\p{Pf}\p{Pd}.,;:!?…¡¿\"'*]+|[\p{Ps}\p{Pe}\p{Pi}\p{Pf}\p{Pd}.,;:!?…¡¿\"'*]+$"
)


def shown_word_groups(
    text: str, sources: list[tuple[int, int]]
) -> list[tuple[int, int, list[int]]]:
    """Group spoken words by the words of ``text`` (as shown) that they say.

    ``sources`` holds, for each spoken word in the order spoken, the stretch of
    ``text`` it comes from. Return ``(start, end, spoken word indexes)`` for each
    group, in the order of ``text``, with the punctuation at its edges left out.
    A shown word said in several words ("$5m": "5 million dollars") makes one
    group, as do shown words said in one; a spoken word that stands for nothing
    shown (the "By" before a byline) joins the group before it, or after it at
    the start.
    """
    from service.text.words import word_spans

    shown = word_spans(text)
    starts = [start for start, _ in shown]
    groups: list[list[Any]] = []  # [first shown word, last shown word, spoken word indexes]
    waiting: list[int] = []  # spoken words that stand for nothing shown, before any group
    for index, (start, end) in enumerate(sources):
        covered = []
        if end > start:
            for i in range(max(0, bisect.bisect_right(starts, start) - 1), len(shown)):
                if shown[i][0] >= end:
                    break
                if shown[i][1] > start:
                    covered.append(i)
        if not covered:
            if groups:
                groups[-1][2].append(index)
            else:
                waiting.append(index)
            continue
        low, high = covered[0], covered[-1]
        if groups and low <= groups[-1][1] and high >= groups[-1][0]:
            group = groups[-1]
            group[0], group[1] = min(group[0], low), max(group[1], high)
            group[2].append(index)
        else:
            groups.append([low, high, [*waiting, index]])
        waiting = []
    merged: list[list[Any]] = []
    for group in sorted(groups, key=lambda g: (g[0], g[1])):
        if merged and group[0] <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], group[1])
            merged[-1][2] = sorted(merged[-1][2] + group[2])
        else:
            merged.append(group)
    result: list[tuple[int, int, list[int]]] = []
    for low, high, spoken in merged:
        start, end = shown[low][0], shown[high][1]
        piece = text[start:end]
        lead = _EDGE_PUNCTUATION.match(piece)
        if lead is not None and lead.end() < len(piece):
            start += lead.end()
            piece = piece[lead.end() :]
        trail = _EDGE_PUNCTUATION.search(piece)
        if trail is not None and trail.start() > 0:
            end -= len(piece) - trail.start()
        result.append((start, end, spoken))
    return result
