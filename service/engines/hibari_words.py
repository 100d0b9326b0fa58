"""Phonemes for one sentence with hibari's own phonemizer, and the word each phoneme belongs to.

hibari's ``G2P`` normalises text (``7:30 pm`` -> ``seven thirty P.M.``,
``2019-11-18`` -> ``November eighteenth, 2019``, titles, units, Roman numerals),
splits it into tokens and gives each token its phonemes. Run token by token
here (``normalize`` -> ``tokenize`` -> ``phonemize_tokens``), it builds exactly
the string ``G2P(sentence)`` gives, and keeps which token each phoneme came
from. :func:`tracked_normalize` replays hibari's normalisation steps keeping
each output character's source span, so a token leads back to the words of the
sentence it was made from; should a newer hibari normalise differently, words
are matched by their letters instead (:func:`_letters_owner`).

A phoneme mark of a lexicon rule (:mod:`service.text.lexicon.marks`) becomes
misaki's inline markup ``[term](/phonemes/)``, which hibari's tokenizer reads
as a token with given phonemes; the article's own ``[x](`` is broken up so that
text is never read as markup.
"""

from __future__ import annotations

import difflib
import importlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from service.engines.phonemes import PhonemeError, ipa_to_misaki
from service.errors import SynthesisError
from service.text.lexicon.marks import CLOSE, OPEN, SEPARATOR

_WORD = re.compile(r"\S+")
_EDGE_PUNCTUATION = frozenset(".,;:!?\"'()[]{}“”‘’«»—–…*")
PAUSE_PHONEMES = frozenset(';:,.!?—…"()“” ')
"""Phoneme-string characters that are pauses or punctuation, not sounds of a word."""
_MARK = re.compile(
    f"{OPEN}([^{OPEN}{SEPARATOR}{CLOSE}]*){SEPARATOR}([^{OPEN}{SEPARATOR}{CLOSE}]*){CLOSE}"
)
_STRAY_MARK = frozenset((OPEN, SEPARATOR, CLOSE))

Span = tuple[int, int]


@dataclass(frozen=True)
class SentencePhonemes:
    """One sentence's phoneme string and, for each of its words, the phonemes it owns."""

    phonemes: str
    """The phoneme string (misaki's alphabet), as ``G2P(sentence)`` builds it."""
    words: tuple[Span, ...]
    """Each word's characters in the text the engine was given, punctuation trimmed."""
    word_phonemes: tuple[tuple[int, ...], ...]
    """For each word, the indices of its sounding phoneme characters (none: it makes no sound)."""


class _Mapped:
    """Text built piece by piece, each character remembering a character of the source."""

    def __init__(self) -> None:
        self.chars: list[str] = []
        self.source: list[int] = []

    def add(self, text: str, source: int | Sequence[int]) -> None:
        self.chars.append(text)
        self.source.extend([source] * len(text) if isinstance(source, int) else source)

    @property
    def text(self) -> str:
        return "".join(self.chars)


def _plain_and_engine(text: str) -> tuple[_Mapped, _Mapped]:
    """Return the sentence as shown (marks as their words) and as hibari's phonemizer reads it."""
    plain, engine = _Mapped(), _Mapped()
    position = 0
    for found in [*_MARK.finditer(text), None]:
        end = found.start() if found is not None else len(text)
        for index in range(position, end):
            char = text[index]
            if char in _STRAY_MARK:
                continue
            plain.add(char, index)
            if char == "(" and engine.chars and engine.chars[-1].endswith("]"):
                engine.add(" ", index)  # the article's own "[x](" is text, never markup
            engine.add(char, index)
        if found is None:
            break
        term_start = found.start(1)
        term = found.group(1)
        try:
            phonemes = ipa_to_misaki(found.group(2))
        except PhonemeError as error:
            raise SynthesisError(f"cannot say {term!r}: {error}") from None
        indices = list(range(term_start, term_start + len(term))) or [found.start()]
        safe_term = term.replace("[", " ").replace("]", " ") if term.strip("[] ") else "x"
        if len(safe_term) != len(indices):
            indices = [indices[0]] * len(safe_term)
        plain.add(term, range(term_start, term_start + len(term)))
        engine.add("[", indices[0])
        engine.add(safe_term, indices)
        engine.add(f"](/{phonemes}/)", indices[-1])
        position = found.end()
    return plain, engine


