"""The player page, the index and the publishers' embed, in a real Chromium."""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from harness.browser import (
    PageProblems,
    chromium,
    get_json,
    narrate,
    post_json,
    publisher_site,
    screenshot,
    wait_for_time,
)
from harness.webserver import running_server, serving_page
from tests.conftest import ROOT, SEED_ARTICLE

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
expect.set_options(timeout=15_000)  # CI machines are shared; a slow frame is not a failure

SEED_TEXT = SEED_ARTICLE.read_text(encoding="utf-8")
EMBED_JS = ROOT / "service" / "web" / "static" / "embed.js"
AXE_JS = Path(__import__("axe_playwright_python").__file__).parent / "axe.min.js"
MARKUP = "<script>alert(1)</script> <img src=x onerror=alert(1)>"
XSS_ARTICLE = (
    f"Breaking {MARKUP} news\n\n"
    f"The first paragraph quotes {MARKUP} as plain words, nothing more.\n\n"
    "The second paragraph is calm and says nothing odd at all.\n"
)
PUBLISHER_ARTICLE = """
<h1>Harbour lights return to the old town</h1>
<p class="byline">By Ada Lovelace</p>
<p>The harbour lights were switched on again last night after two years of repairs.</p>
<figure><figcaption>Photo: the harbour at dusk.</figcaption></figure>
<p>Residents gathered on the quay to watch the lamps glow one after another.</p>
<h2>A long restoration</h2>
<p>Engineers replaced every cable and restored the glass by hand, piece by piece.</p>
<blockquote><p>It feels like the town has its evening back, said one fisherman.</p></blockquote>
<p>The council says the lights will stay on every night until the end of winter.</p>
"""
READING = re.compile(r"\bis-reading\b")
HOSTILE_CSS = """
button { display: none !important; }
* { color: red !important; font-family: serif !important; }
audio, input, select { visibility: hidden !important; }
p { background: white !important; }
"""


# --- fixtures ---------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Run the real server with the sample article and an article full of markup as seeds."""
    folder = tmp_path_factory.mktemp("player")
    xss_seed = folder / "markup-in-text.txt"
    xss_seed.write_text(XSS_ARTICLE, encoding="utf-8")
    cache = folder / "cache"
    cache.mkdir()
    with running_server(
        cache,
        # eSpeak NG (hundreds of times real time) keeps these tests about the page, not the voice.
        env={"LISTEN_WORKERS": "2", "LISTEN_VOICE": "pyttsx3:gmw/en-us"},
        args=("--seed", str(SEED_ARTICLE), "--seed", str(xss_seed)),
    ) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Start one Chromium for the whole module."""
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def seed_narration(server: str) -> dict[str, Any]:
    """Return the finished narration of the sample article."""
    return narrate(server, {"text": SEED_TEXT})


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """Open a desktop-sized page; fail the test on a script error or a dialog."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    opened = context.new_page()
    problems = PageProblems(opened)
    opened.set_default_timeout(20_000)
    yield opened
    context.close()
    assert not problems.dialogs, problems.dialogs
    assert not problems.errors, problems.errors


def audio_state(page: Page, selector: str = "#audio") -> dict[str, Any]:
    """Return the audio element's playback state."""
    state: dict[str, Any] = page.locator(selector).evaluate(
        """audio => ({time: audio.currentTime, paused: audio.paused, rate: audio.playbackRate,
                      error: audio.error && audio.error.code, ready: audio.readyState,
                      src: audio.currentSrc, duration: audio.duration})"""
    )
    return state


def open_player(page: Page, server: str, narration: dict[str, Any]) -> None:
    """Open a finished narration's player and wait for its timings."""
    page.goto(server + narration["player_url"])
    page.wait_for_selector("#story-body.has-timings", state="attached")


def paragraph_starts(server: str, narration: dict[str, Any]) -> list[tuple[int, float]]:
    """Return (block index, start in seconds) of every paragraph."""
    timings = get_json(server + narration["timings_url"])
    return [
        (b["index"], b["start_ms"] / 1000) for b in timings["blocks"] if b["kind"] == "paragraph"
    ]


# --- the index and the player ---------------------------------------------------


