"""Name the objects a narration leaves in the store."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from service.store import MissingObjectError, Store


def clip_object(clip_key: str) -> str:
    """Return the store key of a shaped sentence (WAV)."""
    return f"clips/{clip_key[:2]}/{clip_key}.wav"


def chunk_audio_object(chunk_key: str) -> str:
    """Return the store key of an encoded chunk (MP3 frames)."""
    return f"chunks/{chunk_key[:2]}/{chunk_key}.mp3"


def chunk_meta_object(chunk_key: str) -> str:
    """Return the store key of a chunk's timing sidecar; it is written last."""
    return f"chunks/{chunk_key[:2]}/{chunk_key}.json"


def narration_object(narration_id: str, name: str) -> str:
    """Return the store key of one file of a narration (``audio.mp3``, ``timings.json``...)."""
    return f"narrations/{narration_id}/{name}"


def plan_object(narration_id: str) -> str:
    """Return the store key of a narration's plan, written before work starts."""
    return narration_object(narration_id, "plan.json")


def manifest_object(narration_id: str) -> str:
    """Return the store key of the manifest; its presence means the narration is done."""
    return narration_object(narration_id, "timings.json")


@dataclass(frozen=True)
class NarrationResult:
    """A finished narration in the store."""

    narration_id: str
    """Id of the narration."""
    duration_ms: int
    """The audio's duration."""
    cached: bool
    """True when nothing had to be made."""
    store: Store
    """The store that holds it."""

    @property
    def manifest(self) -> dict[str, Any]:
        """Return its timings and metadata (``timings.json``, read from the store each time)."""
        found = read_manifest(self.store, self.narration_id)
        if found is None:
            raise MissingObjectError(f"the timings of narration {self.narration_id} are gone")
        return found


def audio_object(narration_id: str, fmt: str) -> str:
    """Return the store key of a narration's audio in ``fmt``."""
    return narration_object(narration_id, f"audio.{fmt}")


def read_manifest(store: Store, narration_id: str) -> dict[str, Any] | None:
    """Return a finished narration's manifest, or None."""
    raw = store.get(manifest_object(narration_id))
    return None if raw is None else dict(json.loads(raw))


_MANIFEST_HEAD = re.compile(rb'\{"timings_version": \d+, "duration_ms": (\d+),')
"""How every manifest begins (:func:`~service.pipeline.narrate.manifest_head` puts it first)."""


def read_duration_ms(store: Store, narration_id: str) -> int | None:
    """Return a finished narration's duration, or None, without parsing its every word.

    The manifest of a long narration holds tens of thousands of words: parsed,
    about 26 MB of objects for 45,000 words, where the duration is at its start.
    """
    raw = store.get(manifest_object(narration_id))
    if raw is None:
        return None
    found = _MANIFEST_HEAD.match(raw)
    return int(found.group(1)) if found else int(json.loads(raw)["duration_ms"])


def audio_sha256(store: Store, narration_id: str, fmt: str) -> str | None:
    """Return the content hash of a narration's audio file, when it exists."""
    raw = store.get(audio_object(narration_id, fmt) + ".sha256")
    return None if raw is None else raw.decode()
