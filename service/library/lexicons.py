"""Keep pronunciation lexicons in the library database: import, export, list, show, delete,
and find the one a narration is read by.

Each call opens one session (one transaction) on the library's database; the
checked :class:`~service.text.lexicon.model.Lexicon` is what goes in and out.
A narration asks for its lexicon by name or by its site with one small query
(name and digest); the rules are loaded only when that digest is not among
the few lexicons kept in memory, so an edit made by any process is seen by the
next narration, and a 10,000-rule lexicon is not read again for every one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from cachetools import LRUCache
from sqlalchemy.orm import Session

from service.db import Database
from service.db.lexicons import (
    LexiconSummary,
    delete_lexicon,
    get_lexicon,
    lexicon_digest,
    list_lexicons,
    put_lexicon,
    site_lexicon,
)
from service.errors import LexiconNotFoundError, UnknownLexiconError
from service.text.lexicon.files import lexicon_format, read_lexicon, write_lexicon
from service.text.lexicon.model import NAME_PATTERN, Lexicon, check_name

__all__ = ["Lexicon", "LexiconSummary", "Lexicons", "check_name", "lexicon_format"]

T = TypeVar("T")

LEXICONS_KEPT = 8
"""Lexicons kept in memory by name and digest (10,000 rules take a few MB and ~0.2 s to load)."""


class Lexicons:
    """The lexicons of one library database (opened on first use)."""

    def __init__(self, database: Callable[[], Database]) -> None:
        self._database = database
        self._kept: LRUCache[tuple[str, str], Lexicon] = LRUCache(LEXICONS_KEPT)
        self._lock = threading.Lock()  # cachetools' caches are not thread-safe

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with self._database().session() as session:
            yield session

    def _in_session(self, work: Callable[[Session], T]) -> T:
        with self._session() as session:
            return work(session)

    def put(
        self, name: str, data: bytes, file_name: str = "", fmt: str | None = None
    ) -> tuple[Lexicon, bool]:
        """Store the lexicon in ``data`` (JSON rules or W3C PLS) as ``name``, replacing it.

        ``fmt`` (``json`` or ``pls``) says which, else the file name or the
        first character does. Return the lexicon and whether it is new.
        """
        check_name(name)
        parsed = read_lexicon(data, name, file_name, fmt)
        return parsed, self._in_session(lambda session: put_lexicon(session, parsed))

    def get(self, name: str) -> Lexicon:
        """Return the lexicon ``name``; raise LexiconNotFoundError when there is none."""
        _known_name(name)
        return self._in_session(lambda session: get_lexicon(session, name))

    def export(self, name: str, fmt: str = "json") -> bytes:
        """Return the lexicon ``name`` written as JSON or W3C PLS."""
        return write_lexicon(self.get(name), fmt)

    @staticmethod
    def written(lexicon: Lexicon, fmt: str = "json") -> bytes:
        """Return ``lexicon`` written as JSON or W3C PLS (as :meth:`export` writes it)."""
        return write_lexicon(lexicon, fmt)

    def list(self) -> list[LexiconSummary]:
        """Return what the listing shows of every stored lexicon."""
        return self._in_session(list_lexicons)

    def delete(self, name: str) -> None:
        """Delete the lexicon ``name``; raise LexiconNotFoundError when there is none."""
        _known_name(name)
        self._in_session(lambda session: delete_lexicon(session, name))

    def current(self, name: str) -> Lexicon:
        """Return the lexicon ``name`` as it is now, from memory when its rules are unchanged."""
        _known_name(name)
        return self._kept_or_loaded(
            name, self._in_session(lambda session: lexicon_digest(session, name))
        )

    def for_site(self, host: str) -> Lexicon | None:
        """Return the lexicon whose sites cover ``host`` (the most specific), or None."""
        found = self._in_session(lambda session: site_lexicon(session, host))
        return None if found is None else self._kept_or_loaded(*found)

    def for_narration(self, name: str | None, host: str | None) -> Lexicon | None:
        """Return the lexicon a narration is read by: the one named, else its site's, else None.

        A name that no lexicon has is the request's fault: :class:`UnknownLexiconError`.
        """
        if name is not None:
            try:
                return self.current(name)
            except LexiconNotFoundError:
                raise UnknownLexiconError(f"no lexicon is called {name!r}") from None
        return self.for_site(host) if host else None

    def _kept_or_loaded(self, name: str, digest: str) -> Lexicon:
        key = (name, digest)
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None:
            return kept
        loaded = self.get(name)
        if loaded.digest == digest:  # else it changed in between: use it, keep the next one
            with self._lock:
                self._kept[key] = loaded
        return loaded


def _known_name(name: str) -> None:
    """Raise LexiconNotFoundError for a name no lexicon can have (none is stored under it)."""
    if not NAME_PATTERN.fullmatch(name):
        raise LexiconNotFoundError(f"no lexicon is called {name[:80]!r}")
