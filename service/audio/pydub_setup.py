"""Import pydub quietly: we use it on raw PCM only, never through ffmpeg.

pydub warns at import when no ffmpeg is on PATH. It needs one only to read or
write encoded files (``from_file``, ``export``), which this project does not
do: MP3 is encoded with lameenc, and Opus through the ffmpeg that
imageio-ffmpeg ships (see ``service.audio.container``). Asking imageio-ffmpeg
for its binary here would run ``ffmpeg -version`` in every worker at start.

``audioop`` is the C module pydub measures samples with (``audioop-lts`` on
Python 3.13 and later); Python 3.11 and 3.12 warn that it is deprecated.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Couldn't find ffmpeg", category=RuntimeWarning)
    from pydub import AudioSegment
    from pydub.silence import detect_leading_silence
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    import audioop

__all__ = ["AudioSegment", "audioop", "detect_leading_silence"]
