"""Every kind of input becomes an Article; bad input becomes one clear named error."""

from __future__ import annotations

import codecs
import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from service.cli import cli
from service.config import InputSettings, Settings
from service.errors import (
    InputError,
    ListenError,
    NothingToReadError,
    TooLargeError,
    UnsupportedMediaError,
)
from service.text.decode import sniff_charset
from service.text.limits import check_length
from service.text.load import detect_kind, load_article, load_article_from_text

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
SETTINGS = InputSettings()
HTML_NOTE = "<p>Das ist ein kurzer Text über das Wetter in Berlin, geschrieben für diesen Test.</p>"


@pytest.mark.parametrize(
    ("text", "hint", "kind"),
    [
        ("<!DOCTYPE html><html><body><p>Hi</p></body></html>", "text", "html"),
        ("<article><p>Hello</p></article>", None, "html"),
        ("# Title\n\n- one\n- two\n", "text", "markdown"),
        ("A plain note.\n\nNothing special.", "html", "text"),
        ("A plain note.", "markdown", "markdown"),
        ("Some <b>bold</b> words in a plain note.", None, "text"),
    ],
)
def test_load_detect_kind_trusts_content_over_suffix(text: str, hint: str, kind: str) -> None:
    assert detect_kind(text, hint) == kind


def test_load_txt_file_holding_html_is_read_as_html(tmp_path: Path) -> None:
    path = tmp_path / "story.txt"
    path.write_bytes((SEEDS / "newsroom-page.html").read_bytes())
    article = load_article(str(path), SETTINGS)
    assert article.title == "Harbour town votes to rebuild its flooded sea wall"
    assert "<p>" not in article.text


@pytest.mark.parametrize("data", ["", "   \n\t\n  ", b"", b"\n\n   \r\n"])
def test_load_empty_input_is_refused(data: str | bytes) -> None:
    with pytest.raises(InputError, match="empty"):
        load_article_from_text(data, SETTINGS)


@pytest.mark.parametrize(
    "data",
    [b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", b"\x89PNG\r\n\x1a\n\x00\x00", bytes(range(256)) * 4],
)
def test_load_binary_data_is_refused(data: bytes) -> None:
    with pytest.raises(UnsupportedMediaError, match="binary"):
        load_article_from_text(data, SETTINGS)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (codecs.BOM_UTF8 + "Grüße aus Köln, liebe Leserinnen und Leser.".encode(), "Grüße"),
        (codecs.BOM_UTF16_LE + "Grüße aus Köln, liebe Leser.".encode("utf-16-le"), "Grüße"),
        (
            b'<html><head><meta charset="windows-1251"></head><body><p>'
            + "Привет, это новости дня для наших читателей.".encode("cp1251")
            + b"</p></body></html>",
            "Привет",
        ),
        ("Café crème, déjà vu, naïve façade, résumé é à ç.".encode("latin-1"), "Café crème"),
    ],
)
@pytest.mark.slow
def test_load_decodes_boms_declared_and_guessed_charsets(data: bytes, expected: str) -> None:
    assert expected in load_article_from_text(data, SETTINGS).text


def test_load_mends_windows_1252_mixed_into_utf8() -> None:
    # A page saved as UTF-8 with quotes and a dash pasted from a word processor in
    # Windows-1252: each is mended, nothing becomes a replacement character.
    data = (
        "<p>Café au lait for the whole newsroom, said the editor on Monday. ".encode()
        + b"\x93Everyone\x94 agreed \x96 then left for the harbour.</p>"
    )
    assert sniff_charset(data) is None
    text = load_article_from_text(data, SETTINGS).text
    assert "Café au lait" in text
    assert "“Everyone” agreed – then left" in text
    assert "\ufffd" not in text


LATIN = "Café crème, naïve façade, déjà vu."
CYRILLIC = "Новости дня для наших читателей."
DECLARED = [
    (b'<?xml version="1.0" encoding="ISO-8859-1"?>\n<html><body><p>%s</p></body></html>', LATIN),
    (
        b'<html><head><meta http-equiv="Content-Type" content="text/html; charset=koi8-r">'
        b"</head><body><p>%s</p></body></html>",
        CYRILLIC,
    ),
    (b"<html><head><meta charset='windows-1251' /></head><body><p>%s</p></body></html>", CYRILLIC),
    (b'  \n<meta charset="latin1"><p>%s</p>', LATIN),
]


@pytest.mark.parametrize(("document", "story"), DECLARED)
def test_load_reads_the_charset_a_document_declares(document: bytes, story: str) -> None:
    charset = sniff_charset(document)
    assert charset is not None
    data = document % story.encode(charset)
    assert story in load_article_from_text(data, SETTINGS, kind="html").text


