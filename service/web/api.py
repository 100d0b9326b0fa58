"""The narration API: create, poll, and fetch audio, stream, captions and timings."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from flask import Blueprint, Response, jsonify, request, stream_with_context, url_for
from slugify import slugify
from werkzeug.exceptions import RequestedRangeNotSatisfiable

from service.pipeline.objects import audio_object, manifest_object, narration_object
from service.web.access import require_key
from service.web.context import narrations, settings, store
from service.web.intake import read_request
from service.web.narrations import NarrationView, UnknownNarrationError
from service.web.problems import problem

api = Blueprint("api", __name__, url_prefix="/api")

NARRATION_ID = re.compile(r"^[0-9a-f]{32}$")
MIMETYPES = {"mp3": "audio/mpeg", "ogg": "audio/ogg", "wav": "audio/wav"}
IMMUTABLE = "public, max-age=31536000, immutable"


def checked_id(narration_id: str) -> str:
    """Refuse anything that is not one of our ids before it reaches the store."""
    if not NARRATION_ID.match(narration_id):
        raise UnknownNarrationError(f"no narration with id {narration_id[:80]!r}")
    return narration_id


def urls_for(narration_id: str, fmt: str = "mp3") -> dict[str, str]:
    """Return the URLs of a narration's resources."""
    return {
        "status_url": url_for("api.status", narration_id=narration_id),
        "audio_url": url_for("api.audio", narration_id=narration_id, fmt=fmt),
        "stream_url": url_for("api.stream", narration_id=narration_id),
        "captions_url": url_for("api.captions", narration_id=narration_id),
        "timings_url": url_for("api.timings", narration_id=narration_id),
        "player_url": url_for("player.listen", narration_id=narration_id),
    }


def narration_response(view: NarrationView, fmt: str = "mp3", created: bool = False) -> Response:
    """Answer with the narration object: 200 when done, 202 while work remains."""
    body = narrations().describe(view, urls_for(view.plan.narration_id, fmt))
    response = jsonify(body)
    response.status_code = 200 if view.state.status in ("done", "failed") else 202
    if created or response.status_code == 202:
        response.headers["Location"] = body["status_url"]
    response.headers["Cache-Control"] = "no-store"
    return response


@api.post("/narrations")
@require_key
def create() -> Response:
    """Create (or find) the narration of an article."""
    wanted = read_request(request, settings())
    view = narrations().create(
        wanted.article, voice=wanted.voice, rate_wpm=wanted.rate_wpm, fmt=wanted.fmt
    )
    return narration_response(view, wanted.fmt, created=True)


@api.get("/narrations/<narration_id>")
def status(narration_id: str) -> Response:
    """Report a narration's status and progress."""
    return narration_response(narrations().view(checked_id(narration_id)))


def _not_ready(narration_id: str) -> Response:
    view = narrations().view(narration_id)
    if view.state.status == "failed":
        return problem(
            422,
            "Narration failed",
            view.state.error or "synthesis failed",
            slug="narration-failed",
            status_detail=view.state.status,
        )
    return problem(
        409,
        "Not finished",
        f"the narration is {view.state.status}; listen to the stream meanwhile",
        slug="not-finished",
        narration_status=view.state.status,
        segments_done=view.state.segments_done,
        segments_total=view.state.segments_total,
        stream_url=url_for("api.stream", narration_id=narration_id),
        retry_after_s=2,
    )


def _send_stored(key: str, narration_id: str, fmt: str, *, download: bool) -> Response:
    """Send a finished file with Range, ETag = content hash, 304 and immutable caching."""
    etag = narrations().content_hash(narration_id, fmt)
    name = None
    if download:
        title = narrations().plan(narration_id).title
        name = f"{slugify(title, max_length=80) or 'narration'}.{fmt}"
    path = store().local_path(key)
    if path is None:
        return stored_object_response(key, MIMETYPES[fmt], etag, download_name=name)
    return _send_local(path, MIMETYPES[fmt], etag, download_name=name)


