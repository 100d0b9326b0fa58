"""Check an engine's word timings against its own audio: silences, order, bounds."""

from __future__ import annotations

import array
import itertools
import statistics

from service.media import Pcm
from tests.audio_tools import onsets_ms

SENTENCES = (
    "The alliance, founded in 1949 with twelve members, has grown to thirty-two.",
    "Finland joined in April 2023; Sweden followed, after a long wait, in March 2024.",
    "Critics say expansion provoked Moscow, while supporters answer that it deterred it.",
    "Dr. Smith, who studied the talks for years, called the result a quiet revolution.",
)
"""Real sentences with pauses inside (commas, a semicolon), so speech starts after silence."""


def samples_of(pcm: Pcm) -> array.array[int]:
    """Return the PCM's 16-bit samples."""
    samples = array.array("h")
    samples.frombytes(pcm.data)
    return samples


def check_words(pcm: Pcm, text: str) -> None:
    """Assert that the words are in order, inside the audio, not overlapping, and cover ``text``."""
    assert pcm.words is not None, "the engine reported no word timings"
    words = pcm.words
    assert words, "no words"
    assert [w.start_char for w in words] == sorted(w.start_char for w in words)
    for word in words:
        assert 0 <= word.start_char < word.end_char <= len(text)
        assert 0 <= word.start_ms <= word.end_ms <= pcm.duration_ms + 1
    for before, after in itertools.pairwise(words):
        assert before.end_char <= after.start_char
        assert before.end_ms <= after.start_ms + 1e-6, (before, after)


def onset_errors_ms(pcm: Pcm, *, min_gap_ms: float = 100) -> list[float | None]:
    """Return, for each onset of sound after ``min_gap_ms`` of silence, the nearest word start.

    An onset well inside a word (the release of a stop after its closure, say the
    ``t`` of "Doctor" read slowly) starts no word: it is None.
    """
    assert pcm.words is not None
    starts = [word.start_ms for word in pcm.words]
    onsets = onsets_ms(samples_of(pcm), rate=pcm.sample_rate_hz, min_gap_ms=min_gap_ms)
    errors: list[float | None] = []
    for onset in onsets:
        nearest = min(abs(start - onset) for start in starts)
        inside = any(w.start_ms + min_gap_ms < onset < w.end_ms for w in pcm.words)
        errors.append(None if inside and nearest > min_gap_ms else nearest)
    return errors


def check_onsets(pcms: list[Pcm], *, median_ms: float, worst_ms: float) -> None:
    """Assert every onset of sound after a silence has a word start near it."""
    found = [error for pcm in pcms for error in onset_errors_ms(pcm)]
    errors = [error for error in found if error is not None]
    assert len(errors) >= 2, f"too few onsets after a silence to check: {found}"
    # a year read as "two thousand twenty three" has pauses inside one word of the text
    assert len(errors) >= 0.6 * len(found), f"too many onsets inside words: {found}"
    assert statistics.median(errors) <= median_ms, errors
    assert max(errors) <= worst_ms, errors
