"""The ``listen`` command: parse arguments, call the pipeline, print results.

Every :class:`~service.errors.ListenError` becomes one line on stderr and a
non-zero exit; stdout carries only the command's output.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from service import __version__
from service.config import Settings
from service.errors import ListenError

F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str, exit_code: int) -> None:
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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="listen")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Turn articles into narrated audio, offline."""
    try:
        ctx.obj = Settings.from_env()
    except ListenError as error:
        _fail(str(error), error.exit_code)


@main.command()
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
                click.echo(f"listen: error: {source}: {error}", err=True)
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
