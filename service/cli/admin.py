"""Commands that look after the service: the cache, the server, the worker, the database."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from service.cli.common import library_of, reports_errors, warn
from service.config import Settings
from service.errors import ListenError

T = TypeVar("T")

_cache_dir_option = click.option("--cache-dir", help="Cache folder.")


def _with_cache_dir(settings: Settings, cache_dir: str | None) -> Settings:
    return settings.replace(cache_dir=Path(cache_dir) if cache_dir else None)


@click.group()
def cache() -> None:
    """Look after the audio cache."""


@cache.command("stats")
@_cache_dir_option
@click.pass_obj
@reports_errors
def cache_stats(settings: Settings, cache_dir: str | None) -> None:
    """Show what the cache holds."""
    report = library_of(_with_cache_dir(settings, cache_dir)).cache_report()
    click.echo(f"objects\t{report.objects}")
    click.echo(f"bytes\t{report.size_bytes}")
    for kind, (objects, size) in sorted(report.by_kind.items()):
        click.echo(f"{kind}\t{objects} objects\t{size} bytes")


@cache.command("prune")
@_cache_dir_option
@click.option("--max-mb", type=int, help="Target size; default: LISTEN_CACHE_MAX_MB.")
@click.pass_obj
@reports_errors
def cache_prune(settings: Settings, cache_dir: str | None, max_mb: int | None) -> None:
    """Evict least recently used entries until the cache fits."""
    removed, freed = library_of(_with_cache_dir(settings, cache_dir)).prune_cache(max_mb)
    click.echo(f"removed {removed} objects, {freed} bytes")


@cache.command("clear")
@_cache_dir_option
@click.option("--yes", is_flag=True, help="Do not ask.")
@click.pass_obj
@reports_errors
def cache_clear(settings: Settings, cache_dir: str | None, yes: bool) -> None:
    """Remove everything from the cache."""
    if not yes and sys.stdin.isatty():
        click.confirm("Remove every cached narration and clip?", abort=True)
    library_of(_with_cache_dir(settings, cache_dir)).clear_cache()
    click.echo("cache cleared")


@click.command()
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
    # first: the command is run again on jemalloc before it has done anything twice
    warn(run_on_jemalloc(settings.server.malloc))
    settings = settings.replace(host=host, port=port)
    # This process becomes gunicorn's master, which only watches its workers: the database
    # check loads SQLAlchemy and the library (about 25 MB), so it runs in a child.
    warn(_apart(_check_database, settings))
    check_bindable(settings.server.host, settings.server.port)
    front, warning = plan_front(settings)
    warn(warning)
    run_server(settings, workers=workers, seeds=seeds, front=front)


def _check_database(settings: Settings) -> str | None:
    from service.library import check_database

    return check_database(settings)


def _apart(function: Callable[..., T], *args: Any) -> T:
    """Return ``function(*args)`` run in a forked child; its error is raised here."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    reader, writer = context.Pipe(duplex=False)
    child = context.Process(target=_answer, args=(writer, function, args), daemon=True)
    child.start()
    writer.close()
    try:
        succeeded, outcome = reader.recv()
    except EOFError:
        child.join()
        raise ListenError(
            f"the check in a child process ended with code {child.exitcode}"
        ) from None
    finally:
        reader.close()
    child.join()
    if not succeeded:
        raise outcome
    result: T = outcome
    return result


def _answer(writer: Any, function: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        writer.send((True, function(*args)))
    except Exception as error:  # sent to the parent, which raises it
        try:
            writer.send((False, error))
        except Exception:  # an error that cannot be pickled: its message
            writer.send((False, ListenError(str(error))))


@click.command()
@click.option("--burst", is_flag=True, help="Quit once the queue is empty.")
@click.pass_obj
@reports_errors
def worker(settings: Settings, burst: bool) -> None:
    """Narrate jobs queued in Redis (LISTEN_REDIS_URL) with one engine pool (LISTEN_WORKERS)."""
    import logging

    from service.library import check_database, run_worker
    from service.malloc import run_on_jemalloc

    if not settings.jobs.redis_url:
        raise ListenError("set LISTEN_REDIS_URL=redis://host:port/db to run a worker")
    warn(check_database(settings))
    warn(run_on_jemalloc(settings.server.malloc))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    run_worker(settings, burst=burst)


@click.group()
def db() -> None:
    """Look after the library database (LISTEN_DATABASE_URL)."""


@db.command("upgrade")
@click.pass_obj
@reports_errors
def db_upgrade(settings: Settings) -> None:
    """Migrate the database to this version's schema (needed first on a shared database)."""
    from service.library import upgrade_database

    click.echo(upgrade_database(settings))
