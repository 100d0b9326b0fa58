"""The ``listen`` command: parse arguments, call the pipeline, print results.

Every :class:`~service.errors.ListenError` becomes one line on stderr and a
non-zero exit; stdout carries only the command's output.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from importlib.machinery import ModuleSpec
from typing import Any, NoReturn, TypeVar

import click

from service import __version__
from service.config import Settings
from service.errors import ListenError

F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str, exit_code: int) -> NoReturn:
    click.echo(f"listen: error: {message}", err=True)
    sys.exit(exit_code)


def reports_errors(command: F) -> F:
    """Turn named errors into one line on stderr and the error's exit code."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ListenError as error:
            _fail(str(error), error.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted", 130)

    return wrapper  # type: ignore[return-value]


def main() -> None:
    """Run the ``listen`` command; every error ends as one line on stderr."""
    _spawn_without_the_script()
    try:
        code = cli.main(prog_name="listen", standalone_mode=False)
    except click.exceptions.Abort:
        _fail("aborted", 1)
    except click.ClickException as error:
        _fail(error.format_message(), error.exit_code)
    except ImportError as error:
        # heavy dependencies load on first use, so a broken install shows up mid-command
        _fail(_missing_package(error), 1)
    sys.exit(code if isinstance(code, int) else 0)


def _missing_package(error: ImportError) -> str:
    """Say that the installation lacks a package, in one line, and how to mend it."""
    detail = " ".join(str(error).split()) or f"no module named {error.name!r}"
    return f"a package listen needs is missing or broken: {detail} (reinstall listen with pip)"


def _warn(message: str | None) -> None:
    """Print a warning that does not stop the command, if there is one."""
    if message:
        click.echo(f"listen: {message}", err=True)


def _spawn_without_the_script() -> None:
    """Keep spawned engine workers from running the ``listen`` script again.

    ``spawn`` re-runs the main script in every worker, in case it defines
    what the worker needs; ours defines nothing, and running it imports the
    whole CLI (50 ms of a worker's start). Naming the package's ``__main__``
    as the main module, as ``python -m service`` does, tells multiprocessing
    there is nothing to re-run.
    """
    script = sys.modules.get("__main__")
    if script is not None and getattr(script, "__spec__", None) is None:
        script.__spec__ = ModuleSpec("service.__main__", None)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="listen")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Turn articles into narrated audio, offline."""
    try:
        ctx.obj = Settings.from_env()
    except ListenError as error:
        _fail(str(error), error.exit_code)


@cli.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per input, per line.")
@click.pass_obj
def extract(settings: Settings, inputs: tuple[str, ...], as_json: bool) -> None:
    """Show exactly what will be read from each INPUT (file, '-' for stdin, or URL)."""
    from service.text.load import load_article
    from service.text.segment import segment_article

    failed = False
    for source in inputs:
        try:
            article = load_article(source, settings)
        except ListenError as error:
            failed = True
            if as_json:
                click.echo(json.dumps({"input": source, "error": str(error)}, ensure_ascii=False))
            else:
                click.echo(f"listen: error: {_naming(source, str(error))}", err=True)
            continue
        if as_json:
            record = {
                "input": source,
                "title": article.title,
                "byline": article.byline,
                "language": article.language,
                "paragraphs": [block.text for block in article.blocks],
            }
            click.echo(json.dumps(record, ensure_ascii=False))
            continue
        blocks = segment_article(article, max_sentence_chars=settings.max_sentence_chars)
        sentences = sum(len(b.sentences) for b in blocks)
        click.secho(f"== {source}", bold=True)
        meta = [f"language: {article.language}", f"{article.word_count} words"]
        meta.append(f"{len(article.blocks)} blocks, {sentences} sentences")
        if article.site_name:
            meta.insert(0, f"site: {article.site_name}")
        click.echo("   " + " · ".join(meta))
        for block in blocks:
            label = block.kind.replace("_", " ").upper()
            spoken = " ".join(s.spoken for s in block.sentences)
            click.echo(f"\n[{label}] {spoken}")
        click.echo()
    if failed:
        sys.exit(2)


def _naming(source: str, message: str) -> str:
    """Name the input a message is about, once: messages about reading it start with its name."""
    name = "standard input" if source == "-" else source
    return message if message.startswith(name) else f"{name}: {message}"


def _progress(enabled: bool) -> Any:
    """Return a progress callback drawing a bar on stderr when it is a terminal."""
    if not enabled:
        return None
    state: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        bar = state.get("bar")
        if bar is None:
            bar = click.progressbar(
                length=total, label="narrating", file=sys.stderr, show_eta=True, show_pos=True
            )
            bar.__enter__()
            state["bar"] = bar
        bar.update(done - bar.pos)
        if done >= total:
            bar.__exit__(None, None, None)

    return update


@cli.command()
@click.argument("source")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Audio file to write.")
@click.option("--format", "fmt", type=click.Choice(["mp3", "ogg", "wav"]), help="Audio format.")
@click.option("--voice", help="Voice id (see `listen voices`); default: one for the language.")
@click.option("--rate", "rate_wpm", type=int, help="Words per minute.")
@click.option("--pitch", type=int, help="Pitch, 0 to 100.")
@click.option("--volume", type=float, help="Volume, 0.0 to 1.0.")
@click.option("--cache-dir", help="Cache folder.")
@click.option("--no-cache", is_flag=True, help="Use a throw-away cache.")
@click.option("--timings", type=click.Path(dir_okay=False), help="Write the timings JSON here.")
@click.option("--captions", type=click.Path(dir_okay=False), help="Write WebVTT captions here.")
@click.option("--lexicon", "lexicon_name", help="Pronounce by this lexicon (see `listen lexicon`).")
@click.pass_obj
@reports_errors
def narrate(
    settings: Settings,
    source: str,
    output: str | None,
    fmt: str | None,
    voice: str | None,
    rate_wpm: int | None,
    pitch: int | None,
    volume: float | None,
    cache_dir: str | None,
    no_cache: bool,
    timings: str | None,
    captions: str | None,
    lexicon_name: str | None,
) -> None:
    """Narrate SOURCE (file, '-' for stdin, or URL) into one audio file."""
    import tempfile
    from pathlib import Path

    from service.pipeline.export import narrate_to_files

    settings = settings.replace(
        cache_dir=Path(cache_dir) if cache_dir else None,
        voice=voice,
        rate_wpm=rate_wpm,
        pitch=pitch,
        volume=volume,
    )
    lexicon = _stored_lexicon(settings, lexicon_name) if lexicon_name is not None else None
    with tempfile.TemporaryDirectory(prefix="listen-") as scratch:
        if no_cache:
            settings = settings.replace(cache_dir=Path(scratch), store_url="")
        result = narrate_to_files(
            source,
            settings,
            output=Path(output) if output else None,
            fmt=fmt,
            timings=Path(timings) if timings else None,
            captions=Path(captions) if captions else None,
            on_progress=_progress(sys.stderr.isatty()),
            lexicon=lexicon,
        )
    seconds = result.duration_ms / 1000
    click.echo(f"{result.path}\t{int(seconds // 60)}:{seconds % 60:04.1f}")


@cli.command()
@click.argument("source")
@click.option("--voice", help="Voice id (see `listen voices`); default: one for the language.")
@click.option("--rate", "rate_wpm", type=int, help="Words per minute.")
@click.pass_obj
@reports_errors
def say(settings: Settings, source: str, voice: str | None, rate_wpm: int | None) -> None:
    """Speak SOURCE (file, '-' for stdin, or URL) through the sound device."""
    import tempfile
    from pathlib import Path

    from service.audio.playback import play, require_sound_device
    from service.pipeline.export import narrate_to_files

    require_sound_device()  # before any synthesis
    settings = settings.replace(voice=voice, rate_wpm=rate_wpm)
    with tempfile.TemporaryDirectory(prefix="listen-say-") as scratch:
        result = narrate_to_files(source, settings, output=Path(scratch) / "say.wav", fmt="wav")
        play(result.path)


@cli.command()
@click.option("--language", help="Only voices speaking this language (en, pt-br...).")
@click.option("--engine", help="Only voices of this engine (pyttsx3, piper).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per voice, per line.")
@reports_errors
def voices(language: str | None, engine: str | None, as_json: bool) -> None:
    """List the voices narrations can use."""
    from service.engines.voices import list_voices

    found = list_voices(engine=engine, language=language)
    for voice in found:
        if as_json:
            record = {
                "id": voice.voice_id,
                "name": voice.name,
                "languages": list(voice.languages),
                "gender": voice.gender,
            }
            click.echo(json.dumps(record, ensure_ascii=False))
        else:
            gender = voice.gender or "-"
            click.echo(
                f"{voice.voice_id:32} {voice.name:32} {','.join(voice.languages):16} {gender}"
            )
    if not found:
        raise ListenError(f"no voice for language {language!r}" if language else "no voices found")


@cli.group()
def cache() -> None:
    """Look after the audio cache."""


def _cache_store(settings: Settings, cache_dir: str | None) -> Any:
    from pathlib import Path

    from service.store import open_store

    return open_store(settings.replace(cache_dir=Path(cache_dir) if cache_dir else None))


_cache_dir_option = click.option("--cache-dir", help="Cache folder.")


@cache.command("stats")
@_cache_dir_option
@click.pass_obj
@reports_errors
def cache_stats(settings: Settings, cache_dir: str | None) -> None:
    """Show what the cache holds."""
    stats = _cache_store(settings, cache_dir).stats()
    click.echo(f"objects\t{stats.objects}")
    click.echo(f"bytes\t{stats.bytes}")
    for kind, (objects, size) in sorted(stats.by_kind.items()):
        click.echo(f"{kind}\t{objects} objects\t{size} bytes")


@cache.command("prune")
@_cache_dir_option
@click.option("--max-mb", type=int, help="Target size; default: LISTEN_CACHE_MAX_MB.")
@click.pass_obj
@reports_errors
def cache_prune(settings: Settings, cache_dir: str | None, max_mb: int | None) -> None:
    """Evict least recently used entries until the cache fits."""
    limit = (max_mb if max_mb is not None else settings.cache_max_mb) * 1024 * 1024
    result = _cache_store(settings, cache_dir).prune(limit)
    click.echo(f"removed {result.removed} objects, {result.freed_bytes} bytes")


@cache.command("clear")
@_cache_dir_option
@click.option("--yes", is_flag=True, help="Do not ask.")
@click.pass_obj
@reports_errors
def cache_clear(settings: Settings, cache_dir: str | None, yes: bool) -> None:
    """Remove everything from the cache."""
    if not yes and sys.stdin.isatty():
        click.confirm("Remove every cached narration and segment?", abort=True)
    _cache_store(settings, cache_dir).clear()
    click.echo("cache cleared")


@cli.command()
@click.option("--host", help="Address to bind (default 127.0.0.1).")
@click.option("--port", type=int, help="Port to bind (default 8000).")
@click.option("--workers", type=int, default=1, show_default=True, help="Web processes.")
@click.option("--seed", "seeds", multiple=True, help="Narrate these files or folders at start.")
@click.pass_obj
@reports_errors
def serve(
    settings: Settings, host: str | None, port: int | None, workers: int, seeds: tuple[str, ...]
) -> None:
    """Run the web service (API, player and embed) with a production server."""
    from service.malloc import run_on_jemalloc
    from service.web.front import plan_front
    from service.web.ports import check_bindable
    from service.web.server import serve as run_server

    if workers < 1:
        raise ListenError("--workers must be at least 1")
    settings = settings.replace(host=host, port=port)
    _check_database(settings)
    check_bindable(settings.host, settings.port)
    _warn(run_on_jemalloc(settings.malloc))
    front, warning = plan_front(settings)
    _warn(warning)
    run_server(settings, workers=workers, seeds=seeds, front=front)


@cli.command()
@click.option("--burst", is_flag=True, help="Quit once the queue is empty.")
@click.pass_obj
@reports_errors
def worker(settings: Settings, burst: bool) -> None:
    """Narrate jobs queued in Redis (LISTEN_REDIS_URL) with one engine pool (LISTEN_WORKERS)."""
    import logging

    from service.jobs.rq_worker import run_worker
    from service.malloc import run_on_jemalloc

    if not settings.redis_url:
        raise ListenError("set LISTEN_REDIS_URL=redis://host:port/db to run a worker")
    _check_database(settings)
    _warn(run_on_jemalloc(settings.malloc))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    run_worker(settings, burst=burst)


# --- the library database and lexicons --------------------------------------------------


def _database(settings: Settings) -> Any:
    from service.db import open_database

    return open_database(settings)


def _check_database(settings: Settings) -> None:
    """Migrate a SQLite database, or refuse to start on a shared one that needs migrating.

    A database that cannot be reached only gets a warning: audio is served
    without it, and what needs it answers that it is unavailable until it is back.
    """
    from service.errors import DatabaseError, DatabaseSchemaError

    try:
        _database(settings).dispose()
    except DatabaseSchemaError:
        raise
    except DatabaseError as error:
        _warn(f"warning: {error}")


def _stored_lexicon(settings: Settings, name: str) -> Any:
    from service.db.lexicons import get_lexicon

    database = _database(settings)
    try:
        with database.session() as session:
            return get_lexicon(session, name)
    finally:
        database.dispose()


@cli.group()
def db() -> None:
    """Look after the library database (LISTEN_DATABASE_URL)."""


@db.command("upgrade")
@click.pass_obj
@reports_errors
def db_upgrade(settings: Settings) -> None:
    """Migrate the database to this version's schema (needed first on a shared database)."""
    from service.db import Database, database_url
    from service.db.database import shown
    from service.db.migrate import upgrade

    database = Database(database_url(settings))
    try:
        before, after = upgrade(database)
    finally:
        database.dispose()
    where = shown(database.url)
    if before == after:
        click.echo(f"{where}: already at revision {after}")
    else:
        click.echo(f"{where}: migrated from {before or 'an empty database'} to revision {after}")


