"""Answer reads of finished audio before Flask routes them: the hottest request, kept lean.

Most of the requests a busy narration gets are its players' byte ranges of the
finished MP3. They need none of what Flask adds around a view (routing, the
rate limiter, which only limits creation, CORS for a request without an
Origin, error pages): only the open file, the range and the headers, which
:func:`~service.web.files.send_file` makes for both paths. This WSGI middleware
answers exactly those: GET or HEAD of ``/api/narrations/<id>/audio.<fmt>``,
with no query and no ``Origin``, for a file in the local store. Every other
request, and every case it does not cover (a file not there, 416, S3, any
error), goes to the app unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import RequestedRangeNotSatisfiable
from werkzeug.wrappers import Request, Response

from service.errors import ListenError
from service.jobs.tally import ReportsFigures
from service.pipeline.objects import audio_object
from service.web.common import add_common_headers
from service.web.files import MIMETYPES, bytes_sent, send_file

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from service.web.context import AppState

AUDIO_PATH = re.compile(r"/api/narrations/([0-9a-f]{32})/audio\.(mp3|ogg|wav)")


def send_local_audio(
    request: Request,
    state: AppState,
    narration_id: str,
    fmt: str,
    *,
    download_name: str | None = None,
) -> Response | None:
    """Send a finished narration's file from the local store; ``None`` when it is not there.

    The one way finished audio leaves a local store, before Flask or through its view.
    """
    key = audio_object(narration_id, fmt)
    return send_file(
        request,
        state.open_files,
        key,
        lambda: state.store.local_path(key),
        mimetype=MIMETYPES[fmt],
        etag=state.narrations.content_hash(narration_id, fmt),
        download_name=download_name,
        accel_prefix=state.accel_prefix,
    )


class FinishedAudio:
    """WSGI middleware: finished audio straight from the open-file set, the rest to ``app``."""

    def __init__(self, app: WSGIApplication, state: AppState) -> None:
        self.app = app
        self.state = state
        runner = state.runner
        self.tally = runner.tally if isinstance(runner, ReportsFigures) else None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        found = AUDIO_PATH.fullmatch(path)
        method = environ.get("REQUEST_METHOD")
        if (
            found is None
            or method not in ("GET", "HEAD")
            or environ.get("QUERY_STRING")
            or "HTTP_ORIGIN" in environ
        ):
            return self.app(environ, start_response)
        narration_id, fmt = found.groups()
        try:
            response = send_local_audio(
                Request(environ, populate_request=False), self.state, narration_id, fmt
            )
        except (RequestedRangeNotSatisfiable, ListenError, OSError):
            response = None  # the app answers these, as problem details
        if response is None:
            return self.app(environ, start_response)
        add_common_headers(response, path)
        if self.tally is not None and method == "GET" and response.status_code in (200, 206):
            self.tally.add("bytes_served", bytes_sent(response))
        body: Any = response(environ, start_response)
        return body  # type: ignore[no-any-return]
