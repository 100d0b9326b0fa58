"""Estimate when each word of a sentence is heard, for engines that do not say.

The words are spread over the sentence's speech (its audio less the silence at
either end) by how long each takes to say: its letters, more for a spelled
acronym, much more for a number ("1990" is four syllables), and a pause after
a comma or a full stop. Silences inside the speech (60 ms or more) are matched
to the word boundaries most likely to hold them, punctuation first, so the
words between two pauses are spread between them.

Measured against eSpeak NG's own word events on the same clips (25,913 words
of real English articles, ``python -m bench.words``): word starts fall a median
83 ms (p90 285 ms) from eSpeak's, against 131 ms (p90 547 ms) for words spread
by characters over the whole clip. Weighing by vowel groups (syllables)
instead of letters did worse in a side-by-side run (127 ms median against
102 ms for letters). Engines that
report their own word times are used as they report them; this is the
fallback.
"""

from __future__ import annotations

import re

from service.audio.pydub_setup import audioop
from service.media import WordTime
from service.text.lexicon.marks import blank_marks
from service.text.words import word_spans

WINDOW_MS = 5
"""Loudness is measured over windows of this length."""
SILENCE_DBFS = -45.0
"""A window whose peak is quieter than this is silent (clips are levelled to about -20 dBFS)."""
MIN_PAUSE_MS = 60
"""A silence inside the speech at least this long may be a pause between words."""

# Weights, in letters of an ordinary word: fitted on eSpeak NG's word events.
_PER_WORD = 0.25
_PER_LETTER = 1.0
_PER_SPELLED_LETTER = 1.8
_PER_DIGIT = 6.0
_PAUSE_AFTER = {",": 4.6, ";": 7.3, ":": 7.3, ".": 6.7, "!": 6.7, "?": 6.7}
_CLOSING = "\"'”’»)]}"
_SKIPPED_PAUSE_COST = 150.0
"""Cost (in ms of misplacement) of a silence left unmatched: a stop consonant, not a pause."""
_SKIPPED_PER_MS = 2.0
"""...and of a long one, per ms of it: a long silence is a pause, wherever the letters put it."""
_PUNCTUATION_BONUS = 80.0
"""How much more a silence is worth at a word that ends in punctuation."""
_LETTERS = re.compile(r"[^\W\d_]")
_DIGITS = re.compile(r"\d")


def estimate_words(text: str, samples: bytes, sample_rate_hz: int) -> tuple[WordTime, ...]:
    """Estimate each word's time in a sentence's audio (16-bit mono ``samples``).

    ``text`` is what the engine was given; offsets are into it, times from the
    start of ``samples``.
    """
    spans = word_spans(blank_marks(text))
    if not spans:
        return ()
    sounds, pauses = zip(*(_weights(text[start:end]) for start, end in spans), strict=True)
    levels = _window_peaks(samples, sample_rate_hz)
    threshold = 32768 * 10 ** (SILENCE_DBFS / 20)
    loud = [index for index, peak in enumerate(levels) if peak > threshold]
    duration_ms = 1000 * len(samples) / 2 / sample_rate_hz
    speech: tuple[float, float]
    if loud:
        speech = (loud[0] * WINDOW_MS, min(duration_ms, (loud[-1] + 1) * WINDOW_MS))
        silences = _silences(levels, threshold, loud[0], loud[-1] + 1)
    else:
        speech, silences = (0.0, duration_ms), []
    starts, _ = _spread(sounds, pauses, speech[0], speech[1])
    anchors = _anchor(silences, starts, pauses)
    times: list[tuple[float, float]] = []
    first, start_ms = 0, float(speech[0])
    for word, (pause_start, pause_end) in [*anchors, (len(spans) - 1, (speech[1], speech[1]))]:
        stretch = range(first, word + 1)
        begins, ends = _spread(
            [sounds[i] for i in stretch], [pauses[i] for i in stretch], start_ms, pause_start
        )
        times += zip(begins, ends, strict=True)
        first, start_ms = word + 1, pause_end
    return tuple(
        WordTime(start, end, begin, finish)
        for (start, end), (begin, finish) in zip(spans, times, strict=True)
    )


