"""Decide what a ``Range`` request gets from a file of known size, as RFC 9110 says.

One answer for every way a finished file leaves the service (from an open
file, through the front's internal redirect, or from object storage):

- no ``Range``, a malformed one (``bytes=abc``, ``bytes=5-3``), another unit
  (``items=0-1``), several ranges, or an ``If-Range`` naming another version:
  the whole file, 200 (section 14.2: a server may ignore the field, and must
  ignore one it cannot parse or whose unit it does not know);
- one satisfiable range: 206 with that span;
- one range that starts past the end, or a zero-length suffix: 416, with
  ``Content-Range: bytes */<size>``.

Werkzeug's parser differs from the RFC on two points that players meet
(a suffix longer than the file is refused, and ``bytes=-0`` is taken for
malformed), so the grammar is read here; it is one line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from werkzeug.exceptions import RequestedRangeNotSatisfiable
from werkzeug.http import quote_etag

ONE_RANGE = re.compile(r"bytes= *(\d*) *- *(\d*) *", re.IGNORECASE)
"""One byte range; spaces as nginx's parser takes them (the front re-reads the header)."""
PLAIN_DIGITS = 15
"""Positions up to this many digits are read alike by nginx; longer ones are answered here."""


@dataclass(frozen=True)
class Span:
    """The bytes to send: ``start`` to ``stop`` (exclusive), and whether they are a part."""

    start: int
    """First byte sent."""
    stop: int
    """One past the last byte sent."""
    partial: bool
    """True for a 206 answer; False for the whole file (200)."""
    plain: bool = True
    """The Range header (if any) is one the front reads exactly as this module did."""

    @property
    def length(self) -> int:
        """Return how many bytes are sent."""
        return self.stop - self.start


class RangeNotSatisfiableError(RequestedRangeNotSatisfiable):
    """The one range asked for lies past the end of the file (416)."""


def wanted_span(
    range_header: str | None, if_range: str | None, etag: str | None, size: int
) -> Span:
    """Return the span to send of a file of ``size`` bytes; raise for a 416.

    ``etag`` is the file's strong ETag (unquoted); an ``If-Range`` that is not
    exactly it (another ETag, or a date: the files carry no Last-Modified)
    asks for the whole file.
    """
    whole = Span(0, size, partial=False)
    if not range_header:
        return whole
    if if_range is not None and (etag is None or if_range.strip() != quote_etag(etag)):
        return whole
    found = ONE_RANGE.fullmatch(range_header.strip())
    if found is None:
        return Span(0, size, partial=False, plain=False)
    first, last = found.groups()
    plain = len(first) <= PLAIN_DIGITS and len(last) <= PLAIN_DIGITS
    if not first:  # a suffix: the last N bytes
        if not last:
            return Span(0, size, partial=False, plain=False)
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiableError(length=size)
        return Span(max(0, size - suffix), size, partial=True, plain=plain)
    start = int(first)
    if last and int(last) < start:
        return Span(0, size, partial=False, plain=False)  # malformed: ignored
    if start >= size:
        raise RangeNotSatisfiableError(length=size)
    stop = min(size, int(last) + 1) if last else size
    return Span(start, stop, partial=True, plain=plain)
