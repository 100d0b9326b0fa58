"""The publishers' embed script as served: minified once, with a content hash for caching.

The source in ``static/embed.js`` stays readable; readers' browsers get it with
comments and indentation stripped (rJSmin keeps everything else as written).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

EMBED_SOURCE = Path(__file__).resolve().parent / "static" / "embed.js"


@dataclass(frozen=True)
class EmbedScript:
    """The script's bytes as served and their hash."""

    body: bytes
    """Minified JavaScript, UTF-8."""
    etag: str
    """SHA-256 of ``body`` (hex, first 32 digits)."""


def served_embed(source: Path = EMBED_SOURCE) -> EmbedScript:
    """Return the served embed script (made again when the source file changes)."""
    stat = source.stat()
    return _minified(str(source), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _minified(path: str, mtime_ns: int, size_bytes: int) -> EmbedScript:
    import rjsmin

    body = rjsmin.jsmin(Path(path).read_text(encoding="utf-8")).encode()
    return EmbedScript(body, hashlib.sha256(body).hexdigest()[:32])
