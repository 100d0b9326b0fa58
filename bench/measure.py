"""Run commands, time them and sample their memory: the tools every benchmark shares."""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import statistics
import subprocess
import sys
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
    """The highest sum of every process's RSS (a page shared by n processes counts n times)."""
    cpu_s: float = 0.0
    """CPU seconds (user + system) of the command and all its descendants.

    A process whose parent exits without waiting for it (a fork server) is adopted
    by this one and waited for, so its CPU and its own children's are counted too.
    """
    peak_pss_bytes: int = 0
    """The highest sum of every process's PSS (a page shared by n processes counts 1/n in
    each): the memory the command held, where processes share pages."""


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

    @property
    def peak_pss_mb(self) -> float:
        """Return the highest total PSS seen over all runs, in MiB."""
        return max(r.peak_pss_bytes for r in self.runs) / (1024 * 1024)


def tree_memory(process: psutil.Process) -> tuple[int, int]:
    """Return the summed RSS and PSS of a process and all its descendants, in bytes."""
    rss = pss = 0
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0, 0
    for member in members:
        try:
            rss += member.memory_info().rss
            pss += _pss_bytes(member.pid)
        except (psutil.Error, OSError):
            continue
    return rss, pss


def _pss_bytes(pid: int) -> int:
    """Return a process's PSS from the kernel's own sum (cheaper than psutil's smaps walk)."""
    with open(f"/proc/{pid}/smaps_rollup", "rb") as rollup:
        for line in rollup:
            if line.startswith(b"Pss:"):
                return int(line.split()[1]) * 1024
    return 0


def run(
    command: Sequence[str | Path],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    shell: bool = False,
    memory: bool = True,
) -> Run:
    """Run ``command`` to completion; return its wall time, CPU time and peak tree memory.

    Memory is sampled every 20 ms, which takes a core's tenth or more from what
    runs: ``memory=False`` leaves the peak at 0 and only notes the process tree
    (for its CPU time) every 250 ms, for wall times of commands that use every core.
    """
    _adopt_orphans()
    used_before = _children_cpu_s()
    started = time.perf_counter()
    args: str | list[str] = " ".join(map(str, command)) if shell else [str(c) for c in command]
    child = subprocess.Popen(
        args, cwd=cwd, env=env, shell=shell, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    peak = peak_pss = 0
    seen: set[int] = set()
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak, peak_pss
        watched = psutil.Process(child.pid)
        while not stop.is_set():
            with contextlib.suppress(psutil.Error):
                seen.update(member.pid for member in watched.children(recursive=True))
            if memory:
                rss, pss = tree_memory(watched)
                peak, peak_pss = max(peak, rss), max(peak_pss, pss)
            stop.wait(0.02 if memory else 0.25)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = child.communicate()
    wall = time.perf_counter() - started
    stop.set()
    sampler.join()
    _wait_for_orphans(seen)
    cpu = _children_cpu_s() - used_before
    if child.returncode != 0:
        raise RuntimeError(f"{command} failed: {err.decode(errors='replace')[-500:]}")
    return Run(wall, peak, cpu, peak_pss)


_PR_SET_CHILD_SUBREAPER = 36


def _adopt_orphans() -> None:
    """Make this process the reaper of its descendants' orphans (Linux), so it can wait for them."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _wait_for_orphans(pids: set[int], timeout_s: float = 30.0) -> None:
    """Wait for the descendants that became this process's children when their parent exited."""
    deadline = time.monotonic() + timeout_s
    for pid in pids:
        while time.monotonic() < deadline:
            try:
                done, _status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                break  # not ours: its own parent waited for it
            if done:
                break
            time.sleep(0.01)


def _children_cpu_s() -> float:
    """Return the CPU seconds of every child process this one has waited for."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def load_note() -> str:
    """Say how busy the machine was when a part of a benchmark ended (1-minute load average)."""
    return f"Load average (1 min) when this part ended: {os.getloadavg()[0]:.1f}."
