"""Describe the HTTP API as an OpenAPI 3.1 document (a test checks it against the routes)."""

from __future__ import annotations

from typing import Any

from service import __version__
from service.media import AUDIO_FORMATS, NARRATION_ID


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


ID_PARAMETER = {
    "name": "narration_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": f"^{NARRATION_ID.pattern}$"},
    "description": "Narration id (32 hex digits).",
}

NARRATION = {
    "type": "object",
    "required": [
        "id",
        "status",
        "title",
        "language",
        "voice",
        "chunks_total",
        "chunks_done",
        "status_url",
        "audio_url",
        "stream_url",
        "captions_url",
        "timings_url",
        "player_url",
    ],
    "properties": {
        "id": {"type": "string"},
        "status": {"type": "string", "enum": ["queued", "running", "done", "failed"]},
        "title": {"type": "string"},
        "byline": {"type": ["string", "null"]},
        "language": {"type": "string"},
        "voice": {"type": "string"},
        "rate_wpm": {"type": "integer"},
        "word_count": {"type": "integer"},
        "duration_ms": {"type": ["integer", "null"]},
        "chunks_total": {
            "type": "integer",
            "description": "Chunks (runs of sentences of one block, encoded together) in all.",
        },
        "chunks_done": {"type": "integer", "description": "Chunks made so far."},
        "formats": {"type": "array", "items": {"type": "string"}},
        "error": {"type": ["string", "null"]},
        "voice_fallback": {
            "type": "object",
            "description": "Present when the article's natural voice could not load and "
            "eSpeak NG read it instead.",
            "properties": {"wanted": {"type": "string"}, "reason": {"type": "string"}},
        },
        "status_url": {"type": "string"},
        "audio_url": {"type": "string"},
        "stream_url": {"type": "string"},
        "captions_url": {"type": "string"},
        "timings_url": {"type": "string"},
        "player_url": {"type": "string"},
    },
}

CREATE = {
    "type": "object",
    "description": "Exactly one of text, markdown, html or url.",
    "properties": {
        "text": {"type": "string"},
        "markdown": {"type": "string"},
        "html": {"type": "string"},
        "url": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "voice": {"type": "string", "description": "Voice id, see /api/voices."},
        "rate": {"type": "integer", "minimum": 80, "maximum": 450},
        "format": {"type": "string", "enum": list(AUDIO_FORMATS)},
    },
}

EXTRACT = {
    "type": "object",
    "required": ["title", "byline", "language", "word_count", "blocks"],
    "properties": {
        "title": {"type": "string"},
        "byline": {"type": ["string", "null"]},
        "language": {"type": "string"},
        "site_name": {"type": ["string", "null"]},
        "word_count": {"type": "integer"},
        "blocks": {
            "type": "array",
            "description": "What is read, in order: title, byline, then the body's blocks.",
            "items": {
                "type": "object",
                "required": ["kind", "text"],
                "properties": {
                    "kind": {
                        "type": "string",
                        "enum": ["title", "byline", "heading", "paragraph", "quote", "list_item"],
                    },
                    "text": {"type": "string"},
                },
            },
        },
    },
}

SPEECH = {
    "type": "object",
    "required": ["input"],
    "properties": {
        "model": {"type": "string"},
        "input": {"type": "string"},
        "voice": {"type": "string"},
        "response_format": {"type": "string", "enum": ["mp3", "opus", "wav", "pcm"]},
        "speed": {"type": "number", "minimum": 0.25, "maximum": 4.0},
    },
}

PROBLEM = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
    },
}

STANDARD_ERRORS = {
    "400": _problem("Bad input."),
    "401": _problem("API key required."),
    "403": _problem("API key refused."),
    "413": _problem("Body too large."),
    "415": _problem("Unsupported media type."),
    "422": _problem("Nothing to read, or the URL could not be fetched."),
    "429": _problem("Too many requests; see Retry-After."),
    "503": _problem(
        "Job queue full or unavailable, speech could not be made, or too many live streams "
        "and speech answers wait at once; see Retry-After."
    ),
}


def _audio(description: str, media: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {media: {"schema": {"type": "string", "format": "binary"}}},
    }


