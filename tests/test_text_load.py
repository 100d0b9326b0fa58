"""Every kind of input becomes an Article; bad input becomes one clear named error."""

from __future__ import annotations

import codecs
import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from service.cli import cli
from service.config import Settings
from service.errors import (
    InputError,
    ListenError,
    NothingToReadError,
    TooLargeError,
    UnsupportedMediaError,
)
from service.text.limits import check_length
from service.text.load import detect_kind, load_article, load_article_from_text

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
SETTINGS = Settings()
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
def test_load_decodes_boms_declared_and_guessed_charsets(data: bytes, expected: str) -> None:
    assert expected in load_article_from_text(data, SETTINGS).text


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
    limited = Settings(max_words=1000)
    article = load_article_from_text(text, limited)
    with pytest.raises(TooLargeError, match=r"1,50\d words; the limit is 1,000"):
        check_length(article, limited)
    check_length(article, Settings(max_words=0))


def test_load_and_plan_ten_thousand_paragraphs_in_seconds(tmp_path: Path) -> None:
    from service.pipeline.prepare import prepare_plan

    text = "Title\n\n" + "\n\n".join(f"Paragraph {i} tells the news." for i in range(10_000))
    settings = Settings(cache_dir=tmp_path, max_words=0)
    started = time.perf_counter()
    plan = prepare_plan(load_article_from_text(text, settings, kind="text"), settings)
    assert time.perf_counter() - started < 15
    assert len(plan.blocks) == 10_001