def _send_local(
    path: Path, mimetype: str, etag: str | None, *, download_name: str | None
) -> Response:
    """Answer GET/HEAD for an immutable local file: 304, one byte range (206/416), or all of it.

    The body is the open file handed to the server's ``wsgi.file_wrapper``
    when it has one (gunicorn sends it with sendfile()), so a cached file goes
    out at static-file speed; Flask's send_file costs several times a trivial
    request here, most of it in work an immutable, content-hashed file never needs.
    """
    headers = {"Cache-Control": IMMUTABLE, "Accept-Ranges": "bytes"}
    if etag:
        headers["ETag"] = f'"{etag}"'
        if request.if_none_match.contains(etag):
            return Response(status=304, headers=headers)
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed with the response
    except FileNotFoundError:
        raise UnknownNarrationError("the audio was removed from the cache; ask again") from None
    size = os.fstat(handle.fileno()).st_size
    start, stop, status = 0, size, 200
    if_range = request.if_range
    wanted = request.range
    if wanted is not None and (
        (if_range.etag is None and if_range.date is None)
        or (etag is not None and if_range.etag == etag)
    ):
        span = wanted.range_for_length(size)
        if span is None:
            handle.close()
            raise RequestedRangeNotSatisfiable(length=size)  # answered as send_file's is
        start, stop = span
        status = 206
        headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
    handle.seek(start)
    file_wrapper = request.environ.get("wsgi.file_wrapper")
    body: Any = (
        file_wrapper(handle, 65536)
        if file_wrapper is not None
        else _read_span(handle, stop - start)
    )
    response = Response(
        body, status=status, mimetype=mimetype, headers=headers, direct_passthrough=True
    )
    response.content_length = stop - start
    if download_name:
        response.headers.set("Content-Disposition", "attachment", filename=download_name)
    return response


def _read_span(handle: BinaryIO, length: int) -> Iterator[bytes]:
    """Yield ``length`` bytes of ``handle`` from where it stands, then close it."""
    try:
        while length > 0:
            block = handle.read(min(65536, length))
            if not block:
                return
            length -= len(block)
            yield block
    finally:
        handle.close()


def stored_object_response(
    key: str, mimetype: str, etag: str | None, *, download_name: str | None
) -> Response:
    """Serve an object from a non-local store (S3): redirect or stream with Range."""
    from service.web.remote import remote_object_response

    return remote_object_response(store(), key, mimetype, etag, download_name=download_name)


@api.get("/narrations/<narration_id>/audio.<fmt>")
def audio(narration_id: str, fmt: str) -> Response:
    """Serve the finished audio file (409 with the status while it is being made)."""
    checked_id(narration_id)
    if fmt not in MIMETYPES:
        raise UnknownNarrationError(f"no {fmt[:10]!r} audio; formats are mp3, ogg and wav")
    plan = narrations().plan(narration_id)
    if store().exists(audio_object(plan.narration_id, fmt)):
        return _send_stored(
            audio_object(narration_id, fmt),
            narration_id,
            fmt,
            download=request.args.get("download") == "1",
        )
    if fmt != "mp3" and store().exists(manifest_object(narration_id)):
        raise UnknownNarrationError(
            f"no {fmt} audio was made; create the narration with format={fmt}"
        )
    return _not_ready(narration_id)


@api.get("/narrations/<narration_id>/stream.mp3")
def stream(narration_id: str) -> Response:
    """Stream MP3 as it is made; the finished file once it exists (with Range)."""
    checked_id(narration_id)
    narrations().plan(narration_id)
    if store().exists(audio_object(narration_id, "mp3")):
        return _send_stored(audio_object(narration_id, "mp3"), narration_id, "mp3", download=False)
    view = narrations().view(narration_id)
    if view.state.status == "failed":
        return _not_ready(narration_id)
    chunks = narrations().chunk_stream(narration_id)
    response = Response(stream_with_context(chunks), mimetype="audio/mpeg")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"
    return response


def _stored_text(narration_id: str, name: str, mimetype: str) -> Response:
    checked_id(narration_id)
    narrations().plan(narration_id)
    data = store().get(narration_object(narration_id, name))
    if data is None:
        return _not_ready(narration_id)
    response = Response(data, mimetype=mimetype)
    response.headers["Cache-Control"] = IMMUTABLE
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@api.get("/narrations/<narration_id>/captions.vtt")
def captions(narration_id: str) -> Response:
    """Serve WebVTT captions, one cue per sentence."""
    return _stored_text(narration_id, "captions.vtt", "text/vtt")


@api.get("/narrations/<narration_id>/timings.json")
def timings(narration_id: str) -> Response:
    """Serve the timings manifest."""
    return _stored_text(narration_id, "timings.json", "application/json")
