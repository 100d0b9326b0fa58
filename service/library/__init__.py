"""The front door below the web app and the CLI: every entry goes through :class:`Library`.

``service.web`` and ``service.cli`` import this package (and ``service.config``,
``service.errors`` and the ground-floor ``service.media``), never the stages
below it; ``tests/test_architecture.py`` holds them to it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from service.library.cache import CacheReport
    from service.library.database import check_database, upgrade_database
    from service.library.export import ExportResult, write_atomically
    from service.library.extract import Preview, extraction, summary
    from service.library.lexicons import Lexicon, LexiconSummary, lexicon_format
    from service.library.library import Library, StoredObject, local_store_folder
    from service.library.narrations import (
        NarrationView,
        RemakeNeedsKeyError,
        UnknownNarrationError,
    )
    from service.library.player import ShownBlock, listening_minutes, page_blocks
    from service.library.requests import NarrationRequest
    from service.library.runner import run_worker
    from service.library.seeds import Seed
    from service.library.speech import SpeechRequest
    from service.library.voice_samples import RATES_WPM

_HOMES = {
    "CacheReport": "cache",
    "ExportResult": "export",
    "Lexicon": "lexicons",
    "LexiconSummary": "lexicons",
    "Library": "library",
    "NarrationRequest": "requests",
    "NarrationView": "narrations",
    "Preview": "extract",
    "RATES_WPM": "voice_samples",
    "RemakeNeedsKeyError": "narrations",
    "Seed": "seeds",
    "ShownBlock": "player",
    "SpeechRequest": "speech",
    "StoredObject": "library",
    "UnknownNarrationError": "narrations",
    "check_database": "database",
    "extraction": "extract",
    "lexicon_format": "lexicons",
    "listening_minutes": "player",
    "local_store_folder": "library",
    "page_blocks": "player",
    "run_worker": "runner",
    "summary": "extract",
    "upgrade_database": "database",
    "write_atomically": "export",
}
"""Where each name lives; its module is imported when the name is first used, so a command
pays only for what it uses (the database, the engines and the audio libraries are heavy)."""

__all__ = [
    "RATES_WPM",
    "CacheReport",
    "ExportResult",
    "Lexicon",
    "LexiconSummary",
    "Library",
    "NarrationRequest",
    "NarrationView",
    "Preview",
    "RemakeNeedsKeyError",
    "Seed",
    "ShownBlock",
    "SpeechRequest",
    "StoredObject",
    "UnknownNarrationError",
    "check_database",
    "extraction",
    "lexicon_format",
    "listening_minutes",
    "local_store_folder",
    "page_blocks",
    "run_worker",
    "summary",
    "upgrade_database",
    "write_atomically",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
