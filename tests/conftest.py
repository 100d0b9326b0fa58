"""Shared fixtures: settings on a temporary cache, one engine pool per test process."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.config import Settings
from service.engines.pool import EnginePool
from tests.postgres_server import PostgresServer, running_postgres
from tests.seaweed import REGION, TEST_BUCKET, SeaweedS3, running_seaweed

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED_ARTICLE = SEEDS / "nato-expansion-medium.txt"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Return settings with a fresh cache folder and no environment influence."""
    return Settings.from_env({}, cache_dir=tmp_path / "cache", workers=2)


@pytest.fixture(scope="session")
def engine_pool() -> Iterator[EnginePool]:
    """Start two spawned engine workers once per test process."""
    with EnginePool(2, task_timeout_s=60) as pool:
        pool.start()
        yield pool


@pytest.fixture(scope="session")
def seaweed() -> Iterator[SeaweedS3]:
    """Run one SeaweedFS per test process, with the bucket ``TEST_BUCKET`` ready to write.

    Mark tests that use it ``pytest.mark.xdist_group("seaweed")`` so that one
    xdist worker runs them all and a test run starts SeaweedFS once.
    """
    import boto3
    from botocore.exceptions import ClientError

    with running_seaweed() as server:
        client = boto3.client(
            "s3",
            endpoint_url=server.endpoint_url,
            aws_access_key_id=server.access_key,
            aws_secret_access_key=server.secret_key,
            region_name=REGION,
        )
        client.create_bucket(Bucket=TEST_BUCKET)
        deadline = time.monotonic() + 30
        while True:  # the first write waits until the master has grown volumes
            try:
                client.put_object(Bucket=TEST_BUCKET, Key="ready", Body=b"ready")
                break
            except ClientError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        client.delete_object(Bucket=TEST_BUCKET, Key="ready")
        yield server


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """Run one PostgreSQL per test process.

    Mark tests that use it ``pytest.mark.xdist_group("postgres")`` so that one
    xdist worker runs them all and a test run starts PostgreSQL once.
    """
    with running_postgres() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Return the URL of an empty library database: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'library.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    url = server.create_database()
    try:
        yield url
    finally:
        server.drop_database(url)
