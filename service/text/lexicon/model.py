"""What a pronunciation lexicon is, and how one is read from JSON and checked.

A lexicon has a name, rules and optional sites (host names whose articles use
it without being told). A rule matches a whole word or phrase of the spoken
text, or a regular expression, and says how to read it: other words (``say``),
phonemes in the International Phonetic Alphabet (``ipa``), or both (the words
are the fallback for a voice that cannot say the phonemes).

Everything a user can get wrong is refused here with a message that names the
rule; nothing in this module touches a database or an engine.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from service.errors import LexiconError

MAX_RULES = 10_000
"""Rules one lexicon may hold."""
MAX_MATCH_CHARS = 200
"""Longest term (or regular expression) a rule may match on."""
MAX_SAY_CHARS = 500
"""Longest replacement text."""
MAX_IPA_CHARS = 200
"""Longest phoneme string."""
MAX_SITES = 100
"""Host names one lexicon may claim."""
MAX_HOST_CHARS = 253
"""Longest host name (DNS)."""

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""A lexicon's name: safe in a URL path and a file name."""
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_RULE_KEYS = frozenset({"match", "say", "ipa", "regex", "ignore_case"})
_LEXICON_KEYS = frozenset({"name", "language", "sites", "rules"})
# Control characters and private-use characters (the latter mark phonemes in spoken text),
# and lone surrogates, which are no text in any encoding (no database would store them).
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\ue000-\uf8ff]")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")
_WORD_CHAR = re.compile(r"\w")


@dataclass(frozen=True)
class Rule:
    """One pronunciation: what to match and how to say it."""

    match: str
    """The word or phrase matched as whole words, or a regular expression when ``regex``."""
    say: str | None = None
    """Words read instead of the match."""
    ipa: str | None = None
    """Phonemes in IPA read instead of the match, by voices that take phonemes."""
    regex: bool = False
    """``match`` is a regular expression (Python syntax), matched on whole words."""
    ignore_case: bool = False
    """Match regardless of letter case."""

    def to_json(self) -> dict[str, Any]:
        """Return the rule as JSON data, leaving out fields at their defaults."""
        data: dict[str, Any] = {"match": self.match}
        if self.say is not None:
            data["say"] = self.say
        if self.ipa is not None:
            data["ipa"] = self.ipa
        if self.regex:
            data["regex"] = True
        if self.ignore_case:
            data["ignore_case"] = True
        return data


