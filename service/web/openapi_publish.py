"""Describe the publishers' part of the API: collections, feeds, chapters, events, statistics."""

from __future__ import annotations

from typing import Any

from service.media import NARRATION_ID

SLUG_PATTERN = "^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"


def problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


SLUG_PARAMETER = {
    "name": "slug",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": SLUG_PATTERN},
    "description": "The collection's slug: 1-64 lowercase letters, digits and hyphens.",
}
ID_PARAMETER = {
    "name": "narration_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": f"^{NARRATION_ID.pattern}$"},
    "description": "Narration id (32 hex digits).",
}
SPAN_PARAMETERS = [
    {
        "name": name,
        "in": "query",
        "schema": {"type": "string", "format": "date"},
        "description": description,
    }
    for name, description in (
        ("since", "First day counted (UTC, YYYY-MM-DD); unset: the first day with listening."),
        ("until", "Last day counted (UTC, YYYY-MM-DD); unset: the last day with listening."),
    )
]
KEYED = {
    "401": problem("API keys are set and none was given."),
    "403": problem("API key refused."),
}
DATABASE_DOWN = {"503": problem("The library database cannot be reached now.")}

CHANNEL_PROPERTIES: dict[str, Any] = {
    "title": {"type": "string", "maxLength": 255, "description": "The podcast's name."},
    "description": {"type": "string", "maxLength": 4000},
    "author": {"type": ["string", "null"], "maxLength": 255},
    "language": {"type": ["string", "null"], "description": "Language tag: en, en-GB."},
    "image_url": {
        "type": ["string", "null"],
        "description": "Square artwork, JPEG or PNG, 1400-3000 px (http or https).",
    },
    "category": {
        "type": ["string", "null"],
        "description": "Apple Podcasts category, 'Parent' or 'Parent/Subcategory'.",
    },
    "explicit": {"type": "boolean"},
    "link": {"type": ["string", "null"], "description": "The publisher's website."},
    "owner_email": {
        "type": ["string", "null"],
        "description": "Who to contact about the feed; set, the feed is podcast:locked.",
    },
}
CHANNEL = {
    "type": "object",
    "required": ["title"],
    "description": "What a collection's podcast feed says about it; PUT replaces all of it.",
    "properties": CHANNEL_PROPERTIES,
    "additionalProperties": False,
}
COLLECTION = {
    "type": "object",
    "required": ["slug", "title", "items", "ready", "feed_url", "url"],
    "properties": {
        "slug": {"type": "string"},
        **CHANNEL_PROPERTIES,
        "items": {"type": "integer", "description": "Narrations filed in it."},
        "ready": {"type": "integer", "description": "Those whose MP3 is made (in the feed)."},
        "created_at": {"type": "string"},
        "updated_at": {"type": "string"},
        "url": {"type": "string"},
        "feed_url": {"type": "string", "description": "The feed's absolute address."},
        "narrations": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "title", "filed_at", "ready"],
                "properties": {
                    "id": {"type": "string"},
                    "title": {"type": "string"},
                    "summary": {"type": "string"},
                    "language": {"type": ["string", "null"]},
                    "filed_at": {"type": "string"},
                    "duration_ms": {"type": ["integer", "null"]},
                    "audio_bytes": {"type": ["integer", "null"]},
                    "ready": {"type": "boolean"},
                },
            },
        },
    },
}
EVENT = {
    "type": "object",
    "required": ["narration_id", "session", "type"],
    "description": (
        "One thing a player saw happen. 'session' is a random id the page keeps in memory "
        "for one page view (it only tells repeats apart, and is never stored)."
    ),
    "properties": {
        "narration_id": {"type": "string"},
        "session": {"type": "string", "pattern": "^[A-Za-z0-9_-]{16,64}$"},
        "type": {"type": "string", "enum": ["play", "progress", "paragraph", "speed", "seconds"]},
        "quartile": {"type": "integer", "enum": [25, 50, 75, 100]},
        "index": {"type": "integer", "minimum": 0},
        "value": {"type": "number", "minimum": 0.25, "maximum": 4},
        "seconds": {"type": "number", "minimum": 0, "maximum": 3600},
    },
    "additionalProperties": False,
}
COUNTS = {
    "plays": {"type": "integer"},
    "completions": {"type": "integer"},
    "quartiles": {
        "type": "object",
        "description": "Listeners who reached 25, 50, 75 and 100 %.",
        "additionalProperties": {"type": "integer"},
    },
    "listened_s": {"type": "number"},
    "speed_changes": {"type": "integer"},
}
DAYS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["day", "plays", "completions"],
        "properties": {"day": {"type": "string"}, **COUNTS},
    },
}
NARRATION_STATS = {
    "type": "object",
    "required": ["narration_id", "plays", "completions", "quartiles", "paragraphs", "days"],
    "properties": {
        "narration_id": {"type": "string"},
        **COUNTS,
        "paragraphs": {
            "type": "array",
            "items": {"type": "integer"},
            "description": "Listeners who reached each spoken block, by index.",
        },
        "days": DAYS,
    },
}
COLLECTION_STATS = {
    "type": "object",
    "required": ["collection", "plays", "completions", "narrations", "days"],
    "properties": {
        "collection": {"type": "string"},
        **COUNTS,
        "narrations": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["narration_id", "title", "plays", "completions"],
                "properties": {
                    "narration_id": {"type": "string"},
                    "title": {"type": "string"},
                    **COUNTS,
                },
            },
        },
        "days": DAYS,
    },
}
SCHEMAS = {
    "Channel": CHANNEL,
    "Collection": COLLECTION,
    "ListeningEvent": EVENT,
    "NarrationStats": NARRATION_STATS,
    "CollectionStats": COLLECTION_STATS,
}
"""The schemas the paths below refer to."""


