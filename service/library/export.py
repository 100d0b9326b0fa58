"""Narrate one input straight to files on disk: what ``listen narrate`` and ``listen say`` do.

Also the one way the CLI writes a file: through a temp file in the same
folder, fsynced, then renamed over the target.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from slugify import slugify

from service.config import Settings
from service.errors import FormatError, OutputError
from service.media import AUDIO_FORMATS
from service.pipeline.memo import Memo, memo_key, recall, remember
from service.pipeline.objects import (
    NarrationResult,
    audio_object,
    manifest_object,
    narration_object,
    read_duration_ms,
)
from service.store import Store, open_store
from service.text.lexicon.model import Lexicon
from service.text.source import Source, read_source

SUFFIX_FORMATS = {"mp3": "mp3", "ogg": "ogg", "oga": "ogg", "opus": "ogg", "wav": "wav"}
"""File name suffixes and the format written under each (Ogg Opus files are often .opus)."""


@dataclass(frozen=True)
class ExportResult:
    """Where the narration went."""

    path: Path
    """The audio file written."""
    duration_ms: int
    """Its duration."""
    narration_id: str
    """The narration's id in the cache."""
    cached: bool
    """True when nothing had to be synthesised."""
    title: str
    """The article's title."""


def default_filename(title: str, fmt: str) -> str:
    """Return a safe file name from a title (``nato-assures-that....mp3``)."""
    stem = slugify(title, max_length=80, word_boundary=True) or "narration"
    return f"{stem}.{fmt}"


def output_format(output: Path | None, fmt: str | None, default: str) -> str:
    """Return the format to write: the one asked for, else the output's suffix, else ``default``.

    A suffix names what is inside a file, so one this product cannot write, or
    one that disagrees with ``fmt``, is refused before any work is done.
    """
    if fmt is not None and fmt not in AUDIO_FORMATS:
        raise FormatError(f"unknown format {fmt!r}; choose one of {', '.join(AUDIO_FORMATS)}")
    suffix = output.suffix.lower().lstrip(".") if output is not None else ""
    if output is None or not suffix:
        if fmt is None and default not in AUDIO_FORMATS:
            raise FormatError(
                f"LISTEN_AUDIO_FORMAT={default!r} is not a format; "
                f"use one of {', '.join(AUDIO_FORMATS)}"
            )
        return fmt or default
    by_suffix = SUFFIX_FORMATS.get(suffix)
    if by_suffix is None:
        raise FormatError(
            f"cannot write {output.name}: .{suffix} is not a format listen writes; "
            "name the file .mp3, .ogg (or .opus) or .wav"
        )
    if fmt is not None and fmt != by_suffix:
        raise FormatError(
            f"the format {fmt} does not match the file name {output.name}; "
            f"name the file .{fmt}, or leave the format out"
        )
    return by_suffix


def copy_atomically(store: Store, key: str, target: Path) -> None:
    """Copy a stored object to ``target`` through a temp file in the same folder.

    The file gets the permissions any file the user writes gets (0666 less the
    umask), or keeps those of the file it replaces; ``tempfile.mkstemp`` would
    make it 0600 whatever the umask.
    """

    def copy(out: BinaryIO) -> None:
        for block in store.open_stream(key):
            out.write(block)

    _write_through_temp(target, copy)


