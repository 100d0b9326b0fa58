"""The headers every answer carries, whichever way it was made."""

from __future__ import annotations

from typing import TypeVar

from werkzeug.wrappers import Response

R = TypeVar("R", bound=Response)

CORS_PREFIXES = ("/api/", "/v1/", "/feeds/")
"""Paths a publisher's page (or a podcast app in a browser) may call from the browser."""


def add_common_headers(response: R, path: str) -> R:
    """Add the headers every answer needs.

    ``nosniff`` makes browsers trust our content types: JSON, captions and
    audio never run as a page. ``Vary: Origin`` on the API: CORS headers go
    only to requests that carry an ``Origin``, so a shared cache must not hand
    an answer made for one kind of request to the other.
    """
    response.headers["X-Content-Type-Options"] = "nosniff"
    if path.startswith(CORS_PREFIXES):
        response.vary.add("Origin")
    return response
