"""Keep audio objects in a local folder: the default store.

Layout under the root folder::

    <key>           the objects, one file each, named by their key
    .tmp/           files being written; linked into place when complete
    .locks/         producer lock files, never deleted

No key part may start with a dot, so no key can reach ``.tmp`` or ``.locks``.
Writes go to ``.tmp/`` first and are fsynced, then hard-linked into place, so a
reader sees a whole object or none, and the first writer of a key wins. The
file's mtime is its last use: reads refresh it (at most once a minute), and
eviction removes the oldest first. Nothing else is kept, so there is no index
that a crash could leave out of step with the files.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import stat
import time
from contextlib import AbstractContextManager
from pathlib import Path

from service.errors import StoreError
from service.store import eviction, tempfiles
from service.store.base import (
    DEFAULT_CHUNK_BYTES,
    MissingObjectError,
    ObjectStream,
    PruneResult,
    StoreStats,
    check_range,
)
from service.store.keys import validate_key
from service.store.locks import KeyLocks

logger = logging.getLogger(__name__)

TOUCH_EVERY_S = 60.0
"""A read refreshes an object's last-use time when it is older than this."""

_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOTDIR: "part of the path is a file, not a folder",
    errno.EEXIST: "a file is in the way of a folder",
}
_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK}
_MISSING = (FileNotFoundError, IsADirectoryError, NotADirectoryError)


