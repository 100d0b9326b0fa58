"""What ``listen cache stats`` reports of the audio store."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CacheReport:
    """Objects and bytes in the audio store, in total and per kind."""

    objects: int
    """Stored objects."""
    size_bytes: int
    """Their total size."""
    by_kind: dict[str, tuple[int, int]]
    """``(objects, bytes)`` per kind (``clips``, ``chunks``, ``narrations``...)."""
