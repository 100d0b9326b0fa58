"""Keep narrated audio under content-addressed keys: a local folder or S3.

``open_store(settings)`` picks the backend from ``settings.store_url``::

    ""                      settings.cache_dir (the default, ``audio_cache/``)
    "/srv/cache", "cache"   that folder
    "file:///srv/cache"     that folder
    "s3://bucket/prefix"    S3-compatible storage at ``settings.s3_endpoint_url``
                            (credentials from the standard AWS environment)
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from service.config import StoreSettings
from service.errors import StoreError
from service.store import tempfiles
from service.store.base import (
    MissingObjectError,
    ObjectStream,
    PruneResult,
    Store,
    StoreLockTimeoutError,
    StoreStats,
    writable,
)
from service.store.keys import InvalidKeyError, key_kind, validate_key
from service.store.local import LocalStore

__all__ = [
    "InvalidKeyError",
    "LocalStore",
    "MissingObjectError",
    "ObjectStream",
    "PruneResult",
    "Store",
    "StoreLockTimeoutError",
    "StoreStats",
    "key_kind",
    "local_store_root",
    "open_store",
    "validate_key",
    "writable",
]

BYTES_PER_MB = 1024 * 1024


def local_store_root(settings: StoreSettings) -> Path | None:
    """Return the folder of the local store ``settings`` name, or None for object storage."""
    url = settings.store_url.strip()
    parts = urlsplit(url)
    if parts.scheme == "s3":
        return None
    if parts.scheme == "file":
        if parts.netloc not in {"", "localhost"}:
            raise StoreError(f"store URL {url!r} names a remote host; use a local path")
        return Path(unquote(parts.path)).absolute()
    if "://" in url:
        raise StoreError(f"store URL {url!r} is neither a folder, file:// nor s3://")
    return (Path(url) if url else Path(settings.cache_dir)).absolute()


def open_store(settings: StoreSettings) -> Store:
    """Open the store ``settings`` name and check that it can be used."""
    url = settings.store_url.strip()
    parts = urlsplit(url)
    if parts.scheme == "s3":
        from service.store.s3 import S3Store

        if not parts.netloc:
            raise StoreError(f"store URL {url!r} names no bucket: use s3://bucket/prefix")
        s3_store = S3Store(
            parts.netloc,
            parts.path,
            temp_dir=Path(settings.cache_dir) / ".tmp",
            endpoint_url=settings.s3_endpoint_url or None,
        )
        s3_store.check()
        tempfiles.sweep(s3_store.temp_dir, stale_after_s=tempfiles.STALE_AT_START_S)
        return s3_store
    root = local_store_root(settings)
    assert root is not None
    max_bytes = settings.cache_max_mb * BYTES_PER_MB if settings.cache_max_mb > 0 else None
    local_store = LocalStore(root, max_bytes=max_bytes)
    local_store.check()
    tempfiles.sweep(local_store.temp_dir, stale_after_s=tempfiles.STALE_AT_START_S)
    return local_store
