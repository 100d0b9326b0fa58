"""Serve finished objects of a non-local store (S3) exactly like ``send_file`` serves files.

Objects are content-addressed and written once, so the answer can be cached
for good: ETag = the content's SHA-256, ``Cache-Control: immutable``, 304 on
``If-None-Match``, and one byte range per request, decided as for local files
by :mod:`service.web.ranges`. The bytes flow through
the web node, or, when ``LISTEN_S3_PRESIGNED_REDIRECT`` is on, the client is
sent to a short-lived presigned URL of the store instead (downloads still
flow through, so they keep their file name).
"""

from __future__ import annotations

from collections.abc import Iterator

from flask import Response, request
from werkzeug.http import parse_etags, quote_etag

from service.library import StoredObject
from service.web.context import settings
from service.web.files import IMMUTABLE
from service.web.ranges import wanted_span

RANGE_WINDOW_BYTES = 1024 * 1024
"""A byte range is read from the store this much at a time."""
PRESIGNED_EXPIRES_S = 3600
"""Lifetime of a presigned URL a client is redirected to."""


def remote_object_response(
    stored: StoredObject, mimetype: str, etag: str | None, *, download_name: str | None = None
) -> Response:
    """Answer a GET of a stored object with Range, ETag, 304 and immutable caching."""
    if settings().store.s3_presigned_redirect and download_name is None:
        url = stored.presigned_url(PRESIGNED_EXPIRES_S)
        if url is not None:
            return Response(status=302, headers={"Location": url, "Cache-Control": "no-store"})
    size = stored.size()
    if etag is not None and _matches(request.headers.get("If-None-Match"), etag):
        return _with_headers(Response(status=304), etag, download_name)
    span = wanted_span(
        request.headers.get("Range"), request.headers.get("If-Range"), etag, size
    )  # a 416 is answered as send_file's is
    if not span.partial:
        stream = stored.open_stream()
        response = Response(stream, mimetype=mimetype, direct_passthrough=True)
        response.call_on_close(stream.close)
        response.content_length = size
    else:
        response = Response(
            _read_windows(stored, span.start, span.stop),
            status=206,
            mimetype=mimetype,
            direct_passthrough=True,
        )
        response.content_length = span.length
        response.headers["Content-Range"] = f"bytes {span.start}-{span.stop - 1}/{size}"
    return _with_headers(response, etag, download_name)


def _with_headers(response: Response, etag: str | None, download_name: str | None) -> Response:
    if etag is not None:
        response.headers["ETag"] = quote_etag(etag)
    response.headers["Cache-Control"] = IMMUTABLE
    response.headers["Accept-Ranges"] = "bytes"
    if download_name is not None:
        response.headers.set("Content-Disposition", "attachment", filename=download_name)
    return response


def _matches(header: str | None, etag: str) -> bool:
    """Tell whether an If-None-Match header names ``etag`` (weakly, as RFC 9110 asks)."""
    if not header:
        return False
    return parse_etags(header).contains_weak(etag)


def _read_windows(stored: StoredObject, start: int, stop: int) -> Iterator[bytes]:
    """Yield bytes ``start`` to ``stop`` a window at a time, so memory stays flat."""
    position = start
    while position < stop:
        end = min(stop, position + RANGE_WINDOW_BYTES)
        data = stored.read_range(position, end)
        if not data:
            return
        yield data
        position += len(data)
