"""Run commands, time them and sample their memory: the tools every benchmark shares."""

from __future__ import annotations

import resource
import statistics
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil


@dataclass
class Run:
    """One timed run of a command."""

    wall_s: float
    peak_rss_bytes: int = 0
    cpu_s: float = 0.0
    """CPU seconds (user + system) of the command and every descendant it waited for."""


@dataclass
class Series:
    """Repeated runs of one command."""

    name: str
    runs: list[Run] = field(default_factory=list)

    @property
    def median_s(self) -> float:
        """Return the median wall time."""
        return statistics.median(r.wall_s for r in self.runs)

    @property
    def median_cpu_s(self) -> float:
        """Return the median CPU time (what the work costs, whatever else the machine runs)."""
        return statistics.median(r.cpu_s for r in self.runs)

    @property
    def peak_rss_mb(self) -> float:
        """Return the highest total RSS seen over all runs, in MiB."""
        return max(r.peak_rss_bytes for r in self.runs) / (1024 * 1024)


def tree_rss(process: psutil.Process) -> int:
    """Return the summed RSS of a process and all its descendants."""
    total = 0
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0
    for member in members:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            continue
    return total


def run(
    command: Sequence[str | Path],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    shell: bool = False,
) -> Run:
    """Run ``command`` to completion; return its wall time and peak tree RSS."""
    used_before = _children_cpu_s()
    started = time.perf_counter()
    args: str | list[str] = " ".join(map(str, command)) if shell else [str(c) for c in command]
    child = subprocess.Popen(
        args, cwd=cwd, env=env, shell=shell, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        watched = psutil.Process(child.pid)
        while not stop.is_set():
            peak = max(peak, tree_rss(watched))
            stop.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = child.communicate()
    wall = time.perf_counter() - started
    cpu = _children_cpu_s() - used_before
    stop.set()
    sampler.join()
    if child.returncode != 0:
        raise RuntimeError(f"{command} failed: {err.decode(errors='replace')[-500:]}")
    return Run(wall, peak, cpu)


def _children_cpu_s() -> float:
    """Return the CPU seconds of every child process this one has waited for."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime
