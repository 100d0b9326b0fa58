"""Keep the latest figures of each benchmark in ``bench/RESULTS.md``.

Each benchmark owns one section, fenced by HTML comments, and replaces only
that section, so benchmarks can run separately and in any order.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADER = (
    "# Benchmark results\n\n"
    "Latest figures of each benchmark in `bench/`; every section is rewritten by its own\n"
    "script (`python -m bench.NAME`). Ratios compare against a baseline run side by side\n"
    "in the same command, because the machine is shared and noisy.\n"
)


def machine_line() -> str:
    """Describe the machine the figures come from."""
    return f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs"


def write_section(name: str, markdown: str) -> None:
    """Replace the section ``name`` of RESULTS.md with ``markdown`` (dated)."""
    stamp = dt.date.today().isoformat()
    footer = f"_{stamp}, {machine_line()}_"
    body = f"<!-- bench:{name} -->\n{markdown.strip()}\n\n{footer}\n<!-- /bench:{name} -->"
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else HEADER
    pattern = re.compile(
        rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.S
    )
    if pattern.search(text):
        text = pattern.sub(lambda _: body, text)
    else:
        text = text.rstrip() + "\n\n" + body + "\n"
    RESULTS.write_text(text, encoding="utf-8")
