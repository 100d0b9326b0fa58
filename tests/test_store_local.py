"""Test the local folder store with real files, real processes and real mounts."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from multiprocessing.synchronize import Barrier, Event
from pathlib import Path

import pytest

from service.config import Settings
from service.errors import StoreError
from service.store import (
    LocalStore,
    StoreLockTimeoutError,
    open_store,
    writable,
)

SPAWN = multiprocessing.get_context("spawn")


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    local = LocalStore(tmp_path / "cache")
    local.check()
    return local


@pytest.fixture
def tiny_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """Mount a 64 KiB tmpfs (the tests run as root, as on every machine here)."""
    assert os.geteuid() == 0, "mounting a tmpfs needs root"
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount_point)], check=True
    )
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=True)


# --- reading and writing ---


def test_local_store_serves_objects_as_files(store: LocalStore) -> None:
    store.put("clips/ab/abcdef.wav", b"RIFF audio")
    assert store.local_path("clips/ab/abcdef.wav") == store.root / "clips/ab/abcdef.wav"
    assert store.presigned_url("clips/ab/abcdef.wav") is None


def test_local_store_open_stream_outlives_deletion(store: LocalStore) -> None:
    data = os.urandom(300_000)
    store.put("narrations/abc/audio.mp3", data)
    with store.open_stream("narrations/abc/audio.mp3", chunk_bytes=65_536) as stream:
        assert stream.size_bytes == len(data)
        first = next(stream)
        store.clear()
        assert not store.exists("narrations/abc/audio.mp3")
        assert first + b"".join(stream) == data


def test_local_store_read_records_use(store: LocalStore) -> None:
    store.put("clips/ab/used.wav", b"x")
    path = store.local_path("clips/ab/used.wav")
    assert path is not None
    long_ago = time.time() - 86_400
    os.utime(path, (long_ago, long_ago))
    assert store.get("clips/ab/used.wav") == b"x"
    assert path.stat().st_mtime > long_ago + 80_000


# --- interrupted writes ---


def _write_slowly(root: str, key: str, started: Event) -> None:
    """Write a large object through temp_path, then hang before put_file."""
    store = LocalStore(Path(root))
    temp = store.temp_path(key)
    block = os.urandom(1 << 20)
    with open(temp, "wb") as file:
        for written in range(1, 1000):
            file.write(block)
            if written == 8:
                file.flush()
                started.set()
            time.sleep(0.01)
    store.put_file(key, temp)


def test_local_store_write_killed_midway_leaves_no_object(store: LocalStore) -> None:
    key = "narrations/killed/audio.mp3"
    started = SPAWN.Event()
    child = SPAWN.Process(target=_write_slowly, args=(str(store.root), key, started))
    child.start()
    try:
        assert started.wait(30), "the writer never started"
        assert child.pid is not None
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.join(10)
    assert child.exitcode == -signal.SIGKILL
    leftovers = list(store.temp_dir.iterdir())
    assert len(leftovers) == 1 and leftovers[0].stat().st_size >= 8 << 20
    assert not store.exists(key)
    assert store.get(key) is None
    assert store.stats().objects == 0
    result = store.prune(max_bytes=1 << 30)
    assert result.removed == 0
    assert list(store.temp_dir.iterdir()) == []


# --- locks and pins across processes ---


def _produce_once(root: str, key: str, ready: Barrier, log: str) -> None:
    """Build ``key`` under the store lock unless another process already did."""
    store = LocalStore(Path(root))
    ready.wait(30)
    with store.lock(key):
        if store.exists(key):
            return
        with open(log, "a") as file:
            file.write(f"{os.getpid()}\n")
        time.sleep(0.5)
        store.put(key, b"expensive audio")


def test_local_store_lock_lets_one_process_produce(store: LocalStore, tmp_path: Path) -> None:
    key = "chunks/ab/once.mp3"
    log = tmp_path / "produced.log"
    ready = SPAWN.Barrier(2)
    children = [
        SPAWN.Process(target=_produce_once, args=(str(store.root), key, ready, str(log)))
        for _ in range(2)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join(30)
        assert child.exitcode == 0
    assert len(log.read_text().splitlines()) == 1
    assert store.get(key) == b"expensive audio"
    lock_files = [path for path in (store.root / ".locks").rglob("*") if path.is_file()]
    assert lock_files, "lock files stay in place"


def test_local_store_lock_times_out_with_a_named_error(store: LocalStore) -> None:
    with store.lock("chunks/ab/busy.mp3"):
        started = time.monotonic()
        with pytest.raises(StoreLockTimeoutError), store.lock("chunks/ab/busy.mp3", timeout_s=0.2):
            pass
        assert time.monotonic() - started >= 0.2
        with store.lock("chunks/ab/other.mp3", timeout_s=0.2):
            pass


def _put_aged(store: LocalStore, keys: list[str], size_bytes: int) -> None:
    """Put ``keys`` in order, each used a little later than the one before."""
    for key in keys:
        store.put(key, os.urandom(size_bytes))
        time.sleep(0.02)


def test_local_store_prune_evicts_least_recently_used_first(store: LocalStore) -> None:
    keys = [f"clips/ab/{name}.wav" for name in ("a", "b", "c", "d")]
    _put_aged(store, keys, 1000)
    store.touch(keys[0])
    result = store.prune(max_bytes=2000)
    assert (result.removed, result.freed_bytes, result.remaining_bytes) == (2, 2000, 2000)
    assert [store.exists(key) for key in keys] == [True, False, False, True]
    assert not (store.objects_dir / "clips" / "ab" / "b.wav").exists()


def test_local_store_prune_never_cuts_short_an_object_being_read(store: LocalStore) -> None:
    keys = [f"narrations/n{number}/audio.mp3" for number in range(4)]
    _put_aged(store, keys, 200_000)
    stream = store.open_stream(keys[0], chunk_bytes=1000)
    first = next(stream)
    result = store.prune(max_bytes=0)
    assert result.removed == 4
    assert not store.exists(keys[0])
    assert len(first + b"".join(stream)) == 200_000  # an open file outlives its name
    assert not (store.objects_dir / "narrations" / "n1").exists()


def test_local_store_evicts_automatically_past_its_cap(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "cache", max_bytes=10_000)
    store.check()
    for number in range(30):
        store.put(f"clips/ab/{number:02d}.wav", os.urandom(1000))
        store.wait_for_maintenance(10)
        time.sleep(0.01)
    stats = store.stats()
    assert 5_000 <= stats.size_bytes <= 10_000
    assert store.exists("clips/ab/29.wav")
    assert not store.exists("clips/ab/00.wav")


# --- accounting ---


def test_local_store_stats_counts_by_kind(store: LocalStore) -> None:
    (store.root / ".gitkeep").touch()
    store.temp_path("clips/ab/3.wav").write_bytes(b"unfinished")
    with store.lock("clips/ab/1.wav"):
        store.put("clips/ab/1.wav", b"12345")
    store.put("clips/cd/2.wav", b"123")
    store.put("narrations/x/audio.mp3", b"1234567")
    stats = store.stats()
    assert (stats.objects, stats.size_bytes) == (3, 15)
    assert dict(stats.by_kind) == {"clips": (2, 8), "narrations": (1, 7)}
    assert store.prune(max_bytes=0).removed == 3
    assert (store.root / ".gitkeep").exists()


def test_local_store_clear_leaves_only_its_own_folders(store: LocalStore) -> None:
    store.put("clips/ab/1.wav", b"1")
    store.put("narrations/x/audio.mp3", b"2")
    store.clear()
    assert sorted(path.name for path in store.root.iterdir()) == [".locks", ".tmp"]


# --- opening and failing ---


def test_open_store_reads_the_settings(tmp_path: Path) -> None:
    default = open_store(Settings.of(cache_dir=tmp_path / "default").store)
    as_path = open_store(Settings.of(store_url=str(tmp_path / "plain")).store)
    as_url = open_store(Settings.of(store_url=f"file://{tmp_path / 'url'}").store)
    assert isinstance(default, LocalStore) and default.root == tmp_path / "default"
    assert isinstance(as_path, LocalStore) and as_path.root == tmp_path / "plain"
    assert isinstance(as_url, LocalStore) and as_url.root == tmp_path / "url"
    assert default.max_bytes == Settings().store.cache_max_mb * 1024 * 1024


@pytest.mark.parametrize("url", ["ftp://host/cache", "file://otherhost/cache", "s3:///prefix"])
def test_open_store_refuses_unknown_urls(url: str) -> None:
    with pytest.raises(StoreError, match="store URL"):
        open_store(Settings.of(store_url=url).store)


def test_open_store_fails_when_the_folder_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="is a file, not a folder"):
        open_store(Settings.of(cache_dir=blocker).store)
    with pytest.raises(StoreError, match="part of the path is a file"):
        open_store(Settings.of(cache_dir=blocker / "inside").store)


def test_open_store_fails_on_a_read_only_disk(tiny_tmpfs: Path) -> None:
    open_store(Settings.of(cache_dir=tiny_tmpfs / "cache").store).put("clips/ab/1.wav", b"x")
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_tmpfs)], check=True)
    for folder in ("cache", "new"):
        with pytest.raises(StoreError, match="read-only") as caught:
            open_store(Settings.of(cache_dir=tiny_tmpfs / folder).store)
        assert "\n" not in str(caught.value)


def test_local_store_put_fails_cleanly_on_a_full_disk(tiny_tmpfs: Path) -> None:
    store = open_store(Settings.of(cache_dir=tiny_tmpfs / "cache").store)
    assert isinstance(store, LocalStore)
    with pytest.raises(StoreError, match="disk is full"):
        store.put("narrations/big/audio.mp3", os.urandom(200_000))
    assert not store.exists("narrations/big/audio.mp3")
    assert list(store.temp_dir.iterdir()) == []
    filler = tiny_tmpfs / "filler"
    with pytest.raises(OSError), open(filler, "wb") as file:
        file.write(os.urandom(200_000))
    with pytest.raises(StoreError, match="disk is full"):
        open_store(Settings.of(cache_dir=tiny_tmpfs / "cache").store)
    assert not writable(store)


def test_local_store_put_on_a_read_only_disk_names_the_reason(tiny_tmpfs: Path) -> None:
    store = open_store(Settings.of(cache_dir=tiny_tmpfs / "cache").store)
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_tmpfs)], check=True)
    # The clean-up of the temp file fails too on a read-only disk; it must not hide why.
    with pytest.raises(StoreError, match="read-only"):
        store.put("narrations/new/plan.json", b"{}")


def test_local_store_opened_clears_temp_files_abandoned_by_killed_or_old_writers(
    tmp_path: Path,
) -> None:
    from service.store.tempfiles import _HOST

    settings = Settings.from_env({}, cache_dir=tmp_path / "cache")
    temp_dir = open_store(settings.store).temp_dir
    dead = subprocess.Popen(["true"])
    dead.wait()
    unreaped = subprocess.Popen(["true"])  # ends, and stays a zombie until waited for
    os.waitid(os.P_PID, unreaped.pid, os.WEXITED | os.WNOWAIT)  # ended, not reaped
    files = {
        "killed writer": temp_dir / f"{_HOST}~{dead.pid}~0123456789abcdef.mp3",
        "killed writer, not reaped": temp_dir / f"{_HOST}~{unreaped.pid}~0123456789abcdef.mp3",
        "old, another machine": temp_dir / "elsewhere~12~0123456789abcdef.mp3",
        "old, not our name": temp_dir / "leftover.tmp",
        "fresh, another machine": temp_dir / "elsewhere~13~0123456789abcdef.mp3",
        "fresh, this process": temp_dir / f"{_HOST}~{os.getpid()}~0123456789abcdef.mp3",
    }
    for name, path in files.items():
        path.write_bytes(b"half")
        if name.startswith("old"):
            twenty_minutes_ago = time.time() - 20 * 60
            os.utime(path, (twenty_minutes_ago, twenty_minutes_ago))
    open_store(settings.store)  # as a server starting again after kill -9
    unreaped.wait()
    left = {name for name, path in files.items() if path.exists()}
    assert left == {"fresh, another machine", "fresh, this process"}