@cli.group()
def lexicon() -> None:
    """Pronunciation lexicons: how names, brands and acronyms are said."""


@lexicon.command("import")
@click.argument("name")
@click.argument("file")
@click.pass_obj
@reports_errors
def lexicon_import(settings: Settings, name: str, file: str) -> None:
    """Store FILE (JSON rules or W3C PLS; '-' for stdin) as the lexicon NAME, replacing it."""
    from service.db.lexicons import put_lexicon
    from service.text.lexicon.files import read_lexicon
    from service.text.lexicon.model import check_name

    check_name(name)
    data = _read_limited(file, settings.max_input_bytes)
    parsed = read_lexicon(data, name, "" if file == "-" else file)
    database = _database(settings)
    try:
        with database.session() as session:
            created = put_lexicon(session, parsed)
    finally:
        database.dispose()
    sites = f", sites {', '.join(parsed.sites)}" if parsed.sites else ""
    click.echo(f"{'imported' if created else 'replaced'} {name}: {len(parsed.rules)} rules{sites}")


def _read_limited(file: str, limit_bytes: int) -> bytes:
    """Read FILE (or standard input for '-') whole, refusing more than ``limit_bytes``."""
    from service.errors import TooLargeError

    try:
        if file == "-":
            data = sys.stdin.buffer.read(limit_bytes + 1)
        else:
            with open(file, "rb") as opened:
                data = opened.read(limit_bytes + 1)
    except FileNotFoundError:
        raise ListenError(f"{file}: no such file") from None
    except IsADirectoryError:
        raise ListenError(f"{file} is a folder; give a file") from None
    except OSError as error:
        raise ListenError(f"{file}: {error.strerror or error}") from None
    if len(data) > limit_bytes:
        raise TooLargeError(f"{file} is larger than {limit_bytes} bytes (LISTEN_MAX_INPUT_BYTES)")
    return data


