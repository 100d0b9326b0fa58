"""Read every setting from one place: ``LISTEN_*`` environment variables.

The CLI, the web app and the workers share this object; it imports no Flask.
Each field's environment variable is ``LISTEN_`` + the field name in capitals.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints
from urllib.parse import urlsplit

ENV_PREFIX = "LISTEN_"


@dataclass(frozen=True)
class Settings:
    """Hold the service's settings; build with :meth:`from_env`."""

    # --- store and cache ---
    cache_dir: Path = Path("audio_cache")
    """Folder of the local audio cache (used when ``store_url`` is unset)."""
    store_url: str = ""
    """``file:///path``, a plain path, or ``s3://bucket/prefix``; empty means ``cache_dir``."""
    s3_endpoint_url: str = ""
    """Endpoint of a non-AWS S3-compatible store."""
    s3_presigned_redirect: bool = False
    """Redirect audio requests to a presigned S3 URL instead of streaming through the web node."""
    cache_max_mb: int = 2048
    """Size cap of the local cache; least recently used entries go first."""
    database_url: str = ""
    """Library database: ``sqlite:///path`` or ``postgresql://...``; empty: SQLite in the cache."""

    # --- input limits ---
    max_input_bytes: int = 10 * 1024 * 1024
    """Largest article input (file, body or fetched page) accepted, in bytes."""
    max_html_depth: int = 400
    """Deepest HTML nesting kept; deeper elements are flattened into text."""
    fetch_timeout_s: float = 10.0
    """Total time allowed to fetch a URL."""
    fetch_max_redirects: int = 5
    """Redirects followed when fetching a URL."""
    allow_private_urls: bool = False
    """Allow fetching loopback, private, link-local and reserved addresses."""
    max_sentence_chars: int = 400
    """Sentences longer than this are split at clause boundaries."""
    max_words: int = 50_000
    """Longest article read, in words (about 4.8 hours at 175 wpm); 0 means no limit."""

    # --- voice ---
    voice: str = ""
    """Voice id (``engine:voice``); empty picks one for the article's language."""
    default_voices: str = ""
    """Preferred voices per language, ``en=piper:en_US-joe-medium,de=pyttsx3:gmw/de``."""
    rate_wpm: int = 175
    """Speaking rate in words per minute."""
    pitch: int = 50
    """Pitch, 0 to 100."""
    volume: float = 1.0
    """Volume, 0.0 to 1.0."""
    openai_voices: str = ""
    """OpenAI voice names mapped to ours: ``alloy=piper:en_US-joe-medium,nova=pyttsx3:gmw/en``."""
    piper_voices_dir: str = ""
    """Folder with extra Piper voices (``.onnx`` + ``.onnx.json``)."""

    # --- audio ---
    audio_format: str = "mp3"
    """Default output format: mp3, ogg or wav."""
    mp3_bitrate_kbps: int = 48
    """Constant MP3 bitrate."""
    pause_sentence_ms: int = 250
    """Silence between sentences of one block."""
    pause_paragraph_ms: int = 650
    """Silence after a paragraph, quote or list item."""
    pause_heading_ms: int = 900
    """Silence after a heading, the title and the byline."""
    target_dbfs: float = -20.0
    """Loudness every sentence is brought to (RMS, dBFS)."""

    # --- synthesis workers ---
    workers: int = 0
    """Engine worker processes; 0 means one per CPU."""
    segment_timeout_s: float = 60.0
    """Time one segment may take before its worker is killed and the segment retried."""

    # --- web ---
    host: str = "127.0.0.1"
    """Address ``listen serve`` binds."""
    port: int = 8000
    """Port ``listen serve`` binds."""
    threads: int = 32
    """Threads per web process."""
    api_keys: str = ""
    """Comma-separated API keys; when set, creating narrations needs one."""
    rate_limit_per_minute: int = 60
    """Narrations one client may create per minute."""
    queue_max: int = 64
    """Jobs waiting or running before new ones get 503."""
    max_body_bytes: int = 12 * 1024 * 1024
    """Largest request body accepted."""
    cors_origins: str = "*"
    """Origins allowed to call the API from a browser, comma-separated, or ``*``."""
    malloc: str = "jemalloc"
    """Allocator of ``listen serve`` and ``listen worker``: ``jemalloc`` or ``system``."""
    front: str = "auto"
    """What faces clients: ``nginx`` (required), ``none`` (gunicorn alone), or ``auto``."""
    max_streams: int = 0
    """Live streams and waiting speech answers at once, per web process; 0: half the threads."""
    max_streams_per_client: int = 4
    """Live streams and waiting speech answers one client may hold at once, per web process."""
    public_url: str = ""
    """Public base URL (``https://listen.example.com``) of every absolute URL written."""
    frame_ancestors: str = "'self'"
    """Who may frame the service's pages: a CSP ``frame-ancestors`` source list."""

    # --- scale-out ---
    redis_url: str = ""
    """``redis://host:port/db``; when set, jobs go to RQ workers."""

    extra: Mapping[str, str] = field(default_factory=dict)
    """Unknown ``LISTEN_*`` variables, kept so a typo can be reported."""

    def __post_init__(self) -> None:
        """Refuse settings that would be written into answers malformed."""
        from service.errors import ListenError

        if self.public_url:
            parts = urlsplit(self.public_url)
            extra = parts.query or parts.fragment
            if parts.scheme not in ("http", "https") or not parts.netloc or extra:
                raise ListenError(
                    f"LISTEN_PUBLIC_URL={self.public_url!r} must be an http:// or https:// "
                    "address such as https://listen.example.com"
                )
        if not self.frame_ancestors.strip() or any(
            char in self.frame_ancestors for char in ";,\r\n\0"
        ):
            raise ListenError(
                f"LISTEN_FRAME_ANCESTORS={self.frame_ancestors!r} must be a CSP source list, "
                "such as 'self' https://news.example.com"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from ``LISTEN_*`` variables, then apply ``overrides``."""
        env = os.environ if environ is None else environ
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        known = {f.name for f in fields(cls)}
        extra: dict[str, str] = {}
        for key, raw in env.items():
            if not key.startswith(ENV_PREFIX):
                continue
            name = key[len(ENV_PREFIX) :].lower()
            if name not in known or name == "extra":
                extra[key] = raw
                continue
            values[name] = _parse(hints[name], raw, key)
        values.update({k: v for k, v in overrides.items() if v is not None})
        if extra:
            values.setdefault("extra", extra)
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        """Return a copy with ``changes`` applied (``None`` values are ignored)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    @property
    def worker_count(self) -> int:
        """Return the number of engine worker processes to start."""
        return self.workers if self.workers > 0 else (os.cpu_count() or 1)

    @property
    def public_base(self) -> str:
        """Return the public base URL without its trailing slash ("" when unset)."""
        return self.public_url.rstrip("/")

    @property
    def stream_limit(self) -> int:
        """Return how many live streams and speech waits one web process takes at once."""
        return self.max_streams if self.max_streams > 0 else max(1, self.threads // 2)

    @property
    def api_key_list(self) -> tuple[str, ...]:
        """Return the configured API keys."""
        return tuple(k.strip() for k in self.api_keys.split(",") if k.strip())


def _parse(kind: Any, raw: str, key: str) -> Any:
    """Turn one environment string into the field's type."""
    try:
        if kind is bool:
            lowered = raw.strip().lower()
            if lowered in {"1", "true", "yes", "on"}:
                return True
            if lowered in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(raw)
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
        if kind is Path:
            return Path(raw)
        return raw
    except ValueError:
        from service.errors import ListenError

        raise ListenError(
            f"{key}={raw!r} is not a valid {getattr(kind, '__name__', kind)}"
        ) from None
