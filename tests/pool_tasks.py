"""Task functions the pool tests run in spawned workers (spawn pickles them by reference)."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from service.engines.pyttsx3_engine import Pyttsx3Engine, mapped_espeak_libraries
from service.engines.registry import resolve_engine
from service.errors import VoiceError


def square(number: int) -> int:
    """Return ``number`` squared."""
    return number * number


def sleep_then_return(seconds: float, value: int) -> int:
    """Return ``value`` after ``seconds``."""
    time.sleep(seconds)
    return value


def worker_pid() -> int:
    """Return the pid of the worker running this task."""
    return os.getpid()


def hang(attempts_dir: str) -> None:
    """Record one attempt, then never return."""
    (Path(attempts_dir) / str(os.getpid())).touch()
    time.sleep(3600)


def die_once(marker: str) -> int:
    """Kill this worker the first time (recording its pid in ``marker``); then return the pid."""
    marker_path = Path(marker)
    if not marker_path.exists():
        marker_path.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return os.getpid()


def fail_with_voice_error(attempts_dir: str) -> None:
    """Record one attempt, then raise an error of the task's own."""
    (Path(attempts_dir) / f"{os.getpid()}-{time.monotonic_ns()}").touch()
    raise VoiceError("no such voice in this test")


def has_pytest_loaded() -> bool:
    """Return True when this worker inherited the parent's modules (it was forked)."""
    return "pytest" in sys.modules


def _warm_pyttsx3() -> Pyttsx3Engine:
    """Return this worker's pyttsx3 engine with eSpeak NG loaded."""
    from service.engines import pool

    engine = resolve_engine("pyttsx3", pool._worker_settings)  # the one its tasks use
    assert isinstance(engine, Pyttsx3Engine)
    engine.warm_up()
    return engine


def pyttsx3_voice_list() -> list[tuple[str, str, str]]:
    """Return (id, name, first language) of every voice pyttsx3's eSpeak driver lists."""
    _warm_pyttsx3()
    import pyttsx3

    # The engine holds the driver, so init() returns that same one.
    voices = pyttsx3.init("espeak").getProperty("voices")
    return [(voice.id, voice.name, (voice.languages or [""])[0]) for voice in voices]


def engine_version() -> str:
    """Return the pyttsx3 engine's version as seen with eSpeak NG loaded."""
    return _warm_pyttsx3().version()


def loaded_espeak_libraries() -> list[str]:
    """Return the libespeak files mapped into this worker after a synthesis."""
    _warm_pyttsx3()
    return sorted(mapped_espeak_libraries())


def has_module(name: str) -> bool:
    """Return True when this worker has imported the module ``name``."""
    return name in sys.modules


def note(path: str, name: str) -> None:
    """Append ``name`` as a line to the file ``path``: the order tasks ran in."""
    with open(path, "a", encoding="utf-8") as lines:
        lines.write(name + "\n")
