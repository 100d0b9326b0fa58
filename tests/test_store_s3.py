"""Test the S3 store against a real SeaweedFS started on loopback ports."""

from __future__ import annotations

import time
import urllib.request
import uuid
from pathlib import Path

import boto3
import pytest

from service.config import Settings
from service.errors import StoreError
from service.store import InvalidKeyError, MissingObjectError, Store, open_store, writable
from service.store.s3 import IMMUTABLE_CACHE_CONTROL, S3Store, make_client
from tests.seaweed import REGION, TEST_BUCKET, SeaweedS3, free_ports

BUCKET = TEST_BUCKET

# One xdist worker runs every test of this group, so a test run starts SeaweedFS once
# (the session fixture ``seaweed`` lives in conftest.py).
pytestmark = pytest.mark.xdist_group("seaweed")


@pytest.fixture
def s3_env(seaweed: SeaweedS3, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> SeaweedS3:
    """Give boto3 the test credentials the standard way, and nothing else."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", seaweed.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", seaweed.secret_key)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    return seaweed


@pytest.fixture(scope="session")
def boto_session(seaweed: SeaweedS3) -> boto3.session.Session:
    """Share one boto3 session: a new one costs a few tenths of a second."""
    return boto3.session.Session(
        aws_access_key_id=seaweed.access_key,
        aws_secret_access_key=seaweed.secret_key,
        region_name=REGION,
    )


@pytest.fixture
def store(seaweed: SeaweedS3, boto_session: boto3.session.Session, tmp_path: Path) -> S3Store:
    """Return a store under a prefix of its own in the shared bucket."""
    client = make_client(seaweed.endpoint_url, session=boto_session)
    return S3Store(BUCKET, f"t-{uuid.uuid4().hex[:12]}", temp_dir=tmp_path / "tmp", client=client)


def test_open_store_opens_s3_from_the_settings(s3_env: SeaweedS3, tmp_path: Path) -> None:
    settings = Settings.of(
        store_url=f"s3://{BUCKET}/opened/here",
        s3_endpoint_url=s3_env.endpoint_url,
        cache_dir=tmp_path / "cache",
    )
    opened = open_store(settings.store)
    assert isinstance(opened, S3Store)
    assert (opened.bucket, opened.prefix) == (BUCKET, "opened/here/")
    assert opened.temp_path("clips/ab/x.wav").parent == tmp_path / "cache" / ".tmp"
    opened.put("clips/ab/x.wav", b"through the environment")
    assert opened.get("clips/ab/x.wav") == b"through the environment"
    opened.clear()


def test_s3_store_put_then_get(store: S3Store) -> None:
    key = "clips/ab/abcdef.wav"
    assert store.get(key) is None
    assert not store.exists(key)
    assert store.size(key) is None
    store.put(key, b"RIFF audio")
    assert store.get(key) == b"RIFF audio"
    assert store.exists(key)
    assert store.size(key) == 10
    assert store.local_path(key) is None
    assert isinstance(store, Store)
    assert writable(store)


def test_s3_store_put_is_write_once(store: S3Store) -> None:
    key = "narrations/abc/audio.mp3"
    store.put(key, b"first")
    store.put(key, b"second")
    temp = store.temp_path(key)
    temp.write_bytes(b"third")
    store.put_file(key, temp)
    assert store.get(key) == b"first"
    assert not temp.exists()


def test_s3_store_put_file_uploads_and_removes_the_file(store: S3Store) -> None:
    key = "narrations/abc/audio.mp3"
    temp = store.temp_path(key)
    temp.write_bytes(b"ID3 frames" * 1000)
    store.put_file(key, temp)
    assert not temp.exists()
    assert store.get(key) == b"ID3 frames" * 1000


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [(0, 2, b"01"), (0, None, b"0123456789"), (8, None, b"89"), (5, 5, b""), (20, None, b"")],
)
def test_s3_store_read_range(store: S3Store, start: int, end: int | None, expected: bytes) -> None:
    store.put("chunks/ab/range.mp3", b"0123456789")
    assert store.read_range("chunks/ab/range.mp3", start, end) == expected


def test_s3_store_read_missing_object_raises(store: S3Store) -> None:
    with pytest.raises(MissingObjectError):
        store.read_range("chunks/ab/none.mp3", 0, 1)
    with pytest.raises(MissingObjectError):
        store.open_stream("chunks/ab/none.mp3")


def test_s3_store_open_stream_yields_the_object(store: S3Store) -> None:
    data = bytes(range(256)) * 1000
    store.put("narrations/abc/audio.wav", data)
    with store.open_stream("narrations/abc/audio.wav", chunk_bytes=65_536) as stream:
        assert stream.size_bytes == len(data)
        assert b"".join(stream) == data


def test_s3_store_presigned_url_serves_the_audio(store: S3Store) -> None:
    store.put("narrations/abc/audio.mp3", b"ID3 frames")
    url = store.presigned_url("narrations/abc/audio.mp3", expires_s=60)
    assert url is not None and "X-Amz-Signature=" in url
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"ID3 frames"
        assert response.headers["Content-Type"] == "audio/mpeg"
        assert response.headers["Cache-Control"] == IMMUTABLE_CACHE_CONTROL


def test_s3_store_stats_counts_by_kind(store: S3Store) -> None:
    store.put("clips/ab/1.wav", b"12345")
    store.put("clips/cd/2.wav", b"123")
    store.put("narrations/x/audio.mp3", b"1234567")
    stats = store.stats()
    assert (stats.objects, stats.size_bytes) == (3, 15)
    assert dict(stats.by_kind) == {"clips": (2, 8), "narrations": (1, 7)}


def test_s3_store_prune_removes_oldest_written_first(store: S3Store) -> None:
    store.put("clips/ab/old.wav", b"x" * 1000)
    time.sleep(1.1)  # S3 keeps write times to the second
    store.put("clips/ab/new.wav", b"y" * 1000)
    result = store.prune(max_bytes=1500)
    assert (result.removed, result.freed_bytes, result.remaining_bytes) == (1, 1000, 1000)
    assert not store.exists("clips/ab/old.wav")
    assert store.exists("clips/ab/new.wav")


def test_s3_store_delete_and_clear(store: S3Store) -> None:
    store.put("clips/ab/1.wav", b"1")
    store.put("narrations/x/audio.mp3", b"2")
    store.delete("clips/ab/1.wav")
    store.delete("clips/ab/1.wav")
    assert not store.exists("clips/ab/1.wav")
    store.clear()
    assert store.stats().objects == 0


@pytest.mark.parametrize("key", ["../x", "/abs", "clips/\u00e9.wav", "a" * 300, "x\x00y"])
def test_s3_store_refuses_hostile_keys(store: S3Store, key: str) -> None:
    with pytest.raises(InvalidKeyError):
        store.put(key, b"x")
    with pytest.raises(InvalidKeyError):
        store.get(key)
    with pytest.raises(InvalidKeyError):
        store.presigned_url(key)


def test_s3_store_lock_is_an_explicit_no_op(store: S3Store) -> None:
    with store.lock("chunks/ab/x.mp3"):
        store.touch("chunks/ab/x.mp3")


def test_open_store_fails_for_a_missing_bucket(s3_env: SeaweedS3) -> None:
    settings = Settings.of(store_url="s3://no-such-bucket/p", s3_endpoint_url=s3_env.endpoint_url)
    with pytest.raises(StoreError, match="does not exist"):
        open_store(settings.store)


def test_open_store_fails_with_wrong_credentials(
    s3_env: SeaweedS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
    settings = Settings.of(store_url=f"s3://{BUCKET}/p", s3_endpoint_url=s3_env.endpoint_url)
    with pytest.raises(StoreError, match="cannot reach the audio store") as caught:
        open_store(settings.store)
    assert "\n" not in str(caught.value)


def test_open_store_fails_when_nothing_listens(s3_env: SeaweedS3) -> None:
    (port,) = free_ports(1)
    settings = Settings.of(store_url=f"s3://{BUCKET}/p", s3_endpoint_url=f"http://127.0.0.1:{port}")
    with pytest.raises(StoreError, match="cannot reach the audio store") as caught:
        open_store(settings.store)
    assert "\n" not in str(caught.value)