def test_load_looks_for_a_declared_charset_in_the_first_kilobytes_only() -> None:
    late = b"<html><!--" + b" " * 5000 + b'--><head><meta charset="koi8-r"></head><p>Hello.</p>'
    assert sniff_charset(late) is None
    assert "Hello." in load_article_from_text(late, SETTINGS, kind="html").text


def test_load_mostly_utf8_with_a_broken_byte_keeps_the_text() -> None:
    data = ("Un texte en français, assez long pour être lu. " * 20).encode() + b"\xff ok."
    assert "français" in load_article_from_text(data, SETTINGS).text


@pytest.mark.parametrize("as_bytes", [True, False])
def test_load_input_over_the_cap_is_too_large(as_bytes: bool) -> None:
    data = "word " * 2_200_000
    with pytest.raises(TooLargeError):
        load_article_from_text(data.encode() if as_bytes else data, SETTINGS)


def test_load_large_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    with path.open("wb") as stream:
        stream.truncate(SETTINGS.max_input_bytes + 1)  # sparse: nothing to read
    started = time.perf_counter()
    with pytest.raises(TooLargeError, match="limit"):
        load_article(str(path), SETTINGS)
    assert time.perf_counter() - started < 1


@pytest.mark.slow
def test_load_ten_megabyte_html_at_the_cap_is_read() -> None:
    paragraph = "<p>" + "Many words of a long story about the sea. " * 20 + "</p>\n"
    html = "<article>" + paragraph * (9_000_000 // len(paragraph)) + "</article>"
    # 1.9 million words: read whole, then refused by the word limit before it is planned.
    article = load_article_from_text(html, SETTINGS)
    assert len(article.blocks) > 10_000
    with pytest.raises(TooLargeError, match="LISTEN_MAX_WORDS"):
        check_length(article, SETTINGS)


@pytest.mark.parametrize(
    ("source", "message"),
    [("no/such/file.txt", "no such file"), (".", "folder")],
)
def test_load_missing_or_folder_source_is_an_input_error(source: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_article(source, SETTINGS)


def test_load_unknown_kind_is_refused() -> None:
    with pytest.raises(InputError, match="kind"):
        load_article_from_text("text", SETTINGS, kind="pdf")


def test_load_language_from_markup_or_detected() -> None:
    assert load_article_from_text(HTML_NOTE, SETTINGS).language == "de"
    russian = "Это короткая заметка о погоде в Москве, написанная для проверки."
    assert load_article_from_text(russian, SETTINGS).language == "ru"
    html = '<html lang="pt-BR"><body><p>Texto curto, mas em português do Brasil.</p></body></html>'
    assert load_article_from_text(html, SETTINGS).language == "pt"


def test_load_api_title_and_source_url_are_kept() -> None:
    article = load_article_from_text(
        b"Body of the note, with a full stop.",
        SETTINGS,
        title="Given",
        source_url="https://x.org/a",
    )
    assert (article.title, article.source_url) == ("Given", "https://x.org/a")


@pytest.mark.parametrize("kind", ["text", "markdown", "html"])
def test_load_markup_only_input_has_nothing_to_read(kind: str) -> None:
    data = {"text": "---\n***\n", "markdown": "![x](y.png)\n\n```\ncode\n```\n", "html": "<br><hr>"}
    with pytest.raises(ListenError):
        load_article_from_text(data[kind], SETTINGS, kind=kind)


def test_load_nothing_to_read_is_its_own_error() -> None:
    with pytest.raises(NothingToReadError):
        load_article_from_text("<div><script>a()</script></div>", SETTINGS, kind="html")


def test_load_cli_extract_json_prints_one_record_per_input(tmp_path: Path) -> None:
    bad = tmp_path / "empty.txt"
    bad.write_text("  \n")
    result = CliRunner().invoke(
        cli, ["extract", "--json", str(SEEDS / "short-note.txt"), str(bad)], env={}
    )
    assert result.exit_code == 2
    good, failed = (json.loads(line) for line in result.output.splitlines())
    assert good["title"] == "Reminder for the volunteers"
    assert good["language"] == "en"
    assert len(good["paragraphs"]) == 2
    assert "empty" in failed["error"]
    assert "Traceback" not in result.output


def test_load_cli_extract_json_reads_stdin() -> None:
    result = CliRunner().invoke(cli, ["extract", "--json", "-"], input="# Hi\n\nA *short* post.\n")
    record = json.loads(result.output)
    assert (record["title"], record["paragraphs"]) == ("Hi", ["A short post."])


def test_load_article_over_the_word_limit_is_too_large() -> None:
    text = "Title\n\n" + "\n\n".join("Five words in this paragraph." for _ in range(300))
    limited = Settings.of(max_words=1000)
    article = load_article_from_text(text, limited.input)
    with pytest.raises(TooLargeError, match=r"1,50\d words; the limit is 1,000"):
        check_length(article, limited.input)
    check_length(article, InputSettings(max_words=0))


@pytest.mark.slow
def test_load_and_plan_ten_thousand_paragraphs_in_seconds(tmp_path: Path) -> None:
    from service.pipeline.prepare import prepare_plan

    text = "Title\n\n" + "\n\n".join(f"Paragraph {i} tells the news." for i in range(10_000))
    settings = Settings.of(cache_dir=tmp_path, max_words=0)
    started = time.perf_counter()
    plan = prepare_plan(load_article_from_text(text, settings.input, kind="text"), settings)
    assert time.perf_counter() - started < 15
    assert len(plan.blocks) == 10_001


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Hello — world", 2),
        ("state-of-the-art, 1,200 don't", 3),
        ("• one – two …", 2),
        ("東京は晴れ", 5),  # written without spaces: one word per character
        ("한국어 문장", 2),  # Korean puts spaces between words
        ("", 0),
    ],
)
def test_count_words_counts_what_a_reader_sees(text: str, words: int) -> None:
    from service.text.words import count_words

    assert count_words(text) == words


