"""Listening statistics from a real Chromium: a play-through counted, the dashboard drawn.

The player page and the embed report with ``navigator.sendBeacon``; a reader
who asks not to be tracked (Do Not Track, Global Privacy Control) sends nothing.
No answer sets a cookie.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request, Response, expect

from harness.browser import PageProblems, chromium, get_json, narrate, publisher_site, screenshot
from harness.webserver import running_server
from tests.conftest import SEEDS

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
expect.set_options(timeout=20_000)

ARTICLE = (SEEDS / "markdown-post.md").read_text(encoding="utf-8")
OTHER = (SEEDS / "short-note.txt").read_text(encoding="utf-8")
NOT_TRACKED = {
    "dnt": "Object.defineProperty(Navigator.prototype, 'doNotTrack', {get: () => '1'})",
    "gpc": "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    cache = tmp_path_factory.mktemp("listening") / "cache"
    cache.mkdir()
    env = {"LISTEN_WORKERS": "2", "LISTEN_VOICE": "pyttsx3:gmw/en-us"}
    with running_server(cache, env=env) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


class Traffic:
    """Every request and answer of a browser context: beacons sent, cookies set."""

    def __init__(self, context: BrowserContext) -> None:
        self.beacons: list[dict[str, Any]] = []
        self.set_cookies: list[str] = []
        context.on("request", self._request)
        context.on("response", self._response)

    def _request(self, request: Request) -> None:
        if request.url.endswith("/api/events") and request.method == "POST":
            assert "cookie" not in request.headers
            self.beacons.append(json.loads(request.post_data or "null"))

    def _response(self, response: Response) -> None:
        cookie = response.headers.get("set-cookie")
        if cookie:
            self.set_cookies.append(f"{response.url}: {cookie}")


def _context(browser: Browser, init_script: str | None = None) -> tuple[BrowserContext, Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    if init_script:
        context.add_init_script(init_script)
    page = context.new_page()
    page.set_default_timeout(60_000)
    return context, page


def _play_through(page: Page, audio_selector: str) -> None:
    """Play to the end at four times the speed (the speed change is reported too)."""
    audio = page.locator(audio_selector)
    page.wait_for_function("a => !a.paused && a.currentTime > 0", arg=audio.element_handle())
    audio.evaluate("a => { a.playbackRate = 4; }")
    page.wait_for_function("a => a.ended", arg=audio.element_handle(), timeout=120_000)


def _stats(server: str, narration_id: str, plays: int) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        body = get_json(f"{server}/api/narrations/{narration_id}/stats")
        if body["plays"] >= plays and body["completions"] >= plays:
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.2)


def test_player_play_through_shows_in_stats_and_on_the_dashboard(
    browser: Browser, server: str
) -> None:
    narration = narrate(server, {"markdown": ARTICLE})
    narration_id = narration["id"]
    blocks = get_json(server + narration["timings_url"])["blocks"]
    context, page = _context(browser)
    traffic = Traffic(context)
    problems = PageProblems(page)
    page.goto(server + narration["player_url"])
    page.wait_for_selector("#story-body.has-timings", state="attached")
    page.click("#play")
    _play_through(page, "#audio")
    stats = _stats(server, narration_id, 1)
    assert stats["plays"] == 1 and stats["completions"] == 1
    assert stats["quartiles"] == {"25": 1, "50": 1, "75": 1, "100": 1}
    assert stats["paragraphs"] == [1] * len(blocks)  # every spoken block reached once
    assert stats["speed_changes"] == 1
    assert stats["listened_s"] > 0
    kinds = {beacon["type"] for beacon in traffic.beacons}
    assert {"play", "progress", "paragraph", "speed"} <= kinds
    sessions = {beacon["session"] for beacon in traffic.beacons}
    assert len(sessions) == 1  # one page view, one random id

    # the dashboard draws it: the plays, the funnel at 100 %, every paragraph reached
    page.goto(f"{server}/dashboard?narration={narration_id}")
    expect(page.locator("#plays-total")).to_have_text("1")
    expect(page.locator("#completions-total")).to_have_text("1")
    for plot in ("#plot-plays svg", "#plot-funnel svg", "#plot-dropoff svg"):
        box = page.locator(plot).bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 60, plot
    dropoff = page.locator("#plot-dropoff svg")
    assert dropoff.locator("rect").count() >= len(blocks)
    expect(dropoff).to_contain_text(blocks[2]["text"].split()[0])
    expect(page.locator("#plot-funnel svg")).to_contain_text("100 %")
    screenshot(page, "dashboard-narration", full_page=True)
    context.close()
    assert not problems.errors, problems.errors
    assert not traffic.set_cookies, traffic.set_cookies


def test_embed_play_through_is_counted(browser: Browser, server: str) -> None:
    narration = narrate(server, {"text": OTHER})
    html = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Note</title>
</head><body><article class="story"><p>{OTHER}</p></article>
<script src="{server}/embed.js" data-article="article.story"
 data-narration="{narration["id"]}" async></script></body></html>"""
    with publisher_site({"/note.html": html.encode()}) as site:
        context, page = _context(browser)
        traffic = Traffic(context)
        page.goto(site + "/note.html")
        button = page.locator("listen-story button.play")
        expect(button).to_be_visible()
        page.wait_for_timeout(500)  # the narration's state arrives
        button.click()
        _play_through(page, "listen-story audio")
        stats = _stats(server, narration["id"], 1)
        context.close()
    assert stats["plays"] == 1 and stats["completions"] == 1
    assert {"play", "progress"} <= {beacon["type"] for beacon in traffic.beacons}
    assert not traffic.set_cookies, traffic.set_cookies


@pytest.mark.parametrize("signal", list(NOT_TRACKED))
@pytest.mark.parametrize("where", ["player", "embed"])
def test_do_not_track_and_gpc_send_nothing(
    browser: Browser, server: str, signal: str, where: str
) -> None:
    narration = narrate(server, {"text": f"{OTHER}\n\nRead for {signal} on the {where}."})
    context, page = _context(browser, NOT_TRACKED[signal])
    traffic = Traffic(context)
    if where == "player":
        page.goto(server + narration["player_url"])
        page.wait_for_selector("#story-body.has-timings", state="attached")
        page.click("#play")
        _play_through(page, "#audio")
    else:
        html = f"""<!doctype html><html><head><meta charset="utf-8"><title>x</title></head>
<body><article class="story"><p>{OTHER}</p></article><script src="{server}/embed.js"
 data-article="article.story" data-narration="{narration["id"]}" async></script></body></html>"""
        with publisher_site({"/x.html": html.encode()}) as site:
            page.goto(site + "/x.html")
            page.wait_for_timeout(500)
            page.locator("listen-story button.play").click()
            _play_through(page, "listen-story audio")
    page.evaluate("() => document.dispatchEvent(new Event('visibilitychange'))")
    context.close()
    assert traffic.beacons == []
    stats = get_json(f"{server}/api/narrations/{narration['id']}/stats")
    assert stats["plays"] == 0 and stats["listened_s"] == 0
