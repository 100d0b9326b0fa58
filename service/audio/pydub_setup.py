"""Import pydub pointed at the ffmpeg that imageio-ffmpeg ships: no system ffmpeg needed."""

from __future__ import annotations

import warnings

import imageio_ffmpeg

with warnings.catch_warnings():
    # pydub looks for ffmpeg on PATH when imported; ours is set just below.
    warnings.filterwarnings("ignore", message="Couldn't find ffmpeg", category=RuntimeWarning)
    from pydub import AudioSegment
    from pydub.silence import detect_leading_silence

AudioSegment.converter = imageio_ffmpeg.get_ffmpeg_exe()

__all__ = ["AudioSegment", "detect_leading_silence"]
