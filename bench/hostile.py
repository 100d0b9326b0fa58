"""Time the worst inputs found: CPU seconds from the bytes of a request to a narration plan.

Each input is at or near a limit (10 MiB of input, or the tag, line, mark-up
or word limit it tests) and is crafted to cost far more than its size: one
element with a million attributes, nesting millions deep, ten megabytes of
one token, Markdown made of nothing but list items or emphasis marks...
Each runs in a fresh process, which reads it as the API does (bytes, decoded,
of the kind its content type names), checks its length and plans it
(``prepare_plan``: segmentation, spoken form, voice, keys); the CPU time of
that process (user + system) is what is reported, the median of ``--repeat``
runs. Synthesis is not included: its cost follows the words planned, which
the length limit bounds.

The baseline, run side by side, is real article pages from the development
set (``../shared/aeb-dev``, or ``$AEB_DEV_DIR``): the largest one, and all of
them read in turn.

    python -m bench.hostile [--repeat 3] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench.results import write_section
from harness.corpus import article_text
from harness.devset import dataset_dir

MIB = 1024 * 1024
CAP = 10 * MIB
"""LISTEN_MAX_INPUT_BYTES by default."""
BUDGET_S = 5.0
"""The most CPU any input may take before it is refused or planned."""


def _fill(unit: str, head: str = "", tail: str = "", size: int = CAP) -> str:
    """Repeat ``unit`` between ``head`` and ``tail`` up to ``size`` bytes of UTF-8."""
    room = size - len((head + tail).encode())
    return head + unit * (room // len(unit.encode())) + tail


def _attributes(count: int, per_element: int | None = None) -> str:
    if per_element is None:
        return "<p " + " ".join(f"a{i}=1" for i in range(count)) + ">Hello.</p>"
    element = "<p " + " ".join(f"a{i}" for i in range(per_element)) + ">Hello there.</p>\n"
    return _fill(element)


def _page(unit: str, tags_per_unit: int, tags: int = 99_000) -> str:
    return "<!doctype html><html><body>" + unit * (tags // tags_per_unit) + "</body></html>"


def _real_pages() -> list[bytes]:
    return [gzip.decompress(path.read_bytes()) for path in sorted(dataset_dir().glob("html/*"))]


def _largest_real_page() -> bytes:
    return max(_real_pages(), key=len)


MIXED_MARKS = (
    "Jan. 5 No. 1990s in 1990. $5. U.S. e.g. Dr. 3.5 #5 v1.2 vs. Feb. 2020. 10-20. "
    "1.2.3. 5km. Mr. St. a.m. etc. Inc. www.x.com. a@b.co. '90s. °C. ~5. 9/11. "
    "Sept. 1st. Apr. from 2019-2021. (1) [1] … — A. B. \u201cC."
)
"""Tokens the sentence splitter and the spoken-form rules both look at."""


def _mixed_marks() -> str:
    import random

    pick = random.Random(1).choice
    marks = MIXED_MARKS.split(" ")
    return "Title\n\n" + " ".join(pick(marks) for _ in range(49_000))


def _nested_within_limit() -> str:
    unit = "<div>" * 249 + "deep words. " + "</div>" * 249
    return "<html><body>" + unit * (99_000 // 498) + "</body></html>"


# name -> (what it is, kind as sent, a function making the input)
INPUTS: dict[str, tuple[str, str | None, Callable[[], str | bytes]]] = {
    # --- baselines: real pages --------------------------------------------------------
    "real-largest-page": ("the largest real page of the set", None, _largest_real_page),
    "real-50000-words": (
        "a real-text article of 50,000 words (the word limit)",
        "text",
        lambda: article_text(49_900),
    ),
    # --- HTML ---------------------------------------------------------------------------
    "attributes-70k": (
        "one element, 70,000 attributes (the report)",
        "html",
        lambda: _attributes(70_000),
    ),
    "attributes-1m": (
        "one element, 1.3 million attributes",
        "html",
        lambda: _fill(" a", "<p", ">Hi.</p>"),
    ),
    "attributes-distinct-1m": (
        "one element, 1.2 million distinct attributes",
        "html",
        lambda: ("<p " + " ".join(f"a{i}" for i in range(1_300_000)))[: CAP - 20] + ">Hello.</p>",
    ),
    "attributes-1000-each": (
        "8,000 elements of 1,000 attributes",
        "html",
        lambda: _attributes(0, 1000),
    ),
    "attributes-64-each": (
        "36,000 elements of 64 attributes (kept whole)",
        "html",
        lambda: _attributes(0, 64),
    ),
    "attributes-256-each": (
        "10,000 elements of 256 attributes",
        "html",
        lambda: _attributes(0, 256),
    ),
    "entities-named": ("2 million &amp;", "html", lambda: _fill("&amp; x", "<p>", "</p>")),
    "entities-numeric": ("2 million &#65;", "html", lambda: _fill("&#65;", "<p>", "</p>")),
    "entities-in-attribute": (
        "an attribute of 2 million &amp;",
        "html",
        lambda: _fill("&amp;", '<p title="', '">Hi.</p>'),
    ),
    "nesting-2m-open": (
        "2 million <b> never closed",
        "html",
        lambda: _fill("<b>", "", "deep words"),
    ),
    "nesting-99k-open": ("99,000 <b> never closed", "html", lambda: "<b>" * 99_000 + "deep words"),
    "nesting-then-closing": (
        "1,999 <span> then 98,000 </p> (just under the nesting budget)",
        "html",
        lambda: "<span>" * 1_999 + "</p>" * 98_000,
    ),
    "nesting-over-budget": (
        "870,000 <span> then 1.3 million </p>",
        "html",
        lambda: _fill("<span>", size=CAP // 2) + "</p>" * (CAP // 8),
    ),
    "nesting-at-the-limit": ("400 blocks of <div> nested 249 deep", "html", _nested_within_limit),
    "tags-at-the-limit": ("50,000 <p>a</p> (the tag limit)", "html", lambda: "<p>a</p>" * 49_500),
    "tags-over-the-limit": ("1.3 million <p>a</p>", "html", lambda: _fill("<p>a</p>")),
    "page-divs": ("a page of 49,500 <div>a b</div>", "html", lambda: _page("<div>a b</div>", 2)),
    "page-links": (
        "a page of 49,500 links",
        "html",
        lambda: _page('<a href="/x">link words</a> ', 2),
    ),
    "page-table": (
        "a page with a 16,500-row table",
        "html",
        lambda: _page("<tr><td>a</td><td>b</td></tr>", 6),
    ),
    "comments-before-markup": (
        "1.5 million <!----> before text",
        None,
        lambda: _fill("<!---->", "", "x"),
    ),
    "tag-soup-detection": ("3.5 million '<p ' without '>'", None, lambda: _fill("<p ")),
    # --- plain text ---------------------------------------------------------------------
    "one-token": ("10 MiB of one letter", "text", lambda: _fill("a")),
    "no-spaces-cjk": ("3.5 million CJK characters", "text", lambda: _fill("日本語の文章")),
    "lines-at-the-limit": (
        "33,000 paragraphs of two words, 100,000 lines",
        "text",
        lambda: "Hello there.\n\n" * 33_330,
    ),
    "lines-over-the-limit": ("3.5 million blank-line blocks", "text", lambda: _fill("a\n\n")),
    "dots": ("10 MiB of '.'", "text", lambda: _fill(".")),
    "commas-between-words": ("a word and 5 million commas", "text", lambda: _fill(", ", "word")),
    "dashes": ("10 MiB of '-'", "text", lambda: _fill("-")),
    "photo-captions": ("1.5 million '(photo '", "text", lambda: _fill("(photo ")),
    "digits-and-commas": ("5 million '1,'", "text", lambda: _fill("1,")),
    "currency": ("5 million '$1'", "text", lambda: _fill("$1")),
    "web-addresses": ("2.6 million 'www.'", "text", lambda: _fill("www.")),
    "e-mail-signs": ("2.6 million 'a@a.'", "text", lambda: _fill("a@a.")),
    "footnote-marks": ("5 million '[1'", "text", lambda: _fill("[1")),
    "month-abbreviations": ("1.5 million 'Jan. 5 '", "text", lambda: _fill("Jan. 5 ")),
    "ranges": ("5 million '1-'", "text", lambda: _fill("1-")),
    "open-quotes": (
        "45,000 open quotation marks in one paragraph (at the length limit)",
        "text",
        lambda: "Title\n\n" + "\u201cAbcdefgh. " * 45_000,
    ),
    "mixed-marks": (
        "abbreviations, numbers, quotes and brackets, 49,000 words in one paragraph",
        "text",
        _mixed_marks,
    ),
    # --- Markdown -----------------------------------------------------------------------
    "markdown-list-items": (
        "30,000 '- a' lines (the line limit)",
        "markdown",
        lambda: "- a\n" * 29_999,
    ),
    "markdown-headings": ("30,000 '# a' lines", "markdown", lambda: "# a\n" * 29_999),
    "markdown-html-blocks": ("30,000 '<div>' lines", "markdown", lambda: "<div>\nx\n" * 14_999),
    "markdown-link-definitions": (
        "30,000 link definitions",
        "markdown",
        lambda: "[a]: b\n" * 29_999,
    ),
    "markdown-table": (
        "a table of 20,000 rows (60,000 |)",
        "markdown",
        lambda: "| a | b |\n|---|---|\n" + "| x | y |\n" * 19_990,
    ),
    "markdown-quotes-nested": (
        "3,000 lines quoted 20 deep",
        "markdown",
        lambda: ("> " * 20 + "a\n") * 2_990,
    ),
    "markdown-emphasis": ("30,000 '**a' (the mark-up limit)", "markdown", lambda: "**a" * 29_999),
    "markdown-emphasis-over": ("3.5 million '**a'", "markdown", lambda: _fill("**a")),
    "markdown-brackets": ("60,000 '[' in one line", "markdown", lambda: "[" * 59_990 + "a"),
    "markdown-lines-over": ("2.6 million '- a' lines", "markdown", lambda: _fill("- a\n")),
    # --- bytes --------------------------------------------------------------------------
    "undeclared-charset": (
        "10 MiB of bytes that are not UTF-8",
        "text",
        lambda: bytes((0xE9, 0x20, 0x61, 0xE8)) * (CAP // 4),
    ),
}


def run_one(name: str) -> dict[str, object]:
    """Read and plan one input in this process; return its CPU seconds and outcome."""
    from service.config import Settings
    from service.errors import ListenError
    from service.pipeline.prepare import prepare_plan
    from service.text.load import load_article_from_text

    _what, kind, make = INPUTS[name]
    data = make()
    raw = data if isinstance(data, bytes) else data.encode()
    scratch = tempfile.mkdtemp(prefix="bench-hostile-")
    settings = Settings.of(cache_dir=Path(scratch), voice="pyttsx3:gmw/en-us")
    # Load what every request loads anyway (lxml, trafilatura, the segmenter, voices).
    warm = "<p>Warm up. Two sentences.</p>"
    prepare_plan(load_article_from_text(warm.encode(), settings.input, kind="html"), settings)
    started = _cpu_s()
    try:
        plan = prepare_plan(load_article_from_text(raw, settings.input, kind=kind), settings)
        sentences = sum(len(block.sentences) for block in plan.blocks)
        outcome = f"planned: {sentences:,} sentences, {plan.chunks_total:,} chunks"
    except ListenError as error:
        outcome = f"{error.http_status} {error.slug}: {error}"
    return {"name": name, "bytes": len(raw), "cpu_s": _cpu_s() - started, "outcome": outcome}


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(name: str, repeat: int) -> dict[str, object]:
    """Run ``name`` ``repeat`` times, each in a fresh process; keep the median CPU time."""
    runs = []
    for _ in range(repeat):
        done = subprocess.run(
            [sys.executable, "-m", "bench.hostile", "--one", name],
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        )
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    result = dict(runs[0])
    result["cpu_s"] = statistics.median(float(str(run["cpu_s"])) for run in runs)
    return result


def main() -> None:
    """Run every input (or those named), print the table and write bench/RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one)), flush=True)
        return
    names = args.only or list(INPUTS)
    rows = []
    for name in names:
        result = measure(name, args.repeat)
        rows.append(result)
        print(f"{result['cpu_s']:6.2f} s  {name:28} {str(result['outcome'])[:90]}", flush=True)
    baseline = next(
        (float(str(r["cpu_s"])) for r in rows if r["name"] == "real-largest-page"), None
    )
    worst = max((r for r in rows if not str(r["name"]).startswith("real-")), key=_cpu)
    lines = [
        "## Costly input (`python -m bench.hostile`)",
        "",
        f"CPU seconds (user + system, median of {args.repeat} fresh processes) from the bytes of",
        "an input to its narration plan (read, length checked, segmented, keyed), or to its",
        f"refusal. Target: at most {BUDGET_S:g} s for any input up to the limits.",
        "",
        "| input | what | bytes | CPU s | outcome |",
        "|---|---|---:|---:|---|",
    ]
    for row in rows:
        what = INPUTS[str(row["name"])][0]
        outcome = str(row["outcome"]).replace("|", "\\|")
        if len(outcome) > 110:
            outcome = outcome[:109] + "…"
        lines.append(
            f"| {row['name']} | {what} | {int(str(row['bytes'])):,} | {_cpu(row):.2f} | {outcome} |"
        )
    lines += ["", f"Worst: **{worst['name']}**, {_cpu(worst):.2f} s CPU (target {BUDGET_S:g} s)."]
    if baseline:
        lines.append(
            f"The largest real page of the set took {baseline:.2f} s; the worst input "
            f"{_cpu(worst) / baseline:.1f}x that."
        )
    write_section("hostile", "\n".join(lines))


def _cpu(row: dict[str, object]) -> float:
    return float(str(row["cpu_s"]))


if __name__ == "__main__":
    main()
