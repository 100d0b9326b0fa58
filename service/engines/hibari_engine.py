"""Speak with hibari, a small natural English voice (distilled from Kokoro-82M), offline.

hibari-tts ships the ``heart`` voice, its phonemizer, lexicons and
out-of-vocabulary model in its wheel; its other voices are single model files
(:mod:`service.engines.hibari_model`). This engine gives it one sentence at a
time, the service's own: hibari's sentence splitter never re-splits it, and its
phonemizer runs token by token so every word's phonemes are known
(:mod:`service.engines.hibari_words`). Each sentence's noise is seeded by the
sentence alone, so the same sentence always gives the same samples, whatever
came before it. The model's own durations give each word's start and end.

Constructing the engine, listing voices and asking its version load nothing
but small JSON files; the model and the phonemizer load on first synthesis
(or in :meth:`HibariEngine.warm_up`), in the engine worker, from files the
first worker derived from the package (:mod:`service.engines.derived`).
"""

from __future__ import annotations

import bisect
import logging
import re
import threading
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from service.config import EngineSettings
from service.engines.base import Voice, VoiceSettings, check_voice_settings, preview
from service.engines.derived import derived_folder
from service.engines.hibari_model import (
    DURATION_UNIT_SAMPLES,
    GRAPH_EDITS,
    INSTALL_HINT,
    SAMPLE_RATE_HZ,
    HibariVoiceFile,
    check_file,
    edited_model,
    edits_made_from,
    missing_message,
    open_session,
    package_versions,
    trim_heap,
    voice_files,
)
from service.engines.hibari_words import SentencePhonemes, phonemize
from service.errors import EngineUnavailableError, SynthesisError, VoiceError
from service.media import Pcm, WordTime

logger = logging.getLogger(__name__)

SENTENCE_SEED = 0
"""The noise generator's seed, set afresh for every sentence."""
MAX_PHONEMES = 200
"""Longest phoneme string given to the model at once.

hibari's own limit is 400, but one call's memory grows faster than its length:
a worker reading a real article peaked at 307 MiB with 400 and 277 MiB with 200,
and was no slower (``bench.hibari``). The recogniser of ``bench.voices`` heard
0.071 of the words wrong against 0.065 with 400, a few words in 1,200. Longer
sentences are split at clause punctuation first, then between words.
"""
THREADS = 1
"""onnxruntime threads per worker: the cores are used by one worker process each."""
RATE_TABLE: tuple[tuple[float, float], ...] = (
    (0.5, 84.9),
    (0.6, 101.7),
    (0.7, 118.4),
    (0.8, 135.3),
    (0.9, 152.4),
    (1.0, 169.5),
    (1.1, 185.5),
    (1.2, 201.2),
    (1.3, 216.5),
    (1.4, 231.3),
    (1.5, 245.9),
    (1.6, 260.3),
    (1.7, 273.8),
    (1.8, 287.9),
    (1.9, 300.9),
    (2.0, 314.9),
)
"""(speed, words per minute) measured on real articles (``python -m bench.voices --calibrate``).

Words as shown over each sentence's audio with its leading and trailing
silence trimmed, as the pipeline trims clips (the pauses between sentences are
the pipeline's, the same for every engine). Up to 1.2 the pace is about
170 x speed; above, each phoneme's floor of one unit (25 ms) makes it grow
more slowly, and 2.0 is the fastest the model is meant for.
"""
RATE_WPM_RANGE = (90, 310)
"""The rates hibari voices speak, in words per minute (inside the calibrated range)."""
_CLAUSE_BREAK = re.compile(r"(?<=[,;:—])\s+")


def speed_for_rate(rate_wpm: float) -> float:
    """Return hibari's ``speed`` for a rate in words per minute (interpolated in the table)."""
    speeds = [speed for speed, _ in RATE_TABLE]
    rates = [wpm for _, wpm in RATE_TABLE]
    if rate_wpm <= rates[0]:
        return speeds[0]
    if rate_wpm >= rates[-1]:
        return speeds[-1]
    upper = bisect.bisect_left(rates, rate_wpm)
    low_rate, high_rate = rates[upper - 1], rates[upper]
    low_speed, high_speed = speeds[upper - 1], speeds[upper]
    fraction = (rate_wpm - low_rate) / (high_rate - low_rate)
    return round(low_speed + fraction * (high_speed - low_speed), 4)


@dataclass
class _LoadedVoice:
    """A voice's model session and phonemizer, loaded in this process."""

    session: Any
    g2p: Any
    vocab: dict[str, int]


