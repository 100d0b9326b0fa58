"""The embed on real publishers' pages, in a real Chromium.

Every page of the article extraction development set (read at run time from
``../shared/aeb-dev`` beside the repository, or ``$AEB_DEV_DIR``) is served,
its scripts removed, from another origin with the embed's tag added three ways:
without ``data-article``, with ``data-article="body"``, and with a selector for
the element that holds the article a person marked. Chromium presses play,
jumps to the middle of the audio, and the element marked as being read must
hold article text: the words being read, found in the marked article text.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import Browser, Route

from harness.browser import ARTIFACTS, chromium, get_json, publisher_site
from harness.devset import DevPage, dev_pages, with_embed, words
from harness.webserver import running_server

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("embed-pages")]

WAYS = ("none", "body", "article")
TARGET_SHARE = 0.9


def shingles(tokens: list[str], size: int = 4) -> Counter[str]:
    """Return the multiset of runs of ``size`` consecutive words."""
    return Counter(" ".join(tokens[i : i + size]) for i in range(len(tokens) - size + 1))


@dataclass
class Outcome:
    """What happened to one page one way."""

    page: str
    way: str
    passed: bool
    reason: str
    narration_id: str | None = None
    marked: str = ""
    wrong: list[str] = field(default_factory=list)
    """Moments when something else than the words being read was marked."""


def being_read(timings: dict[str, Any], at_s: float) -> str:
    """Return the text of the block being read at ``at_s`` seconds."""
    started = [b for b in timings["blocks"] if b["start_ms"] <= at_s * 1000 + 10]
    return str(started[-1]["text"]) if started else ""


def holds(marked: str, block_text: str) -> bool:
    """Tell whether the marked text holds at least half the words being read."""
    said = Counter(words(block_text))
    return sum((Counter(words(marked)) & said).values()) >= 0.5 * sum(said.values())


def judge(marked: str, block_text: str, truth: str) -> tuple[bool, str]:
    """Tell whether the marked text holds the words being read and is article text."""
    marked_words = words(marked)
    if not marked_words:
        return False, "nothing marked"
    if not holds(marked, block_text):
        return False, "the marked element does not hold the words being read"
    truth_words = words(truth)
    if len(marked_words) < 4:
        inside = set(marked_words) <= set(truth_words)
        return inside, "article text" if inside else "short text not in the article"
    marked_shingles = shingles(marked_words)
    share = sum((marked_shingles & shingles(truth_words)).values()) / sum(marked_shingles.values())
    if share < 0.5:
        return False, f"{share:.0%} of the marked text is article text"
    return True, "article text"


LAYOUT = """() => [...document.querySelectorAll('p, h1, h2, li')].slice(0, 400).map(el => {
  const box = el.getBoundingClientRect();
  return [Math.round(box.left + scrollX), Math.round(box.top + scrollY), Math.round(box.width)];
})"""
JUMP = """async ([audio, share]) => {
  audio.pause();
  const seeked = new Promise((done) => audio.addEventListener("seeked", done, { once: true }));
  audio.currentTime = audio.duration * share;
  await seeked;
  await new Promise((done) => setTimeout(done, 50));
  const marked = [...document.querySelectorAll("[data-listen-reading]")];
  return [audio.currentTime, marked.map((el) => el.innerText).join("\\n")];
}"""


def run_page(browser: Browser, site: str, server: str, page: DevPage, way: str) -> Outcome:
    """Open one page one way, play, jump to the middle, and judge what is marked."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    errors: list[str] = []

    def only_ours(route: Route) -> None:
        if route.request.url.startswith((site, server)):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", only_ours)
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    tab.on(
        "pageerror",
        lambda error: errors.append(str(error)) if "embed.js" in str(error.stack) else None,
    )
    try:
        tab.goto(f"{site}/{page.name}/{way}.html", wait_until="domcontentloaded")
        button = tab.locator("listen-story button.play")
        try:
            button.wait_for(timeout=30_000)
        except Exception:  # a missing player is this page's outcome
            return Outcome(page.name, way, False, "no player")
        maps_before = tab.evaluate("performance.getEntriesByName('listen-map').length")
        with tab.expect_response(
            lambda r: r.url.endswith("/api/narrations") and r.request.method == "POST",
            timeout=60_000,
        ) as created:
            button.click()
        narration = created.value.json()
        audio = tab.locator("listen-story audio").element_handle()
        tab.wait_for_function(
            """([a, n]) => a.src.includes('/audio.mp3') && Number.isFinite(a.duration)
                && performance.getEntriesByName('listen-map').length > n""",
            arg=[audio, maps_before],
            timeout=300_000,
        )
        layout = tab.evaluate(LAYOUT)  # the player open, the title or the first block marked
        timings = get_json(server + narration["timings_url"])
        wrong = []
        for share in (0.1, 0.3, 0.7, 0.9, 0.5):  # the middle last: its answer is the outcome
            at_s, marked = tab.evaluate(JUMP, [audio, share])
            said = being_read(timings, at_s)
            if marked and not holds(marked, said):
                wrong.append(f"at {share:.0%} marked {marked[:60]!r} reading {said[:60]!r}")
        passed, reason = judge(marked, said, page.truth)
        if layout != tab.evaluate(LAYOUT):
            passed, reason = False, "marking moved the page's elements"
        if errors:
            passed, reason = False, f"script error: {errors[0]}"
        return Outcome(page.name, way, passed, reason, narration["id"], marked[:200], wrong)
    finally:
        context.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Run the real server; every page picks the voice of its language."""
    cache = tmp_path_factory.mktemp("pages") / "cache"
    cache.mkdir()
    with running_server(
        cache, env={"LISTEN_WORKERS": "2", "LISTEN_RATE_LIMIT_PER_MINUTE": "100000"}
    ) as base:
        yield base


def test_embed_marks_article_text_on_real_pages_every_way(server: str) -> None:
    pages = dev_pages()
    served = {
        f"/{page.name}/{way}.html": with_embed(page, server, way) for page in pages for way in WAYS
    }
    outcomes: list[Outcome] = []
    with publisher_site(served) as site, chromium() as browser:
        for page in pages:
            for way in WAYS:
                outcomes.append(run_page(browser, site, server, page, way))
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "embed-pages.json").write_text(
        json.dumps([o.__dict__ for o in outcomes], indent=1, ensure_ascii=False), encoding="utf-8"
    )
    shares = {way: sum(o.passed for o in outcomes if o.way == way) / len(pages) for way in WAYS}
    failures = [f"{o.page[:12]} {o.way}: {o.reason}" for o in outcomes if not o.passed]
    print(f"share of pages marking article text: {shares}")
    assert all(share >= TARGET_SHARE for share in shares.values()), (shares, failures)
    # Never a menu, a caption or an ad: whatever is marked holds the words being read.
    assert not [o.wrong for o in outcomes if o.wrong], [(o.page, o.way, o.wrong) for o in outcomes]
    # Whatever data-article says, the embed sends the same page: the same narration.
    ids: dict[str, set[str]] = {}
    for outcome in outcomes:
        if outcome.narration_id:
            ids.setdefault(outcome.page, set()).add(outcome.narration_id)
    differing = {page: found for page, found in ids.items() if len(found) > 1}
    assert not differing, [_paragraphs_apart(server, outcomes, page) for page in differing]


def _paragraphs_apart(server: str, outcomes: list[Outcome], page: str) -> dict[str, Any]:
    """Say, for a page read into more than one narration, which paragraphs only some hold."""
    texts = {
        f"{o.way} {o.narration_id}": get_json(
            f"{server}/api/narrations/{o.narration_id}/timings.json"
        )["text"].split("\n\n")
        for o in outcomes
        if o.page == page and o.narration_id
    }
    everywhere = set.intersection(*(set(paragraphs) for paragraphs in texts.values()))
    return {
        "page": page,
        **{
            name: [p for p in paragraphs if p not in everywhere]
            for name, paragraphs in texts.items()
        },
    }
