"""Keep audio objects in S3-compatible object storage: the scale-out store.

Objects are named ``<prefix>/<key>`` in one bucket. A single PUT is atomic,
so a reader never sees part of an object; PUTs carry ``If-None-Match: *`` so
the first writer of a key wins (a server that ignores the header overwrites
with the same bytes, since keys name their content).

What S3 does not give, and what this store therefore does not promise:

* ``lock`` does nothing. Across machines the job queue gives each
  narration to one worker (RQ job ids); two workers that still build the same
  clip write identical bytes, and the first PUT wins.
* ``touch`` does nothing and ``prune`` removes the *oldest written* objects
  first: S3 keeps no access time. Prefer a bucket lifecycle rule in production.
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from service.errors import StoreError
from service.store import tempfiles
from service.store.base import (
    DEFAULT_CHUNK_BYTES,
    MissingObjectError,
    ObjectStream,
    PruneResult,
    StoreStats,
    check_range,
)
from service.store.keys import validate_key

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = logging.getLogger(__name__)

IMMUTABLE_CACHE_CONTROL = "public, max-age=31536000, immutable"
"""Cache-Control stored with every object: a key never changes its bytes."""

_MISSING_CODES = {"NoSuchKey", "404", "NotFound"}
_ALREADY_THERE_CODES = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}
_DELETE_BATCH = 1000


def make_client(
    endpoint_url: str | None = None, session: boto3.session.Session | None = None
) -> S3Client:
    """Build an S3 client for ``endpoint_url``.

    Without ``session``, a new one reads the standard AWS environment. A new
    session rather than boto3's shared default one: that one is not
    thread-safe and keeps the first credentials it found for good.
    """
    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": "path"} if endpoint_url else {},
        connect_timeout=5,
        read_timeout=60,
        retries={"max_attempts": 3, "mode": "standard"},
    )
    session = session if session is not None else boto3.session.Session()
    return session.client("s3", endpoint_url=endpoint_url or None, config=config)


class S3Store:
    """Store objects in ``bucket`` under ``prefix``; see the module docstring."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        temp_dir: Path,
        endpoint_url: str | None = None,
        client: S3Client | None = None,
    ) -> None:
        prefix = prefix.strip("/")
        if prefix:
            validate_key(prefix)
        self.bucket = bucket
        """Bucket holding the objects."""
        self.prefix = f"{prefix}/" if prefix else ""
        """Start of every object name, empty or ending in ``/``."""
        self.temp_dir = Path(temp_dir)
        """Local folder for files being written before upload."""
        self.client = client if client is not None else make_client(endpoint_url)
        """The boto3 S3 client."""

    def __repr__(self) -> str:
        return f"S3Store('s3://{self.bucket}/{self.prefix}')"

    def check(self) -> None:
        """Prove the bucket answers (a write is not tried, to keep it cheap); raise StoreError."""
        with self._errors("reach"):
            try:
                self.client.head_bucket(Bucket=self.bucket)
            except ClientError as error:
                if _code(error) in {"404", "NoSuchBucket"}:
                    raise StoreError(f"the bucket {self.bucket!r} does not exist") from None
                raise

    # --- reading ---

    def get(self, key: str) -> bytes | None:
        response = self._get_object(key)
        return None if response is None else self._read_body(response)

    def exists(self, key: str) -> bool:
        return self.size(key) is not None

    def size(self, key: str) -> int | None:
        name = self._name(key)
        with self._errors("read from"):
            try:
                return self.client.head_object(Bucket=self.bucket, Key=name)["ContentLength"]
            except ClientError as error:
                if _code(error) in _MISSING_CODES:
                    return None
                raise

    def read_range(self, key: str, start: int, end: int | None = None) -> bytes:
        check_range(start, end)
        if end == start:  # HTTP cannot ask for zero bytes
            if not self.exists(key):
                raise MissingObjectError(f"{key} is not in the audio store")
            return b""
        wanted = f"bytes={start}-" if end is None else f"bytes={start}-{end - 1}"
        try:
            response = self._get_object(key, Range=wanted)
        except _PastTheEnd:
            return b""  # starts past the end, like a local read
        if response is None:
            raise MissingObjectError(f"{key} is not in the audio store")
        return self._read_body(response)

    def open_stream(self, key: str, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> ObjectStream:
        response = self._get_object(key)
        if response is None:
            raise MissingObjectError(f"{key} is not in the audio store")
        body = response["Body"]
        return ObjectStream(
            self._chunks(body.iter_chunks(chunk_bytes)), response["ContentLength"], body.close
        )

    def _get_object(self, key: str, **options: Any) -> Any:
        """Return ``get_object``'s answer, or None when the object is not stored."""
        name = self._name(key)
        with self._errors("read from"):
            try:
                return self.client.get_object(Bucket=self.bucket, Key=name, **options)
            except ClientError as error:
                if _code(error) in _MISSING_CODES:
                    return None
                if _code(error) in {"InvalidRange", "416"}:
                    raise _PastTheEnd from None
                raise

    def _read_body(self, response: Any) -> bytes:
        body = response["Body"]
        with self._errors("read from"):
            try:
                data: bytes = body.read()
                return data
            finally:
                body.close()

    def local_path(self, key: str) -> Path | None:
        """Return ``None``: S3 objects have no local file; use :meth:`presigned_url`."""
        validate_key(key)
        return None

    def presigned_url(self, key: str, expires_s: int = 3600) -> str | None:
        name = self._name(key)
        with self._errors("sign a URL for"):
            return self.client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": name}, ExpiresIn=expires_s
            )

    # --- writing ---

    def temp_path(self, key: str) -> Path:
        validate_key(key)
        try:
            self.temp_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(f"cannot create the temp folder {self.temp_dir}: {error}") from None
        return self.temp_dir / tempfiles.temp_name(key)

    def put(self, key: str, data: bytes) -> None:
        self._put(key, data)

    def put_file(self, key: str, path: Path) -> None:
        validate_key(key)
        try:
            with open(path, "rb") as file:
                self._put(key, file)
            path.unlink(missing_ok=True)
        except OSError as error:
            raise StoreError(f"cannot read {path} to upload it: {error}") from None

    def _put(self, key: str, body: Any) -> None:
        name = self._name(key)
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        with self._errors("write to"):
            try:
                self.client.put_object(
                    Bucket=self.bucket,
                    Key=name,
                    Body=body,
                    ContentType=content_type,
                    CacheControl=IMMUTABLE_CACHE_CONTROL,
                    IfNoneMatch="*",
                )
            except ClientError as error:
                if _code(error) not in _ALREADY_THERE_CODES:
                    raise

    # --- locks and use ---

    def lock(self, key: str, timeout_s: float = 600.0) -> AbstractContextManager[None]:
        """Return a no-op: the job queue, not the store, keeps work unique on S3."""
        validate_key(key)
        return nullcontext()

    def touch(self, key: str) -> None:
        """Do nothing: S3 keeps no access time, and rewriting objects costs too much."""
        validate_key(key)

    # --- removal and accounting ---

    def delete(self, key: str) -> None:
        name = self._name(key)
        with self._errors("delete from"):
            self.client.delete_object(Bucket=self.bucket, Key=name)

    def stats(self) -> StoreStats:
        return StoreStats.count((key, size_bytes) for key, size_bytes, _written in self._list())

    def prune(self, max_bytes: int) -> PruneResult:
        """Delete the oldest written objects until at most ``max_bytes`` remain."""
        entries = sorted(self._list(), key=lambda entry: entry[2])
        remaining = sum(size_bytes for _key, size_bytes, _written in entries)
        doomed: list[str] = []
        removed_bytes = 0
        for key, size_bytes, _written in entries:
            if remaining <= max_bytes:
                break
            doomed.append(key)
            remaining -= size_bytes
            removed_bytes += size_bytes
        self._delete_many(doomed)
        return PruneResult(len(doomed), removed_bytes, remaining)

    def clear(self) -> None:
        self._delete_many([key for key, _size, _written in self._list()])

    def _list(self) -> Iterator[tuple[str, int, float]]:
        """Yield ``(key, size_bytes, written_at)`` for every object under the prefix."""
        paginator = self.client.get_paginator("list_objects_v2")
        with self._errors("list"):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
                for item in page.get("Contents", []):
                    key = item["Key"][len(self.prefix) :]
                    written_at = item["LastModified"].timestamp()
                    yield key, item["Size"], written_at

    def _delete_many(self, keys: list[str]) -> None:
        with self._errors("delete from"):
            for first in range(0, len(keys), _DELETE_BATCH):
                batch = keys[first : first + _DELETE_BATCH]
                self.client.delete_objects(
                    Bucket=self.bucket,
                    Delete={
                        "Objects": [{"Key": self.prefix + key} for key in batch],
                        "Quiet": True,
                    },
                )

    def _chunks(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        with self._errors("read from"):
            yield from chunks

    def _name(self, key: str) -> str:
        return self.prefix + validate_key(key)

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn boto errors into one-line StoreErrors."""
        where = f"s3://{self.bucket}/{self.prefix}"
        try:
            yield
        except ClientError as error:
            message = error.response.get("Error", {}).get("Message", "")
            detail = f"{_code(error)} {message}".strip()
            raise StoreError(f"cannot {action} the audio store at {where}: {detail}") from None
        except BotoCoreError as error:
            raise StoreError(f"cannot {action} the audio store at {where}: {error}") from None


class _PastTheEnd(Exception):
    """A byte range that starts past the end of the object (S3's 416)."""


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