class HibariEngine:
    """Speak with hibari's voices; one instance per process, each voice loaded once."""

    name = "hibari"
    rate_range_wpm = RATE_WPM_RANGE
    """Slowest and fastest rate the voices take (checked when a narration is planned)."""

    def __init__(self, settings: EngineSettings) -> None:
        """Check that hibari and onnxruntime are installed; load nothing."""
        missing = [
            name
            for name in ("hibari", "onnxruntime", "onnx", "marisa_trie")
            if find_spec(name) is None
        ]
        if missing:
            raise EngineUnavailableError(
                f"the hibari engine needs {' and '.join(missing)}, which is not installed: "
                f"{INSTALL_HINT}"
            )
        self._settings = settings
        self._lock = threading.Lock()
        self._loaded: dict[str, _LoadedVoice] = {}
        self._g2p: dict[bool, Any] = {}
        self._vocab: dict[str, int] | None = None
        self._version: str | None = None

    def version(self) -> str:
        """Return what changes hibari's samples: packages, FFT, threads, graph edits, voices."""
        if self._version is None:
            files = [
                f"{voice.name}={voice.sha256[:16]}"
                for voice in self._files().values()
                if voice.path is not None
            ]
            self._version = (
                f"{package_versions()}; threads {THREADS}; graph {GRAPH_EDITS}; "
                f"seed {SENTENCE_SEED} per sentence; pieces of {MAX_PHONEMES} phonemes; "
                f"voices {', '.join(files)}"
            )
        return self._version

    def voices(self) -> list[Voice]:
        """Return every voice of hibari's registry; those without their file are not installed."""
        listed = []
        for voice in self._files().values():
            languages = (voice.language, voice.language.split("-")[0])
            name = f"{voice.name.title()} ({voice.accent} English, {voice.gender})"
            installed = voice.path is not None
            listed.append(
                Voice(
                    voice_id=f"{self.name}:{voice.name}",
                    name=name,
                    languages=languages,
                    gender=voice.gender or None,
                    installed=installed,
                    detail=(
                        voice.state
                        if installed
                        else missing_message(voice, self._settings.hibari_voices_dir)
                    ),
                )
            )
        return listed

    def phonemes(self, ipa: str, settings: VoiceSettings) -> str:
        """Return ``ipa`` in misaki's alphabet (raise PhonemeError when it has no such phoneme)."""
        from service.engines.phonemes import ipa_to_misaki

        return ipa_to_misaki(ipa)

    def warm_up(self, voice: str | None = None) -> None:
        """Load ``voice`` (``heart`` by default) and speak a word: real sentences start fast."""
        files = self._files()
        name = voice if voice in files and files[voice].path is not None else "heart"
        self.synthesize("Ready.", VoiceSettings(voice_id=f"{self.name}:{name}"))

    def synthesize(self, text: str, settings: VoiceSettings) -> Pcm:
        """Turn one sentence into 24 kHz mono 16-bit PCM, with each word's time."""
        check_voice_settings(settings)
        check_rate(settings)
        return self.synthesize_at(text, settings, speed_for_rate(settings.rate_wpm))

    def synthesize_at(self, text: str, settings: VoiceSettings, speed: float) -> Pcm:
        """Do what :meth:`synthesize` does at hibari's own ``speed`` (for its calibration)."""
        loaded = self._voice(settings)
        if not text.strip():
            return Pcm(b"", SAMPLE_RATE_HZ, words=())
        import numpy as np
        from hibari import dsp

        with self._lock:
            said = phonemize(loaded.g2p, text)
            rng = np.random.default_rng(SENTENCE_SEED)
            parts: list[Any] = []
            starts: dict[int, int] = {}
            ends: dict[int, int] = {}
            base = 0
            for offset, piece in _pieces(said.phonemes):
                ids = [0]
                position: dict[int, int] = {}
                for index, char in enumerate(piece):
                    found = loaded.vocab.get(char)
                    if found is not None:
                        position[offset + index] = len(ids)
                        ids.append(found)
                ids.append(0)
                if len(ids) < 3:
                    continue
                try:
                    outputs = loaded.session.run(
                        None,
                        {
                            "ids": np.asarray([ids], np.int64),
                            "speed": np.asarray([speed], np.float32),
                        },
                    )
                    audio = dsp.synth(*(output[0] for output in outputs[:6]), rng)
                except Exception as error:  # onnxruntime raises its own types
                    raise SynthesisError(f"hibari failed on {preview(text)}: {error}") from error
                bounds = np.cumsum(outputs[6].reshape(-1)) * DURATION_UNIT_SAMPLES
                if int(bounds[-1]) != len(audio):
                    raise SynthesisError(
                        f"hibari's durations ({int(bounds[-1])} samples) do not add up to its "
                        f"audio ({len(audio)}) for {preview(text)}"
                    )
                for char_index, id_index in position.items():
                    starts[char_index] = base + int(bounds[id_index - 1])
                    ends[char_index] = base + int(bounds[id_index])
                parts.append(audio)
                base += len(audio)
            samples = np.concatenate(parts) if parts else np.zeros(0, np.float32)
            if settings.volume != 1.0:
                samples = samples * np.float32(settings.volume)
            data = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
            del parts, samples
            trim_heap()
        return Pcm(data, SAMPLE_RATE_HZ, words=_word_times(said, starts, ends))

    def _files(self) -> dict[str, HibariVoiceFile]:
        return {voice.name: voice for voice in voice_files(self._settings.hibari_voices_dir)}

    def _voice(self, settings: VoiceSettings) -> _LoadedVoice:
        """Return the loaded voice ``settings`` names, loading it on first use."""
        if settings.engine != self.name:
            raise VoiceError(f"voice {settings.voice_id!r} is not a {self.name} voice")
        name = settings.engine_voice.lower()
        with self._lock:
            loaded = self._loaded.get(name)
            if loaded is not None:
                return loaded
            files = self._files()
            voice = files.get(name)
            if voice is None:
                raise VoiceError(
                    f"unknown hibari voice {settings.engine_voice!r}; hibari's voices are "
                    f"{', '.join(sorted(files))}"
                )
            if voice.path is None:
                raise VoiceError(missing_message(voice, self._settings.hibari_voices_dir))
            path = check_file(voice)
            loaded = _LoadedVoice(
                self._session(path, voice.sha256),
                self._phonemizer(voice.british),
                self._load_vocab(),
            )
            self._loaded[name] = loaded
            logger.debug("loaded the hibari voice %s from %s", name, path)
            return loaded

    def _session(self, path: Path, sha256: str) -> Any:
        """Return the voice's session, its edited model read from the engine cache."""

        def build(into: Path) -> None:
            (into / "model.onnx").write_bytes(edited_model(path))

        made_from = edits_made_from(path, sha256)
        folder = derived_folder(self._settings, "hibari-model", made_from, build)
        return open_session(folder / "model.onnx" if folder else edited_model(path), THREADS)

    def _phonemizer(self, british: bool) -> Any:
        """Return the phonemizer (American or British), its tries mapped from the engine cache."""
        g2p = self._g2p.get(british)
        if g2p is not None:
            return g2p
        try:
            from hibari.g2p import G2P

            from service.engines.hibari_compact import (
                compact_phonemizer,
                mapped_phonemizer,
                save_phonemizer,
                tries_made_from,
            )
        except ImportError as error:
            raise EngineUnavailableError(
                f"the hibari engine cannot load ({error}): {INSTALL_HINT}"
            ) from error

        def build(into: Path) -> None:
            save_phonemizer(compact_phonemizer(G2P(british=british)), into)

        made_from = tries_made_from(british)
        folder = derived_folder(self._settings, "hibari-phonemizer", made_from, build)
        g2p = mapped_phonemizer(folder) if folder else compact_phonemizer(G2P(british=british))
        trim_heap()  # the dicts it was built from are gone
        self._g2p[british] = g2p
        return g2p

    def _load_vocab(self) -> dict[str, int]:
        if self._vocab is None:
            import json

            from service.engines.hibari_model import hibari_assets

            path = hibari_assets() / "vocab.json"
            self._vocab = {str(k): int(v) for k, v in json.loads(path.read_text("utf-8")).items()}
        return self._vocab


