"""Read what a client asked for, from the fields of any request: one home for field parsing.

The web layer turns a request into a mapping of fields (a JSON object, a form,
or a raw body with its query); everything from there on is read here, for the
API (``POST /api/narrations`` and ``/api/extract``), the index form and the
OpenAI endpoint alike, with the same limits and the same messages.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from service.config import Settings
from service.errors import InputError
from service.media import AUDIO_FORMATS
from service.text.article import Article
from service.text.load import load_article, load_article_from_text

MAX_OPTION_CHARS = 200
"""Longest option (voice, format) read; longer ones are refused, not echoed back."""
SOURCES = ("text", "markdown", "html", "url")
"""The fields that carry an article; a request names exactly one."""
FORM_KINDS = ("auto", "text", "markdown", "html")
"""What pasted content is, as the index form asks it."""


@dataclass(frozen=True)
class NarrationRequest:
    """What a client asked for."""

    article: Article
    """The article to read."""
    voice: str | None
    """Requested voice id, if any."""
    rate_wpm: int | None
    """Requested rate, if any."""
    fmt: str
    """Requested audio format."""


def option_str(value: Any, name: str, *, max_chars: int | None = MAX_OPTION_CHARS) -> str | None:
    """Return a string option, None when it is absent or empty."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise InputError(f"{name} must be a string")
    if max_chars is not None and len(value) > max_chars:
        raise InputError(f"{name} is longer than {max_chars} characters")
    return value


def option_int(value: Any, name: str) -> int | None:
    """Return a whole-number option (a JSON number or a string of digits), None when absent."""
    if value in (None, ""):
        return None
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise InputError(f"{name} must be a whole number")
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"{name} must be a whole number") from None


def narration_request(fields: Mapping[str, Any], settings: Settings) -> NarrationRequest:
    """Read an API request's fields and load the article they name."""
    fmt = (option_str(fields.get("format"), "format") or settings.audio.audio_format).lower()
    if fmt not in AUDIO_FORMATS:
        raise InputError(f"format {fmt!r} is not offered; choose one of {', '.join(AUDIO_FORMATS)}")
    title = option_str(fields.get("title"), "title", max_chars=None)
    sources = [k for k in SOURCES if fields.get(k) not in (None, "")]
    if len(sources) != 1:
        raise InputError("give exactly one of text, markdown, html or url")
    kind = sources[0]
    value = fields[kind]
    if not isinstance(value, str | bytes):
        raise InputError(f"{kind} must be a string")
    if kind == "url":
        assert isinstance(value, str)
        if not value.lower().startswith(("http://", "https://")):
            raise InputError("url must be an http or https address")
        article = load_article(value, settings.input)
        if title and title.strip():
            article = dataclasses.replace(article, title=title.strip())
    else:
        article = load_article_from_text(value, settings.input, kind=kind, title=title)
    return NarrationRequest(
        article=article,
        voice=option_str(fields.get("voice"), "voice"),
        rate_wpm=option_int(fields.get("rate"), "rate"),
        fmt=fmt,
    )


def form_request(form: Mapping[str, str], settings: Settings) -> NarrationRequest:
    """Read the index page's form: pasted ``content`` (of a ``kind``) or a ``url``."""
    content = form.get("content", "").strip()
    url = form.get("url", "").strip()
    if bool(content) == bool(url):
        raise InputError("paste an article or give its address (one of the two)")
    title = form.get("title", "").strip() or None
    if url:
        if not url.lower().startswith(("http://", "https://")):
            raise InputError("the address must start with http:// or https://")
        article = load_article(url, settings.input)
    else:
        kind = form.get("kind", "auto")
        if kind not in FORM_KINDS:
            raise InputError(f"unknown kind {kind!r}")
        article = load_article_from_text(
            content, settings.input, kind=None if kind == "auto" else kind, title=title
        )
    rate = form.get("rate", "").strip()
    try:
        rate_wpm = int(rate) if rate else None
    except ValueError:
        raise InputError("the rate must be a whole number of words per minute") from None
    return NarrationRequest(
        article=article, voice=form.get("voice", "").strip() or None, rate_wpm=rate_wpm, fmt="mp3"
    )
