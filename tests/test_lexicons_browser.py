"""The lexicon editor page in a real Chromium: edit, preview, import, export, keys, axe."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from harness.browser import PageProblems, chromium, get_json, screenshot, wait_for_time
from harness.webserver import running_server

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
expect.set_options(timeout=30_000)  # previews are narrations made on a shared machine

AXE_JS = Path(__import__("axe_playwright_python").__file__).parent / "axe.min.js"
KEY = "editor-key-0123456789"
PLS = """<?xml version="1.0" encoding="UTF-8"?>
<lexicon version="1.0" xmlns="http://www.w3.org/2005/01/pronunciation-lexicon"
         alphabet="ipa" xml:lang="en-US">
  <lexeme><grapheme>GIF</grapheme><alias>jiff</alias></lexeme>
  <lexeme><grapheme>Paganini</grapheme><phoneme>pɑɡəˈniːni</phoneme></lexeme>
</lexicon>
"""
DIGITS = re.compile(r"^\d+$")
"""A preview's duration in its row, once known (not the shown text: "with" is in "without")."""
ESPEAK = {"LISTEN_WORKERS": "1", "LISTEN_VOICE": "pyttsx3:gmw/en-us"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    cache = tmp_path_factory.mktemp("editor") / "cache"
    cache.mkdir()
    with running_server(cache, env=ESPEAK) as base:
        yield base


def open_editor(browser: Browser, base: str) -> tuple[Page, PageProblems]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = PageProblems(page)  # a script blocked by the page's CSP is a console error
    page.goto(base + "/lexicons")
    return page, problems


def unexpected(problems: PageProblems) -> list[str]:
    """Return the page's script errors, less the browser's note on each refused request."""
    return [e for e in problems.errors if not e.startswith("Failed to load resource")]


def test_editor_adds_a_rule_and_plays_it_with_and_without(browser: Browser, server: str) -> None:
    page, problems = open_editor(browser, server)
    expect(page.locator("#no-lexicons")).to_be_visible()
    page.get_by_role("button", name="New lexicon").click()
    page.locator("#lexicon-name").fill("news")
    page.get_by_label("Sites").fill("example.com, news.example.org")
    page.get_by_label("Match, rule 1").fill("NATO")
    page.get_by_label("Say, rule 1").fill("North Atlantic Treaty Organization")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#page-status")).to_have_text("Saved news: 1 rules.")
    expect(page.get_by_role("button", name="Edit news")).to_be_visible()
    stored = get_json(server + "/api/lexicons/news")
    assert stored["rules"] == [{"match": "NATO", "say": "North Atlantic Treaty Organization"}]
    assert stored["sites"] == ["example.com", "news.example.org"]

    row = page.locator("#rule-rows tr").first
    row.get_by_role("button", name="Play rule 1 without the rule").click()
    expect(row).to_have_attribute("data-without-ms", DIGITS)
    wait_for_time(page, 0.2, "#preview-audio")  # the preview really plays
    row.get_by_role("button", name="Play rule 1 with the rule").click()
    expect(row).to_have_attribute("data-with-ms", DIGITS)
    without_ms = int(row.get_attribute("data-without-ms") or 0)
    with_ms = int(row.get_attribute("data-with-ms") or 0)
    expect(row.locator(".durations")).to_have_text(
        re.compile(r"^without [\d.]+ s · with [\d.]+ s$")
    )
    # "North Atlantic Treaty Organization" is eleven syllables where "NATO" is two
    assert with_ms > without_ms + 800, (without_ms, with_ms)
    assert page.locator("#preview-audio").evaluate("a => a.src").endswith(".mp3")
    screenshot(page, "lexicon-editor", full_page=True)

    # a second rule, edited in the table and saved: the stored lexicon follows the table
    page.get_by_role("button", name="Add a rule").click()
    page.get_by_label("Match, rule 2").fill(r"v(\d+)")
    page.get_by_label("Say, rule 2").fill(r"version \1")
    page.get_by_label("Regular expression, rule 2").check()
    page.get_by_label("Ignore case, rule 2").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#page-status")).to_have_text("Saved news: 2 rules.")
    rules = get_json(server + "/api/lexicons/news")["rules"]
    assert rules[1] == {
        "match": r"v(\d+)",
        "say": r"version \1",
        "regex": True,
        "ignore_case": True,
    }
    # a regex rule plays a sample the editor gives
    page.get_by_label("Sample text, rule 2").fill("Try v2 today.")
    page.locator("#rule-rows tr").nth(1).get_by_role("button", name="with the rule").click()
    expect(page.locator("#rule-rows tr").nth(1)).to_have_attribute("data-with-ms", DIGITS)

    # a catastrophic pattern is refused with the service's own words, nothing is stored
    page.get_by_label("Match, rule 2").fill("(a+)+$")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#page-error")).to_be_visible()
    assert "regular expression" in (page.locator("#page-error").text_content() or "")
    assert get_json(server + "/api/lexicons/news")["rules"] == rules
    assert unexpected(problems) == [] and problems.dialogs == []
    page.close()


def test_editor_imports_pls_and_exports_json_and_pls(
    browser: Browser, server: str, tmp_path: Path
) -> None:
    page, problems = open_editor(browser, server)
    page.locator("#import-name").fill("brands")
    source = tmp_path / "brands.pls"
    source.write_text(PLS, encoding="utf-8")
    page.get_by_label("JSON or W3C PLS file").set_input_files(str(source))
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#page-status")).to_have_text("Imported brands: 2 rules.")
    expect(page.get_by_label("Match, rule 2")).to_have_value("Paganini")
    expect(page.get_by_label("IPA, rule 2")).to_have_value("pɑɡəˈniːni")

    with page.expect_download() as json_download:
        page.get_by_role("button", name="Export JSON").click()
    exported = json.loads(Path(json_download.value.path()).read_text(encoding="utf-8"))
    assert json_download.value.suggested_filename == "brands.json"
    assert exported["rules"][0] == {"match": "GIF", "say": "jiff"}
    with page.expect_download() as pls_download:
        page.get_by_role("button", name="Export PLS").click()
    written = Path(pls_download.value.path()).read_text(encoding="utf-8")
    assert "<grapheme>Paganini</grapheme>" in written and "pɑɡəˈniːni" in written

    # the page asks before it deletes; the answer is yes (PageProblems says no to dialogs)
    page.evaluate(
        "() => { window.confirm = (asked) => asked.startsWith('Delete the lexicon brands?'); }"
    )
    page.get_by_role("button", name="Delete").click()
    expect(page.locator("#page-status")).to_have_text("Deleted brands.")
    expect(page.get_by_role("button", name="Edit brands")).to_have_count(0)
    assert unexpected(problems) == []
    page.close()


def test_editor_has_no_serious_accessibility_violation(browser: Browser, server: str) -> None:
    # axe is injected by the test, so this one context lets a test script past the CSP.
    context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(server + "/lexicons")
    page.get_by_role("button", name="New lexicon").click()
    page.get_by_role("button", name="Add a rule").click()
    page.add_script_tag(path=str(AXE_JS))
    found = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in found["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    context.close()
    assert not serious, "\n".join(serious)


def test_editor_asks_for_a_key_and_keeps_it_in_memory_only(
    browser: Browser, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    with running_server(cache, env={**ESPEAK, "LISTEN_API_KEYS": KEY}) as base:
        page, problems = open_editor(browser, base)
        expect(page.get_by_label("API key")).to_be_focused()
        page.get_by_label("API key").fill("not-the-key")
        page.get_by_role("button", name="Use this key").click()
        expect(page.locator("#page-error")).to_have_text("that API key is not accepted")
        page.get_by_label("API key").fill(KEY)
        page.get_by_role("button", name="Use this key").click()
        expect(page.locator("#no-lexicons")).to_be_visible()
        page.get_by_role("button", name="New lexicon").click()
        page.locator("#lexicon-name").fill("keyed")
        page.get_by_label("Match, rule 1").fill("GIF")
        page.get_by_label("Say, rule 1").fill("jiff")
        page.get_by_role("button", name="Save").click()
        expect(page.locator("#page-status")).to_have_text("Saved keyed: 1 rules.")
        row = page.locator("#rule-rows tr").first
        row.get_by_role("button", name="Play rule 1 with the rule").click()
        expect(row).to_have_attribute("data-with-ms", DIGITS)
        # the key is in no cookie and no storage: a reload asks for it again
        cookies = page.context.cookies()
        stored = page.evaluate("() => localStorage.length + sessionStorage.length")
        assert cookies == [] and stored == 0
        assert KEY not in page.content()
        page.reload()
        expect(page.get_by_label("API key")).to_be_focused()
        expect(page.get_by_role("button", name="Edit keyed")).to_have_count(0)
        assert unexpected(problems) == []
        page.close()
