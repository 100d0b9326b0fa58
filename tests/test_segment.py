"""Test splitting an article into spoken blocks and sentences."""

from __future__ import annotations

import time
import unicodedata

import pytest
import sentencex
from hypothesis import given, settings
from hypothesis import strategies as st

from service.text.article import BLOCK_KINDS, Article, Block
from service.text.blocks import SpokenBlock, sentence_id
from service.text.segment import segment_article, segment_block
from service.text.spoken import byline_prefix, spoken_form, spoken_words


def _article(
    *texts: str, title: str = "Title", byline: str | None = None, language: str = "en"
) -> Article:
    return Article(
        title=title,
        byline=byline,
        language=language,
        blocks=tuple(Block("paragraph", text) for text in texts),
    )


def _sentences(text: str, language: str = "en") -> list[str]:
    return [sentence.text for sentence in segment_block(text, language)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "The U.S. economy grew 3.5% in June. Dr. Smith agreed, e.g. on rates. Then he left.",
            [
                "The U.S. economy grew 3.5% in June.",
                "Dr. Smith agreed, e.g. on rates.",
                "Then he left.",
            ],
        ),
        (
            "J. R. R. Tolkien wrote it. Mr. Baggins did not.",
            ["J. R. R. Tolkien wrote it.", "Mr. Baggins did not."],
        ),
        ('He said "Stop." Then he left.', ['He said "Stop."', "Then he left."]),
        ("He said “Stop.” Then he left.", ["He said “Stop.”", "Then he left."]),
        ("Wait... what happened? Nobody knew.", ["Wait... what happened?", "Nobody knew."]),
        (
            "It cost $3.50 at 10 a.m. on Monday. Prices rose.",
            ["It cost $3.50 at 10 a.m. on Monday.", "Prices rose."],
        ),
        ("He came on Jan. 5. Then he left.", ["He came on Jan. 5.", "Then he left."]),
    ],
)
def test_segment_block_splits_english_sentences(text: str, expected: list[str]) -> None:
    assert _sentences(text) == expected


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("Привет. Как дела? Хорошо!", "ru", ["Привет.", "Как дела?", "Хорошо!"]),
        ("Он сказал: «Стоп». Потом ушёл.", "ru", ["Он сказал: «Стоп».", "Потом ушёл."]),
        (
            "Das ist z. B. ein Test. Dr. Müller kommt.",
            "de",
            ["Das ist z. B. ein Test.", "Dr. Müller kommt."],
        ),
        ("¿Qué pasó? ¡No sé! Luego se fue.", "es", ["¿Qué pasó?", "¡No sé!", "Luego se fue."]),
        (
            "今天天气很好。我们去公园吧！你觉得呢？",
            "zh",
            ["今天天气很好。", "我们去公园吧！", "你觉得呢？"],
        ),
        (
            "今日は晴れです。公園に行きましょう！",
            "ja",
            ["今日は晴れです。", "公園に行きましょう！"],
        ),
    ],
)
def test_segment_block_splits_other_languages(
    text: str, language: str, expected: list[str]
) -> None:
    assert _sentences(text, language) == expected


def test_segment_article_gives_title_byline_and_body_blocks() -> None:
    article = Article(
        title="Rates rise",
        byline="Jane Doe",
        blocks=(Block("heading", "Why", level=2), Block("paragraph", "One. Two.")),
    )
    blocks = segment_article(article)
    assert [(block.index, block.kind) for block in blocks] == [
        (0, "title"),
        (1, "byline"),
        (2, "heading"),
        (3, "paragraph"),
    ]
    assert blocks[1].text == "Jane Doe"
    assert blocks[1].sentences[0].spoken == "By Jane Doe"
    assert [sentence.text for sentence in blocks[3].sentences] == ["One.", "Two."]
    for block in blocks:
        assert article.text[block.start_char : block.end_char] == block.text


@pytest.mark.parametrize(
    ("language", "byline", "spoken"),
    [
        ("en", "Jane Doe", "By Jane Doe"),
        ("en", "By Jane Doe", "By Jane Doe"),
        ("de", "Max Muster", "Von Max Muster"),
        ("ru", "Иван Петров", "Иван Петров"),
    ],
)
def test_segment_article_reads_byline_by_language(language: str, byline: str, spoken: str) -> None:
    blocks = segment_article(_article(byline=byline, language=language))
    assert blocks[1].sentences[0].spoken == spoken


def test_segment_article_skips_blocks_with_nothing_to_hear() -> None:
    blocks = segment_article(_article("😀 🎉", "• —", "Real text. 👍"))
    assert [block.kind for block in blocks] == ["title", "paragraph"]
    assert [block.index for block in blocks] == [0, 1]
    assert [sentence.spoken for sentence in blocks[1].sentences] == ["Real text."]


