"""Start a thread pool's threads at once, so a process's thread count is fixed from the start.

``ThreadPoolExecutor`` starts a thread only when a task finds none idle, so its
count creeps up to the busiest moment seen so far, and a count that grows can
then not tell a full pool from a thread leak.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

START_TIMEOUT_S = 10.0


def start_threads(executor: ThreadPoolExecutor, count: int) -> None:
    """Start ``count`` threads in ``executor`` (its ``max_workers``) before any real task."""
    # Each task waits at the barrier, so no thread is idle when the next task is
    # submitted, and the executor starts a new one for it.
    everyone = threading.Barrier(count + 1)
    for _ in range(count):
        executor.submit(everyone.wait, START_TIMEOUT_S)
    everyone.wait(START_TIMEOUT_S)
