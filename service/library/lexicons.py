"""Keep pronunciation lexicons in the library database: import, export, list, show, delete.

Each call opens one session (one transaction) on the library's database; the
checked :class:`~service.text.lexicon.model.Lexicon` is what goes in and out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy.orm import Session

from service.db import Database
from service.db.lexicons import (
    LexiconSummary,
    delete_lexicon,
    get_lexicon,
    list_lexicons,
    put_lexicon,
)
from service.text.lexicon.files import lexicon_format, read_lexicon, write_lexicon
from service.text.lexicon.model import Lexicon, check_name

__all__ = ["Lexicon", "LexiconSummary", "Lexicons", "check_name", "lexicon_format"]

T = TypeVar("T")


class Lexicons:
    """The lexicons of one library database (opened on first use)."""

    def __init__(self, database: Callable[[], Database]) -> None:
        self._database = database

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with self._database().session() as session:
            yield session

    def _in_session(self, work: Callable[[Session], T]) -> T:
        with self._session() as session:
            return work(session)

    def put(self, name: str, data: bytes, file_name: str = "") -> tuple[Lexicon, bool]:
        """Store the lexicon in ``data`` (JSON rules or W3C PLS) as ``name``, replacing it.

        Return the lexicon and whether it is new.
        """
        check_name(name)
        parsed = read_lexicon(data, name, file_name)
        return parsed, self._in_session(lambda session: put_lexicon(session, parsed))

    def get(self, name: str) -> Lexicon:
        """Return the lexicon ``name``; raise LexiconNotFoundError when there is none."""
        return self._in_session(lambda session: get_lexicon(session, name))

    def export(self, name: str, fmt: str = "json") -> bytes:
        """Return the lexicon ``name`` written as JSON or W3C PLS."""
        return write_lexicon(self.get(name), fmt)

    def list(self) -> list[LexiconSummary]:
        """Return what the listing shows of every stored lexicon."""
        return self._in_session(list_lexicons)

    def delete(self, name: str) -> None:
        """Delete the lexicon ``name``; raise LexiconNotFoundError when there is none."""
        self._in_session(lambda session: delete_lexicon(session, name))