@lexicon.command("export")
@click.argument("name")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="File to write.")
@click.option("--format", "fmt", type=click.Choice(["json", "pls"]), help="Default: by suffix.")
@click.pass_obj
@reports_errors
def lexicon_export(settings: Settings, name: str, output: str | None, fmt: str | None) -> None:
    """Write the lexicon NAME as JSON (default) or W3C PLS, to stdout or a file."""
    from service.text.lexicon.files import lexicon_format, write_lexicon

    chosen = fmt or (lexicon_format(output) if output else "json")
    data = write_lexicon(_stored_lexicon(settings, name), chosen)
    if output is None:
        sys.stdout.buffer.write(data)
        return
    from pathlib import Path

    from service.pipeline.export import write_atomically

    write_atomically(Path(output), data)
    click.echo(output)


@lexicon.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per lexicon, per line.")
@click.pass_obj
@reports_errors
def lexicon_list(settings: Settings, as_json: bool) -> None:
    """List the stored lexicons: name, rules, sites."""
    from service.db.lexicons import list_lexicons

    database = _database(settings)
    try:
        with database.session() as session:
            found = list_lexicons(session)
    finally:
        database.dispose()
    for summary in found:
        if as_json:
            record = {
                "name": summary.name,
                "rules": summary.rule_count,
                "sites": list(summary.sites),
                "language": summary.language,
                "updated_at": summary.updated_at.isoformat(timespec="seconds"),
            }
            click.echo(json.dumps(record, ensure_ascii=False))
        else:
            sites = ",".join(summary.sites) or "-"
            click.echo(f"{summary.name}\t{summary.rule_count} rules\t{sites}")