def openapi_document() -> dict[str, Any]:
    """Return the OpenAPI 3.1 document."""
    by_id = {"parameters": [ID_PARAMETER]}
    not_found = _problem("Unknown narration.")
    remake_needs_key = _problem(
        "API keys are set: making again a narration whose audio left the cache needs one."
    )
    not_finished = _problem("Not finished yet (the body carries the status); use the stream.")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Listen: offline article narration",
            "version": __version__,
            "description": "Turn articles into narrated audio, offline. "
            "Errors are problem details.",
        },
        "paths": {
            "/api/narrations": {
                "post": {
                    "operationId": "createNarration",
                    "summary": "Create (or find) the narration of an article.",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": _ref("CreateNarration")},
                            "application/x-www-form-urlencoded": {
                                "schema": _ref("CreateNarration")
                            },
                            "text/plain": {"schema": {"type": "string"}},
                            "text/markdown": {"schema": {"type": "string"}},
                            "text/html": {"schema": {"type": "string"}},
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "Already made.",
                            "content": {"application/json": {"schema": _ref("Narration")}},
                        },
                        "202": {
                            "description": "Being made.",
                            "content": {"application/json": {"schema": _ref("Narration")}},
                        },
                        **STANDARD_ERRORS,
                    },
                }
            },
            "/api/extract": {
                "post": {
                    "operationId": "extractArticle",
                    "summary": "What a narration of this input would read, without making it.",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": _ref("CreateNarration")},
                            "application/x-www-form-urlencoded": {
                                "schema": _ref("CreateNarration")
                            },
                            "text/plain": {"schema": {"type": "string"}},
                            "text/markdown": {"schema": {"type": "string"}},
                            "text/html": {"schema": {"type": "string"}},
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "The article as it would be read.",
                            "content": {"application/json": {"schema": _ref("Extract")}},
                        },
                        **STANDARD_ERRORS,
                    },
                }
            },
            "/api/narrations/{narration_id}": {
                **by_id,
                "get": {
                    "operationId": "getNarration",
                    "summary": "Status and progress of a narration.",
                    "responses": {
                        "200": {
                            "description": "Done or failed.",
                            "content": {"application/json": {"schema": _ref("Narration")}},
                        },
                        "202": {
                            "description": "Queued or running.",
                            "content": {"application/json": {"schema": _ref("Narration")}},
                        },
                        "401": remake_needs_key,
                        "404": not_found,
                    },
                },
            },
            "/api/narrations/{narration_id}/audio.{fmt}": {
                "parameters": [
                    ID_PARAMETER,
                    {
                        "name": "fmt",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "enum": list(AUDIO_FORMATS)},
                    },
                ],
                "get": {
                    "operationId": "getAudio",
                    "summary": "The finished audio; Range, ETag and 304 supported. "
                    "?download=1 for an attachment.",
                    "parameters": [
                        {
                            "name": "download",
                            "in": "query",
                            "schema": {"type": "string", "enum": ["1"]},
                        }
                    ],
                    "responses": {
                        "200": _audio("The audio file.", "audio/*"),
                        "206": _audio("Part of the audio file.", "audio/*"),
                        "304": {"description": "Not modified."},
                        "401": remake_needs_key,
                        "404": not_found,
                        "409": not_finished,
                        "416": {"description": "Range not satisfiable."},
                        "422": _problem("The narration failed."),
                    },
                },
            },
            "/api/narrations/{narration_id}/stream.mp3": {
                **by_id,
                "get": {
                    "operationId": "streamAudio",
                    "summary": "MP3 that starts before synthesis is done; the file once finished.",
                    "responses": {
                        "200": _audio("MP3 audio.", "audio/mpeg"),
                        "206": _audio("Part of the finished file.", "audio/mpeg"),
                        "304": {"description": "Not modified."},
                        "401": remake_needs_key,
                        "404": not_found,
                        "416": {"description": "Range not satisfiable."},
                        "422": _problem("The narration failed."),
                        "503": _problem("Too many live streams at once; see Retry-After."),
                    },
                },
            },
            "/api/narrations/{narration_id}/captions.vtt": {
                **by_id,
                "get": {
                    "operationId": "getCaptions",
                    "summary": "WebVTT captions, one cue per sentence.",
                    "responses": {
                        "200": {
                            "description": "Captions.",
                            "content": {"text/vtt": {"schema": {"type": "string"}}},
                        },
                        "401": remake_needs_key,
                        "404": not_found,
                        "409": not_finished,
                        "422": _problem("The narration failed."),
                    },
                },
            },
            "/api/narrations/{narration_id}/timings.json": {
                **by_id,
                "get": {
                    "operationId": "getTimings",
                    "summary": "Every block and sentence with character offsets and times.",
                    "responses": {
                        "200": {
                            "description": "Timings.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        "401": remake_needs_key,
                        "404": not_found,
                        "409": not_finished,
                        "422": _problem("The narration failed."),
                    },
                },
            },
            "/api/voices": {
                "get": {
                    "operationId": "listVoices",
                    "summary": "Voices of every installed engine; `installed` is false for a "
                    "voice whose files are missing (`detail` says what to install).",
                    "parameters": [
                        {"name": "language", "in": "query", "schema": {"type": "string"}}
                    ],
                    "responses": {
                        "200": {
                            "description": "Voices.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                },
            },
            "/v1/audio/speech": {
                "post": {
                    "operationId": "createSpeech",
                    "summary": "OpenAI-compatible text to speech.",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("Speech")}},
                    },
                    "responses": {
                        "200": _audio("Audio in the requested format.", "audio/*"),
                        **STANDARD_ERRORS,
                    },
                },
            },
            "/healthz": {
                "get": {
                    "operationId": "health",
                    "summary": "Whether engine workers run and the store is writable.",
                    "responses": {
                        "200": {
                            "description": "Healthy.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        "503": {
                            "description": "Degraded.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                    },
                },
            },
            "/metrics": {
                "get": {
                    "operationId": "metrics",
                    "summary": "Figures for operators in the Prometheus text format.",
                    "description": (
                        "Jobs queued, running, failed and started; synthesis seconds; "
                        "sentences from the cache or the engine; audio bytes served; "
                        "workers. With Redis the figures are cluster-wide."
                    ),
                    "responses": {
                        "200": {
                            "description": "Prometheus text exposition format 0.0.4.",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        },
                        "401": _problem("API keys are set: the metrics need one."),
                        "403": _problem("API key refused."),
                    },
                },
            },
            "/livez": {
                "get": {
                    "operationId": "live",
                    "summary": "Whether the process answers (liveness; checks nothing else).",
                    "responses": {
                        "200": {
                            "description": "Alive.",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        }
                    },
                },
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document.",
                    "responses": {
                        "200": {
                            "description": "OpenAPI 3.1.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                },
            },
        },
        "components": {
            "schemas": {
                "Narration": NARRATION,
                "CreateNarration": CREATE,
                "Extract": EXTRACT,
                "Speech": SPEECH,
                "Problem": PROBLEM,
            }
        },
    }
