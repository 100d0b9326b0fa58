"""Refuse regular expressions that could hang a narration, before they see any text.

A backtracking matcher can take exponential time on patterns such as
``(a+)+`` or ``(\\w|\\d)*``: a rule written by a user must never stall a
narration, nor every narration that shares its lexicon. Three lines of defence:

1. The pattern is parsed by the standard library's own parser (``re._parser``,
   the one :func:`re.compile` uses) and its tree is checked for the shapes that
   backtrack badly: a repeated part that itself holds a variable repeat (nested
   quantifiers), a repeated alternation whose branches can start alike, a
   repeated part that can match nothing, and back-references.
2. The compiled pattern is run on adversarial text built from its own
   characters under a time limit; one that does not answer in time is refused.
3. Every match on real text runs under :data:`MATCH_TIMEOUT_S` (the ``regex``
   module's ``timeout``); a sentence that takes longer fails with a clear error.
"""

from __future__ import annotations

import re
import re._constants as sre  # the standard library's parser: read-only use of its tree
import re._parser as sre_parse
from collections.abc import Callable
from typing import Any

import regex

from service.errors import LexiconError

MATCH_TIMEOUT_S = 0.05
"""Longest one rule may take on one sentence (sentences are at most a few hundred characters)."""
PROBE_TIMEOUT_S = 0.05
"""Longest a pattern may take on one adversarial probe."""
PROBE_REPEAT = 120
"""Length of the runs in the probes: exponential backtracking shows long before this."""
_LOOP_FROM = 4
"""A repeat whose maximum reaches this is checked as a loop (``(.*,){20}`` backtracks too)."""
_PROBE_ALPHABET = "".join(chr(c) for c in range(0x20, 0x7F)) + "\t\u00a0éßÆΩжא中١\u2019\u2013"
"""Characters tried as the first character of a branch, and as probe material."""
_ANYTHING = frozenset(_PROBE_ALPHABET)
_LEADING_FLAGS = re.compile(r"\(\?[aiLmsux]+\)")
_WORD = regex.compile(r"\w")


def check_pattern(pattern: str, *, ignore_case: bool = False, where: str = "rule") -> None:
    """Raise :class:`LexiconError` unless ``pattern`` is a safe, valid rule pattern."""
    flags = re.IGNORECASE if ignore_case else 0
    try:
        tree = sre_parse.parse(pattern, flags)
    except re.error as error:
        position = f" at position {error.pos}" if error.pos is not None else ""
        raise LexiconError(f"{where}: invalid regular expression: {error.msg}{position}") from None
    except (OverflowError, RecursionError):
        raise LexiconError(f"{where}: the regular expression is too complex") from None
    if tree.getwidth()[0] == 0:
        raise LexiconError(f"{where}: the regular expression can match empty text")
    case_blind = bool(tree.state.flags & re.IGNORECASE)
    problem = _problem(tree.data, tree.state, case_blind, frozenset(), False)
    if problem:
        raise LexiconError(f"{where}: the regular expression {problem}; refused")
    compiled = compile_pattern(pattern, ignore_case=ignore_case, where=where)
    _probe(compiled, pattern, where)


def compile_pattern(pattern: str, *, ignore_case: bool, where: str) -> regex.Pattern[str]:
    """Compile a checked pattern so that it matches whole words only."""
    leading = _LEADING_FLAGS.match(pattern)
    head, body = (leading.group(), pattern[leading.end() :]) if leading else ("", pattern)
    flags = regex.V0 | (regex.IGNORECASE if ignore_case else 0)
    try:
        return regex.compile(rf"{head}(?<!\w)(?:{body})(?!\w)", flags)
    except (regex.error, OverflowError, RecursionError) as error:
        raise LexiconError(f"{where}: invalid regular expression: {error}") from None


def any_of(patterns: list[regex.Pattern[str]]) -> list[regex.Pattern[str]]:
    """Return a few patterns that match a text wherever one of ``patterns`` does.

    Patterns compiled with the same flags become one alternation, so that a
    sentence none of them matches is read once, not once for each (a call
    with a time limit costs a few microseconds however short the text). An
    alternation of checked patterns backtracks no more than they do one after
    another. A group that will not compile as one stays as it is.
    """
    bodies: dict[int, list[str]] = {}
    for pattern in patterns:
        leading = _LEADING_FLAGS.match(pattern.pattern)
        bodies.setdefault(pattern.flags, []).append(
            pattern.pattern[leading.end() if leading else 0 :]
        )
    combined: list[regex.Pattern[str]] = []
    for flags, group in bodies.items():
        try:
            combined.append(regex.compile("|".join(f"(?:{body})" for body in group), flags))
        except (regex.error, OverflowError, RecursionError):
            combined += [pattern for pattern in patterns if pattern.flags == flags]
    return combined


