"""Find the least recently used objects of a local store and evict them.

An object's last use is its file's mtime (objects never change after being
written, so mtime is free to mean "last read"). Eviction walks the objects
oldest first and skips one used since the scan. A reader that has opened a
file keeps reading it to its end after eviction removes its name (POSIX), so
a listener's stream is never cut short.

``AutoEviction`` keeps the store under its cap without rescanning the tree on
every write: it adds each write to a running estimate, and only when the
estimate passes the cap (or every few minutes, to catch other processes'
writes) does it recount and evict, in a background thread.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from service.errors import StoreError
from service.store.base import PruneResult
from service.store.keys import KEY_PATTERN, MAX_KEY_CHARS

logger = logging.getLogger(__name__)

RESCAN_EVERY_S = 300.0
"""The running size estimate is replaced by a real count this often."""
PRUNE_TO_FRACTION = 0.9
"""Automatic eviction goes down to this share of the cap, so it runs seldom."""


@dataclass(frozen=True)
class Entry:
    """One stored object as eviction sees it."""

    key: str
    """The object's key."""
    size_bytes: int
    """The object's size."""
    used_at: float
    """Last use (the file's mtime), seconds since the epoch."""


def scan(objects_dir: Path) -> list[Entry]:
    """List every object under ``objects_dir``.

    Hidden folders (the store's own ``.tmp`` and ``.locks``) are not entered,
    and files whose path is no valid key (``.gitkeep``) are ignored.
    """
    entries: list[Entry] = []
    root = str(objects_dir)
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            listing = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for item in listing:
            try:
                if item.is_dir(follow_symlinks=False):
                    if not item.name.startswith("."):  # .tmp, .locks: not objects
                        stack.append(item.path)
                elif item.is_file(follow_symlinks=False):
                    key = os.path.relpath(item.path, root).replace(os.sep, "/")
                    if len(key) <= MAX_KEY_CHARS and KEY_PATTERN.fullmatch(key):
                        status = item.stat(follow_symlinks=False)
                        entries.append(Entry(key, status.st_size, status.st_mtime))
            except FileNotFoundError:
                continue
    return entries


def evict(objects_dir: Path, entries: list[Entry], max_bytes: int) -> PruneResult:
    """Remove the least recently used of ``entries`` until at most ``max_bytes`` remain."""
    entries = sorted(entries, key=lambda entry: entry.used_at)
    remaining = sum(entry.size_bytes for entry in entries)
    removed = freed_bytes = 0
    for entry in entries:
        if remaining <= max_bytes:
            break
        path = objects_dir / entry.key
        try:
            if path.stat().st_mtime > entry.used_at:
                continue  # used since the scan: no longer among the oldest
            path.unlink()
        except FileNotFoundError:
            remaining -= entry.size_bytes  # someone else removed it
            continue
        remaining -= entry.size_bytes
        removed += 1
        freed_bytes += entry.size_bytes
        remove_empty_folders(path.parent, objects_dir)
    if removed:
        logger.info(
            "evicted %d objects (%d bytes) from %s; %d bytes remain",
            removed,
            freed_bytes,
            objects_dir,
            remaining,
        )
    return PruneResult(removed, freed_bytes, remaining)


def remove_empty_folders(folder: Path, objects_dir: Path) -> None:
    """Remove ``folder`` and its parents below ``objects_dir`` while they are empty."""
    while folder != objects_dir and objects_dir in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return  # not empty, or already gone
        folder = folder.parent


class AutoEviction:
    """Keep a store under ``max_bytes`` with a running size estimate and a background thread."""

    def __init__(
        self, max_bytes: int, prune: Callable[[int], PruneResult], count: Callable[[], int]
    ):
        self.max_bytes = max_bytes
        """The cap, in bytes."""
        self._prune = prune
        self._count = count
        self._lock = threading.Lock()
        self._bytes_estimate: int | None = None
        self._counted_at = 0.0
        self._thread: threading.Thread | None = None

    def grew(self, size_bytes: int) -> None:
        """Add a write to the estimate; start a recount and eviction when due."""
        with self._lock:
            if self._bytes_estimate is not None:
                self._bytes_estimate += size_bytes
            due = (
                self._bytes_estimate is None
                or self._bytes_estimate > self.max_bytes
                or time.monotonic() - self._counted_at > RESCAN_EVERY_S
            )
            if not due or (self._thread is not None and self._thread.is_alive()):
                return
            self._thread = threading.Thread(target=self._run, name="store-eviction", daemon=True)
            self._thread.start()

    def counted(self, size_bytes: int) -> None:
        """Replace the estimate by a real count."""
        with self._lock:
            self._bytes_estimate, self._counted_at = size_bytes, time.monotonic()

    def wait(self, timeout_s: float | None = None) -> None:
        """Wait until a running recount or eviction has finished."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout_s)

    def _run(self) -> None:
        try:
            total = self._count()
            if total > self.max_bytes:
                total = self._prune(int(self.max_bytes * PRUNE_TO_FRACTION)).remaining_bytes
            self.counted(total)
        except (OSError, StoreError) as error:
            logger.warning("background eviction failed: %s", error)
