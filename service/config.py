"""Read every setting from one place: ``LISTEN_*`` environment variables.

Settings are grouped by concern into small frozen dataclasses (the store, the
input limits, the speech, the engines, the audio, the jobs, the server, the web
app, the database), and :class:`Settings` holds one of each. Only the entry
points (the CLI, ``create_app`` and the RQ worker) build it from the
environment; every stage is handed the group it needs, and nothing below them
reads the environment. Each field's environment variable is ``LISTEN_`` + the
field's name in capitals, whatever group it is in, so field names are unique
across the groups. This module imports no Flask.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints
from urllib.parse import urlsplit

from service.errors import ListenError

ENV_PREFIX = "LISTEN_"


@dataclass(frozen=True)
class StoreSettings:
    """Where audio is kept."""

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


@dataclass(frozen=True)
class DatabaseSettings:
    """Where the library database (lexicons) is."""

    database_url: str = ""
    """Library database: ``sqlite:///path`` or ``postgresql://...``; empty: SQLite in the cache."""


@dataclass(frozen=True)
class InputSettings:
    """What input is read, and how far: the limits of the text stage."""

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


@dataclass(frozen=True)
class SpeechSettings:
    """Which voice reads, and how."""

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


@dataclass(frozen=True)
class EngineSettings:
    """The engine processes and what the engines find on disk; handed to every engine."""

    workers: int = 0
    """Engine worker processes; 0 means one per CPU."""
    segment_timeout_s: float = 60.0
    """Time one piece of work (a chunk) may take before its worker is killed and it is retried."""
    piper_voices_dir: str = ""
    """Folder with extra Piper voices (``.onnx`` + ``.onnx.json``)."""
    hibari_voices_dir: str = ""
    """Folder with hibari's other voices (their ``.onnx`` files, as named in hibari's registry)."""
    engine_cache_dir: str = ""
    """Folder for what engines build once from their packages; empty: the user's cache folder."""

    @property
    def worker_count(self) -> int:
        """Return the number of engine worker processes to start."""
        return self.workers if self.workers > 0 else (os.cpu_count() or 1)


@dataclass(frozen=True)
class AudioSettings:
    """How the audio is shaped and encoded."""

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


@dataclass(frozen=True)
class JobSettings:
    """Who runs narrations: threads of the web process, or RQ workers on Redis (scale-out)."""

    redis_url: str = ""
    """``redis://host:port/db``; when set, jobs go to RQ workers."""
    queue_max: int = 64
    """Jobs waiting or running before new ones get 503."""


@dataclass(frozen=True)
class ServerSettings:
    """How ``listen serve`` and ``listen worker`` run as processes."""

    host: str = "127.0.0.1"
    """Address ``listen serve`` binds."""
    port: int = 8000
    """Port ``listen serve`` binds."""
    threads: int = 32
    """Threads per web process."""
    front: str = "auto"
    """What faces clients: ``nginx`` (required), ``none`` (gunicorn alone), or ``auto``."""
    malloc: str = "jemalloc"
    """Allocator of ``listen serve`` and ``listen worker``: ``jemalloc`` or ``system``."""


@dataclass(frozen=True)
class WebSettings:
    """How the web app answers: keys, limits, addresses."""

    api_keys: str = ""
    """Comma-separated API keys; when set, creating narrations needs one."""
    rate_limit_per_minute: int = 60
    """Narrations one client may create per minute."""
    events_per_minute: int = 600
    """Listening events one client (address) may send per minute; a listener sends a few."""
    max_body_bytes: int = 12 * 1024 * 1024
    """Largest request body accepted."""
    cors_origins: str = "*"
    """Origins allowed to call the API from a browser, comma-separated, or ``*``."""
    max_streams: int = 0
    """Live streams and waiting speech answers at once, per web process; 0: half the threads."""
    max_streams_per_client: int = 4
    """Live streams and waiting speech answers one client may hold at once, per web process."""
    public_url: str = ""
    """Public base URL (``https://listen.example.com``) of every absolute URL written."""
    frame_ancestors: str = "'self'"
    """Who may frame the service's pages: a CSP ``frame-ancestors`` source list."""
    openai_voices: str = ""
    """OpenAI voice names mapped to ours: ``alloy=piper:en_US-joe-medium,nova=pyttsx3:gmw/en``."""

    def __post_init__(self) -> None:
        """Refuse settings that would be written into answers malformed."""
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

    @property
    def public_base(self) -> str:
        """Return the public base URL without its trailing slash ("" when unset)."""
        return self.public_url.rstrip("/")

    @property
    def api_key_list(self) -> tuple[str, ...]:
        """Return the configured API keys."""
        return tuple(k.strip() for k in self.api_keys.split(",") if k.strip())


