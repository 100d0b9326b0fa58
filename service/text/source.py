"""Read an input's bytes: a file, standard input or an http(s) URL, within the size limit.

Nothing here parses the text: :mod:`service.text.load` does, and a repeat
narration of the same bytes may not need it at all (see
:mod:`service.pipeline.memo`).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from service.config import InputSettings
from service.errors import InputError, TooLargeError

SUFFIX_KINDS = {
    ".html": "html", ".htm": "html", ".xhtml": "html", ".shtml": "html",
    ".md": "markdown", ".markdown": "markdown", ".mdown": "markdown", ".mkd": "markdown",
    ".txt": "text", ".text": "text",
}  # fmt: skip
MEDIA_KINDS = {
    "text/html": "html", "application/xhtml+xml": "html",
    "text/markdown": "markdown", "text/x-markdown": "markdown", "text/plain": "text",
}  # fmt: skip

_URL_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*)://", re.I)
# www.example.com/story or example.org/news/x: a web address typed without its scheme
_LOOKS_LIKE_AN_ADDRESS = re.compile(
    r"^(?:www\.)?(?:[a-z0-9-]+\.)+[a-z]{2,}(?::\d+)?/[^\s]*$|^www\.[^\s/]+\.[a-z]{2,}/?$", re.I
)


@dataclass(frozen=True)
class Source:
    """An input's bytes and what came with them."""

    data: bytes
    """The bytes, at most ``max_input_bytes``."""
    hint: str | None = None
    """The kind the file suffix or media type suggests (html, markdown, text)."""
    charset: str | None = None
    """The character set the server declared, for a URL."""
    url: str | None = None
    """The final URL, after redirects, for a URL."""


def read_source(source: str, settings: InputSettings) -> Source:
    """Read ``source``: a file path, ``-`` for stdin, or an http(s) URL."""
    scheme = _URL_SCHEME.match(source)
    if scheme is not None and scheme.group(1).lower() not in {"http", "https"}:
        raise InputError(
            f"{source}: only http and https addresses are fetched, not {scheme.group(1).lower()}"
        )
    if scheme is not None:
        from service.text.fetch import fetch_url

        fetched = fetch_url(source, settings)
        return Source(
            fetched.body, MEDIA_KINDS.get(fetched.media_type), fetched.charset, fetched.url
        )
    if source == "-":
        return Source(read_capped(sys.stdin.buffer, "standard input", settings.max_input_bytes))
    path = Path(source)
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise InputError(f"{source} is a folder, not a file")
        if not path.is_file():
            raise InputError(f"{source} is not a regular file")
        if size > settings.max_input_bytes:
            raise TooLargeError(too_large(source, size, settings.max_input_bytes))
        with path.open("rb") as stream:
            data = read_capped(stream, source, settings.max_input_bytes)
    except FileNotFoundError:
        if _LOOKS_LIKE_AN_ADDRESS.match(source):
            raise InputError(
                f"{source}: no such file; to fetch a web page, give its address "
                f"with https:// in front"
            ) from None
        raise InputError(f"{source}: no such file") from None
    except PermissionError:
        raise InputError(f"{source}: permission denied") from None
    except IsADirectoryError:
        raise InputError(f"{source} is a folder, not a file") from None
    except OSError as error:
        raise InputError(f"{source} cannot be read: {error.strerror or error}") from None
    return Source(data, SUFFIX_KINDS.get(path.suffix.lower()))


def read_capped(stream: BinaryIO, name: str, cap_bytes: int) -> bytes:
    """Read at most one byte past the cap, so a huge input is never held whole."""
    data = stream.read(cap_bytes + 1)
    if len(data) > cap_bytes:
        raise TooLargeError(f"{name} is larger than the limit of {cap_bytes:,} bytes")
    return data


def too_large(name: str, size: int, cap_bytes: int) -> str:
    """Return the message for an input over the size limit."""
    return f"{name} is {size:,} bytes; the limit is {cap_bytes:,} (LISTEN_MAX_INPUT_BYTES)"
