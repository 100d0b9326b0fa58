"""Narrate the sample articles at start, and log each with its player's address."""

from __future__ import annotations

from collections.abc import Iterator

from service.web.context import library, settings

_EVERY_ADDRESS = frozenset({"", "0.0.0.0", "::", "[::]"})


def prepare_seeds(folders: tuple[str, ...]) -> Iterator[str]:
    """Start a narration for every seed article; yield one line per seed."""
    for seed in library().prepare_seeds(folders):
        if seed.narration_id is None:
            yield f"seed {seed.name}: {seed.status}"
        else:
            yield f"seed {seed.name}: {player_link(seed.narration_id)} ({seed.status})"


def player_link(narration_id: str) -> str:
    """Return the player's URL on the address served, or its path when that is every address."""
    path = f"/listen/{narration_id}"
    host = settings().server.host.strip()
    if host in _EVERY_ADDRESS:
        return path
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    return f"http://{host}:{settings().server.port}{path}"
