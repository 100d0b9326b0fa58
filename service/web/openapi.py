"""Describe the HTTP API as an OpenAPI 3.1 document (a test checks it against the routes)."""

from __future__ import annotations

from typing import Any

from service import __version__
from service.media import AUDIO_FORMATS
from service.web.openapi_publish import ID_PARAMETER, SCHEMAS, publishing_paths
from service.web.openapi_publish import problem as _problem
from service.web.openapi_publish import ref as _ref

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
        "lexicon": {
            "type": ["string", "null"],
            "description": "The pronunciation lexicon the narration was read by (named in the "
            "request, or its site's), if any.",
        },
        "lexicon_rules_applied": {
            "type": "integer",
            "description": "How many of that lexicon's rules matched somewhere in the text.",
        },
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
        "lexicon": {
            "type": "string",
            "description": "Read by this pronunciation lexicon (422 when there is none). "
            "Without it, the lexicon whose sites cover the url's host, or page_url's, applies.",
        },
        "page_url": {
            "type": "string",
            "format": "uri",
            "description": "With text, markdown or html: the address of the page it comes from "
            "(the embed sends it). Its host chooses a site's lexicon when the browser's Origin "
            "is that page's own, or when no Origin is sent.",
        },
        "collection": {
            "oneOf": [
                {"type": "string"},
                {"type": "array", "items": {"type": "string"}, "maxItems": 20},
            ],
            "description": "Collections (slugs) to file the narration in; its MP3 is made.",
        },
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
        "lexicon": {
            "type": "string",
            "description": "Our extension: read by this pronunciation lexicon (422 if unknown).",
        },
    },
}

RULE = {
    "type": "object",
    "required": ["match"],
    "additionalProperties": False,
    "description": "Whole words matched (or a regular expression), and how to say them: "
    "'say' words, 'ipa' phonemes, or both.",
    "properties": {
        "match": {"type": "string", "minLength": 1, "maxLength": 200},
        "say": {"type": "string", "maxLength": 500},
        "ipa": {"type": "string", "maxLength": 202},
        "regex": {"type": "boolean"},
        "ignore_case": {"type": "boolean"},
    },
}

LEXICON = {
    "type": "object",
    "required": ["rules"],
    "additionalProperties": False,
    "properties": {
        "name": {
            "type": "string",
            "description": "Ignored when stored: the name in the URL is the lexicon's.",
        },
        "language": {"type": "string"},
        "sites": {
            "type": "array",
            "maxItems": 100,
            "items": {"type": "string"},
            "description": "Host names whose articles use this lexicon unless one is named "
            "(each covers its subdomains; a site belongs to one lexicon).",
        },
        "rules": {"type": "array", "maxItems": 10_000, "items": _ref("Rule")},
    },
}

LEXICON_LIST = {
    "type": "object",
    "required": ["lexicons"],
    "properties": {
        "lexicons": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "rules", "sites", "digest", "updated_at", "url"],
                "properties": {
                    "name": {"type": "string"},
                    "rules": {"type": "integer", "description": "How many rules it has."},
                    "sites": {"type": "array", "items": {"type": "string"}},
                    "language": {"type": ["string", "null"]},
                    "digest": {"type": "string", "description": "Changes with every rule edit."},
                    "updated_at": {"type": "string"},
                    "url": {"type": "string"},
                },
            },
        }
    },
}

PREVIEW = {
    "type": "object",
    "required": ["rule"],
    "properties": {
        "rule": _ref("Rule"),
        "text": {
            "type": "string",
            "maxLength": 500,
            "description": "What to say; default the rule's match (required for a regex rule).",
        },
        "voice": {"type": "string", "description": "Voice id, see /api/voices."},
    },
}