def write_atomically(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` through a temp file in the same folder (see above)."""
    _write_through_temp(target, lambda out: out.write(data))


def _write_through_temp(target: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write ``target`` whole or not at all: a temp file beside it, fsynced, then renamed."""
    try:
        handle, temp = _create_beside(target)
    except OSError as error:
        raise OutputError(f"cannot write {target}: {error.strerror or error}") from None
    try:
        with os.fdopen(handle, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, target)
    except OSError as error:
        raise OutputError(f"cannot write {target}: {error.strerror or error}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)


def _create_beside(target: Path) -> tuple[int, Path]:
    """Create a new, empty temp file next to ``target``; return its descriptor and path."""
    folder = target.parent if str(target.parent) else Path(".")
    try:
        kept_mode: int | None = stat.S_IMODE(target.stat().st_mode)
    except OSError:
        kept_mode = None
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        temp = folder / f".{target.name}.{secrets.token_hex(6)}.tmp"
        try:
            handle = os.open(temp, flags, 0o666)  # the kernel takes the umask off
        except FileExistsError:
            continue
        if kept_mode is not None:
            try:
                os.fchmod(handle, kept_mode)
            except OSError:
                os.close(handle)
                os.unlink(temp)
                raise
        return handle, temp


def narrate_to_files(
    source: str,
    settings: Settings,
    *,
    output: Path | None = None,
    fmt: str | None = None,
    timings: Path | None = None,
    captions: Path | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    lexicon: Lexicon | None = None,
    site_lexicon: Callable[[str], Lexicon | None] | None = None,
) -> ExportResult:
    """Load ``source``, narrate it through the cache (read by ``lexicon``) and copy it out.

    Without ``lexicon``, a page fetched from a URL is read by the lexicon
    ``site_lexicon`` finds for its host (after redirects), if any.
    """
    fmt = output_format(output, fmt, settings.audio.audio_format)
    read = read_source(source, settings.input)
    if lexicon is None and site_lexicon is not None and read.url is not None:
        host = urlsplit(read.url).hostname
        lexicon = site_lexicon(host) if host else None
    store = open_store(settings.store)
    key = memo_key(read, settings, lexicon.identity if lexicon is not None else None)
    known = recall(store, key)
    if known is not None and _finished(store, known.narration_id, fmt):
        target = _checked_target(output or Path(default_filename(known.title, fmt)))
        found = ExportResult(target, known.duration_ms, known.narration_id, True, known.title)
    else:
        found = _narrate(read, settings, store, output, fmt, on_progress, lexicon)
        remember(store, key, Memo(found.narration_id, found.title, found.duration_ms))
    narration_id = found.narration_id
    copy_atomically(store, audio_object(narration_id, fmt), found.path)
    if timings is not None:
        copy_atomically(store, manifest_object(narration_id), timings)
    if captions is not None:
        copy_atomically(store, narration_object(narration_id, "captions.vtt"), captions)
    return found


def _finished(store: Store, narration_id: str, fmt: str) -> bool:
    return store.exists(manifest_object(narration_id)) and store.exists(
        audio_object(narration_id, fmt)
    )


def _checked_target(target: Path) -> Path:
    if target.is_dir():
        raise OutputError(f"{target} is a folder; give a file name")
    if not (target.parent if str(target.parent) else Path(".")).is_dir():
        raise OutputError(f"cannot write {target}: folder {target.parent} does not exist")
    return target


def _narrate(
    read: Source,
    settings: Settings,
    store: Store,
    output: Path | None,
    fmt: str,
    on_progress: Callable[[int, int], None] | None,
    lexicon: Lexicon | None = None,
) -> ExportResult:
    """Read, plan and (unless the cache has it all) synthesise the narration of ``read``.

    The engine workers start first, so that they load their engines while this
    process reads and plans the article (a third of a second each, on
    separate cores); they are stopped unused if the cache has everything.
    """
    from service.engines.pool import EnginePool  # pebble and the engines: on a miss only

    pool = EnginePool(
        settings.engines.worker_count,
        task_timeout_s=settings.engines.segment_timeout_s,
        settings=settings.engines,
    )
    try:
        pool.launch()
        from service.pipeline.narrate import Narrator
        from service.pipeline.prepare import prepare_plan
        from service.text.load import article_from_source

        plan = prepare_plan(article_from_source(read, settings.input), settings, lexicon=lexicon)
        target = _checked_target(output or Path(default_filename(plan.title, fmt)))
        duration_ms = read_duration_ms(store, plan.narration_id)
        if duration_ms is not None and store.exists(audio_object(plan.narration_id, fmt)):
            result = NarrationResult(plan.narration_id, duration_ms, cached=True, store=store)
        else:
            result = Narrator(settings, store, pool).narrate(
                plan, formats=(fmt,), on_progress=on_progress
            )
    finally:
        pool.close()
    return ExportResult(target, result.duration_ms, plan.narration_id, result.cached, plan.title)
