"""Name the objects a narration leaves in the store."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from service.store import Store


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
    manifest: dict[str, Any]
    """Timings and metadata (the content of ``timings.json``)."""
    cached: bool
    """True when nothing had to be made."""

    @property
    def duration_ms(self) -> int:
        """Return the audio duration."""
        return int(self.manifest["duration_ms"])


def audio_object(narration_id: str, fmt: str) -> str:
    """Return the store key of a narration's audio in ``fmt``."""
    return narration_object(narration_id, f"audio.{fmt}")


def read_manifest(store: Store, narration_id: str) -> dict[str, Any] | None:
    """Return a finished narration's manifest, or None."""
    raw = store.get(manifest_object(narration_id))
    return None if raw is None else dict(json.loads(raw))


def audio_sha256(store: Store, narration_id: str, fmt: str) -> str | None:
    """Return the content hash of a narration's audio file, when it exists."""
    raw = store.get(audio_object(narration_id, fmt) + ".sha256")
    return None if raw is None else raw.decode()