def _problem(
    items: Any, state: Any, case_blind: bool, follow: frozenset[str], in_loop: bool
) -> str | None:
    """Return what makes a parsed sequence unsafe, or None.

    ``follow`` holds the characters that may come right after ``items``, and
    ``in_loop`` says whether ``items`` sits inside an unbounded repeat. There,
    a variable repeat that can eat what comes after it lets the matcher split
    the same text between turns in exponentially many ways (``(a+)+``,
    ``(x+x+)+``); one that cannot is safe (``(?:\\.\\d+)*`` turns only at a dot,
    ``(?:\\w+ )+`` only at a space).
    """
    for index, (op, arg) in enumerate(items):
        if op in (sre.GROUPREF, sre.GROUPREF_EXISTS):
            return "refers back to a group (back-references are not allowed)"
        rest = items[index + 1 :]
        after, rest_can_be_empty = _first(rest, case_blind)
        if rest_can_be_empty:
            after |= follow
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            low, high, body = arg
            eats = _first_chars(body.data, case_blind)
            if in_loop and high != low and high > 1 and eats & after:
                return "repeats a part that itself repeats (nested quantifiers, as in (a+)+)"
            unbounded = high is sre.MAXREPEAT or high >= _LOOP_FROM
            if unbounded:
                if body.getwidth()[0] == 0:
                    return "repeats a part that can match nothing (as in (a?)*)"
                if _overlapping_branches(body.data, case_blind):
                    return "repeats alternatives that can match alike (as in (a|a)+)"
            inner_follow = after | eats if high > 1 else after
            problem = _problem(body.data, state, case_blind, inner_follow, in_loop or unbounded)
        elif op == sre.SUBPATTERN:
            problem = _problem(arg[-1].data, state, case_blind, after, in_loop)
        elif op == sre.ATOMIC_GROUP:
            problem = _problem(arg.data, state, case_blind, after, in_loop)
        elif op == sre.BRANCH:
            problem = next(
                (p for b in arg[1] if (p := _problem(b.data, state, case_blind, after, in_loop))),
                None,
            )
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            problem = _problem(arg[1].data, state, case_blind, frozenset(), False)
        else:
            problem = None
        if problem:
            return problem
    return None


def _overlapping_branches(items: Any, case_blind: bool) -> bool:
    """Return True when an alternation at the start of ``items`` has branches that start alike."""
    for op, arg in items:
        if op == sre.SUBPATTERN:
            return _overlapping_branches(arg[-1].data, case_blind)
        if op == sre.BRANCH:
            seen: set[str] = set()
            for branch in arg[1]:
                first = _first_chars(branch.data, case_blind)
                if first & seen:
                    return True
                seen |= first
            return False
        if op == sre.IN or op == sre.LITERAL:
            return False
    return False


def _first_chars(items: Any, case_blind: bool) -> frozenset[str]:
    """Return the characters that can start a match of ``items`` (all, if it can be empty)."""
    chars, can_be_empty = _first(items, case_blind)
    return _ANYTHING if can_be_empty else chars


def _first(items: Any, case_blind: bool) -> tuple[frozenset[str], bool]:
    """Return the characters of the probe alphabet that can start a match of ``items``.

    The flag says whether ``items`` can match empty text (then what follows
    ``items`` can start the match too).
    """
    found: set[str] = set()
    for op, arg in items:
        if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
            continue
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            chars, empty = _first(arg[2].data, case_blind)
            found |= chars
            if arg[0] > 0 and not empty:
                return frozenset(found), False
            continue
        if op in (sre.SUBPATTERN, sre.ATOMIC_GROUP):
            chars, empty = _first((arg if op == sre.ATOMIC_GROUP else arg[-1]).data, case_blind)
            found |= chars
            if not empty:
                return frozenset(found), False
            continue
        if op == sre.BRANCH:
            any_empty = False
            for branch in arg[1]:
                chars, empty = _first(branch.data, case_blind)
                found |= chars
                any_empty = any_empty or empty
            if not any_empty:
                return frozenset(found), False
            continue
        found |= {c for c in _PROBE_ALPHABET if _matches_one(op, arg, c, case_blind)}
        return frozenset(found), False
    return frozenset(found), True


def _matches_one(op: Any, arg: Any, char: str, case_blind: bool) -> bool:
    """Return True when the one-character item (op, arg) can match ``char``."""
    chars = {char, char.lower(), char.upper()} if case_blind else {char}
    if op == sre.ANY:
        return char != "\n"
    if op == sre.LITERAL:
        return chr(arg) in chars
    if op == sre.NOT_LITERAL:
        return chr(arg) not in chars
    if op == sre.IN:
        return any(_in_set(arg, c) for c in chars)
    return True  # anything else: assume it may


def _in_set(items: Any, char: str) -> bool:
    negate = False
    hit = False
    for op, arg in items:
        if op == sre.NEGATE:
            negate = True
        elif op == sre.LITERAL:
            hit = hit or chr(arg) == char
        elif op == sre.RANGE:
            hit = hit or arg[0] <= ord(char) <= arg[1]
        elif op == sre.CATEGORY:
            hit = hit or _in_category(arg, char)
    return hit != negate


def _in_category(category: Any, char: str) -> bool:
    tests: dict[Any, Callable[[str], object]] = {
        sre.CATEGORY_DIGIT: str.isdecimal,
        sre.CATEGORY_NOT_DIGIT: lambda c: not c.isdecimal(),
        sre.CATEGORY_SPACE: str.isspace,
        sre.CATEGORY_NOT_SPACE: lambda c: not c.isspace(),
        sre.CATEGORY_WORD: lambda c: bool(_WORD.match(c)),
        sre.CATEGORY_NOT_WORD: lambda c: not _WORD.match(c),
    }
    test = tests.get(category)
    return True if test is None else bool(test(char))


def _probe(compiled: regex.Pattern[str], pattern: str, where: str) -> None:
    """Run the pattern on text made to make it backtrack; refuse it if it is slow."""
    own = {c for c in pattern if c.isprintable() and c not in "\\()[]{}|*+?^$"}
    samples = [*sorted(own | set("a1"))[:8], " ", ".", "-"]
    probes = [char * PROBE_REPEAT + "\x00" for char in samples]
    probes += [(a + b) * (PROBE_REPEAT // 2) + "\x00" for a in samples[:4] for b in samples[4:]]
    for probe in probes:
        try:
            for _match in compiled.finditer(probe, timeout=PROBE_TIMEOUT_S):
                pass
        except TimeoutError:
            raise LexiconError(
                f"{where}: the regular expression takes too long on some text "
                "(catastrophic backtracking); refused"
            ) from None
