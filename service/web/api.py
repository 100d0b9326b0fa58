"""The narration API: create, poll, and fetch audio, stream, captions and timings."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from flask import Blueprint, Response, jsonify, request, stream_with_context, url_for
from slugify import slugify
from werkzeug.wrappers import Response as BaseResponse

from service.errors import InputError
from service.library import NarrationView, UnknownNarrationError, extraction
from service.media import AUDIO_MIMETYPES, is_narration_id
from service.web.access import may_make, require_key
from service.web.context import library, live_place, narrations, state
from service.web.fastpath import send_local_audio
from service.web.files import IMMUTABLE
from service.web.intake import request_fields
from service.web.problems import problem

api = Blueprint("api", __name__, url_prefix="/api")


def checked_id(narration_id: str) -> str:
    """Refuse anything that is not one of our ids before it reaches the store."""
    if not is_narration_id(narration_id):
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
    wanted = library().read_request(request_fields(request), request.headers.get("Origin"))
    view = library().create(wanted)
    return narration_response(view, wanted.fmt, created=True)


@api.post("/narrations/<narration_id>/voice")
@require_key
def revoice(narration_id: str) -> Response:
    """Create (or find) the same article's narration in another voice (``{"voice": id}``)."""
    checked_id(narration_id)
    fields = request_fields(request)
    voice = fields.get("voice")
    if not isinstance(voice, str) or not voice.strip():
        raise InputError("give the voice to read the narration with, as voice")
    view = library().revoice(narration_id, voice.strip(), may_start=may_make())
    return narration_response(view, created=True)


@api.post("/extract")
@require_key
def extract() -> Response:
    """Show what a narration of the article would read, in order, without making it.

    The embed uses it to find the article's paragraphs in a publisher's page:
    this is the same reading of the same input as ``POST /api/narrations``.
    """
    article = library().read_request(request_fields(request)).article
    response = jsonify(extraction(article))
    response.headers["Cache-Control"] = "no-store"
    return response


@api.get("/narrations/<narration_id>")
def status(narration_id: str) -> Response:
    """Report a narration's status and progress."""
    checked_id(narration_id)
    root = request.script_root
    body = narrations().finished_status(narration_id, root)
    if body is None:
        view = narrations().view(narration_id, may_start=may_make())
        response = narration_response(view)
        if view.state.status == "done":
            narrations().keep_finished_status(narration_id, root, response.get_data())
        return response
    return Response(body, mimetype="application/json", headers={"Cache-Control": "no-store"})


def _not_ready(narration_id: str) -> Response:
    narrations().forget_finished(narration_id)  # a file may have just left the cache
    view = narrations().view(narration_id, may_start=may_make())
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
        chunks_done=view.state.chunks_done,
        chunks_total=view.state.chunks_total,
        stream_url=url_for("api.stream", narration_id=narration_id),
        retry_after_s=2,
    )


def _send_finished(narration_id: str, fmt: str, *, download: bool) -> BaseResponse | None:
    """Send a finished file with Range, ETag = content hash, 304 and immutable caching.

    Return ``None`` when the file is not (or no longer) in the store.
    """
    name = None
    if download:
        title = narrations().plan(narration_id).title
        name = f"{slugify(title, max_length=80) or 'narration'}.{fmt}"
    sent = send_local_audio(request, state(), narration_id, fmt, download_name=name)
    if sent is None and library().has_audio(narration_id, fmt):  # a store with no files (S3)
        from service.web.remote import remote_object_response

        etag = narrations().content_hash(narration_id, fmt)
        stored = library().stored_audio(narration_id, fmt)
        return remote_object_response(stored, AUDIO_MIMETYPES[fmt], etag, download_name=name)
    return sent


@api.get("/narrations/<narration_id>/audio.<fmt>")
def audio(narration_id: str, fmt: str) -> BaseResponse:
    """Serve the finished audio file (409 with the status while it is being made)."""
    checked_id(narration_id)
    if fmt not in AUDIO_MIMETYPES:
        raise UnknownNarrationError(f"no {fmt[:10]!r} audio; formats are mp3, ogg and wav")
    finished = _send_finished(narration_id, fmt, download=request.args.get("download") == "1")
    if finished is not None:
        return finished
    narrations().plan(narration_id)  # 404 for an id nobody asked for
    if fmt != "mp3" and library().is_finished(narration_id):
        raise UnknownNarrationError(
            f"no {fmt} audio was made; create the narration with format={fmt}"
        )
    return _not_ready(narration_id)


@api.get("/narrations/<narration_id>/stream.mp3")
def stream(narration_id: str) -> BaseResponse:
    """Stream MP3 as it is made; the finished file once it exists (with Range)."""
    checked_id(narration_id)
    finished = _send_finished(narration_id, "mp3", download=False)
    if finished is not None:
        return finished
    narrations().plan(narration_id)  # 404 for an id nobody asked for
    view = narrations().view(narration_id, may_start=may_make())
    if view.state.status == "failed":
        return _not_ready(narration_id)
    chunks = narrations().chunk_stream(narration_id, may_start=may_make())
    return live_response(chunks, "audio/mpeg")


def live_response(chunks: Iterator[bytes], mimetype: str) -> Response:
    """Stream ``chunks`` as they are made, in one of the process's few places for live answers.

    The front takes the bytes as they come and hands them to the client at its
    own pace, so the thread is held while the narration is made, not longer.
    """
    leave = live_place()
    try:
        response = Response(stream_with_context(_holding(chunks, leave)), mimetype=mimetype)
    except BaseException:
        leave()
        raise
    response.call_on_close(leave)  # also when the body was never started
    response.headers["Cache-Control"] = "no-store"
    return response


def _holding(chunks: Iterator[bytes], leave: Callable[[], None]) -> Iterator[bytes]:
    """Yield ``chunks``, giving the live place back as soon as they end."""
    try:
        yield from chunks
    finally:
        leave()


def _stored_text(narration_id: str, name: str, mimetype: str) -> Response:
    checked_id(narration_id)
    data = library().stored_text(narration_id, name)
    if data is None:
        narrations().plan(narration_id)  # 404 for an id nobody asked for
        return _not_ready(narration_id)
    response = Response(data, mimetype=mimetype)
    response.headers["Cache-Control"] = IMMUTABLE
    return response


@api.get("/narrations/<narration_id>/captions.vtt")
def captions(narration_id: str) -> Response:
    """Serve WebVTT captions, one cue per sentence."""
    return _stored_text(narration_id, "captions.vtt", "text/vtt")


@api.get("/narrations/<narration_id>/timings.json")
def timings(narration_id: str) -> Response:
    """Serve the timings manifest."""
    return _stored_text(narration_id, "timings.json", "application/json")
