"""Player pages: the index, the player for one narration, the no-script form, and the embed."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    Response,
    redirect,
    render_template,
    request,
    url_for,
)

from service.errors import InputError, ListenError
from service.pipeline.plan import NarrationPlan
from service.text.blocks import SpokenBlock
from service.text.load import load_article, load_article_from_text
from service.web.access import may_make
from service.web.api import checked_id, urls_for
from service.web.context import narrations, settings
from service.web.csrf import same_site_only
from service.web.embed import served_embed

log = logging.getLogger(__name__)

player = Blueprint("player", __name__)

EMBED_MAX_AGE_S = 300

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "media-src 'self'",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    )
)
"""Only our own files run: no inline script, no inline style, no third party.

``frame-ancestors`` is added from ``LISTEN_FRAME_ANCESTORS``: who may frame our pages.
"""
SPEEDS = (0.75, 1.0, 1.25, 1.5, 2.0)
"""Playback speeds the player offers."""
RATES_WPM = ((140, "Slower"), (175, "Normal"), (210, "Faster"), (250, "Fastest"))
"""Speaking rates the index form offers (words per minute)."""
PAGE_KINDS = ("auto", "text", "markdown", "html")
"""What the pasted content is, as the form asks it."""


@dataclass(frozen=True)
class Piece:
    """A run of a block's text: a sentence (with its index) or the space between two."""

    text: str
    """Displayed text."""
    sentence_index: int | None
    """Index of the sentence within its block, or None for text between sentences."""


@dataclass(frozen=True)
class ShownBlock:
    """A block of the article as the player shows it."""

    index: int
    """Index of the spoken block (matches the timings manifest)."""
    kind: str
    """heading, paragraph, quote or list_item."""
    pieces: tuple[Piece, ...]
    """The block's text cut into sentences."""
    language: str | None = None
    """The block's language when it is not the article's (its ``lang`` attribute)."""


def block_pieces(text: str, block: SpokenBlock) -> tuple[Piece, ...]:
    """Cut a block's displayed text into its sentences and the gaps between them."""
    if text[block.start_char : block.end_char] != block.text:
        return (Piece(block.text, None),)
    pieces: list[Piece] = []
    position = block.start_char
    for index, sentence in enumerate(block.sentences):
        start = max(sentence.start_char, position)
        end = min(max(sentence.end_char, start), block.end_char)
        if start > position:
            pieces.append(Piece(text[position:start], None))
        pieces.append(Piece(text[start:end], index))
        position = end
    if position < block.end_char:
        pieces.append(Piece(text[position : block.end_char], None))
    return tuple(piece for piece in pieces if piece.text)


def shown_blocks(plan: NarrationPlan) -> list[ShownBlock]:
    """Return the body blocks (not title or byline) with their sentences marked."""
    return [
        ShownBlock(block.index, block.kind, block_pieces(plan.text, block), block.language)
        for block in plan.blocks
        if block.kind not in ("title", "byline")
    ]


def head_block_index(plan: NarrationPlan, kind: str) -> int | None:
    """Return the index of the spoken title or byline block, if it is read."""
    return next((block.index for block in plan.blocks if block.kind == kind), None)


def grouped_blocks(blocks: list[ShownBlock]) -> list[list[ShownBlock]]:
    """Group consecutive list items, so the template can wrap each run in one ``<ul>``."""
    groups: list[list[ShownBlock]] = []
    for block in blocks:
        if groups and block.kind == "list_item" and groups[-1][-1].kind == "list_item":
            groups[-1].append(block)
        else:
            groups.append([block])
    return groups


def listening_minutes(duration_ms: int | None, word_count: int, rate_wpm: int) -> int:
    """Return the listening time in whole minutes (at least 1), from the audio or the words."""
    if duration_ms:
        return max(1, round(duration_ms / 60_000))
    return max(1, round(word_count / max(rate_wpm, 1)))


@player.after_request
def secure_pages(response: Response) -> Response:
    """Forbid inline script and third-party requests on our pages."""
    if response.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = (
            f"{CONTENT_SECURITY_POLICY}; frame-ancestors {settings().frame_ancestors}"
        )
        response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@player.errorhandler(ListenError)
def page_error(error: ListenError) -> tuple[str, int]:
    """Answer errors on pages with a page, not JSON."""
    return render_template("error.html", title=error.title, detail=str(error)), error.http_status


