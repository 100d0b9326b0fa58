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
from service.media import AUDIO_FORMATS, AUDIO_MIMETYPES, NARRATION_ID
from service.web.common import add_common_headers
from service.web.files import bytes_sent, send_file

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from service.web.context import AppState

AUDIO_PATH = re.compile(
    rf"/api/narrations/({NARRATION_ID.pattern})/audio\.({'|'.join(AUDIO_FORMATS)})"
)


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
    library = state.library
    return send_file(
        request,
        state.open_files,
        library.audio_key(narration_id, fmt),
        lambda: library.audio_file(narration_id, fmt),
        mimetype=AUDIO_MIMETYPES[fmt],
        etag=library.narrations.content_hash(narration_id, fmt),
        download_name=download_name,
        accel_prefix=state.accel_prefix,
    )


class FinishedAudio:
    """WSGI middleware: finished audio straight from the open-file set, the rest to ``app``."""

    def __init__(self, app: WSGIApplication, state: AppState) -> None:
        self.app = app
        self.state = state
        self.counts = state.library.keeps_figures

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
        if self.counts and method == "GET" and response.status_code in (200, 206):
            self.state.library.count_served(bytes_sent(response))
        body: Any = response(environ, start_response)
        return body  # type: ignore[no-any-return]
