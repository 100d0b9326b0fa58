"""Write WebVTT captions: one cue per sentence, with a timestamp where each word starts.

Word timestamps inside a cue (``<00:00:01.250>``) are WebVTT's karaoke form:
players that know them show the words said so far as past and the rest as
future (the ``:past`` and ``:future`` pseudo-classes); players that do not
show the cue as plain text.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Cue:
    """One sentence's caption."""

    start_ms: float
    """When the sentence starts."""
    end_ms: float
    """When the sentence ends."""
    text: str
    """The sentence as shown."""
    words: tuple[tuple[int, float], ...] = ()
    """Where each word starts in ``text`` (a character offset) and when it is heard."""


def vtt_time(ms: float) -> str:
    """Format milliseconds as a WebVTT timestamp (``HH:MM:SS.mmm``)."""
    total = max(0, round(ms))
    hours, rest = divmod(total, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cue_text(cue: Cue) -> str:
    """Return the cue's text on one line, a timestamp before each word after the first.

    A timestamp must lie strictly inside the cue and after the one before it,
    so a word that starts with the cue (or with the word before it) gets none.
    """
    pieces: list[str] = []
    position = 0
    last_ms = round(cue.start_ms)
    for offset, start_ms in sorted(cue.words):
        at = round(start_ms)
        if not position < offset < len(cue.text) or not last_ms < at < round(cue.end_ms):
            continue
        pieces += [_escaped(cue.text[position:offset]), f"<{vtt_time(at)}>"]
        position, last_ms = offset, at
    pieces.append(_escaped(cue.text[position:]))
    return " ".join("".join(pieces).split())


def webvtt(cues: Iterable[Cue]) -> str:
    """Return a WebVTT document for ``cues``."""
    lines = ["WEBVTT", ""]
    for number, cue in enumerate(cues, start=1):
        lines += [
            str(number),
            f"{vtt_time(cue.start_ms)} --> {vtt_time(cue.end_ms)}",
            _cue_text(cue),
            "",
        ]
    return "\n".join(lines)
