"""Decode and measure audio with the real ffmpeg, for assertions on what a listener hears."""

from __future__ import annotations

import array
import json
import re
import subprocess
from pathlib import Path

import imageio_ffmpeg

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


def decode(path: Path, *, sample_rate_hz: int = 22050) -> array.array[int]:
    """Decode any audio file to mono 16-bit samples at ``sample_rate_hz``."""
    raw = subprocess.run(
        [
            FFMPEG,
            "-v",
            "error",
            "-i",
            str(path),
            "-f",
            "s16le",
            "-ac",
            "1",
            "-ar",
            str(sample_rate_hz),
            "-",
        ],
        capture_output=True,
        check=True,
    ).stdout
    samples = array.array("h")
    samples.frombytes(raw)
    return samples


def reported_duration_ms(path: Path) -> float:
    """Return the duration the demuxer reports (what ffprobe prints) in milliseconds."""
    err = subprocess.run(
        [FFMPEG, "-hide_banner", "-i", str(path)], capture_output=True, text=True
    ).stderr
    match = re.search(r"Duration: (\d+):(\d+):(\d+\.\d+)", err)
    assert match, err
    hours, minutes, seconds = match.groups()
    return (int(hours) * 3600 + int(minutes) * 60 + float(seconds)) * 1000


def rms(samples: array.array[int], start_ms: float, end_ms: float, rate: int = 22050) -> float:
    """Return the RMS level of ``samples`` between two times."""
    window = samples[int(start_ms * rate / 1000) : int(end_ms * rate / 1000)]
    if not window:
        return 0.0
    return float((sum(x * x for x in window) / len(window)) ** 0.5)


def onsets_ms(
    samples: array.array[int], *, rate: int = 22050, min_gap_ms: float = 150, threshold: int = 300
) -> list[float]:
    """Return the times where sound starts after at least ``min_gap_ms`` of silence."""
    step = rate // 200  # 5 ms windows
    found: list[float] = []
    quiet_since: float | None = 0.0
    for index in range(0, len(samples) - step, step):
        loud = max(abs(x) for x in samples[index : index + step]) > threshold
        now = index * 1000 / rate
        if loud:
            if quiet_since is not None and now - quiet_since >= min_gap_ms:
                found.append(now)
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
    return found


def ffprobe_chapters(path: Path) -> list[tuple[int, int, str]]:
    """Return the chapters ffprobe reads in a file: (start ms, end ms, title)."""
    found = subprocess.run(
        ["ffprobe", "-v", "error", "-show_chapters", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return [
        (int(c["start"]), int(c["end"]), c["tags"]["title"])
        for c in json.loads(found.stdout)["chapters"]
    ]