def test_segment_article_uses_spoken_form_per_sentence() -> None:
    blocks = segment_article(
        _article("It cost $5.3 billion in 1990. See https://example.com/a [3].")
    )
    assert [sentence.spoken for sentence in blocks[1].sentences] == [
        "It cost 5.3 billion dollars in nineteen ninety.",
        "See example dot com.",
    ]


def test_segment_article_keeps_context_phrases_whole() -> None:
    # A boundary inside "Jan. 5" would make eSpeak say "Jan", "5".
    text = "They met on Jan. 5 in Paris. It rained."
    sentences = segment_article(_article(text))[1].sentences
    assert [sentence.spoken for sentence in sentences] == [
        "They met on January 5th in Paris.",
        "It rained.",
    ]


@pytest.mark.parametrize(
    ("separator", "expected_end"),
    [("; ", ";"), (", ", ","), (" — ", "—"), (" ", "")],
)
def test_segment_article_cuts_long_sentences_at_clause_boundaries(
    separator: str, expected_end: str
) -> None:
    text = separator.join(["one clause with a word"] * 12) + "."
    sentences = segment_article(_article(text), max_sentence_chars=80)[1].sentences
    assert len(sentences) > 1
    assert all(len(sentence.text) <= 80 for sentence in sentences)
    assert all(sentence.text.endswith(expected_end) for sentence in sentences[:-1])
    assert " ".join(sentence.text for sentence in sentences) == text


def test_segment_article_prefers_semicolons_to_commas() -> None:
    text = "a, b, c, d; " + "e, f, g, h, " * 3 + "end."
    sentences = segment_article(_article(text), max_sentence_chars=40)[1].sentences
    assert sentences[0].text == "a, b, c, d;"


def test_segment_article_cuts_text_without_spaces() -> None:
    text = "字" * 1000
    sentences = segment_article(_article(text, language="zh"), max_sentence_chars=400)[1].sentences
    assert [len(sentence.text) for sentence in sentences] == [400, 400, 200]


def test_sentence_id_depends_on_spoken_text_only() -> None:
    first = segment_article(_article("Same words here.", title="One"))[1].sentences[0]
    second = segment_article(_article("  Same words   here. ", title="Two"))[1].sentences[0]
    assert first.start_char != second.start_char
    assert first.sentence_id == second.sentence_id == sentence_id("Same words here.")


def test_segment_article_handles_ten_thousand_words_quickly() -> None:
    paragraph = (
        "The U.S. economy grew 3.5% in 2024, Dr. Smith said on Jan. 5. "
        "Prices rose by $5.3 billion — a record… Critics disagreed; see https://example.com/x. "
    ) * 5
    article = _article(*([paragraph] * 84))
    assert article.word_count > 10_000
    started = time.perf_counter()
    blocks = segment_article(article)
    assert time.perf_counter() - started < 1.0
    assert len(blocks) == 85


@pytest.mark.parametrize(
    "paragraph",
    [
        "word " * 200_000,
        "x" * 1_000_000,
        "In 1990 the U.S. grew 3.5% on Jan. 5, 2024, and by $5.3 billion, " * 16_000,
    ],
    ids=["words", "no-spaces", "no-full-stops"],
)
@pytest.mark.slow
def test_segment_article_cuts_a_megabyte_paragraph_in_linear_time(paragraph: str) -> None:
    # Each cut used to re-read the whole rest of the paragraph: 40,000 words took 27 s.
    # CPU time, which other work on a shared machine barely moves, tells the two apart.
    started = time.process_time()
    blocks = segment_article(_article(paragraph), max_sentence_chars=400)
    assert time.process_time() - started < 5.0
    sentences = blocks[1].sentences
    assert len(sentences) >= len(paragraph) // 400
    assert all(len(sentence.text) <= 400 for sentence in sentences)
    assert "".join("".join(s.text.split()) for s in sentences) == "".join(paragraph.split())


# --- properties over arbitrary text ---------------------------------------

_WORDS = st.sampled_from(
    [
        "word",
        "Dr.",
        "U.S.",
        "3.5",
        "$5.3",
        "billion",
        "in",
        "1990",
        "1990s",
        "Jan.",
        "5",
        "No.",
        "—",
        "–",
        "-",
        "...",
        "…",
        "“Stop.”",
        "e.g.",
        "2019-2021",
        "10–20",
        "[12]",
        "https://www.example.com/a.",
        "a@b.com",
        "😀",
        "•",
        "Привет.",
        "日本語。",
        "\u200b",
        ";",
        ",",
        ":",
        "?",
        "!",
        "\n",
    ]
)
_TEXT = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(_WORDS, st.text(max_size=8)), max_size=60).map(" ".join),
)
_BLOCKS = st.lists(st.tuples(st.sampled_from(BLOCK_KINDS), _TEXT), max_size=5)
_LANGUAGES = st.sampled_from(["en", "ru", "de", "zh", "xx"])