def sentence_words(plain: _Mapped) -> list[Span]:
    """Return each word's span in the source text, edge punctuation trimmed."""
    words = []
    shown = plain.text
    for found in _WORD.finditer(shown):
        start, end = _trim_punctuation(shown, found.start(), found.end())
        words.append((plain.source[start], plain.source[end - 1] + 1))
    return words


def phonemize(g2p: Any, text: str) -> SentencePhonemes:
    """Phonemize one sentence with ``g2p`` (hibari's ``G2P``), keeping each word's phonemes."""
    normalize = importlib.import_module("hibari.g2p.normalize").normalize
    plain, engine = _plain_and_engine(text)
    spoken = engine.text
    normalized = normalize(spoken)
    tokens = g2p.phonemize_tokens(g2p.tokenize(normalized)) if normalized else []
    raw, token_phonemes = "", []
    for token in tokens:
        said = g2p.unk if token.phonemes is None else token.phonemes
        token_phonemes.append((len(raw), len(raw) + len(said)))
        raw += said + (" " if token.whitespace else "")
    lead = len(raw) - len(raw.lstrip())
    phonemes = raw.strip()
    words = sentence_words(plain)
    token_spans = _token_spans(normalized, [token.text for token in tokens])
    tracked = tracked_normalize(spoken)
    owner: Callable[[int, int], list[int]]
    if tracked is not None:
        owner = _tracked_owner(tracked, engine.source, words)
    else:
        owner = _letters_owner(plain.text, words, normalized)
    owned: list[set[int]] = [set() for _ in words]
    for (start, end), (first, last) in zip(token_spans, token_phonemes, strict=True):
        if start < 0:
            continue
        for word in owner(start, end):
            for index in range(max(0, first - lead), min(len(phonemes), last - lead)):
                if phonemes[index] not in PAUSE_PHONEMES:
                    owned[word].add(index)
    return SentencePhonemes(
        phonemes, tuple(words), tuple(tuple(sorted(indices)) for indices in owned)
    )


def _token_spans(normalized: str, texts: list[str]) -> list[Span]:
    """Return where each token's text sits in the normalized text, searching forward."""
    spans, cursor = [], 0
    for text in texts:
        found = normalized.find(text, cursor) if text else -1
        if found < 0:
            spans.append((-1, -1))
            continue
        spans.append((found, found + len(text)))
        cursor = found + len(text)
    return spans


def _trim_punctuation(text: str, start: int, end: int) -> Span:
    """Drop punctuation around a word, unless nothing would be left."""
    first, last = start, end
    while first < last and text[first] in _EDGE_PUNCTUATION:
        first += 1
    while last > first and text[last - 1] in _EDGE_PUNCTUATION:
        last -= 1
    return (first, last) if last > first else (start, end)


