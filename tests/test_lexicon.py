"""Lexicons as data: checking, matching, regular-expression safety, PLS in and out."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.errors import LexiconError
from service.text.lexicon.files import read_lexicon, write_lexicon
from service.text.lexicon.marks import PhonemeMark, mark, plain_text, split_marks
from service.text.lexicon.matcher import LexiconMatcher
from service.text.lexicon.model import (
    MAX_RULES,
    host_candidates,
    normalize_host,
    parse_lexicon,
)
from service.text.lexicon.pls import read_pls, write_pls
from service.text.lexicon.safety import check_pattern
from service.text.segment import segment_block


def _apply(rules: list[dict[str, object]], text: str) -> tuple[str, tuple[int, ...]]:
    applied = LexiconMatcher(parse_lexicon(rules, "test")).apply(text)
    return applied.text, applied.matched


def test_lexicon_say_rule_replaces_whole_words_only() -> None:
    rules = [{"match": "NATO", "say": "North Atlantic Treaty Organization"}]
    text, matched = _apply(rules, "NATO met. NATOs and nato and ANATO did not.")
    assert text == "North Atlantic Treaty Organization met. NATOs and nato and ANATO did not."
    assert matched == (0,)


@pytest.mark.parametrize("text", ["STRASSE", "strasse", "Straße", "Die Straße, die STRASSE."])
def test_lexicon_ignore_case_matches_as_unicode_folds_case(text: str) -> None:
    for term in ("Straße", "STRASSE"):
        rules = [{"match": term, "say": "road", "ignore_case": True}]
        assert "road" in _apply(rules, text)[0], (term, text)


def test_lexicon_ignore_case_matches_any_case() -> None:
    rules = [{"match": "gif", "say": "jif", "ignore_case": True}]
    assert _apply(rules, "A GIF, a Gif, a gif, gifs.")[0] == "A jif, a jif, a jif, gifs."


def test_lexicon_terms_with_punctuation_and_phrases() -> None:
    rules = [
        {"match": "pp.", "say": "pages"},
        {"match": ".NET", "say": "dot net"},
        {"match": "New York", "say": "the city"},
        {"match": "New York Times", "say": "the paper"},
        {"match": "AT&T", "say": "A T and T"},
    ]
    text, matched = _apply(rules, "See pp. 4 of the New York Times, on .NET in New York by AT&T.")
    assert text == "See pages 4 of the the paper, on dot net in the city by A T and T."
    assert matched == (0, 3, 1, 2, 4)


def test_lexicon_overlap_prefers_the_longer_match_then_the_earlier_rule() -> None:
    rules = [
        {"match": "York", "say": "Y"},
        {"match": "New York", "say": "NY"},
        {"match": "new york", "say": "ny", "ignore_case": True},
    ]
    assert _apply(rules, "New York, York.")[0] == "NY, Y."


TERMS = ["NATO", "nato", "New York", "York", "Straße", "STRASSE", ".NET", "pp.", "AT&T", "İstanbul"]
PIECES = [*TERMS, " ", ", ", ". ", "-", "NATOs", "x", "ß", "'s", "_", "\u0130", "٣", "é"]


@settings(max_examples=300, deadline=None)
@given(
    terms=st.lists(
        st.tuples(st.sampled_from(TERMS), st.booleans()),
        min_size=1,
        max_size=6,
        unique_by=lambda term: term[0].casefold(),  # the same term twice is refused
    ),
    text=st.lists(st.sampled_from(PIECES), max_size=14).map("".join),
)
def test_lexicon_automaton_finds_what_reading_word_by_word_finds(
    terms: list[tuple[str, bool]], text: str
) -> None:
    rules = [{"match": t, "say": f"rule {n}", "ignore_case": c} for n, (t, c) in enumerate(terms)]
    matcher = LexiconMatcher(parse_lexicon(rules, "test"))
    assert matcher._literal_matches(text) == matcher._scan_words(text)


@pytest.mark.parametrize("text", ["x_NATO", "NATO٣", "éNATO", "NATO_", "NATOé"])
def test_lexicon_letters_digits_and_underscores_of_any_script_join_words(text: str) -> None:
    assert _apply([{"match": "NATO", "say": "N"}], text) == (text, ())
    assert _apply([{"match": "NATO", "say": "N"}], f"-{text}- NATO.")[0] == f"-{text}- N."


REGEX_RULES = [
    {"match": r"v(\d+)", "regex": True, "say": r"version \1"},
    {"match": r"(?i)nato", "regex": True, "say": "the alliance"},
    {"match": r"(?P<n>\d+)px", "regex": True, "say": r"\g<n> pixels"},
    {"match": r"(?P<n>\d+)em", "regex": True, "ignore_case": True, "say": r"\g<n> ems"},
    {"match": r"(?x) a \s b", "regex": True, "say": "a b"},
]


@pytest.mark.parametrize(
    "text",
    ["Nothing to see.", "Try v2 at 3px.", "NATO and nato at 4EM.", "a b", "av2 3pxx", "x" * 400],
)
def test_lexicon_regex_rules_asked_together_first_find_what_each_finds(text: str) -> None:
    together = LexiconMatcher(parse_lexicon(REGEX_RULES, "t"))
    # one alternation per set of flags: plain, case-blind, verbose
    assert len(together._any_pattern) == 3
    alone = LexiconMatcher(parse_lexicon(REGEX_RULES, "t"))
    alone._any_pattern = []
    assert together.apply(text) == alone.apply(text)


def test_lexicon_ipa_rule_becomes_a_phoneme_mark() -> None:
    rules = [{"match": "Paganini", "ipa": "/pɑɡəˈniːni/"}]
    text, _ = _apply(rules, "Paganini played.")
    assert text == mark("Paganini", "pɑɡəˈniːni") + " played."
    assert split_marks(text) == [PhonemeMark("Paganini", "pɑɡəˈniːni"), " played."]
    assert plain_text(text) == "Paganini played."


def test_lexicon_unsayable_ipa_falls_back_to_say_or_is_refused() -> None:
    both = LexiconMatcher(parse_lexicon([{"match": "X", "ipa": "ks", "say": "ex"}], "t"))
    assert both.apply("X marks", lambda _index: "no").text == "ex marks"
    only = LexiconMatcher(parse_lexicon([{"match": "X", "ipa": "ǃ"}], "t"))
    with pytest.raises(LexiconError, match=r"rule 1 \('X'\): the voice cannot.*say"):
        only.apply("X marks", lambda _index: "the voice cannot say ǃ")


def test_lexicon_regex_rule_matches_whole_words() -> None:
    rules = [{"match": r"v\d+(?:\.\d+)*", "regex": True, "say": "a version"}]
    assert _apply(rules, "Run v2.1.3 not xv2 or v2x.")[0] == "Run a version not xv2 or v2x."


def test_lexicon_mark_characters_never_come_from_article_text() -> None:
    sentences = segment_block("Text with \ue000private\ue001use\ue002 characters.", "en")
    assert all("\ue000" not in s.spoken and "\ue001" not in s.spoken for s in sentences)
    with pytest.raises(LexiconError, match="private-use"):
        parse_lexicon([{"match": "a\ue000b", "say": "x"}], "t")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("rules", "must be a JSON object"),
        ({"rules": "NATO"}, "'rules' must be a list"),
        ([{"match": "NATO"}], "needs 'say'"),
        ([{"say": "x"}], "needs 'match'"),
        ([{"match": "NATO", "sya": "x"}], "unknown field 'sya'"),
        ([{"match": 5, "say": "x"}], "must be a string"),
        ([{"match": "  ", "say": "x"}], "is empty"),
        ([{"match": "N" * 201, "say": "x"}], "longer than 200"),
        ([{"match": "N", "say": "x" * 501}], "longer than 500"),
        ([{"match": "N", "ipa": "//"}], "'ipa' is empty"),
        ([{"match": "--", "say": "x"}], "needs a letter or digit"),
        ([{"match": "N", "say": "x", "regex": "yes"}], "true or false"),
        ([{"match": "N", "say": "x"}, {"match": "N", "say": "y"}], "same text as rule 1"),
        ([{"match": "N\x07", "say": "x"}], "control"),
        ({"rules": [], "sites": "example.com"}, "list of host names"),
        ({"rules": [], "sites": ["https://example.com/"]}, "not a URL"),
        ({"rules": [], "sites": ["exa mple.com"]}, "not a valid host name"),
        ({"rules": [], "language": "English!"}, "language tag"),
        ({"rules": [], "colour": 1}, "unknown lexicon field"),
        ({"rules": [], "sites": [f"s{i}.example" for i in range(101)]}, "at most 100 sites"),
    ],
)
def test_lexicon_bad_input_is_refused_clearly(data: object, message: str) -> None:
    with pytest.raises(LexiconError, match=message):
        parse_lexicon(data, "test")


def test_lexicon_rule_count_is_capped() -> None:
    rules = [{"match": f"w{i}", "say": "x"} for i in range(MAX_RULES + 1)]
    with pytest.raises(LexiconError, match="10,001 rules; at most 10,000"):
        parse_lexicon(rules, "big")
    assert len(parse_lexicon(rules[:MAX_RULES], "big").rules) == MAX_RULES


@pytest.mark.parametrize("name", ["", "a b", "-x", "x" * 65, "a/b", "é"])
def test_lexicon_bad_names_are_refused(name: str) -> None:
    with pytest.raises(LexiconError, match="cannot name a lexicon"):
        parse_lexicon([], name)


def test_lexicon_sites_are_normalized_and_cover_subdomains() -> None:
    assert normalize_host("News.Example.COM.") == "news.example.com"
    assert normalize_host("bücher.de") == "xn--bcher-kva.de"
    assert host_candidates("a.news.example.com") == [
        "a.news.example.com",
        "news.example.com",
        "example.com",
        "com",
    ]
    assert host_candidates("not a host") == []


@pytest.mark.parametrize(
    "pattern",
    [
        r"(a+)+",
        r"(x+x+)+y",
        r"(\d+)+\.",
        r"(?:[a-z]+-?)+$",
        r"(a|b|ab)*c",
        r"(.*,){20}x",
        r"(a|aa)+b",  # passes the tree checks; the timed probe catches it
        r"(?:x|xy?)+z",
    ],
)
def test_lexicon_catastrophic_regex_is_refused_before_any_text(pattern: str) -> None:
    started = time.monotonic()
    with pytest.raises(LexiconError, match="refused"):
        check_pattern(pattern)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        (r"[", "invalid regular expression: unterminated character set"),
        (r"a*", "can match empty text"),
        (r"(a)\1", "back-references are not allowed"),
        (r"x(?i)y", "invalid regular expression: global flags not at the start"),
    ],
)
def test_lexicon_invalid_regex_is_refused(pattern: str, message: str) -> None:
    with pytest.raises(LexiconError, match=message):
        parse_lexicon([{"match": pattern, "regex": True, "say": "x"}], "t")


@pytest.mark.parametrize(
    "pattern",
    [r"v\d+(?:\.\d+)*", r"\d{1,3}(?:,\d{3})*", r"colou?r", r"(?i)nato", r"(?:\w+ )+end"],
)
def test_lexicon_ordinary_regex_is_accepted(pattern: str) -> None:
    check_pattern(pattern)


def test_lexicon_regex_over_time_limit_on_real_text_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import service.text.lexicon.matcher as matcher_module

    matcher = LexiconMatcher(parse_lexicon([{"match": r"\w+ing", "regex": True, "say": "x"}], "t"))
    monkeypatch.setattr(matcher_module, "MATCH_TIMEOUT_S", 1e-9)  # a limit any text exceeds
    with pytest.raises(LexiconError, match=r"rule 1 .*took longer than"):
        matcher.apply("singing " * 2000)


PLS = """<?xml version="1.0" encoding="UTF-8"?>
<lexicon version="1.0" xmlns="http://www.w3.org/2005/01/pronunciation-lexicon"
         alphabet="ipa" xml:lang="en-US">
  <lexeme><grapheme>NATO</grapheme><alias>North Atlantic Treaty Organization</alias></lexeme>
  <lexeme><grapheme>Paganini</grapheme><grapheme>PAGANINI</grapheme>
    <phoneme>pɑɡəˈniːni</phoneme></lexeme>