def test_index_paste_seed_then_play(page: Page, server: str) -> None:
    page.goto(server + "/")
    expect(page.locator(".story-list")).to_contain_text("NATO assures")
    expect(page.locator("#voice option")).not_to_have_count(1)  # filled from /api/voices
    screenshot(page, "index-desktop", full_page=True)
    page.fill("#content", SEED_TEXT)
    page.click("#narrate-button")
    page.wait_for_url("**/listen/*")
    play = page.locator("#play")
    expect(play).to_contain_text("Listen ·")
    expect(play).to_contain_text("min")
    play.click()
    wait_for_time(page, 1.0)
    state = audio_state(page)
    assert state["error"] is None
    assert state["ready"] >= 2
    assert not state["paused"]
    expect(play).to_have_text("Pause")
    page.wait_for_selector("#story-body .block.is-reading")
    screenshot(page, "player-desktop")


def test_player_streams_while_synthesis_runs_then_switches_to_the_file(
    page: Page, server: str
) -> None:
    from harness.corpus import article_text

    # long enough (minutes of audio, seconds of synthesis) to be still running when the page opens
    text = article_text(8000, seed=int(time.time() * 1000) % 100_000)
    created = post_json(server + "/api/narrations", {"text": text})
    page.goto(server + created["player_url"])
    data = page.locator("#narration-data").text_content() or ""
    assert '"status": "done"' not in data and '"status":"done"' not in data
    expect(page.locator("#status")).to_contain_text("parts ready")
    page.locator("#audio").evaluate(
        """audio => {
             window.streamTime = 0;
             window.fileSeek = null;
             audio.addEventListener('timeupdate', () => {
               if (audio.currentSrc.endsWith('/stream.mp3')) window.streamTime = audio.currentTime;
             });
             audio.addEventListener('seeked', () => {
               if (audio.currentSrc.endsWith('/audio.mp3')) window.fileSeek ??= audio.currentTime;
             });
           }"""
    )
    page.click("#play")
    wait_for_time(page, 0.5)
    assert audio_state(page)["src"].endswith("/stream.mp3")
    page.wait_for_function("() => window.fileSeek !== null", timeout=60_000)
    stream_time, file_seek = page.evaluate("() => [window.streamTime, window.fileSeek]")
    assert stream_time > 0.5
    assert abs(file_seek - stream_time) < 1.0  # the file goes on where the stream was
    wait_for_time(page, file_seek + 0.3)
    state = audio_state(page)
    assert state["error"] is None and not state["paused"]
    assert state["src"].endswith("/audio.mp3")
    expect(page.locator("#download")).not_to_have_attribute("aria-disabled", "true")
    expect(page.locator("#status")).to_be_empty()


def test_player_highlight_follows_playback_and_click_seeks(
    page: Page, server: str, seed_narration: dict[str, Any]
) -> None:
    starts = paragraph_starts(server, seed_narration)
    assert len(starts) >= 6
    open_player(page, server, seed_narration)
    index, start_s = starts[2]
    page.locator("#audio").evaluate("(audio, t) => { audio.currentTime = t; }", start_s - 0.8)
    page.click("#play")
    previous = page.locator(f'[data-block="{starts[1][0]}"]')
    expect(previous).to_have_class(READING)
    reading = page.locator(f'[data-block="{index}"]')
    expect(reading).to_have_class(READING)
    assert audio_state(page)["time"] >= start_s - 0.05
    expect(reading.locator(".sentence.is-reading")).to_have_count(1)
    expect(previous).not_to_have_class(READING)

    page.locator("#audio").evaluate(
        """audio => {
             window.seekedAt = null;
             audio.addEventListener('seeked', () => { window.seekedAt ??= audio.currentTime; });
           }"""
    )
    fifth = page.locator("#story-body p.block").nth(4)
    fifth_index = int(fifth.get_attribute("data-block") or -1)
    fifth_start = dict(starts)[fifth_index]
    fifth.click(position={"x": 2, "y": 4})  # on its first word: where the paragraph starts
    page.wait_for_function("() => window.seekedAt !== null")
    seeked_at = page.evaluate("() => window.seekedAt")
    assert abs(seeked_at - fifth_start) <= 0.3
    expect(fifth).to_have_class(READING)