@st.composite
def _articles(draw: st.DrawFn) -> Article:
    blocks = draw(_BLOCKS)
    return Article(
        title=draw(_TEXT),
        byline=draw(st.one_of(st.none(), _TEXT)),
        language=draw(_LANGUAGES),
        blocks=tuple(Block(kind, text) for kind, text in blocks),
    )


def _heard_words(article: Article) -> list[str]:
    words: list[str] = []
    for kind, text in article.parts:
        prefix = byline_prefix(article.language) if kind == "byline" else ""
        if prefix and text.lower().startswith(prefix.lower() + " "):
            prefix = ""
        spoken = spoken_form(text, article.language)
        heard = spoken_words(spoken) or any(
            not unicodedata.category(char).startswith(("P", "Z")) for char in spoken
        )
        if heard:
            words += spoken_words(prefix) + spoken_words(spoken)
    return words


def _longest_unbroken_run(text: str) -> int:
    return max((len(run) for run in text.split()), default=0)


def check_segmentation(article: Article, blocks: tuple[SpokenBlock, ...], cap: int) -> None:
    """Assert what every segmentation keeps: offsets, order, caps and the words heard."""
    full_text = article.text
    previous_end = 0
    heard: list[str] = []
    for index, block in enumerate(blocks):
        assert isinstance(block, SpokenBlock)
        assert block.index == index
        assert full_text[block.start_char : block.end_char] == block.text
        assert block.sentences
        for sentence in block.sentences:
            assert block.start_char <= sentence.start_char < sentence.end_char <= block.end_char
            assert sentence.start_char >= previous_end
            previous_end = sentence.end_char
            assert full_text[sentence.start_char : sentence.end_char] == sentence.text
            assert sentence.text == sentence.text.strip()
            assert sentence.spoken.strip()
            assert len(sentence.text) <= cap
            heard += spoken_words(sentence.spoken)
    if all(_longest_unbroken_run(text) < cap for _, text in article.parts):
        assert heard == _heard_words(article)


@settings(max_examples=250, deadline=500)
@given(_articles(), st.integers(min_value=20, max_value=400))
@pytest.mark.slow
def test_segment_article_keeps_offsets_caps_and_words(article: Article, cap: int) -> None:
    check_segmentation(article, segment_article(article, max_sentence_chars=cap), cap)


@settings(max_examples=100, deadline=500)
@given(_TEXT, _LANGUAGES)
def test_segment_block_ids_are_stable(text: str, language: str) -> None:
    first = segment_block(text, language, offset=7)
    second = segment_block(text, language)
    assert [s.sentence_id for s in first] == [s.sentence_id for s in second]
    assert [s.sentence_id for s in first] == [sentence_id(s.spoken) for s in first]
    assert [s.start_char - 7 for s in first] == [s.start_char for s in second]


@pytest.mark.parametrize(
    "paragraph",
    [
        "\u201cOpen quote. " * 9_000,
        "A '90s. (1) A. \u201cMr. Smith said. " * 3_000,
        "y" * 30_000 + " and then some words. " * 50,
        "Short one. " * 2_000,
    ],
    ids=["open-quotes", "mixed-marks", "word-longer-than-a-window", "many-sentences"],
)
def test_segment_long_blocks_are_given_to_the_segmenter_a_window_at_a_time(paragraph: str) -> None:
    # sentencex takes quadratic time on open quotation marks: 100,000 characters of them
    # took seconds, half a megabyte over a minute. Windows keep every invariant.
    article = _article(paragraph)
    check_segmentation(article, segment_article(article, max_sentence_chars=400), 400)


def test_segment_windows_find_the_same_sentences_as_the_whole() -> None:
    from service.text import segment

    paragraph = " ".join(f"Sentence number {i} ends here." for i in range(2_000))
    assert len(paragraph) > 3 * segment._WINDOW_CHARS
    whole = [
        (b["start_index"], b["end_index"])
        for b in sentencex.get_sentence_boundaries("en", paragraph)
    ]
    windowed = segment._sentence_spans(paragraph, "en")
    assert [paragraph[a:b].strip() for a, b in windowed] == [
        paragraph[a:b].strip() for a, b in whole
    ]
