"""Play a finished audio file through the machine's sound device, when it has one."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from service.errors import ListenError

PLAYERS: tuple[tuple[str, ...], ...] = (
    ("pw-play",),
    ("paplay",),
    ("aplay", "-q"),
    ("ffplay", "-nodisp", "-autoexit", "-loglevel", "error"),
    ("afplay",),
)
"""Command-line players tried in order; each takes the WAV file as its last argument."""


class PlaybackError(ListenError):
    """There is no sound device or player to play through."""

    exit_code = 1
    slug = "no-sound-device"
    title = "Cannot play sound"


def has_sound_device() -> bool:
    """Return True when ALSA devices or a PulseAudio/PipeWire server are present."""
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    servers = [Path(runtime) / "pulse" / "native", Path(runtime) / "pipewire-0"] if runtime else []
    return (
        Path("/dev/snd").is_dir()
        or bool(os.environ.get("PULSE_SERVER"))
        or any(server.exists() for server in servers)
    )


def require_sound_device() -> None:
    """Raise :class:`PlaybackError` when nothing could play sound here."""
    if not has_sound_device():
        raise PlaybackError(
            "no sound device here; write a file instead: listen narrate INPUT -o story.mp3"
        )


def play(path: Path) -> None:
    """Play ``path`` (a WAV file) and return when it has finished."""
    require_sound_device()
    for command in PLAYERS:
        if shutil.which(command[0]) is None:
            continue
        done = subprocess.run([*command, str(path)], capture_output=True, text=True)
        if done.returncode == 0:
            return
        lines = done.stderr.strip().splitlines()
        raise PlaybackError(f"{command[0]} could not play: {lines[-1] if lines else 'it failed'}")
    raise PlaybackError(
        "no audio player found (pw-play, paplay, aplay or ffplay); "
        "install one, or write a file: listen narrate INPUT -o story.mp3"
    )
