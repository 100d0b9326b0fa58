"""Markdown keeps headings, lists, emphasis and link text; drops code, images, raw HTML."""

from __future__ import annotations

from pathlib import Path

from service.text.markdown import article_from_markdown, front_matter, looks_like_markdown

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def test_markdown_seed_post_reads_prose_and_skips_code_images_html() -> None:
    article = article_from_markdown((SEEDS / "markdown-post.md").read_text("utf-8"))
    assert article.title == "Notes from a week without a phone"
    assert article.byline == "Priya Raman"
    text = article.text
    assert article.text.count(article.title) == 1
    assert "This is what I noticed, and what I will keep doing now" in text
    assert "as the habit researchers suggest" in text
    for unread in ("https://example.org", "A phone in a drawer", "days_left", "Subscribe", "<div"):
        assert unread not in text
    headings = [(b.text, b.level) for b in article.blocks if b.kind == "heading"]
    assert headings == [("The first two days", 2), ("What changed", 2)]
    items = [(b.text, b.level) for b in article.blocks if b.kind == "list_item"]
    assert ("Especially at the post office.", 2) in items
    assert ("I read two books.", 1) in items
    assert [b.text for b in article.blocks if b.kind == "quote"] == [
        "Boredom is the gateway to a more interesting mind."
    ]


def test_markdown_without_front_matter_takes_the_first_h1_as_title() -> None:
    article = article_from_markdown("# Hello\n\nSome *text* here.\n")
    assert article.title == "Hello"
    assert [b.text for b in article.blocks] == ["Some text here."]


def test_markdown_front_matter_fields_are_unquoted() -> None:
    fields, rest = front_matter("---\ntitle: 'A: B'\nlang: de\n---\nBody\n")
    assert fields == {"title": "A: B", "lang": "de"}
    assert rest == "Body\n"


def test_markdown_detection_needs_marks() -> None:
    assert looks_like_markdown("# Title\n\nSee [this](http://x.org).")
    assert not looks_like_markdown("Just a note.\n\nWith two paragraphs.")