PREVIEWS = {
    "type": "object",
    "required": ["without", "with"],
    "properties": {"without": _ref("Narration"), "with": _ref("Narration")},
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
    "422": _problem(
        "Nothing to read, the URL could not be fetched, an unknown lexicon, or a lexicon rule "
        "the voice cannot say."
    ),
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


LEXICON_NAME = {
    "name": "name",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"},
    "description": "The lexicon's name.",
}
PLS_MEDIA = "application/pls+xml"


def _lexicon_body(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {"ETag": {"schema": {"type": "string"}}},
        "content": {
            "application/json": {"schema": _ref("Lexicon")},
            PLS_MEDIA: {"schema": {"type": "string"}},
        },
    }


def _lexicon_paths() -> dict[str, Any]:
    keys = {
        "401": _problem("API keys are set: lexicons need one."),
        "403": _problem("API key refused, or (no keys set) sent from another site's page."),
        "503": _problem("The library database is unavailable; see Retry-After."),
    }
    unknown = _problem("No lexicon has this name.")
    return {
        "/api/lexicons": {
            "get": {
                "operationId": "listLexicons",
                "summary": "Every pronunciation lexicon: name, rules, sites.",
                "responses": {
                    "200": {
                        "description": "The lexicons, by name.",
                        "content": {"application/json": {"schema": _ref("LexiconList")}},
                    },
                    **keys,
                },
            }
        },
        "/api/lexicons/{name}": {
            "parameters": [LEXICON_NAME],
            "get": {
                "operationId": "getLexicon",
                "summary": "One lexicon, as JSON or (Accept: application/pls+xml, or "
                "?format=pls) as W3C PLS 1.0.",
                "parameters": [
                    {"name": "format", "in": "query", "schema": {"enum": ["json", "pls"]}}
                ],
                "responses": {
                    "200": _lexicon_body("The lexicon."),
                    "404": unknown,
                    "406": _problem("PLS cannot hold its regular-expression or case-blind rules."),
                    "422": _problem("An unknown format."),
                    **keys,
                },
            },
            "put": {
                "operationId": "putLexicon",
                "summary": "Store a lexicon under this name, replacing it (JSON, or W3C PLS "
                "by its content type).",
                "description": "Checked whole before anything is stored: at most 10,000 rules, "
                "and regular expressions that are invalid or could backtrack catastrophically "
                "are refused with the rule named.",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": _ref("Lexicon")},
                        PLS_MEDIA: {"schema": {"type": "string"}},
                    },
                },
                "responses": {
                    "200": _lexicon_body("Replaced; the lexicon as stored."),
                    "201": {
                        **_lexicon_body("Created; the lexicon as stored."),
                        "headers": {
                            "ETag": {"schema": {"type": "string"}},
                            "Location": {"schema": {"type": "string"}},
                        },
                    },
                    "400": _problem("Bad input."),
                    "409": _problem("A site belongs to another lexicon."),
                    "413": _problem("Body too large."),
                    "415": _problem("Neither JSON nor PLS."),
                    "422": _problem("An invalid lexicon, rule or name; the detail names it."),
                    **keys,
                },
            },
            "delete": {
                "operationId": "deleteLexicon",
                "summary": "Delete a lexicon (narrations already made keep their audio).",
                "responses": {"204": {"description": "Deleted."}, "404": unknown, **keys},
            },
        },
        "/api/lexicon-preview": {
            "post": {
                "operationId": "previewRule",
                "summary": "Say a phrase without a rule and with it: two short narrations.",
                "description": "Made, cached and limited like any narration. The rule need not "
                "be stored; it must apply to the phrase.",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("RulePreview")}},
                },
                "responses": {
                    "200": {
                        "description": "Both made.",
                        "content": {"application/json": {"schema": _ref("RulePreviews")}},
                    },
                    "202": {
                        "description": "Being made; poll each status_url.",
                        "content": {"application/json": {"schema": _ref("RulePreviews")}},
                    },
                    **STANDARD_ERRORS,
                },
            }
        },
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
            "/api/narrations/{narration_id}/voice": {
                **by_id,
                "post": {
                    "operationId": "revoiceNarration",
                    "summary": "Create (or find) the same article's narration in another voice "
                    "(same text and rate, so character offsets agree).",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["voice"],
                                    "properties": {
                                        "voice": {
                                            "type": "string",
                                            "description": "Voice id, see /api/voices.",
                                        }
                                    },
                                }
                            }
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
                        "404": not_found,
                        **STANDARD_ERRORS,
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
                    "summary": "WebVTT captions, one cue per sentence, a timestamp before "
                    "each word.",
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
                    "summary": "Every block, sentence and word with character offsets and "
                    "times; each sentence says whether its word times come from the engine "
                    "or are estimated.",
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
            "/api/voices/{voice_id}/preview.mp3": {
                "parameters": [
                    {
                        "name": "voice_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                        "description": "Voice id (it may hold a slash), see /api/voices.",
                    }
                ],
                "get": {
                    "operationId": "previewVoice",
                    "summary": "A short sample of the voice, made once and cached like a "
                    "narration: a redirect to its stream.",
                    "parameters": [
                        {
                            "name": "rate",
                            "in": "query",
                            "schema": {"type": "integer"},
                            "description": "Words a minute: one of the rates the pages offer.",
                        }
                    ],
                    "responses": {
                        "303": {"description": "The sample's stream.mp3."},
                        "400": _problem("Unknown voice, or a rate not offered."),
                        "401": _problem("API keys are set: making a sample needs one."),
                        "404": _problem("No such path: a voice id with a line break in it."),
                        "503": STANDARD_ERRORS["503"],
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
            **_lexicon_paths(),
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
            **publishing_paths(),
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
                "Rule": RULE,
                "Lexicon": LEXICON,
                "LexiconList": LEXICON_LIST,
                "RulePreview": PREVIEW,
                "RulePreviews": PREVIEWS,
                **SCHEMAS,
            }
        },
    }
