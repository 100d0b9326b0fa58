"""Score what ``listen extract`` reads from real article pages, and how fast.

Runs the CLI (``listen extract --json``) on the 61 pages of the article
extraction development set and scores its body blocks against the marked
article text with the set's own metric (shingle F1), next to trafilatura's
``extract()`` run side by side. Speed is timed in-process on one core.

The set is read at run time from ``../shared/aeb-dev`` beside the repository,
or from ``$AEB_DEV_DIR``; it is never copied into the repository.

    python -m bench.extract [--repeat 3]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.results import write_section
from harness.devset import dataset_dir

REPO = Path(__file__).resolve().parent.parent
_TOKEN = re.compile(r"\w+", re.U)
_SHINGLE = 4


@dataclass(frozen=True)
class Score:
    """Precision and recall averaged over pages, and the F1 of the two averages."""

    precision: float
    recall: float
    pages: int

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def shingles(text: str) -> Counter[str]:
    """Return the multiset of runs of four consecutive ``\\w+`` tokens."""
    tokens = _TOKEN.findall(text or "")
    return Counter(" ".join(tokens[i : i + _SHINGLE]) for i in range(len(tokens) - _SHINGLE + 1))


def page_scores(truth: str, prediction: str) -> tuple[float, float] | None:
    """Return (precision, recall) of one page, or None when there is nothing to score."""
    expected, found = shingles(truth), shingles(prediction)
    tp = sum((expected & found).values())
    fp = sum((found - expected).values())
    fn = sum((expected - found).values())
    total = tp + fp + fn
    if total == 0:
        return None
    tp_share, fp_share, fn_share = tp / total, fp / total, fn / total
    if fp_share == fn_share == 0:
        return 1.0, 1.0
    precision = 0.0 if tp_share == fp_share == 0 else tp_share / (tp_share + fp_share)
    recall = 0.0 if tp_share == fn_share == 0 else tp_share / (tp_share + fn_share)
    return precision, recall


def score(truths: dict[str, str], predictions: dict[str, str]) -> Score:
    """Score ``predictions`` against ``truths`` with the benchmark's metric."""
    scored = [page_scores(truths[name], predictions.get(name, "")) for name in truths]
    kept = [pair for pair in scored if pair is not None]
    return Score(
        precision=statistics.fmean(p for p, _ in kept),
        recall=statistics.fmean(r for _, r in kept),
        pages=len(kept),
    )


def unpack(source: Path, target: Path) -> dict[str, Path]:
    """Gunzip every page of the set into ``target``; return name -> HTML file."""
    pages: dict[str, Path] = {}
    for packed in sorted((source / "html").glob("*.html.gz")):
        name = packed.name.removesuffix(".html.gz")
        path = target / f"{name}.html"
        path.write_bytes(gzip.decompress(packed.read_bytes()))
        pages[name] = path
    return pages


def extract_with_cli(pages: dict[str, Path]) -> dict[str, str]:
    """Run ``listen extract --json`` on every page; return name -> body text."""
    command = [sys.executable, "-m", "service", "extract", "--json", *map(str, pages.values())]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISTEN_")}
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env, check=False)
    by_path = {str(path): name for name, path in pages.items()}
    bodies: dict[str, str] = {}
    for line in done.stdout.splitlines():
        record = json.loads(line)
        bodies[by_path[record["input"]]] = "\n".join(record.get("paragraphs") or [])
    if len(bodies) != len(pages):
        raise SystemExit(f"listen extract answered for {len(bodies)} of {len(pages)} pages")
    return bodies


def pages_per_second(run: Callable[[bytes], object], inputs: list[bytes], repeat: int) -> float:
    """Return the median pages per second of ``run`` over ``repeat`` passes."""
    rates = []
    for _ in range(repeat):
        started = time.perf_counter()
        for data in inputs:
            run(data)
        rates.append(len(inputs) / (time.perf_counter() - started))
    return statistics.median(rates)


def main(argv: list[str] | None = None) -> None:
    """Measure, print and record the extraction figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed passes (median is kept)")
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core

    import trafilatura

    from service.config import Settings
    from service.text.decode import decode_bytes
    from service.text.html import parse_html
    from service.text.load import load_article_from_text
    from service.text.page import clean_blocks, fallback_content, main_content

    source = dataset_dir()
    truth_file = source / "ground-truth.json"
    if not truth_file.exists():
        raise SystemExit(f"no development set at {source} (set AEB_DEV_DIR)")
    truths = {
        name: record["articleBody"]
        for name, record in json.loads(truth_file.read_text("utf-8")).items()
    }
    settings = Settings()

    def ours(data: bytes) -> str:
        article = load_article_from_text(data, settings.input)
        return "\n".join(block.text for block in article.blocks)

    def trafilatura_alone(data: bytes) -> str:
        return trafilatura.extract(data) or ""

    def without_cleanup(data: bytes) -> str:
        root = parse_html(decode_bytes(data), settings.input.max_html_depth)
        blocks = main_content(root) or fallback_content(root)
        return "\n".join(block.text for block in blocks)

    def without_title_cleanup(data: bytes) -> str:
        root = parse_html(decode_bytes(data), settings.input.max_html_depth)
        blocks = clean_blocks(main_content(root) or fallback_content(root), "", None)
        return "\n".join(block.text for block in blocks)

    with tempfile.TemporaryDirectory(prefix="aeb-") as folder:
        pages = unpack(source, Path(folder))
        inputs = {name: path.read_bytes() for name, path in pages.items()}
        cli_score = score(truths, extract_with_cli(pages))
    variants: list[tuple[str, Callable[[bytes], str]]] = [
        ("trafilatura `extract()` alone (baseline)", trafilatura_alone),
        ("ours without clean-up (trafilatura, no comments, our tree and walker)", without_cleanup),
        ("ours without headline/byline removal", without_title_cleanup),
    ]
    rows = [("**ours, through `listen extract --json`**", cli_score)]
    for label, run in variants:
        rows.append((label, score(truths, {name: run(data) for name, data in inputs.items()})))
    datas = list(inputs.values())
    ours_rate = pages_per_second(ours, datas, args.repeat)
    baseline_rate = pages_per_second(trafilatura_alone, datas, args.repeat)

    lines = [
        "## Article extraction (`python -m bench.extract`)",
        "",
        f"{cli_score.pages} pages of the development set; shingle F1 as the set defines it.",
        "",
        "| extractor | precision | recall | F1 |",
        "|---|---:|---:|---:|",
        *(f"| {label} | {s.precision:.3f} | {s.recall:.3f} | {s.f1:.3f} |" for label, s in rows),
        "",
        f"| speed, one core, median of {args.repeat} | pages/s |",
        "|---|---:|",
        f"| ours (`load_article_from_text`, from bytes) | {ours_rate:.1f} |",
        f"| trafilatura `extract()` alone | {baseline_rate:.1f} |",
        "",
        f"F1 ours / baseline: {cli_score.f1 / rows[1][1].f1:.3f}; "
        f"speed ours / baseline: {ours_rate / baseline_rate:.2f}.",
    ]
    markdown = "\n".join(lines)
    sys.stdout.write(markdown + "\n")
    write_section("extract", markdown)


if __name__ == "__main__":
    main()
