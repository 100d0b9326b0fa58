"""Player pages: the index, the player for one narration, and the embed script."""

from __future__ import annotations

from flask import Blueprint, render_template, url_for

from service.web.api import checked_id
from service.web.context import narrations

player = Blueprint("player", __name__)


@player.get("/")
def index() -> str:
    """Offer a form to narrate pasted text, Markdown, HTML or a URL."""
    return render_template("index.html")


@player.get("/listen/<narration_id>")
def listen(narration_id: str) -> str:
    """Show the player for one narration."""
    view = narrations().view(checked_id(narration_id))
    return render_template(
        "listen.html",
        plan=view.plan,
        state=view.state,
        stream_url=url_for("api.stream", narration_id=narration_id),
        download_url=url_for("api.audio", narration_id=narration_id, fmt="mp3", download=1),
    )