GROUPS: dict[str, type[Any]] = {
    "store": StoreSettings,
    "database": DatabaseSettings,
    "input": InputSettings,
    "speech": SpeechSettings,
    "engines": EngineSettings,
    "audio": AudioSettings,
    "jobs": JobSettings,
    "server": ServerSettings,
    "web": WebSettings,
}
"""Every group of :class:`Settings`, by its attribute name."""


@dataclass(frozen=True)
class Settings:
    """Hold the service's settings, one group per concern; build with :meth:`from_env`."""

    store: StoreSettings = field(default_factory=StoreSettings)
    """Where audio is kept."""
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    """Where the library database is."""
    input: InputSettings = field(default_factory=InputSettings)
    """Input limits of the text stage."""
    speech: SpeechSettings = field(default_factory=SpeechSettings)
    """Voice, rate, pitch and volume."""
    engines: EngineSettings = field(default_factory=EngineSettings)
    """Engine processes and voice folders."""
    audio: AudioSettings = field(default_factory=AudioSettings)
    """Shaping and encoding."""
    jobs: JobSettings = field(default_factory=JobSettings)
    """Job runner and queue."""
    server: ServerSettings = field(default_factory=ServerSettings)
    """Address, threads, front and allocator of the server processes."""
    web: WebSettings = field(default_factory=WebSettings)
    """Keys, limits and addresses of the web app."""
    extra: Mapping[str, str] = field(default_factory=dict)
    """Unknown ``LISTEN_*`` variables, kept so a typo can be reported."""

    @classmethod
    def of(cls, **values: Any) -> Settings:
        """Build settings from field names of any group: ``Settings.of(port=8080)``."""
        return cls().replace(**values)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from ``LISTEN_*`` variables, then apply ``overrides`` (field names)."""
        env = os.environ if environ is None else environ
        known = setting_types()
        values: dict[str, Any] = {}
        extra: dict[str, str] = {}
        for key, raw in env.items():
            if not key.startswith(ENV_PREFIX):
                continue
            name = key[len(ENV_PREFIX) :].lower()
            if name not in known:
                extra[key] = raw
                continue
            values[name] = _parse(known[name], raw, key)
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls().replace(**values)
        return dataclasses.replace(settings, extra=extra) if extra else settings

    def replace(self, **changes: Any) -> Settings:
        """Return a copy with fields of any group changed (``None`` values are ignored)."""
        owners = _owners()
        by_group: dict[str, dict[str, Any]] = {}
        for name, value in changes.items():
            if value is None:
                continue
            if name not in owners:
                raise TypeError(f"no setting is called {name!r}")
            by_group.setdefault(owners[name], {})[name] = value
        groups = {
            group: dataclasses.replace(getattr(self, group), **fields_)
            for group, fields_ in by_group.items()
        }
        return dataclasses.replace(self, **groups) if groups else self

    @property
    def stream_limit(self) -> int:
        """Return how many live streams and speech waits one web process takes at once."""
        limit = self.web.max_streams
        return limit if limit > 0 else max(1, self.server.threads // 2)


def setting_fields() -> dict[str, dataclasses.Field[Any]]:
    """Return every setting's field by its environment variable (``LISTEN_PORT``...)."""
    return {
        f"{ENV_PREFIX}{item.name.upper()}": item
        for group in GROUPS.values()
        for item in fields(group)
    }


def setting_types() -> dict[str, Any]:
    """Return the type of every setting by its field name."""
    found: dict[str, Any] = {}
    for group in GROUPS.values():
        found.update(get_type_hints(group))
    return found


def _owners() -> dict[str, str]:
    """Return the group of every field name."""
    return {item.name: group for group, kind in GROUPS.items() for item in fields(kind)}


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
        raise ListenError(
            f"{key}={raw!r} is not a valid {getattr(kind, '__name__', kind)}"
        ) from None
