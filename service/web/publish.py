"""Collections as podcast feeds: keep their channels, file narrations, serve feeds and chapters."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for
from werkzeug.http import is_resource_modified

from service.errors import UnsupportedMediaError
from service.web.access import require_key_when_set
from service.web.api import checked_id
from service.web.context import library, narrations, settings
from service.web.fields import json_object
from service.web.problems import problem

publish = Blueprint("publish", __name__)

FEED_CACHE = "public, no-cache"
"""Feeds may be kept by any cache, and are checked (a conditional GET) before each use."""
FEED_MIMETYPE = "application/rss+xml"


def _json(body: Any, status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _collection_urls(slug: str) -> dict[str, str]:
    return {
        "url": url_for("publish.collection", slug=slug),
        "feed_url": feed_address(slug),
    }


def feed_address(slug: str) -> str:
    """Return a feed's absolute address, as podcast clients are given it."""
    return public_base() + url_for("publish.feed", slug=slug)


def public_base() -> str:
    """Return the base of absolute URLs: ``LISTEN_PUBLIC_URL``, else this request's own host.

    A feed needs absolute URLs (a podcast client fetches enclosures from
    them). Without the setting they name the host the client asked, and the
    feed's ETag changes with it, so no cache gives one host's feed for another.
    """
    return settings().web.public_base or (request.host_url.rstrip("/") + request.script_root)


@publish.put("/api/collections/<slug>")
def put_collection(slug: str) -> Response:
    """Create a collection, or replace its channel (title, description, author, ...)."""
    require_key_when_set("change collections")
    if request.mimetype != "application/json":
        raise UnsupportedMediaError(
            f"content type {request.mimetype or 'none'!r} is not read; send the channel as "
            "a JSON object (Content-Type: application/json)"
        )
    body = json_object(request)
    summary, created = library().collections.put(slug, body)
    response = _json({**summary.as_json(), **_collection_urls(slug)}, 201 if created else 200)
    if created:
        response.headers["Location"] = url_for("publish.collection", slug=slug)
    return response


@publish.get("/api/collections")
def collections() -> Response:
    """List every collection with its counts of narrations."""
    return _json(
        {
            "collections": [
                {**summary.as_json(), **_collection_urls(summary.channel.slug)}
                for summary in library().collections.summaries()
            ]
        }
    )


@publish.get("/api/collections/<slug>")
def collection(slug: str) -> Response:
    """Show a collection's channel and its narrations, newest first."""
    summary, items = library().collections.get(slug)
    return _json(
        {
            **summary.as_json(),
            **_collection_urls(slug),
            "narrations": [item.as_json() for item in items],
        }
    )


@publish.delete("/api/collections/<slug>")
def delete_collection(slug: str) -> Response:
    """Delete a collection and its feed (the narrations stay)."""
    require_key_when_set("change collections")
    library().collections.delete(slug)
    return Response(status=204)


@publish.put("/api/collections/<slug>/items/<narration_id>")
def file_narration(slug: str, narration_id: str) -> Response:
    """File an existing narration in a collection."""
    require_key_when_set("change collections")
    checked_id(narration_id)
    plan = narrations().plan(narration_id)  # 404 for an id nobody asked for
    new = library().collections.file([slug], plan)
    return Response(status=201 if new else 204)


@publish.delete("/api/collections/<slug>/items/<narration_id>")
def unfile_narration(slug: str, narration_id: str) -> Response:
    """Take a narration out of a collection (the narration itself stays)."""
    require_key_when_set("change collections")
    library().collections.remove(slug, narration_id)
    return Response(status=204)


@publish.get("/feeds/<slug>.xml")
def feed(slug: str) -> Response:
    """Serve a collection's podcast feed; 304 to a conditional GET when it has not changed."""
    base = public_base()
    stamp = library().collections.stamp(slug, base)
    headers = {"ETag": stamp.etag, "Cache-Control": FEED_CACHE}
    if not is_resource_modified(
        request.environ, etag=stamp.etag, last_modified=stamp.last_modified
    ):
        response = Response(status=304, headers=headers)
    else:
        built = library().collections.feed(slug, base, stamp)
        response = Response(built.body, mimetype=FEED_MIMETYPE, headers=headers)
        response.headers["ETag"] = built.stamp.etag
        stamp = built.stamp
    response.last_modified = stamp.last_modified
    if not settings().web.public_base:
        response.vary.add("Host")  # its addresses name the host asked
    return response


@publish.get("/api/narrations/<narration_id>/chapters.json")
def chapters(narration_id: str) -> Response:
    """Serve a finished narration's chapters (Podcasting 2.0 JSON chapters)."""
    checked_id(narration_id)
    body = library().collections.chapters(narration_id)
    if body is None:
        narrations().plan(narration_id)  # 404 for an id nobody asked for
        return problem(
            409,
            "Not finished",
            "the narration is still being made; its chapters are timed once it is done",
            slug="not-finished",
            retry_after_s=2,
        )
    response = Response(body, mimetype="application/json+chapters")
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response
