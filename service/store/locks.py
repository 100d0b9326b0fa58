"""Lock store keys across processes on one machine: producer locks and reader pins.

Every lock lives in its own small file under the store's ``.locks/`` folder,
named by a hash of the key. The files are never deleted: removing a lock file
while another process waits on it would let two processes hold "the" lock.

* The producer lock (``filelock.FileLock``) makes one process build a key
  while the others wait, then find it in the store.
* A pin is a shared ``flock`` on a second file. Any number of readers share
  it; eviction takes it exclusively *without waiting*, and skips the key when
  a reader holds it. The kernel drops both kinds when a process dies, even by
  ``kill -9``, so no lock outlives its holder.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from service.store.base import StoreLockTimeoutError


class KeyLocks:
    """Hand out producer locks and pins for the keys of one store."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        """Folder holding the lock files."""

    def lock_file(self, key: str, suffix: str) -> Path:
        """Return the lock file of ``key`` (``suffix`` ``.lock`` or ``.pin``)."""
        digest = hashlib.sha256(key.encode("ascii")).hexdigest()
        return self.folder / digest[:2] / f"{digest[2:40]}{suffix}"

    @contextmanager
    def producer(self, key: str, timeout_s: float) -> Iterator[None]:
        """Hold the producer lock of ``key``; raise after ``timeout_s`` seconds."""
        import filelock  # only producers need it; readers of the cache start faster without

        path = self._ensure_parent(self.lock_file(key, ".lock"))
        lock = filelock.FileLock(path, timeout=timeout_s)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise StoreLockTimeoutError(
                f"another process held the lock on {key!r} for more than {timeout_s:g} s"
            ) from None
        try:
            yield
        finally:
            lock.release()

    @contextmanager
    def pinned(self, key: str) -> Iterator[None]:
        """Share the pin of ``key``; waits only while an eviction removes it."""
        fd = self._open(self.lock_file(key, ".pin"))
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)

    @contextmanager
    def evicting(self, key: str) -> Iterator[bool]:
        """Try to take the pin of ``key`` alone; yield whether it was free."""
        fd = self._open(self.lock_file(key, ".pin"))
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
            else:
                yield True
        finally:
            os.close(fd)

    def _open(self, path: Path) -> int:
        self._ensure_parent(path)
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)

    @staticmethod
    def _ensure_parent(path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path
