"""Drive Debian's Chromium through Playwright, and serve a publisher's page on its own port."""

from __future__ import annotations

import http.server
import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]


@contextmanager
def chromium() -> Iterator[Browser]:
    """Launch the system Chromium (Playwright never downloads a browser here)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def screenshot(page: Page, name: str, *, full_page: bool = False) -> Path:
    """Save a screenshot as a test artifact and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


@contextmanager
def publisher_site(pages: dict[str, bytes], headers: dict[str, str] | None = None) -> Iterator[str]:
    """Serve ``pages`` (path -> HTML or CSS) on another loopback port: a different origin."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path.split("?")[0])
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            kind = "text/css" if self.path.endswith(".css") else "text/html"
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def post_json(url: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST JSON and return the JSON answer."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer: dict[str, Any] = json.load(response)
    return answer


def get_json(url: str) -> dict[str, Any]:
    """GET a JSON document."""
    with urllib.request.urlopen(url, timeout=30) as response:
        answer: dict[str, Any] = json.load(response)
    return answer


def narrate(base: str, body: dict[str, Any], timeout_s: float = 60) -> dict[str, Any]:
    """Create a narration through the API and wait until it is done."""
    created = post_json(base + "/api/narrations", body)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = get_json(base + created["status_url"])
        if status["status"] == "done":
            return status
        if status["status"] == "failed":
            raise AssertionError(f"narration failed: {status.get('error')}")
        time.sleep(0.1)
    raise AssertionError("narration did not finish in time")


class PageProblems:
    """Collect what should never happen on a page: dialogs and script errors."""

    def __init__(self, page: Page) -> None:
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", self._dialog)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", self._console)

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _console(self, message: ConsoleMessage) -> None:
        where = str(message.location.get("url", ""))
        if message.type == "error" and not where.endswith("/favicon.ico"):
            self.errors.append(f"{message.text} ({where})")


def wait_for_time(page: Page, seconds: float, selector: str = "#audio") -> None:
    """Wait until the audio (found through open shadow roots too) has played past ``seconds``."""
    audio = page.locator(selector).element_handle()
    page.wait_for_function(
        "([audio, seconds]) => audio.currentTime > seconds", arg=[audio, seconds]
    )