@lexicon.command("show")
@click.argument("name")
@click.pass_obj
@reports_errors
def lexicon_show(settings: Settings, name: str) -> None:
    """Show the lexicon NAME: its sites, then one rule per line."""
    found = _stored_lexicon(settings, name)
    click.echo(f"lexicon {found.name}: {len(found.rules)} rules")
    if found.language:
        click.echo(f"language: {found.language}")
    if found.sites:
        click.echo(f"sites: {', '.join(found.sites)}")
    for number, rule in enumerate(found.rules, start=1):
        how = []
        if rule.ipa is not None:
            how.append(f"/{rule.ipa}/")
        if rule.say is not None:
            how.append(json.dumps(rule.say, ensure_ascii=False))
        flags = [
            flag for flag, on in (("regex", rule.regex), ("ignore case", rule.ignore_case)) if on
        ]
        shown_flags = f"  ({', '.join(flags)})" if flags else ""
        click.echo(f"{number:>5}  {rule.match} -> {' or '.join(how)}{shown_flags}")


@lexicon.command("delete")
@click.argument("name")
@click.pass_obj
@reports_errors
def lexicon_delete(settings: Settings, name: str) -> None:
    """Delete the lexicon NAME."""
    from service.db.lexicons import delete_lexicon

    database = _database(settings)
    try:
        with database.session() as session:
            delete_lexicon(session, name)
    finally:
        database.dispose()
    click.echo(f"deleted {name}")
