"""Find engines by name: the entry points of the group ``listen.engines``.

Every engine, ours included, is a class registered in some installed
distribution's metadata, as pytest and Datasette find their plugins::

    [project.entry-points."listen.engines"]
    pyttsx3 = "service.engines.pyttsx3_engine:Pyttsx3Engine"
    piper = "service.engines.piper_engine:PiperEngine"

so a third party adds an engine by installing a package that declares one.
The module is imported only when the engine is first chosen, and the class is
called with the process's :class:`~service.config.EngineSettings`.
Constructing an engine must stay cheap and must not load native libraries or
models: listing voices and asking the version happen in the web server too,
and eSpeak NG must never be loaded before a fork. Engines load those on first
synthesis, or in an optional ``warm_up()`` that the worker pool calls in each
new worker. An engine whose heavy dependency is missing raises
:class:`~service.errors.EngineUnavailableError` naming what installs it.
"""

from __future__ import annotations

import functools
import importlib
import os
import threading
from dataclasses import dataclass

from service.config import EngineSettings
from service.engines.base import Engine
from service.errors import EngineUnavailableError

ENTRY_POINT_GROUP = "listen.engines"
"""The entry-point group engines are registered in."""
DEFAULT_ENGINE = "pyttsx3"
"""The engine preferred when several offer a voice; it is a core dependency."""


@dataclass(frozen=True)
class Registration:
    """Where a registered engine's class lives, and which distribution registered it."""

    target: str
    """``module:Class``, the entry point's value."""
    distribution: str
    """The installed distribution that declares it (named in install hints)."""


_instances: dict[tuple[str, EngineSettings], Engine] = {}
_instances_pid = os.getpid()
_instances_lock = threading.Lock()
_handed_over: dict[str, Registration] | None = None
"""The table a worker got from the process that started it (see :func:`adopt_registrations`)."""


def registrations() -> dict[str, Registration]:
    """Return the registered engines by name (the first distribution on ``sys.path`` wins)."""
    return _handed_over if _handed_over is not None else _discovered()


@functools.cache
def _discovered() -> dict[str, Registration]:
    # importlib.metadata and the scan of every installed distribution cost tens of
    # milliseconds: only when an engine is first needed, and never in engine workers
    from importlib.metadata import entry_points

    found: dict[str, Registration] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        distribution = entry.dist.name if entry.dist is not None else "the package registering it"
        found.setdefault(entry.name, Registration(entry.value, distribution))
    return found


def adopt_registrations(table: dict[str, Registration]) -> None:
    """Use ``table`` instead of scanning the installed packages (in a spawned worker)."""
    global _handed_over
    _handed_over = dict(table)
    engine_class.cache_clear()


def refresh_engines() -> None:
    """Look for registered engines again (after a package was installed in this process)."""
    importlib.invalidate_caches()
    _discovered.cache_clear()
    engine_class.cache_clear()


def engine_names() -> list[str]:
    """Return the registered engine names, the default first, then by name."""
    return sorted(registrations(), key=lambda name: (name != DEFAULT_ENGINE, name))


@functools.cache
def engine_class(name: str) -> type[Engine]:
    """Import and return the class registered as ``name``."""
    found = registrations().get(name)
    if found is None:
        raise EngineUnavailableError(
            f"unknown engine {name!r}; known engines: {', '.join(engine_names())}"
        )
    module_name, _, attribute = found.target.partition(":")
    try:
        loaded = importlib.import_module(module_name.strip())
        for part in attribute.strip().split("."):
            loaded = getattr(loaded, part)
    except (ImportError, AttributeError) as error:
        raise EngineUnavailableError(
            f"the {name} engine cannot be loaded ({error}): install or repair it with "
            f"pip install {found.distribution}"
        ) from error
    engine_type: type[Engine] = loaded  # type: ignore[assignment]
    return engine_type


def resolve_engine(name: str, settings: EngineSettings) -> Engine:
    """Return this process's instance of the engine ``name`` for ``settings``.

    One instance per engine and settings, made on first use: a process serving
    two apps with different voice folders sees each app's voices.
    """
    global _instances_pid
    with _instances_lock:
        if _instances_pid != os.getpid():
            # A forked child must not share its parent's engine state.
            _instances.clear()
            _instances_pid = os.getpid()
        engine = _instances.get((name, settings))
        if engine is None:
            engine = engine_class(name)(settings)
            _instances[(name, settings)] = engine
        return engine
