"""Read a lexicon from a file's bytes (JSON or PLS), and write one as JSON or PLS."""

from __future__ import annotations

import json
from typing import Any

from service.errors import LexiconError
from service.text.lexicon.model import Lexicon, parse_lexicon
from service.text.lexicon.pls import read_pls, write_pls

FORMATS = ("json", "pls")
"""The formats a lexicon is read from and written to."""


def lexicon_format(file_name: str, data: bytes | None = None) -> str:
    """Return ``pls`` or ``json`` for a file: by its suffix, else by its first character."""
    lowered = file_name.lower()
    if lowered.endswith((".pls", ".xml")):
        return "pls"
    if lowered.endswith(".json") or data is None:
        return "json"
    return "pls" if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<") else "json"


def read_lexicon(data: bytes, name: str, file_name: str = "", fmt: str | None = None) -> Lexicon:
    """Read a lexicon called ``name`` from JSON or PLS bytes, or raise :class:`LexiconError`.

    ``fmt`` (``json`` or ``pls``) says which; without it, the file name or the
    first character does.
    """
    where = file_name or "the lexicon"
    if (fmt or lexicon_format(file_name, data)) == "pls":
        return read_pls(data, name)
    try:
        parsed = json.loads(data.decode("utf-8-sig"), parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise LexiconError(f"{where} is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise LexiconError(
            f"{where} is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        ) from None
    except RecursionError:
        raise LexiconError(f"{where} is nested too deeply") from None
    except ValueError as error:  # NaN, Infinity
        raise LexiconError(f"{where} is not valid JSON: {error}") from None
    return parse_lexicon(parsed, name)


def _refuse_constant(constant: str) -> Any:
    raise ValueError(f"{constant} is not a number JSON allows")


def write_lexicon(lexicon: Lexicon, fmt: str = "json") -> bytes:
    """Return ``lexicon`` as JSON (everything) or PLS (literal, case-sensitive rules only)."""
    if fmt == "pls":
        return write_pls(lexicon)
    if fmt != "json":
        raise LexiconError(f"unknown lexicon format {fmt!r}; use json or pls")
    return (json.dumps(lexicon.to_json(), ensure_ascii=False, indent=2) + "\n").encode()
