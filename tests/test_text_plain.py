"""Plain text and text pasted from web pages become clean articles."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.text.plain import article_from_plain

SEEDS = Path(__file__).resolve().parent.parent / "seeds"

NEWS_PASTE = """\
Skip to main content
Menu

City libraries extend their opening hours

By Jonas Weber
Updated Mar 3, 2024
Share
Photo: Library users at the central branch (Anna Kern)

All eleven city libraries will stay open until nine in the evening from April, the council said.

The change follows a survey in which two thirds of members said they could not visit before six.

What it costs

The longer hours will cost about 400,000 euros a year, paid from the culture budget.

- Three new librarians will be hired.
- Volunteers will run the reading clubs.

Advertisement
42 Comments
"""

WRAPPED_EMAIL = """\
Quarterly update from the garden committee

The committee met on Thursday to review the spring planting. Most of the
beds along the north fence are ready, but the soil near the shed needs more
compost before anything goes in.

We also agreed to buy a second water butt. If you can help carry it from
the station, please reply to this message.
"""


def test_plain_seed_medium_paste_reads_title_byline_and_body_once() -> None:
    article = article_from_plain((SEEDS / "nato-expansion-medium.txt").read_text("utf-8"))
    assert article.title == (
        "NATO assures that they will not stop their expansion at the request of Russia"
    )
    assert article.byline == "Cesar Romero"
    assert len(article.blocks) == 11
    kinds = [block.kind for block in article.blocks]
    assert kinds == ["paragraph"] * 5 + ["heading"] + ["paragraph"] * 5
    assert article.blocks[5].text == "I would continue the dialogue"
    assert article.blocks[0].text.startswith("The Secretary General")
    assert article.blocks[-1].text.startswith("Likewise, he reaffirmed")
    body = article.text
    assert body.count(article.title) == 1
    for chrome in ("Listen to this story", "2 min read", "Meeting of NATO, Russia"):
        assert chrome not in body


def test_plain_news_paste_drops_chrome_and_marks_heading_and_list() -> None:
    article = article_from_plain(NEWS_PASTE)
    assert article.title == "City libraries extend their opening hours"
    assert article.byline == "Jonas Weber"
    assert [(block.kind, block.text[:20]) for block in article.blocks] == [
        ("paragraph", "All eleven city libr"),
        ("paragraph", "The change follows a"),
        ("heading", "What it costs"),
        ("paragraph", "The longer hours wil"),
        ("list_item", "Three new librarians"),
        ("list_item", "Volunteers will run "),
    ]
    for chrome in ("Skip to", "Updated", "Share", "Photo", "Advertisement", "Comments"):
        assert chrome not in article.text


def test_plain_hard_wrapped_lines_are_joined_into_paragraphs() -> None:
    article = article_from_plain(WRAPPED_EMAIL)
    assert article.title == "Quarterly update from the garden committee"
    assert len(article.blocks) == 2
    assert "north fence are ready, but the soil near the shed" in article.blocks[0].text
    assert article.blocks[1].text.endswith("please reply to this message.")


def test_plain_short_note_has_title_and_two_paragraphs() -> None:
    article = article_from_plain((SEEDS / "short-note.txt").read_text("utf-8"))
    assert article.title == "Reminder for the volunteers"
    assert article.byline is None
    assert [block.text[:15] for block in article.blocks] == ["The beach clean", "If it rains, we"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("One line only, ending with a full stop.", ["One line only, ending with a full stop."]),
        ("Title\n\nA well-\nknown fact, joined.", ["A well-known fact, joined."]),
        ("Windows line ends\r\n\r\nwork the same way, too.", ["work the same way, too."]),
    ],
)
def test_plain_paragraph_rules(text: str, expected: list[str]) -> None:
    assert [block.text for block in article_from_plain(text).blocks] == expected


def test_plain_explicit_title_wins_and_is_not_read_twice() -> None:
    article = article_from_plain(
        "My title\n\nBody text of the note, with a full stop.", title="My title"
    )
    assert article.title == "My title"
    assert [block.text for block in article.blocks] == ["Body text of the note, with a full stop."]
