"""Voices, health and the OpenAPI document."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

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
                "installed": v.installed,
                "detail": v.detail,
            }
            for v in found
        ]
    }
    return jsonify(body)


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
