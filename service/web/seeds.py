"""Narrate the sample articles so they are ready to play when the server starts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from service.errors import ListenError
from service.text.load import load_article
from service.web.context import narrations, settings

SEED_SUFFIXES = {".txt", ".md", ".html", ".htm"}
_EVERY_ADDRESS = frozenset({"", "0.0.0.0", "::", "[::]"})


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


def prepare_seeds(folders: tuple[str, ...]) -> Iterator[str]:
    """Start a narration for every seed article; yield one line per seed."""
    for path in seed_files(folders):
        try:
            article = load_article(str(path), settings())
            view = narrations().create(article, voice=None, rate_wpm=None, fmt="mp3")
        except ListenError as error:
            yield f"seed {path.name}: {error}"
            continue
        narrations().remember_seed(path.name, view.plan.narration_id)
        yield f"seed {path.name}: {player_link(view.plan.narration_id)} ({view.state.status})"


def player_link(narration_id: str) -> str:
    """Return the player's URL on the address served, or its path when that is every address."""
    path = f"/listen/{narration_id}"
    host = settings().host.strip()
    if host in _EVERY_ADDRESS:
        return path
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    return f"http://{host}:{settings().port}{path}"
