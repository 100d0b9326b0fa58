"""Thread pools started whole, so a process's thread count is fixed from the start."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from service.threads import start_threads


def test_start_threads_starts_every_thread_of_the_pool_at_once() -> None:
    before = threading.active_count()
    with ThreadPoolExecutor(6) as executor:
        start_threads(executor, 6)
        assert threading.active_count() == before + 6
        # Busy work afterwards finds idle threads instead of starting more.
        assert sorted(executor.map(lambda n: n * n, range(50))) == [n * n for n in range(50)]
        assert threading.active_count() == before + 6
