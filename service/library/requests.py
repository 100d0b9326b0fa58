"""Read what a client asked for, from the fields of any request: one home for field parsing.

The web layer turns a request into a mapping of fields (a JSON object, a form,
or a raw body with its query); everything from there on is read here, for the
API (``POST /api/narrations`` and ``/api/extract``), the index form and the
OpenAI endpoint alike, with the same limits and the same messages.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

from service.config import Settings
from service.errors import InputError
from service.media import AUDIO_FORMATS
from service.text.article import Article
from service.text.lexicon.model import check_name
from service.text.load import load_article, load_article_from_text

log = logging.getLogger(__name__)

MAX_OPTION_CHARS = 200
"""Longest option (voice, format, lexicon) read; longer ones are refused, not echoed back."""
MAX_PAGE_URL_CHARS = 2048
"""Longest ``page_url`` read."""
_DEFAULT_PORTS = {"http": 80, "https": 443}
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
    lexicon: str | None = None
    """The pronunciation lexicon asked for by name, if any."""
    site: str | None = None
    """The host the article comes from (its URL's, or the page an embed runs on): the lexicon
    whose sites cover it reads the narration unless one is named."""


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


def narration_request(
    fields: Mapping[str, Any], settings: Settings, origin: str | None = None
) -> NarrationRequest:
    """Read an API request's fields and load the article they name.

    ``origin`` is the ``Origin`` a browser sent with the request, which a
    ``page_url`` must agree with to choose its site's lexicon.
    """
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
    voice = option_str(fields.get("voice"), "voice")
    rate_wpm = option_int(fields.get("rate"), "rate")
    lexicon = lexicon_name(fields.get("lexicon"))
    page = option_str(fields.get("page_url"), "page_url", max_chars=MAX_PAGE_URL_CHARS)
    if kind == "url":
        assert isinstance(value, str)
        if page is not None:
            raise InputError("page_url goes with text, markdown or html; a url is its own page")
        if not value.lower().startswith(("http://", "https://")):
            raise InputError("url must be an http or https address")
        article = load_article(value, settings.input)
        if title and title.strip():
            article = dataclasses.replace(article, title=title.strip())
        site = _host(article.source_url or value)
    else:
        site = page_site(page, origin) if page is not None else None
        article = load_article_from_text(value, settings.input, kind=kind, title=title)
    return NarrationRequest(article, voice, rate_wpm, fmt, lexicon, site)


def lexicon_name(value: Any) -> str | None:
    """Return the lexicon a request names (checked), or None."""
    name = option_str(value, "lexicon")
    return None if name is None else check_name(name)


def _host(url: str) -> str | None:
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def _origin(parts: SplitResult) -> str:
    scheme = parts.scheme.lower()
    port = parts.port
    shown_port = f":{port}" if port is not None and port != _DEFAULT_PORTS.get(scheme) else ""
    return f"{scheme}://{parts.hostname}{shown_port}"


def page_site(page_url: str, origin: str | None) -> str | None:
    """Return the host of the page an embed runs on, if the browser's ``Origin`` agrees.

    A page elsewhere (an ``Origin`` that is not the page's own) cannot claim a
    site's lexicon; a client that is not a browser sends no ``Origin`` and could
    send any, so its word is taken.
    """
    try:
        parts = urlsplit(page_url)
        page_origin = _origin(parts)
    except ValueError:
        raise InputError("page_url must be the http or https address of a page") from None
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        raise InputError("page_url must be the http or https address of a page")
    if origin is not None:
        try:
            claimed = _origin(urlsplit(origin.strip()))
        except ValueError:
            claimed = ""
        if claimed != page_origin:
            log.info(
                "page_url %s is not on the sender's origin %s: no site lexicon", page_url, origin
            )
            return None
    return parts.hostname


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
        article=article,
        voice=form.get("voice", "").strip() or None,
        rate_wpm=rate_wpm,
        fmt="mp3",
        site=_host(article.source_url or url) if url else None,
    )
