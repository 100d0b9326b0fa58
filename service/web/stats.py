"""Listening statistics: events from players, their counts as JSON, and the dashboard page.

``POST /api/events`` takes what a player's ``navigator.sendBeacon`` sends:
nothing in the request but its body is read (no cookie is set or read; the
address only reaches the rate limiter), and nothing about the listener is
stored. Reading the counts needs an API key when keys are set; the
dashboard takes one as a browser's Basic authentication password.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request, url_for
from markupsafe import Markup

from service.errors import ListenError, ListeningEventError, TooLargeError
from service.library.listening import MAX_BODY_BYTES, Dashboard, dashboard_span, parse_day
from service.web.access import require_key_when_set
from service.web.api import checked_id
from service.web.context import library, settings
from service.web.player import secure_pages

listening = Blueprint("listening", __name__, url_prefix="/api")
dashboard = Blueprint("dashboard", __name__)

DASHBOARD_REALM = 'Basic realm="Listen statistics", charset="UTF-8"'


@listening.post("/events")
def events() -> Response:
    """Count a player's listening events (one JSON object, or a list): 204, or 4xx."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise TooLargeError(f"the events are over {MAX_BODY_BYTES} bytes; send fewer at once")
    body = request.stream.read(MAX_BODY_BYTES + 1)  # a body without a length stops here
    if len(body) > MAX_BODY_BYTES:
        raise TooLargeError(f"the events are over {MAX_BODY_BYTES} bytes; send fewer at once")
    if not body:
        raise ListeningEventError("the body is empty: send one event object or a list")
    library().listening.record(body)
    response = Response(status=204)
    response.headers["Cache-Control"] = "no-store"
    return response


def _json(body: Any) -> Response:
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


def _span_args() -> tuple[dt.date | None, dt.date | None]:
    since = parse_day(request.args.get("since"), "since")
    until = parse_day(request.args.get("until"), "until")
    if since is not None and until is not None and since > until:
        raise ListenError(f"'since' ({since}) is after 'until' ({until})")
    return since, until


@listening.get("/narrations/<narration_id>/stats")
def narration_stats(narration_id: str) -> Response:
    """Answer a narration's plays, completions, quartiles, paragraph reach and days."""
    require_key_when_set("read statistics")
    checked_id(narration_id)
    since, until = _span_args()
    return _json(library().listening.narration(narration_id, since, until).as_json())


@listening.get("/stats")
def collection_stats() -> Response:
    """Answer the statistics of a collection's narrations (``?collection=slug``)."""
    require_key_when_set("read statistics")
    slug = request.args.get("collection")
    if not slug:
        raise ListenError("name the collection: /api/stats?collection=slug")
    since, until = _span_args()
    return _json(library().listening.collection(slug, since, until).as_json())


# --- the dashboard ----------------------------------------------------------------------


class DashboardKeyError(ListenError):
    """The dashboard needs an API key (as the password) and none, or a wrong one, was given."""

    http_status = 401
    slug = "missing-key"
    title = "API key required"


dashboard.after_request(secure_pages)


@dashboard.errorhandler(ListenError)
def dashboard_error(error: ListenError) -> Response:
    """Answer errors on the dashboard with a page; ask a browser for the key when it is needed."""
    response = Response(
        render_template("error.html", title=error.title, detail=str(error)),
        status=error.http_status,
        mimetype="text/html",
    )
    if isinstance(error, DashboardKeyError):
        response.headers["WWW-Authenticate"] = DASHBOARD_REALM
    return response


def _require_dashboard_key() -> None:
    from service.web.access import has_key

    if settings().web.api_key_list and not has_key(basic=True):
        raise DashboardKeyError(
            "the statistics need an API key: give it as the password (any user name)"
        )


@dashboard.get("/dashboard")
def show() -> Response:
    """Show plays per day, the completion funnel and per-paragraph drop-off."""
    _require_dashboard_key()
    since, until = dashboard_span(request.args.get("since"), request.args.get("until"))
    narration_id = request.args.get("narration", "").strip()
    slug = request.args.get("collection", "").strip()
    board: Dashboard | None = None
    if narration_id:
        board = library().listening.narration_dashboard(checked_id(narration_id), since, until)
    elif slug:
        board = library().listening.collection_dashboard(slug, since, until)
    collections = library().collections.summaries()
    page = render_template(
        "dashboard.html",
        board=board,
        plots=_plots(board),
        narration_id=narration_id,
        slug=slug,
        since=since,
        until=until,
        collections=collections,
        stats_url=(
            url_for("listening.narration_stats", narration_id=narration_id)
            if narration_id
            else url_for("listening.collection_stats", collection=slug)
            if slug
            else None
        ),
    )
    response = Response(page, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def _plots(board: Dashboard | None) -> dict[str, Markup]:
    """Return the board's SVG plots, marked safe: the library writes them with lxml (escaped)."""
    if board is None:
        return {}
    plots = {"plays": Markup(board.plays_svg), "funnel": Markup(board.funnel_svg)}
    if board.dropoff_svg is not None:
        plots["dropoff"] = Markup(board.dropoff_svg)
    return plots
