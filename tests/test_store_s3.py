"""Test the S3 store against a real SeaweedFS started on loopback ports."""

from __future__ import annotations

import urllib.request
import uuid
from pathlib import Path

import boto3
import pytest

from harness.ports import free_ports
from harness.seaweed import REGION, TEST_BUCKET, SeaweedS3
from service.config import Settings
from service.errors import StoreError
from service.store import open_store
from service.store.s3 import IMMUTABLE_CACHE_CONTROL, S3Store, make_client

BUCKET = TEST_BUCKET

# One xdist worker runs every test of this group, so a test run starts SeaweedFS once
# (the session fixture ``seaweed`` lives in conftest.py).
pytestmark = [pytest.mark.s3, pytest.mark.xdist_group("seaweed")]


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


def test_s3_store_objects_have_no_local_file(store: S3Store) -> None:
    store.put("clips/ab/abcdef.wav", b"RIFF audio")
    assert store.local_path("clips/ab/abcdef.wav") is None


def test_s3_store_presigned_url_serves_the_audio(store: S3Store) -> None:
    store.put("narrations/abc/audio.mp3", b"ID3 frames")
    url = store.presigned_url("narrations/abc/audio.mp3", expires_s=60)
    assert url is not None and "X-Amz-Signature=" in url
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"ID3 frames"
        assert response.headers["Content-Type"] == "audio/mpeg"
        assert response.headers["Cache-Control"] == IMMUTABLE_CACHE_CONTROL


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
