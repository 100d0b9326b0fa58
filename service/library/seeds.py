"""Narrate the sample articles so they are ready to play when the server starts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from service.errors import ListenError
from service.library.narrations import Narrations
from service.text.load import load_article

SEED_SUFFIXES = {".txt", ".md", ".html", ".htm"}


@dataclass(frozen=True)
class Seed:
    """What became of one sample article."""

    name: str
    """The file's name."""
    narration_id: str | None
    """Its narration, or None when it could not be read."""
    status: str
    """The narration's status, or the error that stopped it."""


def seed_files(folders: tuple[str, ...]) -> list[Path]:
    """Return the article files in ``folders`` (or the files named), sorted."""
    found: list[Path] = []
    for name in folders:
        path = Path(name)
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.suffix.lower() in SEED_SUFFIXES)
        elif path.is_file():
            found.append(path)
    return found


def prepare_seeds(narrations: Narrations, folders: tuple[str, ...]) -> Iterator[Seed]:
    """Start a narration for every seed article and list it on the index page."""
    for path in seed_files(folders):
        try:
            article = load_article(str(path), narrations.settings.input)
            view = narrations.create(article, voice=None, rate_wpm=None, fmt="mp3")
        except ListenError as error:
            yield Seed(path.name, None, str(error))
            continue
        narrations.remember_seed(path.name, view.plan.narration_id)
        yield Seed(path.name, view.plan.narration_id, view.state.status)
