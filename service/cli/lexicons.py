"""``listen lexicon``: pronunciation lexicons in the library database."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from service.cli.common import library_of, read_limited, reports_errors
from service.config import Settings

if TYPE_CHECKING:
    from service.library import Lexicon


def stored_lexicon(settings: Settings, name: str) -> Lexicon:
    """Return the stored lexicon ``name`` (a one-line error when there is none)."""
    library = library_of(settings)
    try:
        return library.lexicons.get(name)
    finally:
        library.close()


@click.group()
def lexicon() -> None:
    """Pronunciation lexicons: how names, brands and acronyms are said."""


@lexicon.command("import")
@click.argument("name")
@click.argument("file")
@click.pass_obj
@reports_errors
def lexicon_import(settings: Settings, name: str, file: str) -> None:
    """Store FILE (JSON rules or W3C PLS; '-' for stdin) as the lexicon NAME, replacing it."""
    from service.library.lexicons import check_name

    check_name(name)
    data = read_limited(file, settings.input.max_input_bytes)
    library = library_of(settings)
    try:
        parsed, created = library.lexicons.put(name, data, "" if file == "-" else file)
    finally:
        library.close()
    sites = f", sites {', '.join(parsed.sites)}" if parsed.sites else ""
    click.echo(f"{'imported' if created else 'replaced'} {name}: {len(parsed.rules)} rules{sites}")


@lexicon.command("export")
@click.argument("name")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="File to write.")
@click.option("--format", "fmt", type=click.Choice(["json", "pls"]), help="Default: by suffix.")
@click.pass_obj
@reports_errors
def lexicon_export(settings: Settings, name: str, output: str | None, fmt: str | None) -> None:
    """Write the lexicon NAME as JSON (default) or W3C PLS, to stdout or a file."""
    from service.library import lexicon_format, write_atomically

    chosen = fmt or (lexicon_format(output) if output else "json")
    library = library_of(settings)
    try:
        data = library.lexicons.export(name, chosen)
    finally:
        library.close()
    if output is None:
        sys.stdout.buffer.write(data)
        return
    from pathlib import Path

    write_atomically(Path(output), data)
    click.echo(output)


@lexicon.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per lexicon, per line.")
@click.pass_obj
@reports_errors
def lexicon_list(settings: Settings, as_json: bool) -> None:
    """List the stored lexicons: name, rules, sites."""
    library = library_of(settings)
    try:
        found = library.lexicons.list()
    finally:
        library.close()
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
    found = stored_lexicon(settings, name)
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
    library = library_of(settings)
    try:
        library.lexicons.delete(name)
    finally:
        library.close()
    click.echo(f"deleted {name}")
