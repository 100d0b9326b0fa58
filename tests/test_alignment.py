"""The alignment from a sentence's spoken text (and its engine text) back to the text shown."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from service.config import InputSettings
from service.text.alignment import (
    Rewriting,
    replacement_runs,
    shown_word_groups,
    source_span,
    then,
)
from service.text.lexicon.matcher import LexiconMatcher
from service.text.lexicon.model import parse_lexicon
from service.text.load import load_article_from_text
from service.text.segment import segment_article
from service.text.spoken import aligned_spoken_form, spoken_form

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def _groups(shown: str, spoken: str, edits: tuple[tuple[int, int, int, int], ...]) -> list:
    """Return (shown word, [spoken words]) pairs, as the manifest groups them."""
    spans = [m.span() for m in re.finditer(r"\S+", spoken)]
    sources = [source_span(edits, a, b) for a, b in spans]
    return [
        (shown[start:end], [spoken[spans[i][0] : spans[i][1]] for i in said])
        for start, end, said in shown_word_groups(shown, sources)
    ]


@pytest.mark.parametrize(
    ("shown", "expected"),
    [
        (
            "Dr. Smith paid $5m.",
            [
                ("Dr", ["Doctor"]),
                ("Smith", ["Smith"]),
                ("paid", ["paid"]),
                ("$5m", ["5", "million", "dollars."]),
            ],
        ),
        (
            "On 5 January 1990 it rained.",
            [
                ("On", ["On"]),
                ("5", ["the", "5th"]),
                ("January", ["of", "January"]),
                ("1990", ["nineteen", "ninety"]),
                ("it", ["it"]),
                ("rained", ["rained."]),
            ],
        ),
        (
            "Write to jane.doe@example.com today.",
            [
                ("Write", ["Write"]),
                ("to", ["to"]),
                ("jane.doe@example.com", ["jane", "dot", "doe", "at", "example", "dot", "com"]),
                ("today", ["today."]),
            ],
        ),
        (
            "Or visit https://example.com/a now.",
            [
                ("Or", ["Or"]),
                ("visit", ["visit"]),
                ("https://example.com/a", ["example", "dot", "com"]),
                ("now", ["now."]),
            ],
        ),
        (
            "The 1990s were odd… weren't they?",
            [
                ("The", ["The"]),
                ("1990s", ["nineteen", "nineties"]),
                ("were", ["were"]),
                ("odd", ["odd,"]),
                ("weren't", ["weren't"]),
                ("they", ["they?"]),
            ],
        ),
    ],
)
def test_spoken_words_lead_back_to_the_words_shown(shown: str, expected: list) -> None:
    spoken, edits = aligned_spoken_form(shown)
    assert spoken == spoken_form(shown)
    assert _groups(shown, spoken, edits) == expected


def test_aligned_spoken_form_says_exactly_what_spoken_form_says() -> None:
    for path in sorted(SEEDS.iterdir()):
        if path.suffix not in {".html", ".md", ".txt"}:
            continue
        article = load_article_from_text(path.read_bytes(), InputSettings())
        for block in segment_article(article):
            for sentence in block.sentences:
                said, edits = aligned_spoken_form(sentence.text, article.language)
                assert said == spoken_form(sentence.text, article.language)
                # every spoken word leads back inside the sentence, in order
                starts = [source_span(edits, *m.span())[0] for m in re.finditer(r"\S+", said)]
                assert starts == sorted(starts)
                assert all(0 <= s <= len(sentence.text) for s in starts)


def test_a_byline_prefix_stands_for_nothing_shown() -> None:
    article = load_article_from_text(
        "# A title\n\nBy Ann Lee\n\nBody text here.", InputSettings(), kind="markdown"
    )
    blocks = segment_article(article)
    byline = next(b for b in blocks if b.sentences[0].spoken.startswith("By "))
    sentence = byline.sentences[0]
    groups = _groups(sentence.text, sentence.spoken, sentence.spoken_edits)
    assert groups[0][1][0] == "By"  # said with the first word shown, never on its own
    assert [shown for shown, _ in groups] == sentence.text.split()


def test_lexicon_say_rules_lead_back_to_the_words_they_replace() -> None:
    lexicon = parse_lexicon(
        [{"match": "NATO", "say": "nay toe"}, {"match": "GIF", "say": "jiff"}], "t"
    )
    shown = "Dr. Lee said NATO uses a GIF."
    spoken, spoken_edits = aligned_spoken_form(shown)
    applied = LexiconMatcher(lexicon).apply(spoken)
    assert applied.text == "Doctor Lee said nay toe uses a jiff."
    edits = then(applied.edits, spoken_edits)
    assert _groups(shown, applied.text, edits) == [
        ("Dr", ["Doctor"]),
        ("Lee", ["Lee"]),
        ("said", ["said"]),
        ("NATO", ["nay", "toe"]),
        ("uses", ["uses"]),
        ("a", ["a"]),
        ("GIF", ["jiff."]),
    ]
    # composing in two steps gives the same as looking up through each in turn
    for match in re.finditer(r"\S+", applied.text):
        direct = source_span(edits, *match.span())
        stepwise = source_span(spoken_edits, *source_span(applied.edits, *match.span()))
        assert direct == stepwise


def test_a_phoneme_mark_keeps_its_words_where_they_were() -> None:
    lexicon = parse_lexicon([{"match": "Nguyen", "ipa": "wɪn"}], "t")
    spoken = "Mr Nguyen spoke."
    applied = LexiconMatcher(lexicon).apply(spoken)
    assert applied.text != spoken
    word = applied.text.index("Nguyen")
    assert source_span(applied.edits, word, word + len("Nguyen")) == (3, 9)
    after = applied.text.index("spoke")
    assert source_span(applied.edits, after, after + 5) == (10, 15)


def test_rewriting_tracks_every_step_like_the_plain_calls() -> None:
    text = "  a  b   c  "
    rewriting = Rewriting(text)
    rewriting.sub(re.compile(r"\s+"), " ")
    rewriting.sub(re.compile(r"b"), "bee bop")
    rewriting.strip()
    assert rewriting.text == "a bee bop c"
    edits = rewriting.edits()
    bee = rewriting.text.index("bee")
    assert text[slice(*source_span(edits, bee, bee + 7))] == "b"
    c = rewriting.text.index("c")
    assert text[slice(*source_span(edits, c, c + 1))] == "c"


def test_replacement_runs_pin_the_words_in_common() -> None:
    old, new = "5 January 1990", "the 5th of January nineteen ninety"
    pairs = []
    out = source = 0
    for out_chars, source_chars, _ in replacement_runs(old, new):
        pairs.append(
            (new[out : out + out_chars].strip(), old[source : source + source_chars].strip())
        )
        out, source = out + out_chars, source + source_chars
    assert (out, source) == (len(new), len(old))
    assert pairs == [("the 5th", "5"), ("of January", "January"), ("nineteen ninety", "1990")]
