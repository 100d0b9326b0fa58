"""The input memo: a repeat of the same bytes and settings copies the file without planning."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from service.config import Settings
from service.library.export import narrate_to_files
from service.pipeline.memo import fingerprint, memo_key, memo_object, recall
from service.pipeline.objects import audio_object
from service.store import open_store
from service.text.source import read_source

FIRST = "The first story.\n\nIt has a short body paragraph about the harbour."
SECOND = "Another story.\n\nThis one is about the mountains and the snow."


@pytest.mark.slow
def test_a_repeat_is_found_by_its_bytes_and_copies_the_same_file(
    settings: Settings, tmp_path: Path
) -> None:
    article = tmp_path / "story.txt"
    article.write_text(FIRST, encoding="utf-8")
    made = narrate_to_files(str(article), settings, output=tmp_path / "a.mp3")
    assert not made.cached
    store = open_store(settings.store)
    key = memo_key(read_source(str(article), settings.input), settings)
    memo = recall(store, key)
    assert memo is not None and memo.narration_id == made.narration_id
    assert memo.duration_ms == made.duration_ms and memo.title == made.title
    again = narrate_to_files(str(article), settings, output=tmp_path / "b.mp3")
    assert again.cached and again.narration_id == made.narration_id
    assert (tmp_path / "b.mp3").read_bytes() == (tmp_path / "a.mp3").read_bytes()


@pytest.mark.slow
def test_the_record_decides_and_other_settings_or_bytes_miss_it(
    settings: Settings, tmp_path: Path
) -> None:
    first, second = tmp_path / "first.txt", tmp_path / "second.txt"
    first.write_text(FIRST, encoding="utf-8")
    second.write_text(SECOND, encoding="utf-8")
    one = narrate_to_files(str(first), settings, output=tmp_path / "1.mp3")
    two = narrate_to_files(str(second), settings, output=tmp_path / "2.mp3")
    store = open_store(settings.store)
    # Point the first input's record at the second narration: a repeat then copies that
    # one, which shows the repeat trusted the record instead of reading the article.
    key = memo_key(read_source(str(first), settings.input), settings)
    second_record = store.get(
        memo_object(memo_key(read_source(str(second), settings.input), settings))
    )
    assert second_record is not None
    store.delete(memo_object(key))  # objects are written once
    store.put(memo_object(key), second_record)
    swapped = narrate_to_files(str(first), settings, output=tmp_path / "3.mp3")
    assert swapped.narration_id == two.narration_id != one.narration_id
    slower = settings.replace(rate_wpm=150)
    assert memo_key(read_source(str(first), slower.input), slower) != key
    other = narrate_to_files(str(first), slower, output=tmp_path / "4.mp3")
    assert not other.cached and other.narration_id not in (one.narration_id, two.narration_id)


@pytest.mark.slow
def test_a_record_whose_audio_left_the_cache_is_made_again(
    settings: Settings, tmp_path: Path
) -> None:
    article = tmp_path / "story.txt"
    article.write_text(FIRST, encoding="utf-8")
    made = narrate_to_files(str(article), settings, output=tmp_path / "a.mp3")
    store = open_store(settings.store)
    store.delete(audio_object(made.narration_id, "mp3"))
    again = narrate_to_files(str(article), settings, output=tmp_path / "b.mp3")
    assert again.narration_id == made.narration_id
    assert (tmp_path / "b.mp3").read_bytes() == (tmp_path / "a.mp3").read_bytes()
    damaged_key = memo_key(read_source(str(article), settings.input), settings)
    store.delete(memo_object(damaged_key))
    store.put(memo_object(damaged_key), b"{not json")
    assert recall(store, damaged_key) is None
    assert narrate_to_files(str(article), settings, output=tmp_path / "c.mp3").cached
    repaired = recall(store, damaged_key)
    assert repaired is not None and repaired.narration_id == made.narration_id


def test_the_code_fingerprint_follows_sources_packages_and_voices(tmp_path: Path) -> None:
    package, site, voices = tmp_path / "pkg", tmp_path / "site", tmp_path / "voices"
    for folder in (package, site, voices):
        folder.mkdir()
    (package / "a.py").write_text("x = 1\n")
    (site / "lameenc-1.8.dist-info").mkdir()

    def now() -> str:
        return fingerprint(package, [str(site)], [voices])

    before = now()
    assert now() == before
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"compiled")
    assert now() == before  # compiling changes nothing
    (package / "a.py").write_text("x = 2\n")
    edited = now()
    assert edited != before
    (site / "lameenc-1.8.dist-info").rename(site / "lameenc-1.9.dist-info")
    upgraded = now()
    assert upgraded != edited
    (voices / "en_US-joe-medium.onnx").write_bytes(b"model")
    assert now() != upgraded
    stat = os.stat(package / "a.py")
    os.utime(package / "a.py", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert now() not in (before, edited, upgraded)


@pytest.mark.slow
def test_settings_that_do_not_change_the_audio_keep_the_memo(
    settings: Settings, tmp_path: Path
) -> None:
    article = tmp_path / "story.txt"
    article.write_text(FIRST, encoding="utf-8")
    made = narrate_to_files(str(article), settings, output=tmp_path / "a.mp3")
    source = read_source(str(article), settings.input)
    key = memo_key(source, settings)
    elsewhere = settings.replace(
        port=9999, host="0.0.0.0", api_keys="secret", threads=4, workers=1, queue_max=3,
        redis_url="redis://127.0.0.1:1/0", database_url="sqlite:////tmp/other.db",
        public_url="https://listen.example.com", segment_timeout_s=5.0, front="none",
    )  # fmt: skip
    assert memo_key(source, elsewhere) == key
    again = narrate_to_files(str(article), elsewhere, output=tmp_path / "b.mp3")
    assert again.cached and again.narration_id == made.narration_id
    # and every group that changes what is read or how it sounds misses it
    for change in (
        {"rate_wpm": 150},
        {"voice": "pyttsx3:gmw/en-gb-x-rp"},
        {"pause_paragraph_ms": 700},
        {"mp3_bitrate_kbps": 64},
        {"max_sentence_chars": 100},
        {"max_html_depth": 100},
    ):
        assert memo_key(source, settings.replace(**change)) != key, change


def test_memo_key_holds_the_lexicon_name_and_rules(settings: Settings, tmp_path: Path) -> None:
    from service.text.lexicon.model import parse_lexicon

    article = tmp_path / "story.txt"
    article.write_text(FIRST, encoding="utf-8")
    source = read_source(str(article), settings.input)
    rules = [{"match": "NATO", "say": "North Atlantic Treaty Organization"}]
    news = parse_lexicon(rules, "news")
    keys = {
        memo_key(source, settings),
        memo_key(source, settings, news.identity),
        memo_key(source, settings, parse_lexicon(rules, "other").identity),
        memo_key(
            source, settings, parse_lexicon([*rules, {"match": "x", "say": "y"}], "news").identity
        ),
    }
    assert len(keys) == 4
    assert memo_key(source, settings, parse_lexicon(rules, "news").identity) in keys
