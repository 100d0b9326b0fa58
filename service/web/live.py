"""Bound the requests that hold a web thread while a narration is made.

A live stream of a narration being made, and a synchronous speech answer
waiting for its narration, each keep one thread of their web process until
the narration ends, however fast the client reads (the front takes the bytes
as they come). A web process has a fixed number of threads, so it takes only
so many of these at once, and only so many from one client; past either, the
answer is 503 with ``Retry-After``, and the other threads stay free for
everything else (status, finished audio, pages, health).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

from service.errors import ListenError

RETRY_AFTER_S = 10
"""What a refused client is told to wait: short pieces of a narration take seconds."""


class TooManyLiveError(ListenError):
    """Too many live streams or waiting speech answers, in all or from this client."""

    http_status = 503
    exit_code = 1
    slug = "too-many-streams"
    title = "Too many live streams"
    retry_after_s = RETRY_AFTER_S


class LiveRequests:
    """Count the live requests of one web process, in total and per client."""

    def __init__(self, total: int, per_client: int) -> None:
        self.total = total
        self.per_client = per_client
        self._by_client: Counter[str] = Counter()
        self._lock = threading.Lock()

    def enter(self, client: str) -> Callable[[], None]:
        """Take a place for ``client``; return the call that gives it back (once).

        Raises :class:`TooManyLiveError` when every place, or every place one
        client may hold, is taken.
        """
        with self._lock:
            if sum(self._by_client.values()) >= self.total:
                raise TooManyLiveError(
                    f"{self.total} narrations are being streamed or awaited here; the finished "
                    "audio is served without limit: try again shortly"
                )
            if self._by_client[client] >= self.per_client:
                raise TooManyLiveError(
                    f"this client already holds {self.per_client} live streams or waiting "
                    "speech answers; let one end first"
                )
            self._by_client[client] += 1
        left = False

        def leave() -> None:
            nonlocal left
            with self._lock:
                if left:
                    return
                left = True
                self._by_client[client] -= 1
                if self._by_client[client] <= 0:
                    del self._by_client[client]

        return leave

    def held(self) -> int:
        """Return how many places are taken."""
        with self._lock:
            return sum(self._by_client.values())
