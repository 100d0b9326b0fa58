"""Name the objects a narration leaves in the store."""

from __future__ import annotations

NARRATION_FILES = ("audio.mp3", "audio.ogg", "audio.wav", "timings.json", "captions.vtt")


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