def _weights(word: str) -> tuple[float, float]:
    """Return how long ``word`` takes to say, and the pause after it, in letters."""
    letters = _LETTERS.findall(word)
    spelled = len(letters) > 1 and "".join(letters).isupper()
    sound = _PER_WORD + len(letters) * (_PER_SPELLED_LETTER if spelled else _PER_LETTER)
    sound += len(_DIGITS.findall(word)) * _PER_DIGIT
    return sound, _PAUSE_AFTER.get(word.rstrip(_CLOSING)[-1:], 0.0)


def _window_peaks(samples: bytes, sample_rate_hz: int) -> list[int]:
    """Return the peak magnitude of each :data:`WINDOW_MS` window of 16-bit samples."""
    step = 2 * max(1, sample_rate_hz * WINDOW_MS // 1000)
    whole = samples[: len(samples) // 2 * 2]
    return [audioop.max(whole[index : index + step], 2) for index in range(0, len(whole), step)]


def _silences(
    levels: list[int], threshold: float, first: int, end: int
) -> list[tuple[float, float]]:
    """Return the silences of :data:`MIN_PAUSE_MS` or more between windows ``first`` and ``end``."""
    found: list[tuple[float, float]] = []
    quiet_from: int | None = None
    for index in range(first, end):
        if levels[index] <= threshold:
            quiet_from = index if quiet_from is None else quiet_from
            continue
        if quiet_from is not None and (index - quiet_from) * WINDOW_MS >= MIN_PAUSE_MS:
            found.append((quiet_from * WINDOW_MS, index * WINDOW_MS))
        quiet_from = None
    return found


def _spread(
    sounds: list[float] | tuple[float, ...],
    pauses: list[float] | tuple[float, ...],
    start_ms: float,
    end_ms: float,
) -> tuple[list[float], list[float]]:
    """Spread words over ``start_ms``..``end_ms`` by weight; return their starts and ends.

    The pause after the last word is not part of the stretch.
    """
    last = len(sounds) - 1
    total = sum(sounds) + sum(pauses[:last])
    scale = max(0.0, end_ms - start_ms) / total if total > 0 else 0.0
    begins: list[float] = []
    ends: list[float] = []
    at = start_ms
    for index, (sound, pause) in enumerate(zip(sounds, pauses, strict=True)):
        begins.append(at)
        ends.append(at + sound * scale)
        at += (sound + (pause if index < last else 0.0)) * scale
    return begins, ends


def _anchor(
    silences: list[tuple[float, float]], starts: list[float], pauses: tuple[float, ...]
) -> list[tuple[int, tuple[float, float]]]:
    """Match silences to word boundaries, in order; return (word before, silence) pairs.

    A silence goes to the boundary whose expected time (``starts`` of the next
    word) is nearest its end, favouring words that end in punctuation; one
    near no boundary is left unmatched (a stop consonant, not a pause).
    """
    boundaries = len(starts) - 1
    if not silences or boundaries < 1:
        return []

    def cost(silence: int, boundary: int) -> float:
        bonus = _PUNCTUATION_BONUS if pauses[boundary] > 0 else 0.0
        return 0.5 * abs(silences[silence][1] - starts[boundary + 1]) - bonus

    # best[s][b]: the least cost of placing the first s silences among the first b boundaries
    rows, cols = len(silences) + 1, boundaries + 1
    best = [[0.0] * cols for _ in range(rows)]
    move = [[""] * cols for _ in range(rows)]
    for s in range(1, rows):
        start, end = silences[s - 1]
        skipped = max(_SKIPPED_PAUSE_COST, _SKIPPED_PER_MS * (end - start))
        best[s][0] = best[s - 1][0] + skipped
        move[s][0] = "skip"
        for b in range(1, cols):
            options = (
                (best[s - 1][b] + skipped, "skip"),
                (best[s][b - 1], "next"),
                (best[s - 1][b - 1] + cost(s - 1, b - 1), "match"),
            )
            best[s][b], move[s][b] = min(options, key=lambda option: option[0])
    anchors: list[tuple[int, tuple[float, float]]] = []
    s, b = rows - 1, cols - 1
    while s > 0:
        if move[s][b] == "match":
            anchors.append((b - 1, silences[s - 1]))
            s, b = s - 1, b - 1
        elif move[s][b] == "next":
            b -= 1
        else:
            s -= 1
    anchors.reverse()
    return anchors
