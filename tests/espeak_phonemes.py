"""Ask the bundled eSpeak NG which phonemes it says for a text, as it synthesises it.

eSpeak writes the phonemes of what it speaks to a trace stream
(``espeak_SetPhonemeTrace``); this runs one synthesis in a fresh interpreter,
so the test process never loads eSpeak, and returns that trace: the phoneme
names of everything said, with ``[[...]]`` read as phonemes when asked.
"""

from __future__ import annotations

import subprocess
import sys

_SCRIPT = r"""
import ctypes, os, sys, tempfile
from pathlib import Path
import espeakng_loader

text, voice, phoneme_input = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
data = str(Path(espeakng_loader.__file__).parent / "espeak-ng-data")
lib = ctypes.CDLL(espeakng_loader.get_library_path())
libc = ctypes.CDLL(None)
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
libc.fclose.argtypes = [ctypes.c_void_p]
lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
lib.espeak_Initialize(2, 0, data.encode(), 0x8000)  # synchronous, no exit on error
lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
lib.espeak_SetVoiceByName(voice.encode())
CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p)
keep = CALLBACK(lambda wav, samples, events: 0)
lib.espeak_SetSynthCallback.argtypes = [CALLBACK]
lib.espeak_SetSynthCallback(keep)
trace_path = tempfile.mktemp()
trace = libc.fopen(trace_path.encode(), b"w")
lib.espeak_SetPhonemeTrace.argtypes = [ctypes.c_int, ctypes.c_void_p]
lib.espeak_SetPhonemeTrace(1, trace)  # espeakPHONEMES_SHOW: phoneme names
lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                             ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
flags = 0x1 | 0x1000 | (0x100 if phoneme_input else 0)  # UTF-8, end pause, [[phonemes]]
encoded = text.encode()
lib.espeak_Synth(encoded, len(encoded) + 1, 0, 1, 0, flags, None, None)
lib.espeak_Synchronize()
libc.fclose(trace)
sys.stdout.write(Path(trace_path).read_text())
os.unlink(trace_path)
"""


def espeak_phonemes(text: str, voice: str = "en-us", *, phoneme_input: bool = False) -> str:
    """Return the phoneme names eSpeak NG says for ``text`` (words separated by spaces)."""
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, text, voice, "1" if phoneme_input else "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return " ".join(done.stdout.split())