</lexicon>
"""


def test_pls_import_reads_aliases_and_ipa_phonemes() -> None:
    lexicon = read_pls(PLS.encode(), "pls")
    assert lexicon.language == "en-US"
    assert [rule.to_json() for rule in lexicon.rules] == [
        {"match": "NATO", "say": "North Atlantic Treaty Organization"},
        {"match": "Paganini", "ipa": "pɑɡəˈniːni"},
        {"match": "PAGANINI", "ipa": "pɑɡəˈniːni"},
    ]


def test_pls_export_round_trips() -> None:
    lexicon = read_pls(PLS.encode(), "pls")
    assert read_pls(write_pls(lexicon), "pls") == lexicon
    assert read_lexicon(write_lexicon(lexicon, "json"), "pls", "x.json") == lexicon
    assert read_lexicon(write_lexicon(lexicon, "pls"), "pls", "-") == lexicon


def test_pls_export_refuses_what_pls_cannot_hold() -> None:
    lexicon = parse_lexicon([{"match": "v\\d+", "regex": True, "say": "version"}], "r")
    with pytest.raises(LexiconError, match="export the lexicon as JSON"):
        write_pls(lexicon)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            '<?xml version="1.0"?><!DOCTYPE lexicon [<!ENTITY a "aaaaaaaaaa">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            '<lexicon xmlns="http://www.w3.org/2005/01/pronunciation-lexicon">&b;</lexicon>',
            "refused",
        ),
        (
            '<?xml version="1.0"?><!DOCTYPE lexicon SYSTEM "file:///etc/passwd">'
            '<lexicon xmlns="http://www.w3.org/2005/01/pronunciation-lexicon"/>',
            "refused",
        ),
        ("<lexicon><lexeme>", "not well-formed"),
        ("<html/>", "not a PLS 1.0 document"),
        (
            '<lexicon xmlns="http://www.w3.org/2005/01/pronunciation-lexicon" alphabet="x-sampa">'
            "<lexeme><grapheme>a</grapheme><phoneme>{</phoneme></lexeme></lexicon>",
            'only alphabet="ipa"',
        ),
        (
            '<lexicon xmlns="http://www.w3.org/2005/01/pronunciation-lexicon">'
            "<lexeme><grapheme>a</grapheme></lexeme></lexicon>",
            "neither an <alias> nor a <phoneme>",
        ),
    ],
)
def test_pls_hostile_or_bad_documents_are_refused(document: str, message: str) -> None:
    with pytest.raises(LexiconError, match=message):
        read_pls(document.encode(), "x")


def test_lexicon_json_errors_name_the_place() -> None:
    with pytest.raises(LexiconError, match=r"rules.json is not valid JSON: .*line 1"):
        read_lexicon(b'{"rules": [', "x", "rules.json")


def test_readme_lexicon_example_is_a_valid_lexicon() -> None:
    import json
    import re

    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Pronunciation lexicons", 1)[1]
    block = re.search(r"```json\n(.*?)```", section, re.S)
    assert block is not None
    lexicon = parse_lexicon(json.loads(block.group(1)), "newsroom")
    applied = LexiconMatcher(lexicon).apply("NATO ran v2.1 and a Gif.")
    assert applied.text == "North Atlantic Treaty Organization ran version and a jif."
