"""Apply a lexicon to spoken text: one pass over its words, whatever the number of rules.

Literal rules are found by one Aho-Corasick automaton (``ahocorasick-rs``,
compiled code): a sentence is read once for every term at the same time, and
only the places where a term occurs cost a step in Python (a check that no
letter or digit touches it). Case-blind terms have an automaton of their own
over the case-folded text. A text whose case-folded form changes length
("ß" -> "ss") is read word by word through an index of the terms' first words
instead. Regular-expression rules each make a pass of their own, under a
time limit. ``python -m bench.lexicon`` compares these with one ``regex``
named list (``\\L<terms>``) and one alternation.

Where matches overlap, the one that starts first wins, then the longer one,
then the earlier rule.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ahocorasick_rs
import regex

from service.errors import LexiconError
from service.text.alignment import Edit, Edits
from service.text.lexicon.marks import OPEN, has_marks, mark
from service.text.lexicon.model import Lexicon, Rule
from service.text.lexicon.safety import MATCH_TIMEOUT_S, any_of, compile_pattern

_WORDS = re.compile(r"\w+")
_WORD_CHAR = re.compile(r"\w")


@dataclass(frozen=True)
class Applied:
    """Spoken text with a lexicon's rules applied, and which rules applied."""

    text: str
    """The text for the engine: ``say`` words in place, ``ipa`` rules as phoneme marks."""
    matched: tuple[int, ...]
    """Indexes (from 0) of the rules that matched, in order of first appearance."""
    edits: Edits = ()
    """Where ``text`` differs from the spoken text the rules were applied to: a ``say``
    stands for its match; a phoneme mark keeps the matched words where they were."""


@dataclass(frozen=True)
class _Term:
    offset: int
    """Characters of the term before its first word (``.NET``: 1)."""
    term: str
    """The term as matched: as written, or case-folded for a case-blind rule."""
    length: int
    """Its length in the text."""
    rule_index: int
    folded: bool
    """The rule ignores case: compare case-folded text."""


Match = tuple[int, int, int]
"""A match as (start, minus its length, rule index): sorted as they are, matches come in
order of precedence (the earlier start, then the longer, then the earlier rule)."""


def _alone(text: str, start: int, end: int) -> bool:
    """Return whether no word character (``\\w``: letter, digit, ``_``) touches ``text[start:end]``.

    ``str.isalnum()`` or ``_`` is exactly what ``\\w`` matches in a str pattern,
    without a call into the regular-expression engine for each match.
    """
    if start > 0:
        before = text[start - 1]
        if before.isalnum() or before == "_":
            return False
    if end < len(text):
        after = text[end]
        if after.isalnum() or after == "_":
            return False
    return True


def _folded_end(text: str, start: int, folded_length: int) -> int | None:
    """Return where ``text`` from ``start`` holds ``folded_length`` characters once case-folded."""
    at, length = start, 0
    while length < folded_length and at < len(text):
        length += len(text[at].casefold())
        at += 1
    return at if length == folded_length else None


class _Finder:
    """Every whole-word place of some literal terms in a text, by one automaton."""

    def __init__(self, terms: list[_Term]) -> None:
        self._rules = [term.rule_index for term in terms]
        self._automaton = (
            ahocorasick_rs.AhoCorasick([term.term for term in terms]) if terms else None
        )

    def __bool__(self) -> bool:
        return self._automaton is not None

    def matches(self, text: str, searched: str) -> list[Match]:
        """Return the matches of the terms in ``searched`` (``text``, or it case-folded to the
        same length) that stand alone in ``text``."""
        if self._automaton is None:
            return []
        rules = self._rules
        return [
            (start, start - end, rules[number])
            for number, start, end in self._automaton.find_matches_as_indexes(
                searched, overlapping=True
            )
            if _alone(text, start, end)
        ]


