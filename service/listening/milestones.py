"""Remember, for a few hours, which milestones each listening session has reported.

A play, each quartile and each paragraph count once per page view and
narration, however often the listener seeks back over them. Each (session,
narration) pair has one bitmap: bit 0 is the play, bits 1-4 the quartiles,
bit 5 + i paragraph i. Setting a bit says whether it was new.

The session id is hashed with the narration id before it is kept, and the
bitmap is forgotten :data:`SESSION_WINDOW_S` after the session's last event.
Nothing of it reaches the database. One web process keeps the bitmaps in
memory; web nodes sharing Redis keep them there (``SETBIT`` returns the old
bit atomically, ``EXPIRE`` slides the window), so a page view whose events
reach different nodes still counts once.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from cachetools import TTLCache

from service.errors import StatsUnavailableError
from service.listening.events import QUARTILES, ListeningEvent

if TYPE_CHECKING:
    from redis import Redis

SESSION_WINDOW_S = 4 * 3600
"""How long after a session's last event its milestones are kept (then it could count again)."""
MAX_SESSIONS = 200_000
"""Sessions kept in one process's memory (about 200 bytes each); the oldest go first."""
PARAGRAPH_BIT = 1 + len(QUARTILES)
"""Bit of paragraph 0 in a session's bitmap."""
REDIS_PREFIX = "listen:heard:"

Mark = tuple[str, int]
"""A session key (hash of session and narration) and a milestone's bit."""


def milestone_bit(event: ListeningEvent) -> int | None:
    """Return the bit of the milestone ``event`` reports, or None (speed, seconds)."""
    if event.kind == "play":
        return 0
    if event.kind == "progress" and event.quartile is not None:
        return 1 + QUARTILES.index(event.quartile)
    if event.kind == "paragraph" and event.paragraph is not None:
        return PARAGRAPH_BIT + event.paragraph
    return None


def session_key(event: ListeningEvent) -> str:
    """Return the key a session's milestones for one narration are kept under (a hash)."""
    seed = f"{event.session}\0{event.narration_id}".encode()
    return hashlib.sha256(seed).hexdigest()[:32]


class Milestones(Protocol):
    """Say which milestones are reported for the first time."""

    def first_times(self, marks: Sequence[Mark]) -> list[bool]:
        """Set every mark; return, for each, whether it was not set before."""
        ...


class MemoryMilestones:
    """Milestones of one process's sessions, in a time-bounded dictionary."""

    def __init__(
        self,
        *,
        window_s: float = SESSION_WINDOW_S,
        max_sessions: int = MAX_SESSIONS,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._seen: TTLCache[str, int] = TTLCache(maxsize=max_sessions, ttl=window_s, timer=timer)
        self._lock = threading.Lock()

    def first_times(self, marks: Sequence[Mark]) -> list[bool]:
        """Set every mark; return, for each, whether it was not set before."""
        news = []
        with self._lock:
            for key, bit in marks:
                mask = self._seen.get(key, 0)
                news.append(not (mask >> bit) & 1)
                self._seen[key] = mask | (1 << bit)  # setting again restarts the window
        return news

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)


class RedisMilestones:
    """Milestones shared by every web node, as Redis bitmaps that expire."""

    def __init__(self, redis: Redis, *, window_s: float = SESSION_WINDOW_S) -> None:
        self._redis = redis
        self._window_s = int(window_s)

    def first_times(self, marks: Sequence[Mark]) -> list[bool]:
        """Set every mark in one round trip; return, for each, whether it was not set before."""
        from redis.exceptions import RedisError

        if not marks:
            return []
        pipe = self._redis.pipeline(transaction=False)
        for key, bit in marks:
            pipe.setbit(REDIS_PREFIX + key, bit, 1)
        for key in dict.fromkeys(key for key, _ in marks):
            pipe.expire(REDIS_PREFIX + key, self._window_s)
        try:
            answers = pipe.execute()
        except RedisError as error:
            raise StatsUnavailableError(
                f"listening events cannot be counted now: Redis failed ({error})"
            ) from error
        return [not old for old in answers[: len(marks)]]
