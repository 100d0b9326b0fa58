"""Write WebVTT captions: one cue per sentence."""

from __future__ import annotations

from collections.abc import Iterable


def vtt_time(ms: float) -> str:
    """Format milliseconds as a WebVTT timestamp (``HH:MM:SS.mmm``)."""
    total = max(0, round(ms))
    hours, rest = divmod(total, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def _cue_text(text: str) -> str:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return " ".join(escaped.split())


def webvtt(cues: Iterable[tuple[float, float, str]]) -> str:
    """Return a WebVTT document for ``(start_ms, end_ms, text)`` cues."""
    lines = ["WEBVTT", ""]
    for number, (start_ms, end_ms, text) in enumerate(cues, start=1):
        lines += [str(number), f"{vtt_time(start_ms)} --> {vtt_time(end_ms)}", _cue_text(text), ""]
    return "\n".join(lines)
