"""The ``listen`` command: parse arguments, call the library, print results.

Every :class:`~service.errors.ListenError` becomes one line on stderr and a
non-zero exit; stdout carries only the command's output. The commands reach
everything through :class:`~service.library.Library`, imported when a command
runs, so that each pays only for what it uses.
"""

from __future__ import annotations

import json
import sys
from importlib.machinery import ModuleSpec
from typing import Any

import click

from service import __version__
from service.cli.admin import cache, db, serve, worker
from service.cli.common import fail, library_of, reports_errors
from service.cli.lexicons import lexicon, stored_lexicon
from service.config import Settings
from service.errors import ListenError
from service.media import AUDIO_FORMATS

__all__ = ["cli", "main"]


def main() -> None:
    """Run the ``listen`` command; every error ends as one line on stderr."""
    _spawn_without_the_script()
    try:
        code = cli.main(prog_name="listen", standalone_mode=False)
    except click.exceptions.Abort:
        fail("aborted", 1)
    except click.ClickException as error:
        fail(error.format_message(), error.exit_code)
    except ImportError as error:
        # heavy dependencies load on first use, so a broken install shows up mid-command
        fail(_missing_package(error), 1)
    sys.exit(code if isinstance(code, int) else 0)


def _missing_package(error: ImportError) -> str:
    """Say that the installation lacks a package, in one line, and how to mend it."""
    detail = " ".join(str(error).split()) or f"no module named {error.name!r}"
    return f"a package listen needs is missing or broken: {detail} (reinstall listen with pip)"


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
        fail(str(error), error.exit_code)


for _command in (cache, serve, worker, db, lexicon):
    cli.add_command(_command)


@cli.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per input, per line.")
@click.pass_obj
def extract(settings: Settings, inputs: tuple[str, ...], as_json: bool) -> None:
    """Show exactly what will be read from each INPUT (file, '-' for stdin, or URL)."""
    from service.library import summary

    library = library_of(settings)
    failed = False
    for source in inputs:
        try:
            article = library.read_article(source)
        except ListenError as error:
            failed = True
            if as_json:
                click.echo(json.dumps({"input": source, "error": str(error)}, ensure_ascii=False))
            else:
                click.echo(f"listen: error: {_naming(source, str(error))}", err=True)
            continue
        if as_json:
            click.echo(json.dumps(summary(source, article), ensure_ascii=False))
            continue
        shown = library.preview(article)
        click.secho(f"== {source}", bold=True)
        meta = [f"language: {article.language}", f"{article.word_count} words"]
        meta.append(f"{len(article.blocks)} blocks, {shown.sentence_count} sentences")
        if article.site_name:
            meta.insert(0, f"site: {article.site_name}")
        click.echo("   " + " · ".join(meta))
        for kind, spoken in shown.blocks:
            label = kind.replace("_", " ").upper()
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
@click.option("--format", "fmt", type=click.Choice(AUDIO_FORMATS), help="Audio format.")
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

    settings = settings.replace(
        cache_dir=Path(cache_dir) if cache_dir else None,
        voice=voice,
        rate_wpm=rate_wpm,
        pitch=pitch,
        volume=volume,
    )
    lexicon = stored_lexicon(settings, lexicon_name) if lexicon_name is not None else None
    library = library_of(settings)  # its database holds the lexicons, whatever cache is used
    try:
        with tempfile.TemporaryDirectory(prefix="listen-") as scratch:
            cache = settings.replace(cache_dir=Path(scratch), store_url="") if no_cache else None
            result = (library if cache is None else library_of(cache)).narrate_to_files(
                source,
                output=Path(output) if output else None,
                fmt=fmt,
                timings=Path(timings) if timings else None,
                captions=Path(captions) if captions else None,
                on_progress=_progress(sys.stderr.isatty()),
                lexicon=lexicon,
                site_lexicon=library.site_lexicon,
            )
    finally:
        library.close()
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
    library_of(settings.replace(voice=voice, rate_wpm=rate_wpm)).say(source)


@cli.command()
@click.option("--language", help="Only voices speaking this language (en, pt-br...).")
@click.option("--engine", help="Only voices of this engine (pyttsx3, piper).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per voice, per line.")
@click.pass_obj
@reports_errors
def voices(settings: Settings, language: str | None, engine: str | None, as_json: bool) -> None:
    """List the voices narrations can use."""
    found = library_of(settings).voices(engine=engine, language=language)
    for voice in found:
        if as_json:
            record = {
                "id": voice.voice_id,
                "name": voice.name,
                "languages": list(voice.languages),
                "gender": voice.gender,
                "installed": voice.installed,
                "detail": voice.detail,
            }
            click.echo(json.dumps(record, ensure_ascii=False))
        else:
            gender = voice.gender or "-"
            state = "" if voice.installed else "  (not installed)"
            click.echo(
                f"{voice.voice_id:32} {voice.name:32} {','.join(voice.languages):16} "
                f"{gender:6}{state}".rstrip()
            )
    if not found:
        raise ListenError(f"no voice for language {language!r}" if language else "no voices found")