def check_rate(settings: VoiceSettings) -> None:
    """Raise :class:`VoiceError` when the rate is outside what hibari voices speak."""
    low, high = RATE_WPM_RANGE
    if not low <= settings.rate_wpm <= high:
        raise VoiceError(
            f"rate {settings.rate_wpm} words per minute is out of range for hibari voices "
            f"({low} to {high})"
        )


def _pieces(phonemes: str) -> list[tuple[int, str]]:
    """Split a long phoneme string as hibari does: at clause punctuation, then at spaces.

    Return each piece with its offset in ``phonemes``; pieces hold at most
    :data:`MAX_PHONEMES` characters unless one word is longer.
    """
    if len(phonemes) <= MAX_PHONEMES:
        return [(0, phonemes)] if phonemes else []
    parts: list[tuple[int, int]] = []
    start = 0
    for found in _CLAUSE_BREAK.finditer(phonemes):
        parts.append((start, found.start()))
        start = found.end()
    parts.append((start, len(phonemes)))
    split: list[tuple[int, int]] = []
    for first, last in parts:
        while last - first > MAX_PHONEMES:
            cut = phonemes.rfind(" ", first, first + MAX_PHONEMES)
            if cut <= first:
                break
            split.append((first, cut))
            first = cut + 1
        split.append((first, last))
    pieces: list[tuple[int, int]] = []
    for first, last in split:
        if pieces and last - pieces[-1][0] <= MAX_PHONEMES:
            pieces[-1] = (pieces[-1][0], last)
        else:
            pieces.append((first, last))
    return [(first, phonemes[first:last]) for first, last in pieces if last > first]


def _word_times(
    said: SentencePhonemes, starts: dict[int, int], ends: dict[int, int]
) -> tuple[WordTime, ...]:
    """Return each sounding word's time span, from its phonemes' sample bounds."""
    words = []
    for (start_char, end_char), indices in zip(said.words, said.word_phonemes, strict=True):
        heard = [index for index in indices if index in starts]
        if not heard:
            continue  # a symbol or emoji the voice does not say
        first = min(starts[index] for index in heard)
        last = max(ends[index] for index in heard)
        words.append(
            WordTime(
                start_char=start_char,
                end_char=end_char,
                start_ms=first * 1000.0 / SAMPLE_RATE_HZ,
                end_ms=last * 1000.0 / SAMPLE_RATE_HZ,
            )
        )
    return tuple(words)
