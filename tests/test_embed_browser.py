"""The embed on a publisher's page that is not made for it, in a real Chromium.

The page below has what real news pages have around a story: a menu of links,
a breadcrumb that repeats the headline, a share bar, a photo caption and an ad
between paragraphs, a quote, a list and a "most read" box that repeats the
headline again. The embed must find the story without being told where it is,
mark only what is being read, and leave the page's layout alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from harness.browser import PageProblems, chromium, get_json, narrate, publisher_site
from harness.webserver import running_server
from tests.conftest import SEED_ARTICLE

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
expect.set_options(timeout=15_000)

STORY = """
<p>The harbour lights were switched on again last night after two years of repairs, and the
whole quay came out to see them.</p>
<div class="photo"><img alt="" width="40" height="30"
src="data:image/gif;base64,R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==">
<p class="caption">The harbour lights at dusk, seen from the old pier.</p></div>
<p>Residents gathered on the quay to watch the lamps glow one after another, from the fish
market to the lighthouse.</p>
<div class="ad-slot"><span>Advertisement</span><a href="/shop">Buy our harbour lights calendar
today and save on shipping to the old town.</a></div>
<h2>A long restoration</h2>
<p>Engineers replaced every cable and restored the glass by hand, piece by piece, <b>through</b>
two wet winters.</p>
<blockquote><p>It feels like the town has its evening back, said one fisherman who has worked
the quay for forty years.</p></blockquote>
<ul><li>Forty lamps were restored in the workshop behind the station.</li>
<li>Twelve new posts replaced the ones the storm of last March had bent.</li></ul>
"""
LAST = """<p class="last">The council says the lights will stay on every night until the end of
winter, and longer if the town wants them.</p>"""
MENU_ITEMS = """News Town Harbour Sport Weather Lights Culture People Opinion Letters Archive
Ferries Fishing Markets Schools Council Police Health Business Travel Food Music Books Film
Theatre Gardens History Obituaries Puzzles Contact"""
MENU = "".join(f'<li><a href="/{name.lower()}">{name}</a></li>' for name in MENU_ITEMS.split())
FURNITURE = (".menu", ".crumbs", ".share", ".photo", ".ad-slot", ".side", ".foot")


def publisher_page(server: str, embed_attributes: str = "", story: str = STORY + LAST) -> str:
    """Return a news page with the embed's tag (``embed_attributes`` added to it)."""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Harbour lights return to the old town | The Daily Quay</title>
