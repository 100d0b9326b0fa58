"""Time how long the embed takes to find the story on the largest real pages.

Each of the development set's largest pages (by markup, and by article length)
is served, its scripts removed, from another origin with the embed's tag and
no ``data-article``, and opened in Chromium. The embed asks the service what it
would read, aligns those words with the page's text and places its player; it
records the mapping as the ``listen-map`` User Timing entry. Side by side, in
the same page, the baseline: reading the page's text once as the browser lays
it out (``document.body.innerText``), which any script that looks at a page's
words pays.

The set is read at run time from ``../shared/aeb-dev`` beside the repository,
or from ``$AEB_DEV_DIR``; it is never copied into the repository.

    python -m bench.embed [--repeat 5] [--pages 8]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from bench.results import write_section
from harness.browser import chromium, publisher_site
from harness.devset import DevPage, dev_pages, with_embed
from harness.webserver import running_server

MEASURE = """async () => {
  const mapped = performance.getEntriesByName("listen-map")[0].duration;
  const started = performance.now();
  const words = document.body.innerText.split(/\\s+/).length;
  const read = performance.now() - started;
  return [mapped, read, words, document.getElementsByTagName("*").length];
}"""


def largest(pages: list[DevPage], count: int) -> list[DevPage]:
    """Return the pages with the most markup and those with the longest articles."""
    by_markup = sorted(pages, key=lambda page: -len(page.html))[: (count + 1) // 2]
    by_words = sorted(pages, key=lambda page: -len(page.truth.split()))
    chosen = list(by_markup)
    for page in by_words:
        if len(chosen) >= count:
            break
        if page not in chosen:
            chosen.append(page)
    return chosen


def main(argv: list[str] | None = None) -> None:
    """Measure the mapping on the largest pages and write the figures to RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="page loads per page (median)")
    parser.add_argument("--pages", type=int, default=8, help="how many of the largest pages")
    args = parser.parse_args(argv)
    pages = largest(dev_pages(), args.pages)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        cache = Path(folder) / "cache"
        cache.mkdir()
        env = {"LISTEN_WORKERS": "1", "LISTEN_RATE_LIMIT_PER_MINUTE": "100000"}
        with running_server(cache, env=env) as server:
            served = {f"/{page.name}.html": with_embed(page, server, "none") for page in pages}
            with publisher_site(served) as site, chromium() as browser:
                for page in pages:
                    mapped, read = [], []
                    for _ in range(args.repeat):
                        context = browser.new_context(viewport={"width": 1280, "height": 900})
                        context.route(
                            "**/*",
                            lambda route: (
                                route.continue_()
                                if route.request.url.startswith((site, server))
                                else route.abort()
                            ),
                        )
                        tab = context.new_page()
                        tab.goto(f"{site}/{page.name}.html", wait_until="domcontentloaded")
                        tab.locator("listen-story button.play").wait_for(timeout=60_000)
                        map_ms, read_ms, words, elements = tab.evaluate(MEASURE)
                        mapped.append(map_ms)
                        read.append(read_ms)
                        context.close()
                    row = (
                        page.name[:12],
                        elements,
                        words,
                        len(page.truth.split()),
                        statistics.median(mapped),
                        statistics.median(read),
                    )
                    rows.append(row)
                    print(f"{row[0]} map {row[4]:.1f} ms, innerText {row[5]:.1f} ms", flush=True)
    lines = [
        "## The embed finding the story (`python -m bench.embed`)",
        "",
        f"The {len(rows)} largest pages of the development set (by markup, then by article "
        f"length), no `data-article`; Chromium, median of {args.repeat} page loads.",
        "",
        "| page | elements | words on the page | article words | mapping (ms) "
        "| `innerText` (ms) | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, elements, words, article, map_ms, read_ms in rows:
        ratio = map_ms / read_ms if read_ms else float("inf")
        lines.append(
            f"| {name} | {elements:,} | {words:,} | {article:,} | {map_ms:.1f} | {read_ms:.1f} "
            f"| {ratio:.1f}x |"
        )
    medians = statistics.median(r[4] for r in rows), statistics.median(r[5] for r in rows)
    lines += [
        "",
        f"Median over pages: mapping {medians[0]:.1f} ms, `innerText` {medians[1]:.1f} ms; "
        f"worst mapping {max(r[4] for r in rows):.1f} ms.",
    ]
    write_section("embed", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
