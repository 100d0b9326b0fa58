"""Shared fixtures: settings on a temporary cache, one engine pool per test process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.config import Settings
from service.engines.pool import EnginePool

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
