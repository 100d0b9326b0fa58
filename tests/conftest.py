"""Shared fixtures: settings on a temporary cache, one engine pool per test process."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.postgres_server import PostgresServer, running_postgres
from harness.seaweed import REGION, TEST_BUCKET, SeaweedS3, running_seaweed
from service.config import Settings
from service.engines.pool import EnginePool

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED_ARTICLE = SEEDS / "nato-expansion-medium.txt"
SERVER_FIXTURES = {"seaweed": ("s3", "seaweed"), "postgres": ("postgres", "postgres")}
"""Session fixtures that start an outside server -> (marker, xdist group) of their tests.

One xdist worker runs every test of a group, so a test run starts each server once.
"""


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark and group every test that uses an outside server's fixture.

    First, so that the marks are there when ``-m`` deselects and xdist groups.
    """
    for item in items:
        used = getattr(item, "fixturenames", ())
        for fixture, (marker, group) in SERVER_FIXTURES.items():
            if fixture in used:
                item.add_marker(marker)
                item.add_marker(pytest.mark.xdist_group(group))


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

    The tests that use it are marked ``s3`` and run on one xdist worker (see
    ``SERVER_FIXTURES``), so a test run starts SeaweedFS once.
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
def boto_session(seaweed: SeaweedS3) -> Any:
    """Share one boto3 session: a new one costs a few tenths of a second."""
    import boto3

    return boto3.session.Session(
        aws_access_key_id=seaweed.access_key,
        aws_secret_access_key=seaweed.secret_key,
        region_name=REGION,
    )


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """Run one PostgreSQL per test process.

    The tests that use it are marked ``postgres`` and run on one xdist worker (see
    ``SERVER_FIXTURES``), so a test run starts PostgreSQL once. ``database_url`` asks
    for it by name, so its PostgreSQL case carries the mark and group itself.
    """
    with running_postgres() as server:
        yield server


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgresql", marks=[pytest.mark.postgres, pytest.mark.xdist_group("postgres")]
        ),
    ]
)
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
