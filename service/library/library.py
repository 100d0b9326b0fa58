"""The front door: one object through which the web app and the CLI reach everything else.

A :class:`Library` is built from settings by an entry point (the CLI, the app
factory, the RQ worker) and holds what lives as long as it does: the settings,
the audio store, the job runner and the library database, each opened on
first use. Each thing a user does has a method here or a small module of
this package; the web layer and the CLI import nothing below it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.config import Settings
from service.pipeline.objects import audio_object, manifest_object, narration_object
from service.store import MissingObjectError, ObjectStream, Store, local_store_root, writable

if TYPE_CHECKING:  # the modules themselves load on first use: a command pays for what it uses
    from service.db import Database
    from service.engines.base import Voice
    from service.jobs.base import JobRunner
    from service.jobs.tally import QueueFigures, ReportsFigures
    from service.library.cache import CacheReport
    from service.library.export import ExportResult
    from service.library.extract import Preview
    from service.library.lexicons import Lexicons
    from service.library.listening import Listening
    from service.library.narrations import Narrations, NarrationView
    from service.library.publishing import Collections
    from service.library.requests import NarrationRequest
    from service.library.seeds import Seed
    from service.library.speech import SpeechRequest
    from service.text.article import Article
    from service.text.lexicon.model import Lexicon

STORED_TEXTS = frozenset({"timings.json", "captions.vtt"})
"""The text files of a finished narration that are served as they are stored."""


def local_store_folder(settings: Settings) -> Path | None:
    """Return the folder of the local store the settings name, or None for object storage."""
    return local_store_root(settings.store)


@dataclass(frozen=True)
class StoredObject:
    """A finished object of a store that has no local files (S3), read a part at a time."""

    store: Store
    """The store holding it."""
    key: str
    """Its name there."""

    def size(self) -> int:
        """Return its size; raise MissingObjectError when it is gone."""
        size = self.store.size(self.key)
        if size is None:
            raise MissingObjectError(f"{self.key} is not in the audio store")
        return size

    def open_stream(self) -> ObjectStream:
        """Open it now and return its chunks (close the stream when done)."""
        return self.store.open_stream(self.key)

    def read_range(self, start: int, stop: int) -> bytes:
        """Return bytes ``start`` to ``stop`` (exclusive)."""
        return self.store.read_range(self.key, start, stop)

    def presigned_url(self, expires_s: int) -> str | None:
        """Return a time-limited URL the client can fetch it from, if the store gives one."""
        return self.store.presigned_url(self.key, expires_s)


class Library:
    """Everything a user does with narrations, voices and lexicons; see the module docstring."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        """The settings every part below is given its share of."""

    # --- what it holds, opened on first use ---------------------------------------------

    @functools.cached_property
    def store(self) -> Store:
        """Return the audio store (checked when first opened)."""
        from service.store import open_store

        return open_store(self.settings.store)

    @functools.cached_property
    def runner(self) -> JobRunner:
        """Return the job runner (its engine workers start with :meth:`start`)."""
        from service.library.runner import make_runner

        return make_runner(self.settings, self.store)

    @functools.cached_property
    def narrations(self) -> Narrations:
        """Return the narrations service: create, find, view and stream narrations."""
        from service.library.narrations import Narrations

        return Narrations(self.settings, self.store, self.runner)

    @functools.cached_property
    def database(self) -> Database:
        """Return the library database, migrated (SQLite) or checked (shared)."""
        from service.db import open_database

        return open_database(self.settings)

    @functools.cached_property
    def lexicons(self) -> Lexicons:
        """Return the pronunciation lexicons of the library database."""
        from service.library.lexicons import Lexicons

        return Lexicons(lambda: self.database)

    @functools.cached_property
    def collections(self) -> Collections:
        """Return the collections (podcast channels), their feeds and chapters."""
        from service.library.publishing import Collections

        return Collections(lambda: self.database, self.store)

    @functools.cached_property
    def listening(self) -> Listening:
        """Return this process's listening counts and statistics."""
        from service.library.listening import Listening

        return Listening(self.settings, lambda: self.database, self.store, self.narrations.plan)

    def start(self) -> None:
        """Start the job runner's engine workers (after a fork, never before)."""
        start = getattr(self.runner, "start", None)
        if start is not None:
            start()

    def close(self) -> None:
        """Stop the job runner and its workers, and close the database's connections."""
        if "runner" in self.__dict__:
            self.runner.close()
        if "listening" in self.__dict__:
            self.listening.close()  # before the database: it writes the last counts there
        if "database" in self.__dict__:
            self.database.dispose()

    # --- narrations ---------------------------------------------------------------------

    def read_request(self, fields: dict[str, Any], origin: str | None = None) -> NarrationRequest:
        """Read an API request's fields (``text|markdown|html|url``, voice, rate, format, title,
        lexicon, page_url); ``origin`` is the browser's ``Origin`` header, if any."""
        from service.library.requests import narration_request

        return narration_request(fields, self.settings, origin)

    def read_form(self, form: dict[str, str]) -> NarrationRequest:
        """Read the index page's form (``content`` and its ``kind``, or ``url``)."""
        from service.library.requests import form_request

        return form_request(form, self.settings)

    def create(self, wanted: NarrationRequest) -> NarrationView:
        """Create (or find) the narration a request asks for, read by the lexicon it names or
        by its site's, and filed in its collections."""
        if wanted.collections:
            self.collections.check(wanted.collections)  # a typo costs no synthesis
        view = self.narrations.create(
            wanted.article,
            voice=wanted.voice,
            rate_wpm=wanted.rate_wpm,
            fmt=wanted.fmt,
            lexicon=self.lexicon_for(wanted.lexicon, wanted.site),
        )
        if wanted.collections:
            self.collections.file(wanted.collections, view.plan)
        return view

    def lexicon_for(self, name: str | None, site: str | None) -> Lexicon | None:
        """Return the lexicon named, else the one whose sites cover ``site``, else None.

        The database is opened only when there is a name or a site to look up.
        """
        if name is None and not site:
            return None
        return self.lexicons.for_narration(name, site)

    def preview_rule(self, payload: dict[str, Any]) -> tuple[NarrationView, NarrationView]:
        """Start (or find) a phrase said without a lexicon rule and with it (the edit page's
        play buttons): ``{"rule": {...}, "text": ..., "voice": ...}``."""
        from service.library.preview import make_previews, read_preview

        return make_previews(self.narrations, read_preview(payload))

    def prepare_seeds(self, folders: tuple[str, ...]) -> Iterator[Seed]:
        """Start a narration for every sample article in ``folders``."""
        from service.library.seeds import prepare_seeds

        return prepare_seeds(self.narrations, folders)

    # --- finished files -----------------------------------------------------------------

    def audio_key(self, narration_id: str, fmt: str) -> str:
        """Return the name of a narration's audio in the store (and under its folder)."""
        return audio_object(narration_id, fmt)

    def audio_file(self, narration_id: str, fmt: str) -> Path | None:
        """Return the local file of a finished narration's audio, or None (absent, or S3)."""
        return self.store.local_path(audio_object(narration_id, fmt))

    def has_audio(self, narration_id: str, fmt: str) -> bool:
        """Tell whether a narration's audio in ``fmt`` is in the store."""
        return self.store.exists(audio_object(narration_id, fmt))

    def is_finished(self, narration_id: str) -> bool:
        """Tell whether a narration's manifest (written last) is in the store."""
        return self.store.exists(manifest_object(narration_id))

    def stored_audio(self, narration_id: str, fmt: str) -> StoredObject:
        """Return a handle on a narration's audio in a store without local files."""
        return StoredObject(self.store, audio_object(narration_id, fmt))

    def stored_text(self, narration_id: str, name: str) -> bytes | None:
        """Return ``timings.json`` or ``captions.vtt`` of a finished narration, or None."""
        if name not in STORED_TEXTS:
            raise ValueError(f"{name!r} is not a stored text of a narration")
        return self.store.get(narration_object(narration_id, name))

    # --- the OpenAI endpoint ------------------------------------------------------------

    def speech_request(self, payload: dict[str, Any]) -> SpeechRequest:
        """Read an OpenAI speech request's JSON object.

        OpenAI's voice names map to the closest natural voice installed, unless
        ``LISTEN_VOICE`` names the voice everything is read by.
        """
        from service.library import speech

        installed: set[str] = set()
        if not self.settings.speech.voice.strip():
            installed = {voice.voice_id for voice in self.voices() if voice.installed}
        return speech.speech_request(payload, self.settings.web, installed)

    def start_speech(self, wanted: SpeechRequest) -> NarrationView:
        """Create (or find) the narration of a speech request (by the lexicon it names)."""
        from service.library import speech

        return speech.start_speech(self.narrations, wanted, self.lexicon_for(wanted.lexicon, None))

    def wait_for_audio(self, narration_id: str, fmt: str) -> None:
        """Block until the narration's audio exists; raise SynthesisError if it fails."""
        from service.library import speech

        speech.wait_for_audio(self.narrations, narration_id, fmt)

    def speech_audio(self, narration_id: str, wanted: SpeechRequest) -> bytes:
        """Return a finished speech answer's bytes (24 kHz samples for ``pcm``)."""
        from service.library import speech

        return speech.speech_audio(self.narrations, narration_id, wanted)

    # --- reading without narrating ------------------------------------------------------

    def read_article(self, source: str) -> Article:
        """Read the article at a path, ``-`` (stdin) or an http(s) URL."""
        from service.library import extract

        return extract.read_article(source, self.settings.input)

    def preview(self, article: Article) -> Preview:
        """Return the article as it will be spoken: blocks in spoken form, sentences counted."""
        from service.library import extract

        return extract.preview(article, self.settings.input)

    # --- the command line's narrations --------------------------------------------------

    def narrate_to_files(self, source: str, **options: Any) -> ExportResult:
        """Narrate ``source`` through the cache into files (see ``library.export``).

        A URL's page is read by its site's lexicon from this library's database
        unless ``lexicon`` or ``site_lexicon`` says otherwise.
        """
        from service.library.export import narrate_to_files

        options.setdefault("site_lexicon", self.site_lexicon)
        return narrate_to_files(source, self.settings, **options)

    def site_lexicon(self, host: str) -> Lexicon | None:
        """Return the lexicon whose sites cover ``host``, or None."""
        return self.lexicons.for_site(host)

    def say(self, source: str) -> None:
        """Narrate ``source`` and play it through the sound device (checked first)."""
        import tempfile

        from service.audio.playback import play, require_sound_device

        require_sound_device()  # before any synthesis
        with tempfile.TemporaryDirectory(prefix="listen-say-") as scratch:
            result = self.narrate_to_files(source, output=Path(scratch) / "say.wav", fmt="wav")
            play(result.path)

    # --- voices -------------------------------------------------------------------------

    def voices(self, *, language: str | None = None, engine: str | None = None) -> list[Voice]:
        """List the voices of every installed engine (or one), optionally for one language."""
        from service.engines.voices import list_voices

        return list_voices(self.settings.engines, engine=engine, language=language)

    def revoice(self, narration_id: str, voice_id: str, *, may_start: bool) -> NarrationView:
        """Make (or find) the same article's narration in another voice, at the same rate.

        The article is the one the narration reads (its title, byline and blocks), so
        both narrations have the same text and their character offsets agree.
        """
        from service.text.article import Article, Block

        plan = self.narrations.plan(narration_id)
        article = Article(
            title=plan.title,
            byline=plan.byline,
            language=plan.language,
            site_name=plan.site_name,
            source_url=plan.source_url,
            blocks=tuple(
                Block(block.kind, block.text, language=block.language)  # type: ignore[arg-type]
                for block in plan.blocks
                if block.kind not in ("title", "byline")
            ),
        )
        return self.narrations.create(
            article,
            voice=voice_id,
            rate_wpm=plan.voice.rate_wpm,
            fmt="mp3",
            may_start=may_start,
        )

    def voice_preview(self, voice_id: str, rate: object, *, may_start: bool) -> NarrationView:
        """Make (or find) the sample ``voice_id`` reads at ``rate``, to choose a voice by ear.

        Without ``may_start`` (API keys are set and the request has none) a preview
        not made yet raises :class:`RemakeNeedsKeyError`: it takes the right to make audio.
        """
        from service.errors import VoiceError
        from service.library.voice_samples import preview_request

        wanted_id = voice_id.strip().lower()
        found = next((v for v in self.voices() if v.voice_id.lower() == wanted_id), None)
        if found is None:
            raise VoiceError(f"unknown voice {voice_id[:80]!r}; GET /api/voices lists them")
        wanted = preview_request(found.voice_id, found.languages, rate, self.settings)
        return self.narrations.create(
            wanted.article,
            voice=found.voice_id,
            rate_wpm=wanted.rate_wpm,
            fmt="mp3",
            may_start=may_start,
        )

    # --- the cache ----------------------------------------------------------------------

    def cache_report(self) -> CacheReport:
        """Count what the audio store holds, in total and per kind."""
        from service.library.cache import CacheReport

        stats = self.store.stats()
        return CacheReport(stats.objects, stats.size_bytes, dict(stats.by_kind))

    def prune_cache(self, max_mb: int | None = None) -> tuple[int, int]:
        """Evict least recently used objects down to ``max_mb`` (default: the cap)."""
        limit = (max_mb if max_mb is not None else self.settings.store.cache_max_mb) * 1024 * 1024
        result = self.store.prune(limit)
        return result.removed, result.freed_bytes

    def clear_cache(self) -> None:
        """Remove everything from the audio store."""
        self.store.clear()

    # --- health and figures -------------------------------------------------------------

    def health(self) -> tuple[bool, bool]:
        """Return whether jobs can run and whether the store can be used."""
        return self.runner.healthy(), writable(self.store)

    @functools.cached_property
    def _reporting(self) -> ReportsFigures | None:
        from service.jobs.tally import ReportsFigures

        runner = self.runner
        return runner if isinstance(runner, ReportsFigures) else None  # a slow check: once

    @property
    def keeps_figures(self) -> bool:
        """Tell whether the job runner keeps running totals (for ``/metrics``)."""
        return self._reporting is not None

    def figures(self) -> tuple[QueueFigures, dict[str, float]] | None:
        """Return the queue's figures and the running totals; raise when the queue is down."""
        reporting = self._reporting
        if reporting is None:
            return None
        return reporting.queue_figures(), reporting.tally.totals()

    def count_served(self, size_bytes: int) -> None:
        """Add audio bytes sent to listeners to the running totals."""
        reporting = self._reporting
        if reporting is not None:
            reporting.tally.add("bytes_served", size_bytes)