<meta property="og:title" content="Harbour lights return to the old town">
<meta property="og:site_name" content="The Daily Quay">
<style>.collapsed {{ display: none }} p {{ margin: 0 0 1em }}</style></head>
<body><div class="top"><ul class="menu">{MENU}</ul></div>
<div class="crumbs"><a href="/">Home</a> › <a href="/town">Town</a> ›
<span>Harbour lights return to the old town</span></div>
<div class="page"><div class="main">
<h1>Harbour lights return to the old town</h1>
<div class="share"><a href="#">Share</a> <a href="#">Tweet</a> <a href="#">Email</a></div>
<div class="story">{story}</div></div>
<div class="side"><h3>Most read</h3><ol><li><a href="/a">Harbour lights return to the old
town</a></li><li><a href="/b">A new ferry for the islands</a></li></ol></div></div>
<div class="foot"><p>The Daily Quay, all the news from the harbour since 1887.</p></div>
<script src="{server}/embed.js"{embed_attributes} async></script>
</body></html>"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Run the real server (eSpeak NG keeps these tests about the page, not the voice)."""
    cache = tmp_path_factory.mktemp("embed") / "cache"
    cache.mkdir()
    with running_server(
        cache,
        env={"LISTEN_WORKERS": "2", "LISTEN_VOICE": "pyttsx3:gmw/en-us"},
        args=("--seed", str(SEED_ARTICLE)),
    ) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Start one Chromium for the whole module."""
    with chromium() as launched:
        yield launched


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


def play_until_mapped(page: Page) -> dict[str, Any]:
    """Press play, wait for the finished file and its timings mapped; return the narration."""
    maps = page.evaluate("performance.getEntriesByName('listen-map').length")
    with page.expect_response(
        lambda r: r.url.endswith("/api/narrations") and r.request.method == "POST", timeout=60_000
    ) as created:
        page.locator("listen-story button.play").click()
    narration: dict[str, Any] = created.value.json()
    page.wait_for_function(
        """([audio, maps]) => audio.src.includes('/audio.mp3') && Number.isFinite(audio.duration)
            && performance.getEntriesByName('listen-map').length > maps""",
        arg=[page.locator("listen-story audio").element_handle(), maps],
        timeout=60_000,
    )
    return narration


def jump(page: Page, seconds: float) -> list[dict[str, Any]]:
    """Pause at ``seconds`` and return the marked elements (text, and furniture they are in)."""
    marked: list[dict[str, Any]] = page.locator("listen-story audio").evaluate(
        """async (audio, [seconds, furniture]) => {
          audio.pause();
          const seeked = new Promise((done) => {
            audio.addEventListener("seeked", done, { once: true });
          });
          audio.currentTime = seconds;
          await seeked;
          await new Promise((done) => setTimeout(done, 50));
          return [...document.querySelectorAll("[data-listen-reading]")].map((el) => ({
            tag: el.localName, text: el.textContent.replace(/\\s+/g, " ").trim(),
            furniture: furniture.filter((selector) => el.closest(selector)),
          }));
        }""",
        [seconds, list(FURNITURE)],
    )
    return marked


def block_starts(server: str, narration: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the narration's timed blocks."""
    blocks: list[dict[str, Any]] = get_json(server + narration["timings_url"])["blocks"]
    return blocks


LAYOUT = """() => [...document.body.querySelectorAll('*')]
  .filter((el) => el.localName !== 'listen-story')
  .map((el) => { const box = el.getBoundingClientRect();
    return [el.localName, Math.round(box.x), Math.round(box.y), Math.round(box.width),
            Math.round(box.height)]; })"""


def test_embed_without_a_selector_finds_the_story_after_its_headline(
    page: Page, server: str
) -> None:
    with publisher_site({"/story.html": publisher_page(server).encode()}) as site:
        page.goto(site + "/story.html")
        host = page.locator("listen-story")
        expect(host.locator("button.play")).to_contain_text("Listen to this story ·")
        # Just before the story's first paragraph, after the headline and its share bar.
        assert host.evaluate("h => h.nextElementSibling.className") == "story"
        assert host.evaluate("h => h.previousElementSibling.className") == "share"
        assert page.locator("listen-story").count() == 1
        h1_box = page.locator("h1").bounding_box()
        host_box = host.bounding_box()
        first_box = page.locator(".story p").first.bounding_box()
        assert h1_box and host_box and first_box
        assert h1_box["y"] + h1_box["height"] <= host_box["y"]
        assert host_box["y"] + host_box["height"] <= first_box["y"]


def test_embed_marks_what_is_read_and_never_the_furniture_nor_moves_it(
    page: Page, server: str
) -> None:
    with publisher_site({"/story.html": publisher_page(server).encode()}) as site:
        page.goto(site + "/story.html")
        page.locator("listen-story button.play").wait_for()
        narration = play_until_mapped(page)
        elements = page.evaluate("document.body.querySelectorAll('*').length")
        layout = page.evaluate(LAYOUT)
        blocks = block_starts(server, narration)
        assert [b["kind"] for b in blocks][:2] == ["title", "paragraph"]
        for block in blocks:
            marked = jump(page, block["start_ms"] / 1000 + 0.05)
            assert marked, f"nothing marked while reading {block['text']!r}"
            assert all(not m["furniture"] for m in marked), marked
            text = " ".join(m["text"] for m in marked)
            assert " ".join(block["text"].split()) in text, (block["text"], marked)
            expected_tag = {"title": "h1", "heading": "h2", "list_item": "li"}.get(block["kind"])
            if expected_tag:
                assert [m["tag"] for m in marked] == [expected_tag]
            # The highlight paints; it never moves, wraps or adds anything in the page.
            assert page.evaluate(LAYOUT) == layout
            assert page.evaluate("document.body.querySelectorAll('*').length") == elements
        background = page.locator("[data-listen-reading]").evaluate(
            "el => getComputedStyle(el).backgroundColor"
        )
        assert background not in ("rgba(0, 0, 0, 0)", "rgb(255, 255, 255)")