def seed_entries() -> list[dict[str, Any]]:
    """Describe the prepared sample articles for the index page."""
    entries = []
    for name, narration_id in sorted(narrations().seeds.items()):
        try:
            view = narrations().view(narration_id, may_start=may_make())
        except ListenError as error:
            log.warning("seed %s is not listed: %s", name, error)
            continue
        plan = view.plan
        entries.append(
            {
                "name": name,
                "title": plan.title,
                "byline": plan.byline,
                "status": view.state.status,
                "minutes": listening_minutes(
                    view.duration_ms, plan.word_count, plan.voice.rate_wpm
                ),
                "url": url_for("player.listen", narration_id=narration_id),
            }
        )
    return entries


def render_index(error: str | None = None, form: dict[str, str] | None = None) -> str:
    """Render the index page, with an error and the fields as sent when a form failed."""
    return render_template(
        "index.html",
        seeds=seed_entries(),
        rates=RATES_WPM,
        default_rate=settings().rate_wpm,
        creating_needs_key=bool(settings().api_key_list),
        error=error,
        form=form or {},
    )


@player.get("/")
def index() -> str:
    """Offer a form to narrate pasted text, Markdown, HTML or a URL, and the samples."""
    return render_index()


@player.post("/narrate")
@same_site_only
def narrate_form() -> Response | tuple[str, int]:
    """Create a narration from the form without JavaScript, then go to its player (303)."""
    form = {key: str(value) for key, value in request.form.items()}
    if settings().api_key_list:
        return render_index("Creating narrations here needs an API key; use the API.", form), 401
    try:
        plan_id = _create_from_form(form)
    except ListenError as error:
        return render_index(str(error), form), error.http_status
    return redirect(url_for("player.listen", narration_id=plan_id), code=303)  # type: ignore[return-value]


def _create_from_form(form: dict[str, str]) -> str:
    content = form.get("content", "").strip()
    url = form.get("url", "").strip()
    if bool(content) == bool(url):
        raise InputError("paste an article or give its address (one of the two)")
    title = form.get("title", "").strip() or None
    if url:
        if not url.lower().startswith(("http://", "https://")):
            raise InputError("the address must start with http:// or https://")
        article = load_article(url, settings())
    else:
        kind = form.get("kind", "auto")
        if kind not in PAGE_KINDS:
            raise InputError(f"unknown kind {kind!r}")
        article = load_article_from_text(
            content, settings(), kind=None if kind == "auto" else kind, title=title
        )
    rate = form.get("rate", "").strip()
    try:
        rate_wpm = int(rate) if rate else None
    except ValueError:
        raise InputError("the rate must be a whole number of words per minute") from None
    view = narrations().create(
        article, voice=form.get("voice", "").strip() or None, rate_wpm=rate_wpm, fmt="mp3"
    )
    return view.plan.narration_id


@player.get("/listen/<narration_id>")
def listen(narration_id: str) -> str:
    """Show the player for one narration."""
    view = narrations().view(checked_id(narration_id), may_start=may_make())
    plan = view.plan
    urls = urls_for(narration_id)
    download_url = url_for("api.audio", narration_id=narration_id, fmt="mp3", download=1)
    minutes = listening_minutes(view.duration_ms, plan.word_count, plan.voice.rate_wpm)
    data = {
        "id": narration_id,
        "status": view.state.status,
        "title": plan.title,
        "byline": plan.byline,
        "site_name": plan.site_name,
        "duration_ms": view.duration_ms,
        "word_count": plan.word_count,
        "rate_wpm": plan.voice.rate_wpm,
        "segments_total": view.state.segments_total or plan.segments_total,
        "segments_done": view.state.segments_done,
        "error": view.state.error if view.state.status == "failed" else None,
        "download_url": download_url,
        "artwork_url": url_for("static", filename="icon-512.png"),
        **urls,
    }
    return render_template(
        "listen.html",
        plan=plan,
        state=view.state,
        data=data,
        minutes=minutes,
        blocks=grouped_blocks(shown_blocks(plan)),
        head={kind: head_block_index(plan, kind) for kind in ("title", "byline")},
        speeds=SPEEDS,
        done=view.state.status == "done",
        audio_src=urls["audio_url"] if view.state.status == "done" else urls["stream_url"],
        download_url=download_url,
    )


@player.get("/embed.js")
def embed_script() -> Response:
    """Serve the publishers' one-line embed script (minified, revalidated after 5 minutes)."""
    script = served_embed()
    response = Response(script.body, mimetype="text/javascript")
    response.set_etag(script.etag)
    response.cache_control.public = True
    response.cache_control.max_age = EMBED_MAX_AGE_S
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    response.make_conditional(request)
    return response
