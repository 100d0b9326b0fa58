"""Say what every audio store does: the ``Store`` protocol and its small results."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from service.errors import ListenError, StoreError
from service.store.keys import key_kind

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_BYTES = 64 * 1024
"""Size of the chunks an :class:`ObjectStream` yields."""


def check_range(start: int, end: int | None) -> None:
    """Raise ValueError unless ``start``..``end`` is a forward byte range."""
    if start < 0 or (end is not None and end < start):
        raise ValueError(f"bad byte range {start}-{end}")


class StoreLockTimeoutError(StoreError):
    """A store lock was not acquired within its timeout."""


class MissingObjectError(ListenError):
    """An object that was to be read is not in the store (never made, or evicted)."""

    http_status = 404
    slug = "not-found"
    title = "Not found"


@dataclass(frozen=True)
class StoreStats:
    """Count what a store holds."""

    objects: int
    """Number of stored objects."""
    size_bytes: int
    """Total size of all objects."""
    by_kind: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    """``(objects, bytes)`` per top-level key part (``clips``, ``narrations``...)."""

    @property
    def bytes(self) -> int:
        """Return the total size in bytes (same as ``size_bytes``)."""
        return self.size_bytes

    @classmethod
    def count(cls, sizes: Iterable[tuple[str, int]]) -> StoreStats:
        """Add up ``(key, size_bytes)`` pairs."""
        by_kind: dict[str, tuple[int, int]] = {}
        for key, size_bytes in sizes:
            kind = key_kind(key)
            objects, total = by_kind.get(kind, (0, 0))
            by_kind[kind] = (objects + 1, total + size_bytes)
        return cls(
            objects=sum(objects for objects, _ in by_kind.values()),
            size_bytes=sum(total for _, total in by_kind.values()),
            by_kind=by_kind,
        )


@dataclass(frozen=True)
class PruneResult:
    """Tell what one :meth:`Store.prune` call removed and kept."""

    removed: int
    """Objects deleted."""
    freed_bytes: int
    """Bytes freed."""
    remaining_bytes: int
    """Bytes still stored afterwards."""


class ObjectStream:
    """Yield an object's bytes chunk by chunk from an already opened source.

    The source is opened before this is returned, so a local file removed
    afterwards still reads to its end. Close it (or use ``with``) when done;
    iterating to the end closes it too.
    """

    def __init__(self, chunks: Iterator[bytes], size_bytes: int, close: Callable[[], None]) -> None:
        self._chunks = chunks
        self._close = close
        self._closed = False
        self.size_bytes = size_bytes
        """Total size of the object."""

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        try:
            return next(self._chunks)
        except StopIteration:
            self.close()
            raise

    def close(self) -> None:
        """Release the underlying file or connection; safe to call twice."""
        if not self._closed:
            self._closed = True
            self._close()

    def __enter__(self) -> ObjectStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@runtime_checkable
class Store(Protocol):
    """Keep audio objects under content-addressed keys; write once, read many.

    Keys are checked by :func:`service.store.keys.validate_key`; a bad key
    raises :class:`~service.store.keys.InvalidKeyError` before anything is
    touched. Failures of the storage itself raise :class:`StoreError`.
    """

    def get(self, key: str) -> bytes | None:
        """Return the object's bytes, or ``None`` when it is not stored."""
        ...

    def exists(self, key: str) -> bool:
        """Tell whether the object is stored."""
        ...

    def size(self, key: str) -> int | None:
        """Return the object's size in bytes, or ``None`` when it is not stored."""
        ...

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` atomically; a key that is already stored is left as is."""
        ...

    def put_file(self, key: str, path: Path) -> None:
        """Move a finished file in as the object; ``path`` is gone afterwards.

        Write the file at :meth:`temp_path` so the move is a rename on the
        same filesystem. A key that is already stored is left as is.
        """
        ...

    def temp_path(self, key: str) -> Path:
        """Return a fresh, unused path to write the future object ``key`` at."""
        ...

    def read_range(self, key: str, start: int, end: int | None = None) -> bytes:
        """Return bytes ``start`` to ``end`` (exclusive; ``None`` = to the end).

        Raise :class:`MissingObjectError` when the object is not stored.
        """
        ...

    def open_stream(self, key: str, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> ObjectStream:
        """Open the object now and return its chunks.

        Raise :class:`MissingObjectError` when the object is not stored.
        """
        ...

    def local_path(self, key: str) -> Path | None:
        """Return the object's real file (for ``send_file``); ``None`` if not local."""
        ...

    def presigned_url(self, key: str, expires_s: int = 3600) -> str | None:
        """Return a time-limited URL to fetch the object directly, if supported."""
        ...

    def lock(self, key: str, timeout_s: float = 600.0) -> AbstractContextManager[None]:
        """Hold the producer lock of ``key``: one process builds it at a time.

        Inside the lock, look in the store again before doing the work. The
        local store locks across processes of one machine (a file lock that
        the kernel drops if its holder dies); the S3 store returns a no-op and
        leaves uniqueness to the job queue. Raise
        :class:`StoreLockTimeoutError` after ``timeout_s`` seconds.
        """
        ...

    def touch(self, key: str) -> None:
        """Record a use of ``key`` for least-recently-used eviction."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; a missing key is not an error."""
        ...

    def stats(self) -> StoreStats:
        """Count the stored objects and bytes, in total and per kind."""
        ...

    def prune(self, max_bytes: int) -> PruneResult:
        """Remove least recently used objects until at most ``max_bytes`` remain."""
        ...

    def clear(self) -> None:
        """Remove every object."""
        ...

    def check(self) -> None:
        """Prove the store can be used now; raise :class:`StoreError` with the reason if not."""
        ...


def writable(store: Store) -> bool:
    """Tell whether ``store`` can be used now (for health checks); log why when it cannot."""
    try:
        store.check()
    except StoreError as error:
        logger.warning("%s", error)
        return False
    return True