class Tracked:
    """A string whose every character remembers the span of the original text it came from."""

    def __init__(self, text: str, spans: list[Span]) -> None:
        self.text = text
        self.spans = spans

    def sub(self, pattern: re.Pattern[str] | str, replace: Any) -> Tracked:
        """Do what ``re.sub`` does, giving each new character the span of what it replaced.

        Text the rewrite kept ("Henry" in "Henry VIII" -> "Henry the eighth")
        keeps its own source; the new text comes from what the rewrite dropped.
        """
        compiled = re.compile(pattern) if isinstance(pattern, str) else pattern
        out: list[str] = []
        spans: list[Span] = []
        position = 0
        for found in compiled.finditer(self.text):
            out.append(self.text[position : found.start()])
            spans += self.spans[position : found.start()]
            new = replace(found) if callable(replace) else found.expand(replace)
            old = found.group()
            source = (
                self.spans[found.start() : found.end()]
                or self.spans[max(0, found.start() - 1) : found.start() + 1]
            )
            whole = (min(a for a, _ in source), max(b for _, b in source)) if source else (0, 0)
            new_spans: list[Span | None] = [None] * len(new)
            kept: set[int] = set()
            if old and new:
                matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
                for block in matcher.get_matching_blocks():
                    if block.size >= 2:
                        for k in range(block.size):
                            new_spans[block.b + k] = self.spans[found.start() + block.a + k]
                            kept.add(block.a + k)
            dropped = [self.spans[found.start() + i] for i in range(len(old)) if i not in kept]
            rest = (min(a for a, _ in dropped), max(b for _, b in dropped)) if dropped else whole
            out.append(new)
            spans += [span if span is not None else rest for span in new_spans]
            position = found.end()
        out.append(self.text[position:])
        spans += self.spans[position:]
        return Tracked("".join(out), spans)

    def strip(self) -> Tracked:
        """Do what ``str.strip`` does."""
        start = len(self.text) - len(self.text.lstrip())
        end = len(self.text.rstrip())
        return Tracked(self.text[start:end], self.spans[start:end])


def tracked_normalize(text: str) -> Tracked | None:
    """Do hibari's ``normalize()`` step for step, keeping each output character's source span.

    Return None when the result differs from hibari's own (a newer hibari).
    """
    n = importlib.import_module("hibari.g2p.normalize")
    tracked = Tracked(text, [(i, i + 1) for i in range(len(text))])
    try:
        tracked = tracked.sub(n.RE_WS, " ").strip()
        if tracked.text:
            for old, new in (("\u00a0", " "), ("’", "'"), ("‒", "-"), ("―", "—")):
                tracked = tracked.sub(re.escape(old), lambda _m, new=new: new)
            steps: list[tuple[Any, Any]] = [
                (n.RE_TIME, n._time),
                (n.RE_DATE_ISO, n._date_iso),
                (n.RE_DATE_US, n._date_us),
                (n.RE_BIG_MONEY, n._big_money),
                (
                    n.RE_CENTS,
                    lambda m: f"{m.group(1)} {n._plural(m.group(1), n.CURRENCY_WORDS['¢'])}",
                ),
                (n.RE_CURRENCY, n._currency),
                (n.RE_DEG, n._deg),
                (n.RE_UNIT, n._unit),
                (n.RE_MONTH_DAY, n._month_day),
                (n.RE_DAY_MONTH, n._day_month),
                (n.RE_TITLE, lambda m: n.TITLES[m.group(1)] + " "),
                (
                    n.RE_ABBREV,
                    lambda m: (
                        n.ABBREV[m.group(1)]
                        + ("." if m.end() == len(m.string) and m.group(1).endswith(".") else "")
                    ),
                ),
                (n.RE_NO, lambda m: "Number " if m.group(1) == "No" else "Numbers "),
                (n.RE_HASH, lambda _m: "number "),
                (n.RE_ROMAN_C, lambda m: f"{m.group(1)} {n._roman(m.group(2))}"),
                (
                    n.RE_ROMAN_O,
                    lambda m: f"{m.group(1)} the {n.N.ordinal(n._roman(m.group(2)))}",
                ),
                (n.RE_PHONE, lambda m: " ".join(m.group(0).replace("-", ", "))),
                (n.RE_FRACTION, n._fraction),
                (n.RE_RANGE, lambda m: f"{m.group(1)} to {m.group(2)}"),
                (n.RE_PLUS, lambda _m: "plus "),
            ]
            for pattern, replace in steps:
                tracked = tracked.sub(pattern, replace)
            for symbol, word in n.SYMBOLS.items():
                if symbol in tracked.text:
                    spaced = symbol in "=<>~"
                    pattern = (
                        rf"(?<=\S) ?{re.escape(symbol)} ?(?=\S)" if spaced else re.escape(symbol)
                    )
                    said = f" {word} " if word else " "
                    tracked = tracked.sub(pattern, lambda _m, said=said: said)
            tracked = tracked.sub(n.RE_WS, " ")
            tracked = tracked.sub(n.RE_SPACE_PUNCT, lambda m: m.group(1)).strip()
    except (AttributeError, KeyError, TypeError, IndexError):  # hibari's internals moved
        return None
    return tracked if tracked.text == n.normalize(text) else None


