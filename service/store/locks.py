"""Lock store keys across processes on one machine, so one process builds each key.

Every lock lives in its own small file under the store's ``.locks/`` folder,
named by a hash of the key. The files are never deleted: removing a lock file
while another process waits on it would let two processes hold "the" lock.
The producer lock (``filelock.FileLock``) makes one process build a key while
the others wait, then find it in the store; the kernel drops it when its
holder dies, even by ``kill -9``, so no lock outlives its holder.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from service.store.base import StoreLockTimeoutError


class KeyLocks:
    """Hand out producer locks for the keys of one store."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        """Folder holding the lock files."""

    def lock_file(self, key: str, suffix: str) -> Path:
        """Return the lock file of ``key`` (``suffix`` ``.lock``)."""
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

    @staticmethod
    def _ensure_parent(path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path