# A word's range in the player page: the word's offsets are into the narration's text;
# the sentence's own element holds the text from the sentence's start.
WORD_BOX_JS = """([block, sentence, word]) => {
  const element = document.querySelector(
    `[data-block="${block.index}"] [data-sentence="${sentence.index}"]`);
  element.scrollIntoView({block: "center"});
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  let at = 0;
  const range = document.createRange();
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const start = word.start_char - sentence.start_char - at;
    const end = word.end_char - sentence.start_char - at;
    if (start >= 0 && start <= node.data.length) range.setStart(node, start);
    if (end >= 0 && end <= node.data.length) { range.setEnd(node, end); break; }
    at += node.data.length;
  }
  const box = range.getBoundingClientRect();
  return {text: range.toString(), x: box.x + box.width / 2, y: box.y + box.height / 2};
}"""
MARKED_WORD_JS = """() => {
  const audio = document.getElementById("audio");
  let marked = null;
  let inSentence = false;
  const highlight = window.CSS && CSS.highlights && CSS.highlights.get("listen-word");
  if (highlight) {
    for (const range of highlight) {
      marked = range.toString();
      const sentence = document.querySelector(".sentence.is-reading");
      inSentence = Boolean(sentence && sentence.contains(range.startContainer));
    }
  } else {
    const word = document.querySelector(".word.is-reading");
    marked = word && word.textContent;
    inSentence = Boolean(word && word.closest(".sentence.is-reading"));
  }
  return {time: audio.currentTime, marked, inSentence};
}"""


def _words_heard(timings: dict[str, Any]) -> list[tuple[float, float, str, int]]:
    """Return (start s, end s, text, block index) of every word, in time order."""
    return sorted(
        (w["start_ms"] / 1000, w["end_ms"] / 1000, w["text"], b["index"])
        for b in timings["blocks"]
        for s in b["sentences"]
        for w in s["words"]
    )


def _check_marked_word_follows_audio(page: Page, words: list[tuple[float, float, str, int]]) -> int:
    """Sample the marked word while playing; return how many samples named a word."""
    starts = [w[0] for w in words]
    checked = 0
    for _ in range(16):
        page.wait_for_timeout(130)
        state = page.evaluate(MARKED_WORD_JS)
        now = state["time"]
        if min(abs(now - start) for start in starts) < 0.04:
            continue  # at a boundary the frame may show either word
        current = max((w for w in words if w[0] <= now), key=lambda w: w[0])
        assert state["marked"] == current[2], (now, state, current)
        assert state["inSentence"], state
        checked += 1
    return checked


