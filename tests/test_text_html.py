"""HTML fragments and full pages: main content in order, furniture skipped, metadata read."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.config import InputSettings
from service.errors import NothingToReadError
from service.text.html import parse_html, tree_depth
from service.text.load import load_article, load_article_from_text

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
SETTINGS = InputSettings()


def test_html_newsroom_page_reads_story_and_skips_furniture() -> None:
    article = load_article(str(SEEDS / "newsroom-page.html"), SETTINGS)
    assert article.title == "Harbour town votes to rebuild its flooded sea wall"
    assert article.byline == "Maria Lindqvist"
    assert article.site_name == "The Coastal Courier"
    assert article.language == "en"
    kinds = [block.kind for block in article.blocks]
    assert kinds == [
        "paragraph", "paragraph", "heading", "paragraph", "quote", "paragraph",
        "list_item", "list_item", "list_item", "paragraph", "paragraph",
    ]  # fmt: skip
    assert article.blocks[0].text.startswith("Councillors in Porthavon voted")
    assert article.blocks[-1].text.startswith("The first public consultation")
    text = article.text
    assert text.count(article.title) == 1
    for unread in (
        "Sport", "Search", "Advertisement", "Share on", "Copy link", "Waves breaking",
        "breached three times this winter. Photo", "flood_events", "Related stories",
        "Storm Henk", "About time too", "Comments", "newsletter", "All rights reserved",
        "Most read", "dataLayer", "Flooding", "Local Affairs Reporter",
    ):  # fmt: skip
        assert unread not in text, unread


FRAGMENT = """
<article lang="fr">
  <header><h1>Le marché rouvre ses portes</h1>
  <p class="byline">Par <span rel="author">Claire Dubois</span></p></header>
  <p>Après six mois de travaux, le marché couvert de la ville accueille de nouveau
  ses <em>quarante</em> commerçants dès samedi matin.</p>
  <figure><img src="a.jpg" alt="Les étals"><figcaption>Les nouveaux étals.</figcaption></figure>
  <h2>Des horaires élargis</h2>
  <p>Le marché sera ouvert du mardi au dimanche, de sept heures à quatorze heures.</p>
  <div class="social-share"><a href="#">Partager</a></div>
  <script>track()</script>
</article>
"""


def test_html_fragment_reads_article_element() -> None:
    article = load_article_from_text(FRAGMENT, SETTINGS, kind="html")
    assert article.title == "Le marché rouvre ses portes"
    assert article.language == "fr"
    assert [(block.kind, block.text[:22]) for block in article.blocks] == [
        ("paragraph", "Après six mois de trav"),
        ("heading", "Des horaires élargis"),
        ("paragraph", "Le marché sera ouvert "),
    ]
    assert "quarante commerçants" in article.text
    for unread in ("Les étals", "nouveaux étals", "Partager", "track"):
        assert unread not in article.text


def test_html_fragment_keeps_nested_list_levels_and_quotes() -> None:
    html = (
        "<div><p>Intro paragraph with enough words to be read.</p>"
        "<ul><li>first<ul><li>inner</li></ul></li><li>second</li></ul>"
        "<blockquote>Quoted words.</blockquote></div>"
    )
    article = load_article_from_text(html, SETTINGS)
    assert [(b.kind, b.text, b.level) for b in article.blocks] == [
        ("paragraph", "Intro paragraph with enough words to be read.", 0),
        ("list_item", "first", 1),
        ("list_item", "inner", 2),
        ("list_item", "second", 1),
        ("quote", "Quoted words.", 0),
    ]


def test_html_nested_ten_thousand_levels_is_flattened_not_lost() -> None:
    deep = "<html><body>" + "<div>" * 10_000 + "<p>Deep text survives.</p>"
    deep += "</div>" * 10_000 + "<p>After the deep part.</p></body></html>"
    root = parse_html(deep, SETTINGS.max_html_depth)
    assert tree_depth(root) < 256
    article = load_article_from_text(deep, SETTINGS, kind="html")
    assert "Deep text survives." in article.text
    assert "After the deep part." in article.text


def test_html_malformed_tags_are_recovered() -> None:
    html = "<p>First <b>bold <i>both</b> paragraph text.<p>Second paragraph <a href=x>link"
    article = load_article_from_text(html, SETTINGS)
    assert [block.text for block in article.blocks] == [
        "First bold both paragraph text.",
        "Second paragraph link",
    ]


@pytest.mark.parametrize(
    "html",
    [
        "<html><body><nav><a href='/'>Home</a></nav><script>x()</script></body></html>",
        "<div><img src='a.png' alt='only an image'></div>",
    ],
)
def test_html_without_article_text_is_nothing_to_read(html: str) -> None:
    with pytest.raises(NothingToReadError):
        load_article_from_text(html, SETTINGS, kind="html")


def test_html_real_news_page_keeps_the_comma_before_a_closing_quote(tmp_path: Path) -> None:
    # A page of the extraction benchmark (read where it lies, beside the repository):
    # space.com on Europa's plumes, whose quotes end in a comma inside the quote marks.
    from harness.devset import page_html
    from service.text.segment import segment_article

    source = tmp_path / "europa.html"
    source.write_bytes(
        page_html("686bb170effe273eaff1c0f88e412172e8d972518a6d1454c896f52aafaa9643")
    )
    article = load_article(str(source), SETTINGS)
    quoted = [block.text for block in article.blocks if "in vapor form" in block.text]
    assert len(quoted) == 1 and 'water in vapor form," Paganini added.' in quoted[0]
    spoken = [
        sentence.spoken
        for block in segment_article(article)
        for sentence in block.sentences
        if "vapor form" in sentence.spoken
    ]
    assert any(text.endswith('water in vapor form," Paganini added.') for text in spoken), spoken
    closing_commas = sum(
        block.text.count(',"') + block.text.count(",”") for block in article.blocks
    )
    said = sum(
        sentence.spoken.count(',"') + sentence.spoken.count(",”")
        for block in segment_article(article)
        for sentence in block.sentences
    )
    assert closing_commas >= 3 and said == closing_commas