def _tracked_owner(
    tracked: Tracked, source: list[int], words: list[Span]
) -> Callable[[int, int], list[int]]:
    """Map a span of the normalized text to the words its characters came from."""

    def owner(start: int, end: int) -> list[int]:
        spans = tracked.spans[start:end]
        if not spans:
            return []
        first = min(a for a, _ in spans)
        last = max(b for _, b in spans)
        if last <= first or first >= len(source):
            return []
        low = source[first]
        high = source[min(last, len(source)) - 1] + 1
        return [i for i, (s, e) in enumerate(words) if s < high and e > low]

    return owner


def _letters_owner(
    plain: str, words: list[Span], normalized: str
) -> Callable[[int, int], list[int]]:
    """Map a span of the normalized text to words matched by their letters and digits.

    A new word with nothing matched ("degrees", "the eighth") goes to a word
    left without any between its neighbours' words, else to the word after it.
    """
    plain_words = [(m.start(), m.end()) for m in _WORD.finditer(plain)]
    new_words = [(m.start(), m.end()) for m in _WORD.finditer(normalized)]
    old = [_key(plain[s:e]) for s, e in plain_words]
    new = [_key(normalized[s:e]) for s, e in new_words]
    owners = _share_letters(old, new)
    owned: list[list[int]] = [[o] if o is not None else [] for o in owners]
    j = 0
    while j < len(new):
        if owners[j] is not None:
            j += 1
            continue
        k = j
        while k < len(new) and owners[k] is None:
            k += 1
        before = owners[j - 1] if j > 0 else -1
        after = owners[k] if k < len(new) else len(old)
        gap = list(range((before if before is not None else -1) + 1, after or 0))
        for r in range(j, k):
            if gap:
                owned[r] = [gap[(r - j) * len(gap) // (k - j)]]
            elif after is not None and after < len(old):
                owned[r] = [after]
            elif before is not None and before >= 0:
                owned[r] = [before]
        j = k

    def owner(start: int, end: int) -> list[int]:
        found: list[int] = []
        for index, (s, e) in enumerate(new_words):
            if s < end and e > start:
                found.extend(owned[index])
        # plain_words and words are the same runs (before and after trimming punctuation)
        return [i for i in found if i < len(words)]

    return owner


def _key(word: str) -> str:
    return "".join(c for c in word.lower() if c.isalnum())


def _share_letters(old: list[str], new: list[str]) -> list[int | None]:
    """Return, for each new word, the old word it shares most letters with, in order."""
    old_text, old_of = "", []
    for index, word in enumerate(old):
        old_text += word
        old_of += [index] * len(word)
    new_text, new_of = "", []
    for index, word in enumerate(new):
        new_text += word
        new_of += [index] * len(word)
    votes: list[dict[int, int]] = [{} for _ in new]
    matcher = difflib.SequenceMatcher(None, old_text, new_text, autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            j, i = new_of[block.b + k], old_of[block.a + k]
            votes[j][i] = votes[j].get(i, 0) + 1
    out: list[int | None] = []
    last = -1
    for vote in votes:
        best = max(vote, key=lambda i: vote[i]) if vote else None
        if best is not None and best < last:
            best = None
        if best is not None:
            last = best
        out.append(best)
    return out