MIXED = (
    "Partner town offers help after the flood\n\n"
    "The council met on Tuesday evening to discuss an offer of help from its partner town "
    "in Germany.\n\n"
    "Councillors said they were grateful for the offer and would reply within a week, once "
    "the engineers had finished counting the damage.\n\n"
    "A letter from the mayor of the partner town was read out in full, in the original "
    "German:\n\n"
    "Liebe Freundinnen und Freunde, mit großer Trauer haben wir von der Sturmflut gehört, "
    "die Ihre Stadt so schwer getroffen hat. Unsere Gemeinde möchte beim Wiederaufbau helfen "
    "und schickt €20.000 sofort. Wir können Ingenieure schicken, Baumaterial liefern und "
    "Familien aufnehmen, die ihr Zuhause verloren haben. Bitte lassen Sie uns wissen, was "
    "Sie am dringendsten brauchen."
)
"""Mostly English by its words (65 against 54), with a German paragraph at the end."""


def test_load_mixed_article_is_in_the_language_of_most_words() -> None:
    from service.text.language import detect_language

    article = load_article_from_text(MIXED, SETTINGS)
    # the whole text at once looks German to the model: the old way read it all in German
    assert detect_language(" ".join(block.text for block in article.blocks)) == "de"
    assert article.language == "en"
    assert [block.language for block in article.blocks] == [None, None, None, "de"]


def test_load_short_block_in_another_language_keeps_the_articles() -> None:
    text = MIXED.split("Liebe")[0] + "Danke schön, liebe Freunde!"  # five words
    article = load_article_from_text(text, SETTINGS)
    assert article.language == "en"
    assert [block.language for block in article.blocks] == [None, None, None, None]


def test_load_declared_language_wins_unless_the_words_clearly_disagree() -> None:
    german = MIXED.split("German:\n\n")[1].split(" Wir ")
    english = MIXED.split("\n\n")[1:3]
    head = "<h1>Ein Brief aus der Partnerstadt</h1>"
    mislabelled = (
        f'<html lang="en"><body>{head}<p>{german[0]}</p><p>Wir {german[1]}</p>'
        f"<p>{english[0]}</p></body></html>"
    )
    article = load_article_from_text(mislabelled, SETTINGS, kind="html")
    assert article.language == "de"  # 54 of 77 words are surely German
    assert [block.language for block in article.blocks] == [None, None, "en"]
    declared = (
        f'<html lang="de"><body>{head}<p>{german[0]}</p><p>{english[0]}</p>'
        f"<p>{english[1]}</p></body></html>"
    )
    article = load_article_from_text(declared, SETTINGS, kind="html")
    assert article.language == "de"  # English has the most words, but not two thirds
    assert [block.language for block in article.blocks] == [None, "en", "en"]


def test_segment_reads_a_block_by_the_rules_of_its_own_language() -> None:
    from service.text.segment import segment_article

    blocks = segment_article(load_article_from_text(MIXED, SETTINGS))
    german = blocks[-1]
    assert german.language == "de" and all(block.language is None for block in blocks[:-1])
    spoken = " ".join(sentence.spoken for sentence in german.sentences)
    assert "€20.000" in spoken  # the English currency rule would say "20.000 euros"
    assert len(german.sentences) == 4
