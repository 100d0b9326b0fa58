"""Check store keys, so a hostile id can never name a path outside the store.

A key is a relative, slash-separated name such as ``clips/ab/abcdef.pcm`` or
``narrations/<id>/timings.json``. The same rule holds for every backend, so a
key that works on the local folder also works on S3 and the other way round.
"""

from __future__ import annotations

import re

from service.errors import ListenError

MAX_KEY_CHARS = 256
"""Longest key accepted, in characters (all ASCII, so also in bytes)."""

# Every part starts with a lowercase letter, digit or underscore, so no part is
# empty, ".", ".." or hidden; dots inside a part are allowed (``audio.mp3``),
# and two dots in a row never are.
_PART = r"[a-z0-9_](?:[a-z0-9_-]|\.(?!\.))*"
KEY_PATTERN = re.compile(rf"{_PART}(?:/{_PART})*")


class InvalidKeyError(ListenError):
    """A store key is not of the accepted form (the caller built a bad id)."""

    http_status = 400
    slug = "bad-store-key"
    title = "Invalid store key"


def validate_key(key: str) -> str:
    """Return ``key`` unchanged when it is a valid store key; raise otherwise."""
    if not isinstance(key, str):
        raise InvalidKeyError(f"store key must be a string, not {type(key).__name__}")
    if len(key) > MAX_KEY_CHARS:
        raise InvalidKeyError(f"store key is longer than {MAX_KEY_CHARS} characters")
    if KEY_PATTERN.fullmatch(key) is None:
        raise InvalidKeyError(
            f"invalid store key {key[:80]!r}: use lowercase letters, digits, '.', '-', '_' "
            "and '/' between parts, with no empty, hidden or '..' parts"
        )
    return key


def key_kind(key: str) -> str:
    """Return the top-level part of a valid key (``clips``, ``narrations``...)."""
    return key.split("/", 1)[0]
