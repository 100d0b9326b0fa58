"""Hold both stores to one contract: the local folder, and S3 on a real SeaweedFS.

Every test here runs against each store. What only one store does (the local
folder's locks, pins and full disks; S3's presigned URLs and credentials) is tested
in ``test_store_local.py`` and ``test_store_s3.py``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest

from harness.seaweed import TEST_BUCKET
from service.store import (
    InvalidKeyError,
    LocalStore,
    MissingObjectError,
    Store,
    validate_key,
    writable,
)
from service.store.s3 import S3Store, make_client

HOSTILE_KEYS = [
    "../etc/passwd",
    "clips/../../etc/passwd",
    "/etc/passwd",
    "clips//x.wav",
    "clips/x.wav/",
    "./clips/x.wav",
    ".locks/x",
    ".tmp/x",
    "clips/a..b",
    "clips/\u00e9t\u00e9.wav",
    "clips/x\x00.wav",
    "clips/x.wav\n",
    "Clips/X.WAV",
    "clips\\x.wav",
    "clips/x wav",
    "",
    "a" * 257,
]
GOOD_KEYS = [
    "clips/ab/abcdef0123.wav",
    "chunks/ab/ab12.mp3",
    "narrations/2f9c-id_1/audio.mp3",
    "narrations/2f9c/audio.mp3.sha256",
    "x",
    "a" * 256,
]


@pytest.fixture(
    params=[
        "local",
        # One xdist worker runs every test of this group, so a run starts SeaweedFS once.
        pytest.param("s3", marks=[pytest.mark.s3, pytest.mark.xdist_group("seaweed")]),
    ]
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> LocalStore | S3Store:
    """Return an empty store: a local folder, then S3 under a prefix of its own."""
    if request.param == "local":
        local = LocalStore(tmp_path / "cache")
        local.check()
        return local
    seaweed = request.getfixturevalue("seaweed")
    session: boto3.session.Session = request.getfixturevalue("boto_session")
    client = make_client(seaweed.endpoint_url, session=session)
    return S3Store(
        TEST_BUCKET, f"t-{uuid.uuid4().hex[:12]}", temp_dir=tmp_path / "tmp", client=client
    )


# --- keys ---


@pytest.mark.parametrize("key", GOOD_KEYS)
def test_validate_key_accepts_store_keys(key: str) -> None:
    assert validate_key(key) == key


@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_validate_key_rejects_hostile_keys(key: str) -> None:
    with pytest.raises(InvalidKeyError):
        validate_key(key)


@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_store_refuses_hostile_keys_before_touching_anything(
    tmp_path: Path, store: LocalStore | S3Store, key: str
) -> None:
    before = sorted(tmp_path.rglob("*"))
    calls: list[Callable[[], object]] = [
        lambda: store.put(key, b"x"),
        lambda: store.get(key),
        lambda: store.exists(key),
        lambda: store.size(key),
        lambda: store.local_path(key),
        lambda: store.presigned_url(key),
        lambda: store.temp_path(key),
        lambda: store.delete(key),
        lambda: store.touch(key),
        lambda: store.lock(key),
    ]
    for call in calls:
        with pytest.raises(InvalidKeyError):
            call()
    assert sorted(tmp_path.rglob("*")) == before
    assert store.stats().objects == 0


# --- reading and writing ---


def test_store_put_then_get(store: LocalStore | S3Store) -> None:
    key = "clips/ab/abcdef.wav"
    assert store.get(key) is None
    assert not store.exists(key)
    assert store.size(key) is None
    store.put(key, b"RIFF audio")
    assert store.get(key) == b"RIFF audio"
    assert store.exists(key)
    assert store.size(key) == 10
    assert isinstance(store, Store)
    assert writable(store)


def test_store_put_is_write_once(store: LocalStore | S3Store) -> None:
    key = "narrations/abc/audio.mp3"
    store.put(key, b"first")
    store.put(key, b"second")
    temp = store.temp_path(key)
    temp.write_bytes(b"third")
    store.put_file(key, temp)
    assert store.get(key) == b"first"
    assert not temp.exists()
    assert list(store.temp_dir.iterdir()) == []


def test_store_put_file_moves_the_file_in(store: LocalStore | S3Store) -> None:
    key = "narrations/abc/audio.mp3"
    temp = store.temp_path(key)
    assert temp.parent == store.temp_dir and temp.suffix == ".mp3"
    assert store.temp_path(key) != temp
    temp.write_bytes(b"ID3 frames" * 1000)
    store.put_file(key, temp)
    assert not temp.exists()
    assert store.get(key) == b"ID3 frames" * 1000


def test_store_put_file_takes_a_file_from_another_folder(
    store: LocalStore | S3Store, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere.mp3"
    outside.write_bytes(b"frames")
    store.put_file("chunks/ab/ab.mp3", outside)
    assert store.get("chunks/ab/ab.mp3") == b"frames"
    assert not outside.exists()


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [(0, 2, b"01"), (0, None, b"0123456789"), (8, None, b"89"), (5, 5, b""), (20, None, b"")],
)
def test_store_read_range(
    store: LocalStore | S3Store, start: int, end: int | None, expected: bytes
) -> None:
    store.put("chunks/ab/range.mp3", b"0123456789")
    assert store.read_range("chunks/ab/range.mp3", start, end) == expected


def test_store_read_missing_object_raises(store: LocalStore | S3Store) -> None:
    with pytest.raises(MissingObjectError):
        store.read_range("chunks/ab/none.mp3", 0, 1)
    with pytest.raises(MissingObjectError):
        store.open_stream("chunks/ab/none.mp3")
    with pytest.raises(ValueError):
        store.read_range("chunks/ab/none.mp3", 5, 2)


def test_store_open_stream_yields_the_object(store: LocalStore | S3Store) -> None:
    data = bytes(range(256)) * 1000
    store.put("narrations/abc/audio.wav", data)
    with store.open_stream("narrations/abc/audio.wav", chunk_bytes=65_536) as stream:
        assert stream.size_bytes == len(data)
        assert b"".join(stream) == data


# --- accounting and removal ---


def test_store_stats_counts_by_kind(store: LocalStore | S3Store) -> None:
    store.put("clips/ab/1.wav", b"12345")
    store.put("clips/cd/2.wav", b"123")
    store.put("narrations/x/audio.mp3", b"1234567")
    stats = store.stats()
    assert (stats.objects, stats.size_bytes) == (3, 15)
    assert dict(stats.by_kind) == {"clips": (2, 8), "narrations": (1, 7)}


def test_store_prune_removes_the_oldest_first(store: LocalStore | S3Store) -> None:
    store.put("clips/ab/old.wav", b"x" * 1000)
    # S3 keeps write times to the second; the local folder to the nanosecond
    time.sleep(1.1 if isinstance(store, S3Store) else 0.02)
    store.put("clips/ab/new.wav", b"y" * 1000)
    result = store.prune(max_bytes=1500)
    assert (result.removed, result.freed_bytes, result.remaining_bytes) == (1, 1000, 1000)
    assert not store.exists("clips/ab/old.wav")
    assert store.exists("clips/ab/new.wav")


def test_store_delete_and_clear(store: LocalStore | S3Store) -> None:
    store.put("clips/ab/1.wav", b"1")
    store.put("narrations/x/audio.mp3", b"2")
    store.delete("clips/ab/1.wav")
    store.delete("clips/ab/1.wav")
    assert not store.exists("clips/ab/1.wav")
    store.clear()
    assert store.stats().objects == 0
    store.put("clips/ab/1.wav", b"again")
    assert store.get("clips/ab/1.wav") == b"again"
