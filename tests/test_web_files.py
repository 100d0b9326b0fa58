"""The set of open audio files behind range requests: bounded, never closed under a reader."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from service.web.files import OpenFile, OpenFiles


def is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def holds(entry: OpenFile) -> bool:
    """Return True when the entry's descriptor is open on its own file (numbers are reused)."""
    try:
        status = os.fstat(entry.fd)
    except OSError:
        return False
    return (status.st_dev, status.st_ino) == entry.inode


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_a_file_stays_open_and_is_read_without_looking_it_up_again(tmp_path: Path) -> None:
    path = write(tmp_path / "a.mp3", b"0123456789")
    lookups: list[str] = []

    def locate() -> Path:
        lookups.append("a")
        return path

    files = OpenFiles(recheck_s=60)
    for _ in range(3):
        entry = files.acquire("a", locate)
        assert entry is not None and entry.size == 10
        assert os.pread(entry.fd, 4, 3) == b"3456"
        files.release(entry)
    assert lookups == ["a"]
    files.close()
    assert not is_open(entry.fd)


def test_the_least_recently_used_file_is_closed_past_capacity(tmp_path: Path) -> None:
    files = OpenFiles(capacity=2, recheck_s=60)
    fds = {}
    for name in ("a", "b", "c"):
        path = write(tmp_path / name, name.encode())
        entry = files.acquire(name, lambda path=path: path)
        assert entry is not None
        fds[name] = entry.fd
        files.release(entry)
    assert not is_open(fds["a"])
    assert is_open(fds["b"]) and is_open(fds["c"])
    files.close()


def test_a_file_that_leaves_the_set_while_read_closes_when_the_reader_is_done(
    tmp_path: Path,
) -> None:
    files = OpenFiles(capacity=1, recheck_s=60)
    a = write(tmp_path / "a", b"first")
    reading = files.acquire("a", lambda: a)
    assert reading is not None
    b = write(tmp_path / "b", b"second")
    other = files.acquire("b", lambda: b)  # pushes "a" out of the set while it is read
    assert other is not None
    assert is_open(reading.fd) and os.pread(reading.fd, 5, 0) == b"first"
    files.release(reading)
    assert not is_open(reading.fd)
    files.release(other)
    files.close()


def test_a_removed_or_remade_file_is_noticed_at_the_next_check(tmp_path: Path) -> None:
    path = write(tmp_path / "a", b"old")
    present = [True]
    files = OpenFiles(recheck_s=0.0)
    first = files.acquire("a", lambda: path if present[0] else None)
    assert first is not None
    files.release(first)
    path.unlink()
    write(path, b"newer")  # made again: another inode at the same path
    second = files.acquire("a", lambda: path if present[0] else None)
    assert second is not None and second.size == 5 and os.pread(second.fd, 5, 0) == b"newer"
    assert not is_open(first.fd)
    files.release(second)
    present[0] = False
    assert files.acquire("a", lambda: path if present[0] else None) is None
    assert not is_open(second.fd)


@pytest.mark.parametrize("capacity", [1, 4])
def test_many_threads_read_the_right_bytes_while_files_come_and_go(
    tmp_path: Path, capacity: int
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    paths = {f"f{i}": write(tmp_path / f"f{i}", bytes([i]) * 4096) for i in range(6)}
    files = OpenFiles(capacity=capacity, recheck_s=0.0)

    def read(n: int) -> bool:
        key = f"f{n % 6}"
        entry = files.acquire(key, lambda: paths[key])
        assert entry is not None
        try:
            return os.pread(entry.fd, 4096, 0) == bytes([n % 6]) * 4096
        finally:
            files.release(entry)

    with ThreadPoolExecutor(8) as threads:
        assert all(threads.map(read, range(3000)))
    files.close()


def test_a_file_nobody_reads_for_a_while_is_closed(tmp_path: Path) -> None:
    import time

    files = OpenFiles(recheck_s=0.0, idle_s=0.05)
    paths = {name: write(tmp_path / name, name.encode()) for name in ("old", "new")}
    old = files.acquire("old", lambda: paths["old"])
    assert old is not None
    files.release(old)
    time.sleep(0.1)
    new = files.acquire("new", lambda: paths["new"])
    assert new is not None
    assert old.retired and not holds(old)  # idle past idle_s: closed at the next look
    assert holds(new)
    files.release(new)
    files.close()
