"""Read a create-narration request (JSON, form or raw body) into an article and options."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from flask import Request

from service.config import Settings
from service.errors import InputError, UnsupportedMediaError
from service.text.article import Article
from service.text.load import load_article, load_article_from_text
from service.web.fields import json_object, option_int, option_str

RAW_KINDS = {
    "text/plain": "text",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "text/html": "html",
    "application/xhtml+xml": "html",
}
FORMATS = ("mp3", "ogg", "wav")


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


def read_request(request: Request, settings: Settings) -> NarrationRequest:
    """Parse the request body and load the article it names."""
    mimetype = request.mimetype
    fields: dict[str, Any]
    if mimetype == "application/json":
        fields = json_object(request)
    elif mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        fields = request.form.to_dict()
    elif mimetype in RAW_KINDS:
        fields = {RAW_KINDS[mimetype]: request.get_data(cache=False), **request.args.to_dict()}
    else:
        raise UnsupportedMediaError(
            f"content type {mimetype or 'none'!r} is not read; send JSON, a form, or text/plain, "
            "text/markdown or text/html"
        )
    fmt = (option_str(fields.get("format"), "format") or settings.audio_format).lower()
    if fmt not in FORMATS:
        raise InputError(f"format {fmt!r} is not offered; choose one of {', '.join(FORMATS)}")
    title = option_str(fields.get("title"), "title", max_chars=None)
    sources = [k for k in ("text", "markdown", "html", "url") if fields.get(k) not in (None, "")]
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
        article = load_article(value, settings)
        if title and title.strip():
            article = replace(article, title=title.strip())
    else:
        article = load_article_from_text(value, settings, kind=kind, title=title)
    return NarrationRequest(
        article=article,
        voice=option_str(fields.get("voice"), "voice"),
        rate_wpm=option_int(fields.get("rate"), "rate"),
        fmt=fmt,
    )
