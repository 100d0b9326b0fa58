"""Run every benchmark in turn; each rewrites its own section of bench/RESULTS.md."""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = (
    "extract",
    "embed",
    "hostile",
    "lexicon",
    "listening",
    "listening_http",
    "narrate",
    "words",
    "web",
    "piper",
    "hibari",
    "voices",
    "scale",
    "load",
    "slow",
    "malloc",
)


def main() -> None:
    """Run the benchmarks named on the command line, or all of them."""
    chosen = sys.argv[1:] or list(BENCHMARKS)
    failed = []
    for name in chosen:
        print(f"== bench.{name}", flush=True)
        if subprocess.run([sys.executable, "-m", f"bench.{name}"]).returncode != 0:
            failed.append(name)
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
