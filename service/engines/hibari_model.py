"""hibari's voices on disk and its ONNX model, with the duration predictor exposed.

hibari (PyPI ``hibari-tts``) ships the ``heart`` voice in its wheel and names
four more in its own registry (``assets/voices.json``: file, size, sha256),
which its code would download on first use. Here nothing is downloaded: a voice
other than ``heart`` is used when its file is in the folder
``LISTEN_HIBARI_VOICES_DIR`` names and matches the registry's size and sha256.

The model predicts each phoneme's duration before it makes any sound: a
``Round`` of the scaled prediction, clipped to at least one unit and cast to
integers, feeds the ``CumSum`` that spreads phonemes over frames. One unit is
600 samples (25 ms at 24 kHz), and the durations add up to the samples made
exactly. That tensor is added as an extra graph output (the ``onnx`` package,
once: the engine keeps the edited model in the engine cache,
:mod:`service.engines.derived`), which gives the engine's own word timings. The
``Round`` is replaced by a cumulative rounding, because the distilled
predictor's durations are near-integers: rounded one by one, ``speed`` moved
the pace in steps (1.0 to 1.3 changed little, 1.35 jumped), while rounding the
running total keeps every phoneme within half a unit of its exact time and the
length follows ``1 / speed`` smoothly.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.errors import EngineUnavailableError, VoiceError

SAMPLE_RATE_HZ = 24_000
"""What hibari's vocoder makes: mono float samples, turned into 16-bit PCM here."""
DURATION_UNIT_SAMPLES = 600
"""Samples of one predicted duration unit (two STFT hops of 300)."""
GRAPH_EDITS = "durations output; cumulative rounding"
"""What :func:`load_session` changes in the graph (part of the engine's version)."""
INSTALL_HINT = "pip install hibari-tts onnx onnxruntime"
"""How to install what this engine needs."""


@dataclass(frozen=True)
class HibariVoiceFile:
    """One voice of hibari's registry and where its model is (or would be) on disk."""

    name: str
    """The registry's name (``heart``, ``fenrir``)."""
    file_name: str
    """The model's file name (``am_fenrir_v2.int8.onnx``)."""
    size_bytes: int
    """The model's size, from the registry."""
    sha256: str
    """The model's SHA-256, from the registry."""
    language: str
    """Language tag, lower case (``en-us``, ``en-gb``)."""
    accent: str
    """``American`` or ``British``."""
    gender: str
    """``female`` or ``male``."""
    british: bool
    """Whether the voice reads with the British phonemizer (its lexicons load separately)."""
    bundled: bool
    """Whether the model is inside hibari's wheel."""
    path: Path | None
    """The model file found for it, or None when it is not there."""

    found_wrong: Path | None = None
    """A file of the voice's name whose size or sha256 is not the registry's."""

    @property
    def state(self) -> str:
        """Return ``in the package``, ``installed``, ``wrong file`` or ``not installed``."""
        if self.path is not None:
            return "in the package" if self.bundled else "installed"
        return "wrong file" if self.found_wrong is not None else "not installed"


def hibari_assets() -> Path:
    """Return hibari's ``assets`` folder (found without importing hibari)."""
    from importlib.util import find_spec

    spec = find_spec("hibari")
    if spec is None or spec.origin is None:
        raise EngineUnavailableError(
            f"the hibari engine needs hibari-tts, which is not installed: {INSTALL_HINT}"
        )
    return Path(spec.origin).parent / "assets"


@functools.cache
def registry() -> dict[str, dict[str, Any]]:
    """Return hibari's voice registry (``assets/voices.json``), read without importing hibari."""
    path = hibari_assets() / "voices.json"
    try:
        found: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise EngineUnavailableError(
            f"hibari's voice registry {path} is unreadable: {error}"
        ) from error
    return found


def voice_files(voices_dir: str) -> list[HibariVoiceFile]:
    """Return every voice of the registry, with the file found for it in the wheel or the folder.

    A file in the folder counts only when its size and sha256 match the
    registry's (hashed once per file version, about 20 ms each).
    """
    assets = hibari_assets()
    folder = Path(voices_dir).expanduser() if voices_dir else None
    found = []
    for name, entry in registry().items():
        bundled = bool(entry.get("bundled"))
        candidate = assets / entry["file"] if bundled else None
        if not bundled and folder is not None:
            candidate = folder / entry["file"]
        path = wrong = None
        if candidate is not None and candidate.is_file():
            if bundled or _matches(candidate, int(entry["bytes"]), str(entry["sha256"])):
                path = candidate
            else:
                wrong = candidate
        found.append(
            HibariVoiceFile(
                name=name,
                file_name=entry["file"],
                size_bytes=int(entry["bytes"]),
                sha256=str(entry["sha256"]),
                language=str(entry["language"]).lower(),
                accent=str(entry.get("accent", "")),
                gender=str(entry.get("gender", "")),
                british=bool(entry.get("british")),
                bundled=bundled,
                path=path,
                found_wrong=wrong,
            )
        )
    return found


def missing_message(voice: HibariVoiceFile, voices_dir: str) -> str:
    """Say that a voice is not installed, and which file to put where."""
    if voice.found_wrong is not None:
        return (
            f"{voice.found_wrong} is not hibari's {voice.name} voice: its size or sha256 does "
            f"not match hibari's registry ({voice.size_bytes} bytes, sha256 "
            f"{voice.sha256[:12]}...)"
        )
    where = f" ({voices_dir})" if voices_dir else " (it is unset)"
    return (
        f"the hibari voice {voice.name!r} is not installed: put {voice.file_name} "
        f"({voice.size_bytes / 1e6:.1f} MB, from hibari's voice registry) in the folder "
        f"LISTEN_HIBARI_VOICES_DIR names{where}"
    )