class LexiconMatcher:
    """A lexicon compiled for matching; build once, apply to many sentences."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self._exact: dict[str, list[_Term]] = {}
        self._folded: dict[str, list[_Term]] = {}
        self._patterns: list[tuple[int, regex.Pattern[str]]] = []
        exact_terms: list[_Term] = []
        folded_terms: list[_Term] = []
        for index, rule in enumerate(lexicon.rules):
            if rule.regex:
                where = f"rule {index + 1} ({rule.match!r})"
                pattern = compile_pattern(rule.match, ignore_case=rule.ignore_case, where=where)
                self._patterns.append((index, pattern))
                continue
            first = _WORDS.search(rule.match)
            if first is None:  # parse_rule refuses these; a hand-built Rule may not
                continue
            if rule.ignore_case:
                term = _Term(first.start(), rule.match.casefold(), len(rule.match), index, True)
                self._folded.setdefault(first.group().casefold(), []).append(term)
                folded_terms.append(term)
            else:
                term = _Term(first.start(), rule.match, len(rule.match), index, False)
                self._exact.setdefault(first.group(), []).append(term)
                exact_terms.append(term)
        self._exact_finder = _Finder(exact_terms)
        self._folded_finder = _Finder(folded_terms)
        # several regular expressions: first ask whether any matches the sentence at all
        self._any_pattern = (
            any_of([p for _, p in self._patterns]) if len(self._patterns) > 1 else []
        )

    @functools.cached_property
    def rules_json(self) -> tuple[dict[str, Any], ...]:
        """Return each rule as JSON data, made once for every narration planned with it.

        Shared: read them, never change them.
        """
        return tuple(rule.to_json() for rule in self.lexicon.rules)

    @property
    def rules(self) -> tuple[Rule, ...]:
        """Return the lexicon's rules."""
        return self.lexicon.rules

    def apply(self, text: str, unsayable: Callable[[int], str | None] | None = None) -> Applied:
        """Return ``text`` with every matching rule applied.

        ``unsayable`` tells, for the index of an ``ipa`` rule, why the voice
        cannot say it (None: it can): such a rule is read by its ``say`` words,
        and one without them is refused with :class:`LexiconError`.
        """
        found = self._literal_matches(text)
        if self._patterns:
            found += self._pattern_matches(text)
            found.sort()
        if not found:
            return Applied(text, ())
        pieces: list[str] = []
        matched: dict[int, None] = {}
        edits: list[Edit] = []
        position = out = 0
        for start, minus_length, index in found:
            end = start - minus_length
            if start < position:
                continue  # overlaps a match already taken
            said = self._say(index, text[start:end], unsayable)
            out += start - position
            pieces += [text[position:start], said]
            if has_marks(said):  # the words stay; the mark's own characters stand for nothing
                words_end = out + len(OPEN) + end - start
                edits += [
                    (out, out + len(OPEN), start, start),
                    (words_end, out + len(said), end, end),
                ]
            else:
                edits.append((out, out + len(said), start, end))
            matched[index] = None
            out += len(said)
            position = end
        pieces.append(text[position:])
        return Applied("".join(pieces), tuple(matched), tuple(edits))

    def _literal_matches(self, text: str) -> list[Match]:
        """Return every literal match, in order of precedence."""
        found = self._exact_finder.matches(text, text)
        if self._folded_finder:
            folded = text.casefold()
            if len(folded) != len(text):  # "ß" -> "ss": positions differ
                return self._scan_words(text)
            found += self._folded_finder.matches(text, folded)
        found.sort()
        return found

    def _scan_words(self, text: str) -> list[Match]:
        """Return what :meth:`_literal_matches` does, reading the text word by word."""
        exact, folded = self._exact, self._folded
        found: list[Match] = []
        for word in _WORDS.finditer(text):
            token = word.group()
            candidates = exact.get(token)
            if folded:
                more = folded.get(token.casefold())
                if more:
                    candidates = (candidates or []) + more
            if not candidates:
                continue
            for term in candidates:
                start = word.start() - term.offset
                if start < 0:
                    continue
                # a case-blind term ends where the text, folded, has its length ("Straße" is
                # "STRASSE" too, in the text or in the rule)
                end = (
                    _folded_end(text, start, len(term.term))
                    if term.folded
                    else start + len(term.term)
                )
                if end is None or end > len(text):
                    continue
                piece = text[start:end]
                if (piece.casefold() if term.folded else piece) == term.term and _alone(
                    text, start, end
                ):
                    found.append((start, start - end, term.rule_index))
        found.sort()
        return found

    def _any_pattern_matches(self, text: str) -> bool:
        try:
            return any(p.search(text, timeout=MATCH_TIMEOUT_S) for p in self._any_pattern)
        except TimeoutError:
            return True  # each rule then runs under its own limit, and a slow one is named

    def _pattern_matches(self, text: str) -> list[Match]:
        found: list[Match] = []
        if self._any_pattern and not self._any_pattern_matches(text):
            return found
        for index, pattern in self._patterns:
            try:
                found += [
                    (m.start(), m.start() - m.end(), index)
                    for m in pattern.finditer(text, timeout=MATCH_TIMEOUT_S)
                    if m.end() > m.start()
                ]
            except TimeoutError:
                rule = self.lexicon.rules[index]
                raise LexiconError(
                    f"rule {index + 1} ({rule.match!r}): the regular expression took longer "
                    f"than {MATCH_TIMEOUT_S * 1000:.0f} ms on one sentence; simplify it"
                ) from None
        return found

    def _say(self, index: int, matched: str, unsayable: Callable[[int], str | None] | None) -> str:
        rule = self.lexicon.rules[index]
        reason = unsayable(index) if unsayable is not None and rule.ipa is not None else None
        if rule.ipa is not None and reason is None:
            return mark(matched, rule.ipa)
        if rule.say is not None:
            return rule.say
        raise LexiconError(
            f'rule {index + 1} ({rule.match!r}): {reason}; give the rule "say" words '
            "to read instead"
        )
