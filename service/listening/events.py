"""Check what a player reports about listening: one small JSON event, or a few at once.

An event names a narration, a listening session (a random id the page keeps
in memory for one page view, never stored) and what happened:

- ``play``: playing started;
- ``progress`` with ``quartile`` 25, 50, 75 or 100: the listener got that far;
- ``paragraph`` with ``index``: the listener reached that spoken block;
- ``speed`` with ``value``: the listener changed the speed;
- ``seconds``: nothing but listened time (sent on pause and when the page is hidden).

Every event may carry ``seconds``: time listened since the previous event.
Time listened is summed as reported; milestones count once per page view.
Players send them with ``navigator.sendBeacon``, whose body is text (a JSON
type would need a CORS preflight that beacons cannot make), so the body is
read as JSON whatever its content type says.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from dataclasses import dataclass
from typing import Any, Literal

from service.errors import ListeningEventError
from service.pipeline.plan import NARRATION_ID

EventKind = Literal["play", "progress", "paragraph", "speed", "seconds"]
EVENT_KINDS: tuple[EventKind, ...] = ("play", "progress", "paragraph", "speed", "seconds")
QUARTILES = (25, 50, 75, 100)
MAX_BODY_BYTES = 8 * 1024
"""Largest body of listening events read."""
MAX_EVENTS = 32
"""Most events one body may carry."""
MAX_PARAGRAPH = 100_000
"""Highest paragraph index taken before the narration's own count is known."""
MAX_SECONDS = 3600.0
"""Most listened time one event may report."""
MIN_SPEED, MAX_SPEED = 0.25, 4.0
SESSION = re.compile(r"[A-Za-z0-9_-]{16,64}")
"""A listening session id: 16-64 URL-safe characters (a random id made by the page)."""
FIELDS = frozenset({"narration_id", "session", "type", "quartile", "index", "value", "seconds"})


@dataclass(frozen=True)
class ListeningEvent:
    """One checked listening event."""

    narration_id: str
    """The narration listened to."""
    session: str
    """The page view's random listening session id (used to drop duplicates, never stored)."""
    kind: EventKind
    """What happened."""
    quartile: int | None = None
    """25, 50, 75 or 100 for ``progress``."""
    paragraph: int | None = None
    """The spoken block reached, for ``paragraph``."""
    speed: float | None = None
    """The new speed, for ``speed``."""
    listened_ms: int = 0
    """Time listened since the previous event."""


def parse_events(body: bytes | str) -> list[ListeningEvent]:
    """Return the events of a request body: one event object, or a list of them.

    Raise :class:`ListeningEventError` naming the first problem: nothing is
    recorded from a body with a bad event in it.
    """
    if len(body) > MAX_BODY_BYTES:
        raise ListeningEventError(
            f"the events are {len(body)} bytes long; at most {MAX_BODY_BYTES} at once"
        )
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested lists a few thousand deep
        raise ListeningEventError("the body is not JSON: send one event object or a list") from None
    items = data if isinstance(data, list) else [data]
    if not items:
        raise ListeningEventError("the list of events is empty")
    if len(items) > MAX_EVENTS:
        raise ListeningEventError(f"{len(items)} events at once; at most {MAX_EVENTS}")
    events = []
    for position, item in enumerate(items):
        try:
            events.append(parse_event(item))
        except ListeningEventError as error:
            if len(items) == 1:
                raise
            raise ListeningEventError(f"event {position}: {error}") from None
    return events


def parse_event(data: object) -> ListeningEvent:
    """Return the event ``data`` (one decoded JSON object) describes."""
    if not isinstance(data, dict):
        raise ListeningEventError(f"an event is a JSON object, not {_kind(data)}")
    unknown = sorted(str(key)[:40] for key in data if key not in FIELDS)
    if unknown:
        raise ListeningEventError(
            f"unknown event field {unknown[0]!r}; the fields are {', '.join(sorted(FIELDS))}"
        )
    narration_id = data.get("narration_id")
    if not isinstance(narration_id, str) or NARRATION_ID.fullmatch(narration_id) is None:
        raise ListeningEventError("'narration_id' must be a narration's id (32 hex digits)")
    session = data.get("session")
    if not isinstance(session, str) or SESSION.fullmatch(session) is None:
        raise ListeningEventError(
            "'session' must be the page view's random id: 16-64 letters, digits, '-' or '_'"
        )
    kind = data.get("type")
    if kind not in EVENT_KINDS:
        raise ListeningEventError(
            f"'type' must be one of {', '.join(EVENT_KINDS)}, not {str(kind)[:40]!r}"
        )
    listened_ms = _listened_ms(data)
    extra = {"progress": "quartile", "paragraph": "index", "speed": "value"}
    for field, owner in (("quartile", "progress"), ("index", "paragraph"), ("value", "speed")):
        if field in data and kind != owner:
            raise ListeningEventError(f"'{field}' belongs to '{owner}' events, not '{kind}'")
    if kind in extra and extra[kind] not in data:
        raise ListeningEventError(f"a '{kind}' event needs '{extra[kind]}'")
    if kind == "seconds" and "seconds" not in data:
        raise ListeningEventError("a 'seconds' event needs 'seconds'")
    event = ListeningEvent(narration_id, session, kind, listened_ms=listened_ms)
    if kind == "progress":
        quartile = data["quartile"]
        if not _is_int(quartile) or quartile not in QUARTILES:
            raise ListeningEventError(f"'quartile' must be 25, 50, 75 or 100, not {quartile!r}")
        return dataclasses.replace(event, quartile=quartile)
    if kind == "paragraph":
        index = data["index"]
        if not _is_int(index) or not 0 <= index <= MAX_PARAGRAPH:
            raise ListeningEventError(
                f"'index' must be a paragraph's index, 0 to {MAX_PARAGRAPH}, not {str(index)[:40]}"
            )
        return dataclasses.replace(event, paragraph=index)
    if kind == "speed":
        value = data["value"]
        if not _is_number(value) or not MIN_SPEED <= value <= MAX_SPEED:
            raise ListeningEventError(
                f"'value' must be a speed from {MIN_SPEED} to {MAX_SPEED}, not {str(value)[:40]}"
            )
        return dataclasses.replace(event, speed=float(value))
    return event


def _listened_ms(data: dict[str, Any]) -> int:
    if "seconds" not in data:
        return 0
    seconds: float = data["seconds"]
    if not _is_number(seconds) or not 0 <= seconds <= MAX_SECONDS:
        raise ListeningEventError(
            f"'seconds' must be the time listened since the last event, 0 to {MAX_SECONDS:g}, "
            f"not {str(seconds)[:40]}"
        )
    return round(seconds * 1000)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):  # any size: comparing it with the bounds is exact
        return True
    return isinstance(value, float) and math.isfinite(value)


def _kind(value: object) -> str:
    names = {str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    names |= {list: "a list", type(None): "null"}
    return names.get(type(value), type(value).__name__)
