"""Voices, health and the OpenAPI document."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from service.web.access import may_make
from service.web.context import library
from service.web.openapi import openapi_document
from service.web.urls import public_servers

meta = Blueprint("meta", __name__)


@meta.get("/api/voices")
def voices() -> Response:
    """List the voices of every installed engine, optionally for one language."""
    language = request.args.get("language") or None
    found = library().voices(language=language)
    body = {
        "voices": [
            {
                "id": v.voice_id,
                "engine": v.engine,
                "name": v.name,
                "languages": list(v.languages),
                "gender": v.gender,
                "preview_url": url_for("meta.voice_preview", voice_id=v.voice_id),
                "installed": v.installed,
                "detail": v.detail,
            }
            for v in found
        ]
    }
    return jsonify(body)


@meta.get("/api/voices/<path:voice_id>/preview.mp3")
def voice_preview(voice_id: str) -> BaseResponse:
    """Send to the short sample the voice reads (``?rate=`` words a minute), made once.

    The sample is a narration like any other: the redirect leads to its stream,
    which plays while it is made and is the cached file once it exists.
    """
    view = library().voice_preview(voice_id, request.args.get("rate"), may_start=may_make())
    response = redirect(url_for("api.stream", narration_id=view.plan.narration_id), code=303)
    response.headers["Cache-Control"] = "no-store"
    return response


@meta.get("/livez")
def livez() -> Response:
    """Say the process answers (a liveness probe: no store or worker check)."""
    response = Response("ok\n", mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response


@meta.get("/healthz")
def healthz() -> Response:
    """Say whether jobs can run and the store can be written."""
    workers_ok, store_ok = library().health()
    ok = workers_ok and store_ok
    body = {"status": "ok" if ok else "degraded", "workers": workers_ok, "store": store_ok}
    response = jsonify(body)
    response.status_code = 200 if ok else 503
    response.headers["Cache-Control"] = "no-store"
    return response


@meta.get("/openapi.json")
def openapi() -> Response:
    """Serve the OpenAPI 3.1 description of the API."""
    document = openapi_document()
    servers = public_servers()
    if servers:  # without one, OpenAPI's default: this server, wherever it was reached
        document = {"openapi": document["openapi"], "info": document["info"],
                    "servers": servers, **document}  # fmt: skip
    return jsonify(document)