@pytest.mark.parametrize("way", ["", ' data-article="body"', ' data-article=".main"'])
def test_embed_sends_the_whole_page_so_every_selector_gives_one_narration(
    browser: Browser, server: str, way: str
) -> None:
    made = narrate(server, {"html": publisher_page(server)})
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    problems = PageProblems(page)
    with publisher_site({"/story.html": publisher_page(server, way).encode()}) as site:
        page.goto(site + "/story.html")
        page.locator("listen-story button.play").wait_for()
        narration = play_until_mapped(page)
        assert narration["id"] == made["id"]
        middle = block_starts(server, narration)[len(block_starts(server, narration)) // 2]
        marked = jump(page, middle["start_ms"] / 1000 + 0.05)
        assert " ".join(middle["text"].split()) in " ".join(m["text"] for m in marked)
    context.close()
    assert not problems.errors, problems.errors


def test_embed_marks_paragraphs_shown_or_added_after_load(page: Page, server: str) -> None:
    # Half the story behind "read more" (in the page, hidden by a class), and the last
    # paragraph arriving later, as lazy loading does; the narration was made in advance.
    made = narrate(server, {"html": publisher_page(server)})
    story = f"""{STORY.replace("<h2>", '<div class="more collapsed"><h2>', 1)}</div>
<button class="read-more" onclick="document.querySelector('.more').classList.remove('collapsed')">
Read more</button>"""
    html = publisher_page(server, f' data-narration="{made["id"]}"', story=story)
    later = LAST.replace("\n", " ")
    html = html.replace(
        "</body>",
        f"<script>window.loadTheRest = () => document.querySelector('.story')"
        f".insertAdjacentHTML('beforeend', '{later}');</script></body>",
    )
    with publisher_site({"/story.html": html.encode()}) as site:
        page.goto(site + "/story.html")
        page.locator("listen-story button.play").click()
        audio = page.locator("listen-story audio")
        page.wait_for_function(
            "a => a.src.includes('/audio.mp3') && Number.isFinite(a.duration)",
            arg=audio.element_handle(),
        )
        blocks = block_starts(server, made)
        hidden = next(b for b in blocks if b["text"] == "A long restoration")
        last = blocks[-1]
        page.wait_for_timeout(500)  # the timings are mapped once the file plays
        assert jump(page, hidden["start_ms"] / 1000 + 0.05) == []
        assert jump(page, last["start_ms"] / 1000 + 0.05) == []
        page.locator("button.read-more").click()
        page.wait_for_timeout(1000)  # changes are looked at after 400 ms
        marked = jump(page, hidden["start_ms"] / 1000 + 0.05)
        assert [m["tag"] for m in marked] == ["h2"]
        page.evaluate("window.loadTheRest()")
        page.wait_for_timeout(1000)
        marked = jump(page, last["start_ms"] / 1000 + 0.05)
        assert marked and "end of winter" in marked[0]["text"]
        assert page.locator("p.last[data-listen-reading]").count() == 1


def test_embed_gives_no_player_to_a_page_without_a_story(browser: Browser, server: str) -> None:
    # An application shell whose content has not been rendered: nothing to read.
    html = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>App</title>
</head><body><div id="app"><img alt="" src="data:,"></div>
<script src="{server}/embed.js" async></script></body></html>"""
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    with publisher_site({"/index.html": html.encode()}) as site:
        with page.expect_response(lambda r: r.url.endswith("/api/extract")) as answer:
            page.goto(site + "/index.html")
        assert answer.value.status == 422
        page.wait_for_timeout(500)
        assert page.locator("listen-story").count() == 0
    context.close()
    assert not errors
