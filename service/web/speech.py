"""An OpenAI-compatible ``POST /v1/audio/speech``, so existing OpenAI clients can narrate."""

from __future__ import annotations

from flask import Blueprint, Response, request

from service.web.access import require_key
from service.web.api import live_response
from service.web.context import library, live_place
from service.web.fields import json_object

speech = Blueprint("speech", __name__, url_prefix="/v1")


@speech.post("/audio/speech")
@require_key
def create_speech() -> Response:
    """Speak ``input`` and answer with the audio (MP3 is streamed as it is made)."""
    wanted = library().speech_request(json_object(request))
    view = library().start_speech(wanted)
    narration_id = view.plan.narration_id
    if wanted.streams and view.state.status != "done":
        return live_response(library().narrations.chunk_stream(narration_id), wanted.mimetype)
    if not library().has_audio(narration_id, wanted.fmt):
        leave = live_place()  # waiting holds a thread as a live stream does
        try:
            library().wait_for_audio(narration_id, wanted.fmt)
        finally:
            leave()
    return Response(library().speech_audio(narration_id, wanted), mimetype=wanted.mimetype)