@dataclass(frozen=True)
class Lexicon:
    """A named list of rules, with the sites whose articles use it by default."""

    name: str
    """Unique name (letters, digits, ``.``, ``_``, ``-``; at most 64 characters)."""
    rules: tuple[Rule, ...]
    """The rules; where two match the same text, the longer match wins, then the earlier rule."""
    sites: tuple[str, ...] = ()
    """Host names (lower case, ASCII); each also covers its subdomains."""
    language: str | None = None
    """Language tag the phonemes are written for (``en-US``), when known."""

    def to_json(self) -> dict[str, Any]:
        """Return the lexicon as the JSON data :func:`parse_lexicon` reads."""
        data: dict[str, Any] = {"name": self.name}
        if self.language:
            data["language"] = self.language
        data["sites"] = list(self.sites)
        data["rules"] = [rule.to_json() for rule in self.rules]
        return data

    @property
    def identity(self) -> str:
        """Return what a narration read by this lexicon depends on: its name and rules' digest."""
        return f"{self.name}:{self.digest}"

    @functools.cached_property
    def digest(self) -> str:
        """Return a hash of what changes how text is read: the rules, in order (computed once)."""
        rules = [rule.to_json() for rule in self.rules]
        canonical = json.dumps(rules, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def check_name(name: str) -> str:
    """Return ``name`` if it can name a lexicon, else raise :class:`LexiconError`."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise LexiconError(
            f"{name!r} cannot name a lexicon: use 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def normalize_host(host: str) -> str:
    """Return a host name in lower-case ASCII (IDNA), or raise :class:`LexiconError`."""
    if not isinstance(host, str):
        raise LexiconError(f"a site must be a host name, not {type(host).__name__}")
    cleaned = host.strip().rstrip(".").lower()
    if "://" in cleaned or "/" in cleaned or ":" in cleaned:
        raise LexiconError(f"site {host!r} must be a host name like example.com, not a URL")
    try:
        ascii_host = cleaned.encode("idna").decode("ascii")
    except UnicodeError:
        raise LexiconError(f"site {host!r} is not a valid host name") from None
    labels = ascii_host.split(".")
    if (
        not ascii_host
        or len(ascii_host) > MAX_HOST_CHARS
        or not all(_LABEL.fullmatch(label) for label in labels)
    ):
        raise LexiconError(f"site {host!r} is not a valid host name")
    return ascii_host


def host_candidates(host: str) -> list[str]:
    """Return ``host`` and each domain above it, most specific first.

    A lexicon's site ``example.com`` covers ``news.example.com``; the most
    specific site claimed wins.
    """
    try:
        labels = normalize_host(host).split(".")
    except LexiconError:
        return []
    return [".".join(labels[i:]) for i in range(len(labels))]


def strip_ipa(ipa: str) -> str:
    """Return phonemes without the slashes or brackets IPA is often written in."""
    stripped = ipa.strip()
    if len(stripped) >= 2 and stripped[0] + stripped[-1] in ("//", "[]"):
        stripped = stripped[1:-1].strip()
    return stripped


def _text_field(
    data: Mapping[str, Any], key: str, where: str, limit: int, *, required: bool = False
) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise LexiconError(f"{where} needs {key!r}")
        return None
    if not isinstance(value, str):
        raise LexiconError(f"{where}: {key!r} must be a string, not {type(value).__name__}")
    value = " ".join(value.split())
    if not value:
        raise LexiconError(f"{where}: {key!r} is empty")
    if len(value) > limit:
        raise LexiconError(f"{where}: {key!r} is longer than {limit} characters")
    if _FORBIDDEN.search(value):
        raise LexiconError(
            f"{where}: {key!r} holds a control, private-use or lone surrogate character"
        )
    return value


def _flag(data: Mapping[str, Any], key: str, where: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise LexiconError(f"{where}: {key!r} must be true or false")
    return value


def parse_rule(data: Any, number: int = 1) -> Rule:
    """Check one rule's JSON data and return it; ``number`` (from 1) names it in errors."""
    where = f"rule {number}"
    if not isinstance(data, Mapping):
        raise LexiconError(f"{where} must be an object with 'match' and 'say' or 'ipa'")
    unknown = sorted(set(data) - _RULE_KEYS)
    if unknown:
        raise LexiconError(
            f"{where}: unknown field {unknown[0]!r}; a rule has {', '.join(sorted(_RULE_KEYS))}"
        )
    match = _text_field(data, "match", where, MAX_MATCH_CHARS, required=True)
    assert match is not None
    where = f"rule {number} ({match!r})"
    say = _text_field(data, "say", where, MAX_SAY_CHARS)
    raw_ipa = _text_field(data, "ipa", where, MAX_IPA_CHARS + 2)
    ipa = strip_ipa(raw_ipa) if raw_ipa is not None else None
    if ipa is not None and not ipa:
        raise LexiconError(f"{where}: 'ipa' is empty")
    if ipa is not None and len(ipa) > MAX_IPA_CHARS:
        raise LexiconError(f"{where}: 'ipa' is longer than {MAX_IPA_CHARS} characters")
    if say is None and ipa is None:
        raise LexiconError(f"{where} needs 'say' (words) or 'ipa' (phonemes), or both")
    regex = _flag(data, "regex", where)
    ignore_case = _flag(data, "ignore_case", where)
    if not regex and not _WORD_CHAR.search(match):
        raise LexiconError(f"{where}: 'match' needs a letter or digit")
    rule = Rule(match=match, say=say, ipa=ipa, regex=regex, ignore_case=ignore_case)
    if regex:
        from service.text.lexicon.safety import check_pattern

        check_pattern(rule.match, ignore_case=ignore_case, where=where)
    return rule


def parse_lexicon(data: Any, name: str | None = None) -> Lexicon:
    """Check a lexicon's JSON data and return it.

    ``data`` is an object with ``rules`` (and optional ``sites``, ``language``,
    ``name``) or a bare list of rules; ``name``, when given, wins over the one
    in the data.
    """
    if isinstance(data, list):
        data = {"rules": data}
    if not isinstance(data, Mapping):
        raise LexiconError("a lexicon must be a JSON object with 'rules', or a list of rules")
    unknown = sorted(set(data) - _LEXICON_KEYS)
    if unknown:
        raise LexiconError(
            f"unknown lexicon field {unknown[0]!r}; a lexicon has "
            f"{', '.join(sorted(_LEXICON_KEYS))}"
        )
    chosen = name if name is not None else data.get("name")
    if chosen is None:
        raise LexiconError("the lexicon needs a name")
    check_name(chosen)
    rules_data = data.get("rules")
    if not isinstance(rules_data, Sequence) or isinstance(rules_data, str | bytes):
        raise LexiconError("'rules' must be a list of rules")
    if len(rules_data) > MAX_RULES:
        raise LexiconError(
            f"the lexicon has {len(rules_data):,} rules; at most {MAX_RULES:,} are allowed"
        )
    rules = tuple(parse_rule(item, number) for number, item in enumerate(rules_data, start=1))
    _refuse_duplicates(rules)
    return Lexicon(
        name=chosen,
        rules=rules,
        sites=_parse_sites(data.get("sites")),
        language=_parse_language(data.get("language")),
    )


def _parse_sites(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str) or not isinstance(raw, Sequence):
        raise LexiconError("'sites' must be a list of host names")
    if len(raw) > MAX_SITES:
        raise LexiconError(f"a lexicon may name at most {MAX_SITES} sites")
    return tuple(dict.fromkeys(normalize_host(host) for host in raw))


def _parse_language(raw: Any) -> str | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or not _LANGUAGE.fullmatch(raw.strip()):
        raise LexiconError(f"'language' must be a language tag like en-US, not {raw!r}")
    return raw.strip()


def _refuse_duplicates(rules: tuple[Rule, ...]) -> None:
    """Refuse a rule that repeats an earlier one's match: it could never apply."""
    seen: dict[tuple[bool, str], int] = {}
    for number, rule in enumerate(rules, start=1):
        key = (rule.regex, rule.match.casefold() if rule.ignore_case else rule.match)
        earlier = seen.get(key)
        if earlier is not None:
            raise LexiconError(
                f"rule {number} ({rule.match!r}) matches the same text as rule {earlier}; "
                "keep one of them"
            )
        seen[key] = number