def test_player_marks_the_word_being_read_and_a_word_click_seeks_there(
    page: Page, server: str, seed_narration: dict[str, Any]
) -> None:
    timings = get_json(server + seed_narration["timings_url"])
    words = _words_heard(timings)
    paragraphs = [b for b in timings["blocks"] if b["kind"] == "paragraph"]
    open_player(page, server, seed_narration)
    body = page.locator("#story-body")
    html_before = body.inner_html()
    box_before = body.bounding_box()
    page.locator("#audio").evaluate(
        "(audio, t) => { audio.currentTime = t; }", paragraphs[1]["start_ms"] / 1000
    )
    page.click("#play")
    wait_for_time(page, paragraphs[1]["start_ms"] / 1000 + 0.3)
    assert _check_marked_word_follows_audio(page, words) >= 6
    # the mark changes no markup and moves nothing
    assert body.inner_html().replace(" is-reading", "").replace(
        ' aria-current="true"', ""
    ) == html_before.replace(" is-reading", "").replace(' aria-current="true"', "")
    box_after = body.bounding_box()
    assert box_before and box_after
    assert (box_after["width"], box_after["height"]) == (box_before["width"], box_before["height"])

    # a click on a word in another paragraph seeks to that word (paused, so that the page
    # does not scroll to follow the reading between finding the word and clicking it)
    page.locator("#audio").evaluate("audio => audio.pause()")
    page.wait_for_timeout(600)
    block = paragraphs[3]
    sentence = block["sentences"][-1]
    word = sentence["words"][len(sentence["words"]) // 2]
    where = page.evaluate(WORD_BOX_JS, [block, sentence, word])
    assert where["text"] == word["text"]
    page.locator("#audio").evaluate(
        """audio => {
             window.seekedAt = null;
             audio.addEventListener('seeked', () => { window.seekedAt ??= audio.currentTime; });
           }"""
    )
    page.mouse.click(where["x"], where["y"])
    page.wait_for_function("() => window.seekedAt !== null")
    assert abs(page.evaluate("() => window.seekedAt") - word["start_ms"] / 1000) <= 0.05
    page.wait_for_function(
        "(text) => { const h = CSS.highlights.get('listen-word');"
        " return [...h].some((r) => r.toString() === text); }",
        arg=word["text"],
    )


def test_player_marks_words_without_the_highlight_api_in_place(
    browser: Browser, server: str, seed_narration: dict[str, Any]
) -> None:
    timings = get_json(server + seed_narration["timings_url"])
    words = _words_heard(timings)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    problems = PageProblems(page)
    open_player(page, server, seed_narration)
    with_api = page.locator("#story-body").bounding_box()
    page.add_init_script("delete window.Highlight;")  # a browser without the API
    open_player(page, server, seed_narration)
    spans = page.locator("article .word")  # the title and byline too
    assert spans.count() == len(words)
    assert page.locator("#story-body").bounding_box() == with_api  # the spans move nothing
    first = next(b for b in timings["blocks"] if b["kind"] == "paragraph")
    page.locator("#audio").evaluate(
        "(audio, t) => { audio.currentTime = t; }", first["start_ms"] / 1000
    )
    page.click("#play")
    wait_for_time(page, first["start_ms"] / 1000 + 0.3)
    assert _check_marked_word_follows_audio(page, words) >= 6
    target = page.locator("#story-body .word").nth(40)
    expected = next(w for w in words if w[2] == target.text_content())
    target.click()
    page.wait_for_function(
        "(text) => document.querySelector('.word.is-reading')?.textContent === text",
        arg=expected[2],
    )
    context.close()
    assert not problems.errors, problems.errors


def test_index_and_player_play_a_sample_of_the_chosen_voice(
    page: Page, server: str, seed_narration: dict[str, Any]
) -> None:
    page.goto(server + "/")
    hear = page.locator("#hear")
    expect(hear).to_be_visible()
    expect(hear).to_be_disabled()  # "best for the language" is no one voice to hear
    page.select_option("#voice", "pyttsx3:gmw/en-us")
    with page.expect_response(lambda r: "/preview.mp3" in r.url) as sent:
        hear.click()
    assert sent.value.status == 303
    assert "rate=175" in sent.value.url
    page.wait_for_function("() => document.querySelector('#hear').textContent === 'Stop'")
    expect(hear).to_have_text("Hear it", timeout=20_000)  # the sample played to its end

    open_player(page, server, seed_narration)
    expect(page.locator("#voice option")).not_to_have_count(1)  # filled from /api/voices
    assert page.locator("#voice").input_value() == seed_narration["voice"]
    with page.expect_response(lambda r: "/preview.mp3" in r.url):
        page.click("#hear")
    expect(page.locator("#hear")).to_have_text("Stop")
    page.click("#hear")
    expect(page.locator("#hear")).to_have_text("Hear it")


def word_being_read(timings: dict[str, Any], seconds: float) -> dict[str, Any]:
    """The word that started last by `seconds`, inside the sentence and block that did."""

    def last_started(items: list[dict[str, Any]]) -> dict[str, Any]:
        return [item for item in items if item["start_ms"] / 1000 <= seconds][-1]

    block = last_started(sorted(timings["blocks"], key=lambda b: b["start_ms"]))
    return last_started(last_started(block["sentences"])["words"])


def test_player_switches_voice_and_keeps_the_place_in_the_text(
    page: Page, server: str, seed_narration: dict[str, Any]
) -> None:
    timings = get_json(server + seed_narration["timings_url"])
    block = [b for b in timings["blocks"] if b["kind"] == "paragraph"][2]
    word = block["sentences"][0]["words"][4]
    open_player(page, server, seed_narration)
    page.locator("#audio").evaluate(
        "(audio, t) => { audio.currentTime = t; }", word["start_ms"] / 1000 + 0.02
    )
    page.click("#play")
    wait_for_time(page, word["start_ms"] / 1000 + 0.05)
    paused_s = page.locator("#audio").evaluate(
        "audio => { audio.pause(); return audio.currentTime; }"
    )
    page.wait_for_timeout(100)
    # Playback may have reached the next word before the pause: the place to keep is the
    # word being read when it stopped, found as the player finds it.
    word = word_being_read(timings, paused_s)
    others = get_json(server + "/api/voices?language=en")["voices"]
    other = next(v["id"] for v in others if v["id"] != seed_narration["voice"])
    page.select_option("#voice", other)
    page.wait_for_url(lambda url: seed_narration["id"] not in url, timeout=60_000)
    new_id = page.url.split("/listen/")[1].split("#")[0]
    page.wait_for_selector("#story-body.has-timings", state="attached", timeout=60_000)
    assert "#at=" not in page.url  # the place was taken, and the address is clean again
    again = get_json(f"{server}/api/narrations/{new_id}/timings.json")
    assert again["text"] == timings["text"]
    assert {b["voice"] for b in again["blocks"]} == {other}
    same = next(
        w
        for b in again["blocks"]
        for s in b["sentences"]
        for w in s["words"]
        if w["start_char"] == word["start_char"]
    )
    page.wait_for_function(
        "(t) => Math.abs(document.querySelector('#audio').currentTime - t) < 0.05",
        arg=same["start_ms"] / 1000,
    )
    expect(page.locator("#voice")).to_have_value(other)
    expect(page.locator("#resume")).to_be_hidden()


def test_browser_track_reads_the_captions_with_word_timestamps(
    page: Page, server: str, seed_narration: dict[str, Any]
) -> None:
    timings = get_json(server + seed_narration["timings_url"])
    sentences = [s for b in timings["blocks"] for s in b["sentences"]]
    open_player(page, server, seed_narration)
    cues = page.evaluate(
        """async (url) => {
          const video = document.createElement("video");
          const track = document.createElement("track");
          track.kind = "captions";
          track.src = url;
          track.default = true;
          video.append(track);
          document.body.append(video);
          track.track.mode = "hidden";
          await new Promise((done, fail) => {
            track.addEventListener("load", done);
            track.addEventListener("error", () => fail(new Error("track refused")));
          });
          return [...track.track.cues].map((cue) => ({
            start: cue.startTime, end: cue.endTime, text: cue.text,
            stamps: [...cue.getCueAsHTML().childNodes].filter((n) => n.nodeType === 7)
              .map((n) => n.data),
          }));
        }""",
        seed_narration["captions_url"],
    )
    assert len(cues) == len(sentences)
    for cue, sentence in zip(cues, sentences, strict=True):
        assert abs(cue["start"] - sentence["start_ms"] / 1000) < 0.002
        assert re.sub(r"<[^>]+>", "", cue["text"]) == " ".join(sentence["text"].split())
        # each word after the first starts with a timestamp the browser understood
        assert len(cue["stamps"]) >= len(sentence["words"]) - 2, (cue, sentence["text"])


def test_player_speed_skip_and_download(
    page: Page, server: str, seed_narration: dict[str, Any]
) -> None:
    open_player(page, server, seed_narration)
    page.select_option("#speed", "1.5")
    assert audio_state(page)["rate"] == 1.5
    page.click("#play")
    wait_for_time(page, 0.2)
    page.click("#play")
    expect(page.locator("#play")).not_to_have_text("Pause")
    page.locator("#audio").evaluate("audio => { audio.currentTime = 30; }")
    page.click("#forward")
    assert audio_state(page)["time"] == pytest.approx(45, abs=0.3)
    page.click("#back")
    page.click("#back")
    assert audio_state(page)["time"] == pytest.approx(15, abs=0.3)
    assert audio_state(page)["rate"] == 1.5

    href = page.locator("#download").get_attribute("href") or ""
    assert href.endswith("download=1")
    answer = page.request.get(server + href)
    assert answer.status == 200
    assert answer.headers["content-type"] == "audio/mpeg"
    assert answer.headers["content-disposition"].startswith("attachment;")
    assert ".mp3" in answer.headers["content-disposition"]
    with page.expect_download() as download_info:
        page.click("#download")
    assert download_info.value.suggested_filename.endswith(".mp3")


def test_player_keyboard_tab_reaches_play_and_space_toggles(
    page: Page, server: str, seed_narration: dict[str, Any]
) -> None:
    open_player(page, server, seed_narration)
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == "play":
            break
    assert page.evaluate("() => document.activeElement.id") == "play"
    outline = page.locator("#play").evaluate("b => getComputedStyle(b).outlineStyle")
    assert outline != "none"  # a visible focus ring
    page.keyboard.press("Space")
    wait_for_time(page, 0.3)
    assert not audio_state(page)["paused"]
    page.keyboard.press("Space")
    page.wait_for_function("() => document.querySelector('#audio').paused")
    page.locator("body").focus()
    page.evaluate("() => document.activeElement.blur()")
    before = audio_state(page)["time"]
    page.keyboard.press("ArrowRight")
    assert audio_state(page)["time"] == pytest.approx(before + 5, abs=0.3)
    slider = page.get_by_role("slider", name="Position in the story")
    expect(slider).to_be_visible()
    slider.focus()
    page.keyboard.press("ArrowLeft")
    assert audio_state(page)["time"] == pytest.approx(before, abs=0.3)

    # Shift+arrows go a sentence at a time
    starts = sorted(
        s["start_ms"] / 1000
        for b in get_json(server + seed_narration["timings_url"])["blocks"]
        for s in b["sentences"]
    )
    i = next(i for i in range(5, len(starts) - 1) if starts[i + 1] - starts[i] > 3)
    page.evaluate("() => document.activeElement.blur()")
    page.locator("#audio").evaluate("(audio, t) => { audio.currentTime = t; }", starts[i] + 2)
    page.keyboard.press("Shift+ArrowRight")
    assert audio_state(page)["time"] == pytest.approx(starts[i + 1], abs=0.02)
    page.keyboard.press("Shift+ArrowLeft")  # just begun: to the sentence before
    assert audio_state(page)["time"] == pytest.approx(starts[i], abs=0.02)
    page.locator("#audio").evaluate("(audio, t) => { audio.currentTime = t; }", starts[i] + 2)
    page.keyboard.press("Shift+ArrowLeft")  # well into it: to its start
    assert audio_state(page)["time"] == pytest.approx(starts[i], abs=0.02)


def test_player_remembers_position_and_sets_media_session(
    page: Page, server: str, seed_narration: dict[str, Any]
) -> None:
    open_player(page, server, seed_narration)
    page.locator("#audio").evaluate("audio => { audio.currentTime = 42; }")
    page.click("#play")
    wait_for_time(page, 42.2)
    page.click("#play")
    session = page.evaluate(
        "() => ({title: navigator.mediaSession.metadata.title,"
        " artwork: navigator.mediaSession.metadata.artwork.length})"
    )
    assert session["title"].startswith("NATO assures")
    assert session["artwork"] == 1
    page.reload()
    expect(page.locator("#resume")).to_be_visible()
    expect(page.locator("#resume-at")).to_have_text("0:42")
    page.click("#resume-yes")
    wait_for_time(page, 42.1)


def test_player_fits_a_phone_screen(
    browser: Browser, server: str, seed_narration: dict[str, Any]
) -> None:
    for width in (375, 320):
        context = browser.new_context(
            viewport={"width": width, "height": 760}, is_mobile=True, has_touch=True
        )
        phone = context.new_page()
        open_player(phone, server, seed_narration)
        assert phone.evaluate("() => document.documentElement.scrollWidth") <= width
        expect(phone.locator("#play")).to_be_visible()
        expect(phone.locator("#download")).to_be_in_viewport()
        if width == 375:
            phone.locator("#seek").tap()
            phone.wait_for_function("() => document.querySelector('#audio').currentTime > 1")
            screenshot(phone, "player-375")
        context.close()


def test_player_without_javascript_plays_and_form_redirects(browser: Browser, server: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(server + "/")
    page.fill("#content", "A form without script.\n\nIt still makes a narration to listen to.")
    page.fill("#title", "No script")
    with page.expect_response(lambda r: r.url.endswith("/narrate")) as posted:
        page.click("#narrate-button")
    assert posted.value.status == 303
    page.wait_for_url("**/listen/*")
    audio = page.locator("audio#audio")
    expect(audio).to_be_visible()
    assert audio.get_attribute("controls") is not None
    expect(page.locator("h1")).to_have_text("No script")
    context.close()


def test_form_sent_from_another_site_is_refused(browser: Browser, server: str) -> None:
    forged = (
        f'<form method="post" action="{server}/narrate">'
        '<input type="hidden" name="content" value="Forged.\n\nSent from elsewhere.">'
        '<button id="send">Send</button></form>'
    ).encode()
    with serving_page(forged) as site:
        page = browser.new_page()
        page.goto(site + "/story")
        with page.expect_response(lambda r: r.url.endswith("/narrate")) as posted:
            page.click("#send")
        assert posted.value.status == 403
        expect(page.locator("body")).to_contain_text("another site")
        page.close()


def test_embed_snippets_name_the_address_the_reader_reached(page: Page, server: str) -> None:
    page.goto(server + "/")
    snippet = page.locator("code[data-embed]")
    expect(snippet).to_contain_text(f'src="{server}/embed.js"')


def test_markup_in_articles_shows_as_text(page: Page, server: str) -> None:
    created = post_json(server + "/api/narrations", {"text": XSS_ARTICLE, "title": MARKUP})
    answer = page.goto(server + created["player_url"])
    assert answer is not None
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    expect(page.locator("h1#story-title")).to_have_text(MARKUP)
    expect(page.locator("#story-body")).to_contain_text(MARKUP)
    assert page.locator("img[src=x]").count() == 0
    assert page.evaluate("() => document.scripts.length") == 2  # player.js and the JSON data

    index = page.goto(server + "/")
    assert index is not None and "script-src 'self'" in index.headers["content-security-policy"]
    expect(page.locator(".story-list")).to_contain_text("<script>alert(1)</script>")
    assert page.locator("img[src=x]").count() == 0

    refused = page.request.post(server + "/narrate", form={"content": "x", "url": "http://x"})
    assert refused.status == 400
    page.set_content(refused.text())
    assert page.locator("img[src=x]").count() == 0


def test_unknown_narration_is_a_page(browser: Browser, server: str) -> None:
    page = browser.new_page()
    answer = page.goto(server + "/listen/" + "0" * 32)
    assert answer is not None and answer.status == 404
    assert answer.headers["content-type"].startswith("text/html")
    expect(page.locator("h1")).to_have_text("Not Found")
    expect(page.get_by_role("link", name="Narrate another article")).to_be_visible()
    page.close()


def test_player_has_no_serious_accessibility_violation(
    browser: Browser, server: str, seed_narration: dict[str, Any]
) -> None:
    # axe is injected by the test, so this one page lets a test script past the CSP.
    context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    open_player(page, server, seed_narration)
    page.click("#play")
    wait_for_time(page, 0.3)
    results = []
    for url in (server + seed_narration["player_url"], server + "/"):
        if page.url != url:
            page.goto(url)
        page.add_script_tag(path=str(AXE_JS))
        found = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
        results += [
            f"{url}: {v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
            for v in found["violations"]
            if v["impact"] in ("serious", "critical")
        ]
    context.close()
    assert not results, "\n".join(results)


# --- the embed --------------------------------------------------------------------


def test_embed_script_as_served_is_small_and_cached(server: str) -> None:
    with urllib.request.urlopen(server + "/embed.js", timeout=30) as response:
        served = response.read()
        etag = response.headers["ETag"]
        assert response.headers["Content-Type"].startswith("text/javascript")
        assert "max-age=300" in response.headers["Cache-Control"]
    assert len(served) < 20 * 1024
    assert len(served) < EMBED_JS.stat().st_size  # comments and indentation stay in the source
    assert b"mapBlocks" in served and b"\n//" not in served
    again = urllib.request.Request(server + "/embed.js", headers={"If-None-Match": etag})
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(again, timeout=30)
    answer.value.close()
    assert answer.value.code == 304


def test_embed_plays_and_highlights_inside_a_hostile_publisher_page(
    page: Page, server: str
) -> None:
    html = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Harbour lights</title><style>{HOSTILE_CSS}</style></head>
<body><header><p>The Daily Quay</p></header>
<article class="story">{PUBLISHER_ARTICLE}</article>
<script src="{server}/embed.js" data-article="article.story" async></script>
</body></html>"""
    with publisher_site({"/story.html": html.encode()}) as site:
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto(site + "/story.html")
        button = page.locator("listen-story button.play")
        expect(button).to_be_visible()
        expect(button).to_contain_text("Listen to this story ·")
        color = button.evaluate("b => getComputedStyle(b).color")
        assert color == "rgb(255, 255, 255)"
        host_box = page.locator("listen-story").bounding_box()
        article_box = page.locator("article.story").bounding_box()
        assert host_box is not None and article_box is not None
        assert host_box["y"] + host_box["height"] <= article_box["y"] + 1
        button.click()
        wait_for_time(page, 0.5, selector="listen-story audio")
        page.wait_for_selector("article.story [data-listen-reading]", timeout=60_000)
        audio = page.locator("listen-story audio")
        page.wait_for_function(
            "a => Number.isFinite(a.duration) && a.duration > 5", arg=audio.element_handle()
        )
        audio.evaluate("a => { a.currentTime = a.duration * 0.6; }")
        reading = page.locator("article.story [data-listen-reading]")
        expect(page.locator("article.story p[data-listen-reading]")).to_have_count(1)
        expect(reading).to_have_count(1)
        background = reading.evaluate("el => getComputedStyle(el).backgroundColor")
        assert background != "rgb(255, 255, 255)"
        expect(page.locator("listen-story input.seek")).to_be_visible()
        page.locator("listen-story select.speed").select_option("1.5")
        assert audio.evaluate("a => a.playbackRate") == 1.5
        assert audio.evaluate("a => a.error") is None
        expect(page.locator("listen-story a.dl")).to_have_attribute(
            "href", re.compile(r"download=1$")
        )
        screenshot(page, "embed-desktop")
    foreign = [url for url in requests if not url.startswith((site, server))]
    assert not foreign


def test_embed_works_under_a_strict_publisher_csp(page: Page, server: str) -> None:
    # No inline style or script on the host page, and Trusted Types: the embed's shadow
    # styles, its markup and its highlight must need none of them.
    policy = (
        f"default-src 'self'; script-src {server}; connect-src {server}; media-src {server}; "
        "style-src 'self'; img-src 'self'; require-trusted-types-for 'script'; trusted-types 'none'"
    )
    html = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Strict</title><link rel="stylesheet" href="/hostile.css"></head>
<body><article>{PUBLISHER_ARTICLE}</article>
<script src="{server}/embed.js" async></script></body></html>"""
    pages = {"/strict.html": html.encode(), "/hostile.css": HOSTILE_CSS.encode()}
    with publisher_site(pages, {"Content-Security-Policy": policy}) as site:
        page.goto(site + "/strict.html")
        button = page.locator("listen-story button.play")
        expect(button).to_be_visible()
        assert button.evaluate("b => getComputedStyle(b).color") == "rgb(255, 255, 255)"
        assert button.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(31, 79, 209)"
        button.click()
        wait_for_time(page, 0.3, selector="listen-story audio")
        reading = page.locator("article [data-listen-reading]")
        expect(reading).to_have_count(1, timeout=60_000)
        background = reading.evaluate("el => getComputedStyle(el).backgroundColor")
        assert background not in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)")


def test_embed_highlights_a_narration_made_in_advance(page: Page, server: str) -> None:
    made = narrate(server, {"html": f"<article>{PUBLISHER_ARTICLE}</article>"})
    html = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Made before</title></head>
<body><main><article>{PUBLISHER_ARTICLE}</article></main>
<script src="{server}/embed.js" data-article="main article"
  data-narration="{made["id"]}" async></script>
</body></html>"""
    with publisher_site({"/made.html": html.encode()}) as site:
        page.goto(site + "/made.html")
        minutes = max(1, round(made["duration_ms"] / 60_000))
        expect(page.locator("listen-story button.play")).to_contain_text(f"· {minutes} min")
        page.locator("listen-story button.play").click()
        paragraphs = page.locator("article p")
        wait_for_time(page, 0.2, selector="listen-story audio")
        page.locator("listen-story audio").evaluate(
            "(a, t) => { a.currentTime = t; }", made["duration_ms"] / 2000
        )
        page.wait_for_selector("article [data-listen-reading]")
        assert page.locator("article [data-listen-reading]").count() == 1
        assert paragraphs.count() >= 5


def test_embed_keeps_hostile_ids_and_markup_in_a_publisher_page_as_text(
    page: Page, server: str
) -> None:
    escaped = MARKUP.replace("<", "&lt;").replace(">", "&gt;")
    hostile_id = '"><img src=x onerror=alert(1)>'
    html = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Markup as words</title></head>
<body><article class="story"><h1>Breaking {escaped} news</h1>
<p class="byline">By {escaped}</p>
<p>The first paragraph quotes {escaped} as plain words, nothing more than that.</p>
<p>The second paragraph is calm and says nothing odd at all, as before.</p></article>
<script src="{server}/embed.js" data-article="article.story"
  data-narration='{hostile_id}' async></script></body></html>"""
    with publisher_site({"/markup.html": html.encode()}) as site:
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto(site + "/markup.html")
        button = page.locator("listen-story button.play")
        expect(button).to_be_visible()
        button.click()
        wait_for_time(page, 0.3, selector="listen-story audio")
        page.wait_for_selector("article.story [data-listen-reading]", timeout=60_000)
        expect(page.locator("article.story p").nth(1)).to_contain_text(MARKUP)
    assert page.locator("img[src=x]").count() == 0  # also inside the embed's shadow root
    assert page.locator("listen-story script").count() == 0
    assert not [url for url in requests if "onerror" in url or "%3Cimg" in url]
