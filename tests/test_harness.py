"""The harness: shared by tests and benchmarks, importing neither, shipping nowhere."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

from harness.corpus import (
    article_text,
    real_article,
    real_texts,
    repeated_sentences,
    sentences,
)
from service.text.language import detect_language
from tests.conftest import ROOT

FORBIDDEN = {
    "tests": {"bench"},
    "bench": {"tests"},
    "harness": {"tests", "bench"},
    "service": {"tests", "bench", "harness"},
}


def _top_level_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_harness_tests_and_bench_do_not_import_each_other(folder: str) -> None:
    wrong = {
        str(path.relative_to(ROOT)): sorted(_top_level_imports(path) & FORBIDDEN[folder])
        for path in sorted((ROOT / folder).rglob("*.py"))
    }
    assert {path: names for path, names in wrong.items() if names} == {}


def test_harness_is_not_in_the_wheel() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == ["service"]


@pytest.mark.parametrize(("words", "low", "high"), [(400, 400, 410), (3_500, 3_500, 3_600)])
def test_harness_real_article_is_one_real_article_near_the_size(
    words: int, low: int, high: int
) -> None:
    text = real_article(words)
    assert low <= len(text.split()) <= high
    assert repeated_sentences(text) == []
    assert "\n\n" in text.strip()  # paragraphs, as the page had them


def test_harness_real_text_joins_articles_without_repeating_a_sentence() -> None:
    text = real_article(10_000)
    assert 10_000 <= len(text.split()) <= 12_000
    assert repeated_sentences(text) == []
    assert len(sentences(text)) > 500


def test_harness_real_texts_are_english_paragraph_by_paragraph() -> None:
    # an Indonesian article is all ASCII too; the service read it with the English voice
    paragraphs = [
        paragraph
        for text in [*real_texts(3_500, 10), real_article(10_000)]
        for paragraph in text.split("\n\n")
        if len(paragraph.split()) >= 20
    ]
    assert len(paragraphs) > 500
    assert [p[:60] for p in paragraphs if detect_language(p) != "en"] == []


def test_harness_real_texts_share_no_sentence() -> None:
    texts = real_texts(3_500, 10)
    assert [3_500 <= len(text.split()) <= 4_000 for text in texts] == [True] * 10
    assert repeated_sentences("\n\n".join(texts)) == []


def test_harness_made_up_article_repeats_the_seed_sentences() -> None:
    # what the benchmarks must not measure speed on: the sentences recur
    text = article_text(3_500)
    assert text == article_text(3_500)
    assert len(repeated_sentences(text)) > 10