@functools.cache
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    with open(path, "rb") as opened:
        return hashlib.file_digest(opened, "sha256").hexdigest()


def _matches(path: Path, size: int, sha256: str) -> bool:
    stat = path.stat()
    return (
        stat.st_size == size and _file_sha256(str(path), stat.st_size, stat.st_mtime_ns) == sha256
    )


def check_file(voice: HibariVoiceFile) -> Path:
    """Return the voice's model file after checking it against the registry's sha256."""
    if voice.path is None:
        raise VoiceError(f"the hibari voice {voice.name!r} is not installed")
    stat = voice.path.stat()
    digest = _file_sha256(str(voice.path), stat.st_size, stat.st_mtime_ns)
    if digest != voice.sha256:
        raise VoiceError(
            f"{voice.path} is not hibari's {voice.name} voice: its sha256 {digest[:12]}... "
            f"does not match {voice.sha256[:12]}... in hibari's registry"
        )
    return voice.path


def duration_output(model: Any) -> str:
    """Return the name of the integer durations: ``Round`` -> ``Clip`` -> ``Cast`` -> ``CumSum``.

    Found by the graph's shape, not by node names, which differ between exports.
    """
    consumers: dict[str, list[Any]] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    for node in model.graph.node:
        if node.op_type != "Round":
            continue
        output = node.output[0]
        for _ in range(4):
            following = consumers.get(output, [])
            if any(n.op_type == "CumSum" for n in following):
                return str(output)
            steps = [n for n in following if n.op_type in ("Clip", "Cast", "Max")]
            if not steps:
                break
            output = steps[0].output[0]
    raise EngineUnavailableError("this hibari model has no duration predictor (Round -> CumSum)")


def _round_cumulatively(model: Any) -> None:
    """Replace the durations' ``Round`` by ``round(cumsum) - round(cumsum - x)`` (in place)."""
    import numpy as np
    from onnx import helper, numpy_helper

    node = next(n for n in model.graph.node if n.op_type == "Round")
    scaled, rounded = node.input[0], node.output[0]
    model.graph.initializer.append(numpy_helper.from_array(np.array(-1, np.int64), "listen_axis"))
    replacement = [
        helper.make_node("CumSum", [scaled, "listen_axis"], ["listen_total"]),
        helper.make_node("Sub", ["listen_total", scaled], ["listen_before"]),
        helper.make_node("Round", ["listen_total"], ["listen_total_rounded"]),
        helper.make_node("Round", ["listen_before"], ["listen_before_rounded"]),
        helper.make_node("Sub", ["listen_total_rounded", "listen_before_rounded"], [rounded]),
    ]
    position = list(model.graph.node).index(node)
    model.graph.node.remove(node)
    for offset, new in enumerate(replacement):
        model.graph.node.insert(position + offset, new)


def edited_model(model_path: Path) -> bytes:
    """Return the voice's model with its durations as a 7th output, cumulatively rounded."""
    try:
        import onnx
        from onnx import TensorProto, helper
    except ImportError as error:
        raise EngineUnavailableError(
            f"the hibari engine cannot load its model ({error}): {INSTALL_HINT}"
        ) from error
    model = onnx.load(str(model_path))
    durations = duration_output(model)
    _round_cumulatively(model)
    model.graph.output.append(helper.make_tensor_value_info(durations, TensorProto.INT64, None))
    edited: bytes = model.SerializeToString()
    return edited


def edits_made_from(model_path: Path, sha256: str) -> str:
    """Return what :func:`edited_model`'s output depends on (names its files on disk)."""
    from importlib import metadata

    try:
        onnx_version = metadata.version("onnx")
    except metadata.PackageNotFoundError as error:
        raise EngineUnavailableError(
            f"the hibari engine needs onnx, which is not installed: {INSTALL_HINT}"
        ) from error
    return f"{model_path.name} sha256 {sha256}; {GRAPH_EDITS}; onnx {onnx_version}"


def open_session(model: bytes | Path, threads: int) -> Any:
    """Return an onnxruntime session of an edited model (its bytes, or a file of them)."""
    try:
        import onnxruntime
    except ImportError as error:
        raise EngineUnavailableError(
            f"the hibari engine cannot load its model ({error}): {INSTALL_HINT}"
        ) from error
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # The CPU arena keeps the largest block it ever allocated: one long sentence would
    # hold a worker ~100 MB larger for good. Without it, memory goes back after each call.
    options.enable_cpu_mem_arena = False
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    source = str(model) if isinstance(model, Path) else model
    return onnxruntime.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def package_versions() -> str:
    """Return the versions of everything below hibari that changes its samples."""
    from importlib import metadata

    try:
        parts = [
            f"hibari-tts {metadata.version('hibari-tts')}",
            f"onnxruntime {metadata.version('onnxruntime')}",
            f"numpy {metadata.version('numpy')}",
            f"fft {_fft_backend()}",
        ]
    except metadata.PackageNotFoundError as error:
        raise EngineUnavailableError(
            f"the hibari engine needs {error.name}, which is not installed: {INSTALL_HINT}"
        ) from error
    return "; ".join(parts)


def _fft_backend() -> str:
    """Return the FFT hibari's vocoder uses (scipy's when importable, else numpy's), cheaply.

    The two give different bytes; hibari picks scipy when it can import it.
    """
    from importlib.util import find_spec

    if find_spec("scipy") is None:
        return "numpy"
    from importlib import metadata

    return f"scipy {metadata.version('scipy')}"


def trim_heap() -> None:
    """Give freed memory back to the system (glibc keeps it after a long sentence)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Any:
    """Return glibc's ``malloc_trim``, or None where the C library has none."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        return getattr(ctypes.CDLL(None), "malloc_trim", None)
    except OSError:
        return None
