"""Player pages: the index, the player for one narration, the no-script form, and the embed."""

from __future__ import annotations

import logging
from typing import Any

from flask import (
    Blueprint,
    Response,
    redirect,
    render_template,
    request,
    url_for,
)

from service.errors import ListenError
from service.library import RATES_WPM, listening_minutes, page_blocks
from service.web.access import may_make
from service.web.api import checked_id, urls_for
from service.web.context import library, narrations, settings
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


@player.after_request
def secure_pages(response: Response) -> Response:
    """Forbid inline script and third-party requests on our pages."""
    if response.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = (
            f"{CONTENT_SECURITY_POLICY}; frame-ancestors {settings().web.frame_ancestors}"
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
        default_rate=settings().speech.rate_wpm,
        creating_needs_key=bool(settings().web.api_key_list),
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
    if settings().web.api_key_list:
        return render_index("Creating narrations here needs an API key; use the API.", form), 401
    try:
        view = library().create(library().read_form(form))
    except ListenError as error:
        return render_index(str(error), form), error.http_status
    narration_id = view.plan.narration_id
    return redirect(url_for("player.listen", narration_id=narration_id), code=303)  # type: ignore[return-value]


@player.get("/listen/<narration_id>")
def listen(narration_id: str) -> str:
    """Show the player for one narration."""
    view = narrations().view(checked_id(narration_id), may_start=may_make())
    plan = view.plan
    urls = urls_for(narration_id)
    download_url = url_for("api.audio", narration_id=narration_id, fmt="mp3", download=1)
    minutes = listening_minutes(view.duration_ms, plan.word_count, plan.voice.rate_wpm)
    blocks, head = page_blocks(plan)
    data = {
        "id": narration_id,
        "status": view.state.status,
        "title": plan.title,
        "byline": plan.byline,
        "site_name": plan.site_name,
        "duration_ms": view.duration_ms,
        "word_count": plan.word_count,
        "rate_wpm": plan.voice.rate_wpm,
        "chunks_total": view.state.chunks_total or plan.chunks_total,
        "chunks_done": view.state.chunks_done,
        "error": view.state.error if view.state.status == "failed" else None,
        "download_url": download_url,
        "artwork_url": url_for("static", filename="icon-512.png"),
        "events_url": url_for("listening.events"),
        "voice": plan.voice.voice_id,
        "revoice_url": url_for("api.revoice", narration_id=narration_id),
        "preview_rates_wpm": sorted({wpm for wpm, _ in RATES_WPM} | {settings().speech.rate_wpm}),
        **urls,
    }
    return render_template(
        "listen.html",
        plan=plan,
        state=view.state,
        data=data,
        minutes=minutes,
        blocks=blocks,
        head=head,
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