def publishing_paths() -> dict[str, Any]:
    """Return the OpenAPI paths of collections, feeds, chapters, events and statistics."""
    by_slug = {"parameters": [SLUG_PARAMETER]}
    bad_slug = problem("Not a collection slug, or a bad channel field.")
    no_collection = problem("No such collection.")
    return {
        "/api/collections": {
            "get": {
                "operationId": "listCollections",
                "summary": "Every collection, with its counts of narrations.",
                "responses": {
                    "200": _json(
                        "Collections.",
                        {
                            "type": "object",
                            "properties": {
                                "collections": {"type": "array", "items": ref("Collection")}
                            },
                        },
                    ),
                    **DATABASE_DOWN,
                },
            }
        },
        "/api/collections/{slug}": {
            **by_slug,
            "get": {
                "operationId": "getCollection",
                "summary": "A collection's channel and its narrations, newest first.",
                "responses": {
                    "200": _json("The collection.", ref("Collection")),
                    "404": no_collection,
                    "422": bad_slug,
                    **DATABASE_DOWN,
                },
            },
            "put": {
                "operationId": "putCollection",
                "summary": "Create a collection, or replace its channel.",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref("Channel")}},
                },
                "responses": {
                    "200": _json("Replaced.", ref("Collection")),
                    "201": _json("Created.", ref("Collection")),
                    "400": problem("The body is not JSON."),
                    **KEYED,
                    "413": problem("Body too large."),
                    "415": problem("The body is not JSON."),
                    "422": bad_slug,
                    **DATABASE_DOWN,
                },
            },
            "delete": {
                "operationId": "deleteCollection",
                "summary": "Delete a collection and its feed (its narrations stay).",
                "responses": {
                    "204": {"description": "Deleted."},
                    **KEYED,
                    "404": no_collection,
                    "422": bad_slug,
                    **DATABASE_DOWN,
                },
            },
        },
        "/api/collections/{slug}/items/{narration_id}": {
            "parameters": [SLUG_PARAMETER, ID_PARAMETER],
            "put": {
                "operationId": "fileNarration",
                "summary": "File an existing narration in a collection.",
                "responses": {
                    "201": {"description": "Filed."},
                    "204": {"description": "It was filed there already."},
                    **KEYED,
                    "404": problem("No such narration or collection."),
                    "422": bad_slug,
                    **DATABASE_DOWN,
                },
            },
            "delete": {
                "operationId": "unfileNarration",
                "summary": "Take a narration out of a collection (the narration stays).",
                "responses": {
                    "204": {"description": "Taken out."},
                    **KEYED,
                    "404": problem("No such collection, or the narration is not in it."),
                    "422": bad_slug,
                    **DATABASE_DOWN,
                },
            },
        },
        "/feeds/{slug}.xml": {
            **by_slug,
            "get": {
                "operationId": "getFeed",
                "summary": "The collection as a podcast feed (RSS 2.0, itunes and podcast tags).",
                "description": (
                    "One item per narration whose MP3 is made: enclosure with the file's exact "
                    "size, itunes:duration, podcast:chapters. Answers conditional GETs "
                    "(If-None-Match, If-Modified-Since) with 304."
                ),
                "responses": {
                    "200": {
                        "description": "The feed.",
                        "headers": {
                            "ETag": {"schema": {"type": "string"}},
                            "Last-Modified": {"schema": {"type": "string"}},
                        },
                        "content": {"application/rss+xml": {"schema": {"type": "string"}}},
                    },
                    "304": {"description": "Not modified since the client's copy."},
                    "404": no_collection,
                    "422": bad_slug,
                    **DATABASE_DOWN,
                },
            },
        },
        "/api/narrations/{narration_id}/chapters.json": {
            "parameters": [ID_PARAMETER],
            "get": {
                "operationId": "getChapters",
                "summary": "Podcasting 2.0 JSON chapters: the title, then each heading.",
                "responses": {
                    "200": {
                        "description": "Chapters (version 1.2.0).",
                        "content": {"application/json+chapters": {"schema": {"type": "object"}}},
                    },
                    "404": problem("Unknown narration."),
                    "409": problem("Not finished yet."),
                },
            },
        },
        "/api/events": {
            "post": {
                "operationId": "recordEvents",
                "summary": "Count what a player saw: one event, or a list of up to 32.",
                "description": (
                    "Sent with navigator.sendBeacon, whose body is text: it is read as JSON "
                    "whatever its content type. No cookie; nothing about the listener is stored."
                ),
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": ref("ListeningEvent")},
                        "text/plain": {"schema": {"type": "string"}},
                    },
                },
                "responses": {
                    "204": {"description": "Counted."},
                    "413": problem("Body too large (8 KiB)."),
                    "422": problem("A bad event: nothing of the body is counted."),
                    "429": problem("Too many events from this client; see Retry-After."),
                    "503": problem("The counts cannot be kept now (Redis or the database)."),
                },
            }
        },
        "/api/narrations/{narration_id}/stats": {
            "parameters": [ID_PARAMETER],
            "get": {
                "operationId": "getNarrationStats",
                "summary": "A narration's plays, completions, quartiles, paragraph reach and days.",
                "parameters": SPAN_PARAMETERS,
                "responses": {
                    "200": _json("Statistics.", ref("NarrationStats")),
                    "400": problem("A bad day."),
                    **KEYED,
                    "404": problem("Unknown narration."),
                    **DATABASE_DOWN,
                },
            },
        },
        "/api/stats": {
            "get": {
                "operationId": "getCollectionStats",
                "summary": "The statistics of a collection's narrations, and their sums.",
                "parameters": [
                    {
                        "name": "collection",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                    *SPAN_PARAMETERS,
                ],
                "responses": {
                    "200": _json("Statistics.", ref("CollectionStats")),
                    "400": problem("No collection named, or a bad day."),
                    **KEYED,
                    "404": no_collection,
                    "422": bad_slug,
                    **DATABASE_DOWN,
                },
            },
        },
        "/dashboard": {
            "get": {
                "operationId": "dashboard",
                "summary": "Plots of plays per day, the completion funnel and paragraph drop-off.",
                "description": (
                    "A page for people. With API keys set it asks for one as the password of "
                    "Basic authentication (any user name)."
                ),
                "parameters": [
                    {"name": "narration", "in": "query", "schema": {"type": "string"}},
                    {"name": "collection", "in": "query", "schema": {"type": "string"}},
                    *SPAN_PARAMETERS,
                ],
                "responses": {
                    status: {
                        "description": description,
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    }
                    for status, description in (
                        ("200", "The dashboard."),
                        ("400", "A bad day."),
                        ("401", "An API key is needed (Basic authentication)."),
                        ("404", "No such narration or collection."),
                        ("422", "Not a collection slug."),
                        ("503", "The library database cannot be reached now."),
                    )
                },
            }
        },
    }