class LocalStore:
    """Store objects as files under ``root``; see the module docstring."""

    def __init__(self, root: Path, max_bytes: int | None = None) -> None:
        self.root = Path(root).absolute()  # send_file resolves relative paths elsewhere
        """The store's folder."""
        self.max_bytes = max_bytes
        """Size cap for automatic eviction; ``None`` turns it off."""
        self.objects_dir = self.root
        """Folder the keys are paths in (the root itself)."""
        self._objects_name = str(self.objects_dir)
        self.temp_dir = self.root / ".tmp"
        """Folder of files being written."""
        self._locks = KeyLocks(self.root / ".locks")
        self._auto = (
            eviction.AutoEviction(max_bytes, self.prune, self._count)
            if max_bytes is not None
            else None
        )

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    # --- setup ---

    def check(self) -> None:
        """Create the folders and prove a file can be written; raise StoreError if not."""
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"the audio store at {self.root} is a file, not a folder")
        try:
            for folder in (self.objects_dir, self.temp_dir, self._locks.folder):
                folder.mkdir(parents=True, exist_ok=True)
            probe = self.temp_path("probe")
            try:
                with open(probe, "xb") as file:
                    file.write(b"probe\n")
                    file.flush()
                    os.fsync(file.fileno())
            finally:
                probe.unlink(missing_ok=True)
        except OSError as error:
            raise self._error(error, "use") from None

    # --- reading ---

    def get(self, key: str) -> bytes | None:
        path = self._file(key)
        try:
            with open(path, "rb") as file:
                self._touch_if_stale(path, os.fstat(file.fileno()).st_mtime)
                return file.read()
        except _MISSING:
            return None
        except OSError as error:
            raise self._error(error, "read from") from None

    def exists(self, key: str) -> bool:
        return os.path.isfile(self._file(key))

    def size(self, key: str) -> int | None:
        try:
            status = os.stat(self._file(key))
        except _MISSING:
            return None
        return status.st_size if stat.S_ISREG(status.st_mode) else None

    def read_range(self, key: str, start: int, end: int | None = None) -> bytes:
        check_range(start, end)
        path = self._file(key)
        try:
            with open(path, "rb") as file:
                self._touch_if_stale(path, os.fstat(file.fileno()).st_mtime)
                file.seek(start)
                return file.read() if end is None else file.read(end - start)
        except _MISSING:
            raise MissingObjectError(f"{key} is not in the audio store") from None
        except OSError as error:
            raise self._error(error, "read from") from None

    def open_stream(self, key: str, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> ObjectStream:
        path = self._file(key)
        try:
            file = open(path, "rb")  # noqa: SIM115 - closed by the ObjectStream
        except _MISSING:
            raise MissingObjectError(f"{key} is not in the audio store") from None
        except OSError as error:
            raise self._error(error, "read from") from None
        status = os.fstat(file.fileno())
        self._touch_if_stale(path, status.st_mtime)
        chunks = iter(lambda: file.read(chunk_bytes), b"")
        return ObjectStream(chunks, status.st_size, file.close)

    def local_path(self, key: str) -> Path | None:
        path = self._file(key)
        try:
            status = os.stat(path)
        except _MISSING:
            return None
        if not stat.S_ISREG(status.st_mode):
            return None
        self._touch_if_stale(path, status.st_mtime)
        return Path(path)

    def presigned_url(self, key: str, expires_s: int = 3600) -> str | None:
        """Return ``None``: local files are served by the app itself."""
        validate_key(key)
        return None

    # --- writing ---

    def temp_path(self, key: str) -> Path:
        validate_key(key)
        try:
            self.temp_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise self._error(error, "write to") from None
        return self.temp_dir / tempfiles.temp_name(key)

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        if path.is_file():
            self._touch_if_stale(path, 0.0)
            return
        temp = self.temp_path(key)
        try:
            with open(temp, "xb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            added = self._commit(temp, path)
        except OSError as error:
            raise self._error(error, "write to") from None
        finally:
            _discard(temp)
        if added:
            self._grew(len(data))

    def put_file(self, key: str, path: Path) -> None:
        target = self._path(key)
        try:
            if target.is_file():
                path.unlink(missing_ok=True)
                self._touch_if_stale(target, 0.0)
                return
            size_bytes = path.stat().st_size
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                added = self._commit(path, target)
            except OSError as error:
                if error.errno != errno.EXDEV:
                    raise
                # The file was written on another file system: copy it in first.
                temp = self.temp_path(key)
                try:
                    shutil.copyfile(path, temp)
                    added = self._commit(temp, target)
                finally:
                    temp.unlink(missing_ok=True)
            path.unlink(missing_ok=True)
        except OSError as error:
            raise self._error(error, "write to") from None
        if added:
            self._grew(size_bytes)

    def _commit(self, temp: Path, target: Path) -> bool:
        """Link a complete temp file in as ``target``; return False if it was there."""
        for _attempt in range(3):
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(temp, target)
                return True
            except FileExistsError:
                return False
            except FileNotFoundError:
                if not temp.exists():
                    raise
                continue  # an eviction removed the emptied parent folder meanwhile
            except OSError as error:
                if error.errno not in _NO_HARD_LINKS:
                    raise
                # No hard links here: replace instead. Keys name their content,
                # so a copy that appeared meanwhile holds the same bytes.
                if target.is_file():
                    return False
                os.replace(temp, target)
                return True
        raise FileNotFoundError(errno.ENOENT, "folder kept disappearing", str(target))

    # --- locks and use ---

    def lock(self, key: str, timeout_s: float = 600.0) -> AbstractContextManager[None]:
        """Hold the cross-process producer lock of ``key`` (a ``filelock.FileLock``)."""
        return self._locks.producer(validate_key(key), timeout_s)

    def touch(self, key: str) -> None:
        path = self._path(key)
        try:
            os.utime(path)
        except _MISSING:
            return
        except OSError as error:
            raise self._error(error, "write to") from None

    def _touch_if_stale(self, path: str | Path, used_at: float) -> None:
        if time.time() - used_at < TOUCH_EVERY_S:
            return
        try:
            os.utime(path)
        except OSError as error:
            # A read must not fail because its use could not be recorded.
            logger.debug("could not record use of %s: %s", path, error)

    # --- removal and accounting ---

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink()
        except _MISSING:
            return
        except OSError as error:
            raise self._error(error, "delete from") from None
        eviction.remove_empty_folders(path.parent, self.objects_dir)

    def stats(self) -> StoreStats:
        return StoreStats.count((entry.key, entry.size_bytes) for entry in self._scan())

    def prune(self, max_bytes: int) -> PruneResult:
        """Evict least recently used objects down to ``max_bytes``."""
        try:
            tempfiles.sweep(self.temp_dir)
            result = eviction.evict(self.objects_dir, self._scan(), max_bytes)
        except OSError as error:
            raise self._error(error, "prune") from None
        if self._auto is not None:
            self._auto.counted(result.remaining_bytes)
        return result

    def clear(self) -> None:
        """Remove every object and abandoned temp files."""
        try:
            for entry in self._scan():
                path = self.objects_dir / entry.key
                path.unlink(missing_ok=True)
                eviction.remove_empty_folders(path.parent, self.objects_dir)
            tempfiles.sweep(self.temp_dir)
        except OSError as error:
            raise self._error(error, "clear") from None
        if self._auto is not None:
            self._auto.counted(0)

    def wait_for_maintenance(self, timeout_s: float | None = None) -> None:
        """Wait until a background recount or eviction has finished."""
        if self._auto is not None:
            self._auto.wait(timeout_s)

    def _grew(self, size_bytes: int) -> None:
        if self._auto is not None:
            self._auto.grew(size_bytes)

    def _scan(self) -> list[eviction.Entry]:
        try:
            return eviction.scan(self.objects_dir)
        except OSError as error:
            raise self._error(error, "read from") from None

    def _count(self) -> int:
        return sum(entry.size_bytes for entry in self._scan())

    def _path(self, key: str) -> Path:
        return self.objects_dir / validate_key(key)

    def _file(self, key: str) -> str:
        """Return the key's file name as a string, for reads.

        Reads are the hot path, and pathlib (before Python 3.12) interns every
        part of every path it builds: in a soak, the interpreter's table of
        interned strings, which never shrinks, doubled to 1.8 MB.
        """
        return os.path.join(self._objects_name, validate_key(key))

    def _error(self, error: OSError, action: str) -> StoreError:
        reason = _REASONS.get(error.errno or 0, error.strerror or str(error))
        return StoreError(f"cannot {action} the audio store at {self.root}: {reason}")


def _discard(temp: Path) -> None:
    """Remove a temp file, never raising: on a read-only disk even a missing file fails.

    The error being handled (full or read-only disk) must reach the caller, not
    this clean-up's own; a temp file left behind is swept by the next prune.
    """
    try:
        temp.unlink(missing_ok=True)
    except OSError as error:
        logger.debug("could not remove %s: %s", temp, error)
