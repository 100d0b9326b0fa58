"""Chapters: the rule, the JSON chapters, and the same chapters in the MP3 as ffprobe reads them."""

from __future__ import annotations

from pathlib import Path

import pytest
from mutagen.id3 import ID3

from service.audio.chapters import (
    CHAPTER_WORDS,
    MAX_CHAPTERS,
    Chapter,
    ChapterMark,
    chapter_marks,
    chapters_document,
    manifest_chapters,
    timed,
)
from service.audio.mp3 import id3_tag
from service.config import Settings
from service.engines.pool import EnginePool
from service.pipeline.narrate import Narrator, audio_object
from service.pipeline.prepare import prepare_plan
from service.store import open_store
from service.text.load import load_article
from tests.audio_tools import ffprobe_chapters
from tests.conftest import SEEDS


def _paragraph(index: int, words: int) -> str:
    filler = " ".join(f"word{index}x{n}" for n in range(words - 3))
    return f"Paragraph {index} says {filler}."


def test_chapters_title_then_each_heading() -> None:
    parts = [
        ("title", "Harbour town votes"),
        ("byline", "Jane Doe"),
        ("paragraph", _paragraph(0, 40)),
        ("heading", "Years of warnings"),
        ("paragraph", _paragraph(1, 900)),
        ("heading", "  What   comes next "),
        ("list_item", "one"),
    ]
    assert chapter_marks("Harbour town votes", parts) == (
        ChapterMark(0, "Harbour town votes"),
        ChapterMark(3, "Years of warnings"),
        ChapterMark(5, "What comes next"),
    )


def test_chapters_without_headings_every_few_hundred_words_at_a_paragraph() -> None:
    parts = [("title", "Long read"), ("byline", "A. Writer")]
    parts += [("paragraph", _paragraph(i, 100)) for i in range(12)]  # 1,200 words
    marks = chapter_marks("Long read", parts)
    assert [m.block_index for m in marks] == [0, 5, 8, 11]
    # each chapter holds at least CHAPTER_WORDS words, except what is left at the end
    assert marks[1].title == "Paragraph 3 says word3x0 word3x1 word3x2 word3x3 word3x4…"
    assert all(parts[m.block_index][0] == "paragraph" for m in marks[1:])
    sizes = [
        b - a for a, b in zip([2] + [m.block_index for m in marks[1:]], [5, 8, 11], strict=False)
    ]
    assert all(size * 100 >= CHAPTER_WORDS for size in sizes)


def test_chapters_no_stub_at_the_end_and_one_chapter_for_a_short_article() -> None:
    parts = [("title", "T")] + [("paragraph", _paragraph(i, 100)) for i in range(4)]
    # 400 words: a boundary after 300 would leave 100 words (< half a chapter) alone
    assert [m.block_index for m in chapter_marks("T", parts)] == [0]
    short = [("title", "Note"), ("paragraph", "Bring gloves.")]
    assert chapter_marks("Note", short) == (ChapterMark(0, "Note"),)
    untitled = [("paragraph", "Bring gloves and a bag if you have them, we have spares too.")]
    assert chapter_marks("", untitled)[0].title == "Bring gloves and a bag if you have…"


def test_chapters_long_titles_are_cut_and_too_many_are_thinned() -> None:
    heading = "word " * 60
    parts = [("title", "T"), ("heading", heading), ("paragraph", "x")]
    title = chapter_marks("T", parts)[1].title
    assert len(title) <= 120 and title.endswith("…")
    many = [("title", "T")] + [("heading", f"H{i}") for i in range(1, 600)]
    marks = chapter_marks("T", many)
    assert len(marks) == MAX_CHAPTERS
    assert marks[0].block_index == 0 and marks[-1].block_index == 599
    assert [m.block_index for m in marks] == sorted({m.block_index for m in marks})


def test_chapters_timed_from_block_starts() -> None:
    marks = (ChapterMark(0, "T"), ChapterMark(2, "H"))
    assert timed(marks, [40, 900, 5000], 9000) == (Chapter(0, 5000, "T"), Chapter(5000, 9000, "H"))


def test_chapters_id3_tag_size_does_not_depend_on_the_times() -> None:
    fields = {"title": "T", "artist": "A", "album": None, "language": "en"}
    untimed = [Chapter(0, 0, "Tîtle ü"), Chapter(0, 0, "Second")]
    done = [Chapter(0, 1_234_567, "Tîtle ü"), Chapter(1_234_567, 4_000_000_000, "Second")]
    assert len(id3_tag(**fields, chapters=untimed)) == len(id3_tag(**fields, chapters=done))
    with pytest.raises(ValueError, match="255 chapters at most"):
        id3_tag(**fields, chapters=[Chapter(0, 0, "c")] * 256)


def _narrate(settings: Settings, pool: EnginePool, source: Path) -> tuple[Path, dict]:
    article = load_article(str(source), settings.input)
    plan = prepare_plan(article, settings)
    result = Narrator(settings, open_store(settings.store), pool).narrate(plan)
    path = open_store(settings.store).local_path(audio_object(plan.narration_id, "mp3"))
    assert path is not None
    return path, result.manifest


@pytest.mark.parametrize("name", ["markdown-post.md", "no-headings"])
@pytest.mark.slow
def test_chapters_mp3_carries_the_json_chapters(
    settings: Settings, engine_pool: EnginePool, tmp_path: Path, name: str
) -> None:
    if name == "no-headings":
        source = tmp_path / "long.txt"
        body = "\n\n".join(
            " ".join(
                f"In part {i}, sentence {j} tells of harbour {i * 7 + j} and its {j + 2} boats."
                for j in range(6)
            )
            for i in range(8)
        )
        source.write_text(f"A long read without headings\n\n{body}\n")
    else:
        source = SEEDS / name
    path, manifest = _narrate(settings, engine_pool, source)
    chapters = manifest_chapters(manifest)
    document = chapters_document(manifest)
    assert document["version"] == "1.2.0"
    assert document["title"] == manifest["title"]
    assert [c["title"] for c in document["chapters"]] == [c.title for c in chapters]
    assert [c["startTime"] for c in document["chapters"]] == [c.start_ms / 1000 for c in chapters]
    assert len(chapters) >= (3 if name == "markdown-post.md" else 2)
    assert chapters[0].start_ms == 0 and chapters[-1].end_ms == manifest["duration_ms"]
    starts = {b["start_ms"]: b for b in manifest["blocks"]}
    for chapter in chapters[1:]:  # each begins where its block does in the audio
        block = starts[chapter.start_ms]
        assert block["kind"] in ("heading", "paragraph")
        if name == "markdown-post.md":
            assert block["kind"] == "heading" and block["text"] == chapter.title
    # a player reading the file alone: ffprobe lists the same chapters, in order
    probed = ffprobe_chapters(path)
    assert probed == [(c.start_ms, c.end_ms, c.title) for c in chapters]
    tag = ID3(path)
    toc = tag["CTOC:toc"]
    assert toc.child_element_ids == [f"chp{i}" for i in range(len(chapters))]
    assert [tag[f"CHAP:chp{i}"].sub_frames["TIT2"].text[0] for i in range(len(chapters))] == [
        c.title for c in chapters
    ]
    assert manifest["audio"]["mp3"]["bytes"] == path.stat().st_size
