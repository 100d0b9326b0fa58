"""Speak with pyttsx3 on eSpeak NG, preferring the library bundled in ``espeakng-loader``.

eSpeak NG keeps global state: it initialises once per process, keeps one
callback, and is not thread-safe. So this engine is built to live alone in a
worker process started with ``spawn``. Constructing it, listing its voices and
asking its version never load the library into the calling process (the web
server's master must stay free of it); only :meth:`Pyttsx3Engine.synthesize`
and :meth:`Pyttsx3Engine.warm_up` do.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import logging
import os
import sys
import threading
from dataclasses import dataclass
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from service.config import EngineSettings
from service.engines.base import Voice, VoiceSettings, check_voice_settings, preview
from service.engines.phonemes import PhonemeError, ipa_to_espeak
from service.engines.timing import engine_input, times_from_starts, word_spans
from service.errors import EngineUnavailableError, SynthesisError, VoiceError
from service.media import Pcm, WordTime
from service.text.lexicon.marks import has_marks

logger = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 22_050
"""What eSpeak NG produces: mono, 16-bit."""
INSTALL_HINT = "pip install pyttsx3 espeakng-loader"
"""How to install what this engine needs."""
_ESPEAK_DEFAULT_GENDER = "male"
"""What eSpeak reports for a voice file without a ``gender`` line."""
_GENDERS = {"male": "male", "female": "female", "m": "male", "f": "female"}

# Run in a fresh interpreter so the library never enters the asking process.
_PROBE_CODE = """
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
lib.espeak_Initialize.restype = ctypes.c_int
lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
lib.espeak_Info.restype = ctypes.c_char_p
lib.espeak_Info.argtypes = [ctypes.POINTER(ctypes.c_char_p)]
# AUDIO_OUTPUT_SYNCHRONOUS, no buffer, default path, espeakINITIALIZE_DONT_EXIT
lib.espeak_Initialize(2, 0, None, 0x8000)
data_path = ctypes.c_char_p()
version = lib.espeak_Info(ctypes.byref(data_path))
print(version.decode("utf-8", "replace"))
print((data_path.value or b"").decode("utf-8", "replace"))
"""


BUNDLED = "espeakng-loader"
"""The distribution that ships eSpeak NG and its data in a wheel."""


@dataclass(frozen=True)
class EspeakLibrary:
    """Which libespeak-ng this engine loads, and where its voice data lives."""

    path: str
    """File (or soname, for a system library) handed to ``dlopen``."""
    data_dir: Path | None
    """The ``espeak-ng-data`` folder; None until a system library has been probed."""
    source: str
    """``espeakng-loader`` for the bundled library, ``system <path>`` otherwise."""

    @property
    def bundled(self) -> bool:
        """Return True for the library shipped in the ``espeakng-loader`` wheel."""
        return self.source == BUNDLED

    def describe(self) -> str:
        """Return ``espeakng-loader 0.2.4`` for the bundled library, ``system <path>`` otherwise."""
        if not self.bundled:
            return self.source
        from importlib import metadata  # slow to import: only when a cache key is made

        return f"{BUNDLED} {metadata.version(BUNDLED)}"


def find_espeak_library() -> EspeakLibrary:
    """Locate libespeak-ng without loading it: the bundled wheel first, then the system's."""
    if find_spec("espeakng_loader") is not None:
        import espeakng_loader

        library_path = Path(espeakng_loader.get_library_path())
        data_dir = Path(espeakng_loader.__file__).parent / "espeak-ng-data"
        if library_path.is_file() and data_dir.is_dir():
            return EspeakLibrary(str(library_path), data_dir, BUNDLED)
        logger.warning("espeakng-loader is installed but has no library at %s", library_path)
    import ctypes.util

    system_name = ctypes.util.find_library("espeak-ng")
    if system_name is None:
        raise EngineUnavailableError(
            f"the pyttsx3 engine needs eSpeak NG, which is not installed: {INSTALL_HINT}"
        )
    return EspeakLibrary(system_name, None, f"system {system_name}")


def _initialize_synchronous() -> None:
    """Start eSpeak NG in synchronous mode before pyttsx3's driver starts it in retrieval mode.

    In retrieval mode eSpeak synthesises on a thread of its own and pyttsx3
    polls for the end; in synchronous mode ``Synth()`` returns with the whole
    utterance already handed to the driver's callback, which is all a worker
    that makes files needs. The driver skips its own initialisation when it
    finds eSpeak initialised, and sets its callback and voice as usual.
    """
    from pyttsx3.drivers import _espeak
    from pyttsx3.drivers.espeak import EspeakDriver

    if EspeakDriver._moduleInitialized:
        return
    if _espeak.Initialize(_espeak.AUDIO_OUTPUT_SYNCHRONOUS, 1000) == -1:
        raise EngineUnavailableError(f"eSpeak NG could not be initialised: {INSTALL_HINT}")
    current = _espeak.GetCurrentVoice()
    name = current.contents.name if current and current.contents.name else b"gmw/en"
    EspeakDriver._defaultVoice = name.decode("utf-8")
    EspeakDriver._moduleInitialized = True


def _bundled_version(library_path: str) -> str:
    """Read the bundled library's version from its versioned file name (``.so.1.52.0``)."""
    names = sorted(p.name for p in Path(library_path).parent.glob("libespeak-ng.so.*.*.*"))
    return names[-1].removeprefix("libespeak-ng.so.") if names else "bundled"


@cache
def probe_espeak(library_path: str, data_dir: str | None) -> tuple[str, str]:
    """Return eSpeak NG's own version and data folder, asked in a short-lived subprocess."""
    import subprocess

    env = dict(os.environ)
    if data_dir is not None:
        env["ESPEAK_DATA_PATH"] = data_dir
    try:
        completed = subprocess.run(
            [sys.executable, "-I", "-c", _PROBE_CODE, library_path],
            capture_output=True,
            text=True,
            timeout=30,
            env=env,
            check=True,
        )
    except (OSError, subprocess.SubprocessError) as error:
        raise EngineUnavailableError(
            f"eSpeak NG at {library_path} cannot be loaded ({error}): {INSTALL_HINT}"
        ) from error
    lines = completed.stdout.splitlines()
    version = lines[0].strip() if lines else ""
    probed_data_dir = lines[1].strip() if len(lines) > 1 else ""
    if not version:
        raise EngineUnavailableError(f"eSpeak NG at {library_path} did not report its version")
    return version, probed_data_dir


def read_espeak_voices(data_dir: Path) -> list[Voice]:
    """Read eSpeak NG's voices from its ``lang`` folder, as ``espeak_ListVoices(NULL)`` does.

    Reading about 140 small text files takes a few milliseconds and loads no
    library, so the web server can list voices without touching eSpeak.
    """
    lang_dir = data_dir / "lang"
    voices = []
    for voice_file in sorted(lang_dir.rglob("*")):
        if not voice_file.is_file():
            continue
        identifier = voice_file.relative_to(lang_dir).as_posix().lower()
        voices.append(_parse_voice_file(identifier, voice_file.read_bytes()))
    return voices


def _parse_voice_file(identifier: str, content: bytes) -> Voice:
    """Turn one eSpeak voice file into a :class:`Voice` (name, languages, gender)."""
    name = identifier
    languages: list[str] = []
    gender = _ESPEAK_DEFAULT_GENDER
    for raw_line in content.decode("utf-8", errors="replace").splitlines():
        line = raw_line.split("//", 1)[0].strip()
        keyword, _, rest = line.partition(" ")
        rest = rest.strip()
        if keyword == "name" and rest:
            name = rest
        elif keyword == "language" and rest:
            tag = rest.split()[0].lower()
            if tag not in languages:
                languages.append(tag)
        elif keyword == "gender" and rest:
            gender = _GENDERS.get(rest.split()[0].lower(), gender)
    return Voice(
        voice_id=f"{Pyttsx3Engine.name}:{identifier}",
        name=name,
        languages=tuple(languages),
        gender=gender,
    )


def mapped_espeak_libraries() -> set[str]:
    """Return the libespeak files mapped into this process (empty where /proc is missing)."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            return {
                line.split(maxsplit=5)[5].strip()
                for line in maps
                if "libespeak" in line and len(line.split(maxsplit=5)) == 6
            }
    except OSError:
        return set()


class Pyttsx3Engine:
    """Speak with pyttsx3's eSpeak NG driver; one instance per process."""

    name = "pyttsx3"

    def __init__(self, settings: EngineSettings | None = None) -> None:
        """Find eSpeak NG (without loading it); this engine has no settings of its own."""
        if find_spec("pyttsx3") is None:
            raise EngineUnavailableError(
                f"the pyttsx3 engine needs pyttsx3, which is not installed: {INSTALL_HINT}"
            )
        self._library = find_espeak_library()
        self._lock = threading.Lock()
        self._driver: Any = None
        self._handle: ctypes.CDLL | None = None
        self._loaded_pid: int | None = None
        self._loaded_version: str | None = None
        self._version: str | None = None
        self._voices: list[Voice] | None = None
        self._errors: list[BaseException] = []
        self._word_starts: list[tuple[int, int]] = []
        """eSpeak's word events of the sentence being spoken: (text position, ms)."""

    @property
    def library(self) -> EspeakLibrary:
        """Return which libespeak-ng this engine uses."""
        return self._library

    def version(self) -> str:
        """Return pyttsx3's version, eSpeak NG's and which library it is, for cache keys."""
        from importlib import metadata

        if self._version is None:
            if self._library.bundled:
                # The wheel pins the library build and its data: no need to load it to know.
                espeak_version = _bundled_version(self._library.path)
            elif self._loaded_version is not None:
                espeak_version = self._loaded_version
            else:
                espeak_version, _ = probe_espeak(self._library.path, self._data_dir_or_none())
            self._version = (
                f"pyttsx3 {metadata.version('pyttsx3')}; "
                f"espeak-ng {espeak_version}; {self._library.describe()}"
            )
        return self._version

    def voices(self) -> list[Voice]:
        """Return eSpeak NG's voices, read from its data files (loads no library)."""
        if self._voices is None:
            self._voices = read_espeak_voices(self._data_dir())
        return list(self._voices)

    def phonemes(self, ipa: str, settings: VoiceSettings) -> str:
        """Return how this engine says ``ipa`` inline: ``[[dZ'If]]``; raise :class:`PhonemeError`.

        eSpeak's phoneme names belong to each language's phoneme table; the
        IPA mapping is written for its English table, so other voices refuse.
        """
        language = settings.engine_voice.lower().rsplit("/", 1)[-1]
        if not language.startswith("en"):
            raise PhonemeError(
                f"eSpeak NG reads IPA with English voices only, not {settings.engine_voice!r}"
            )
        return f"[[{ipa_to_espeak(ipa)}]]"

    def warm_up(self, voice: str | None = None) -> None:
        """Load eSpeak NG and speak one word, so the first real sentence starts fast."""
        voice_ids = {known.voice_id for known in self.voices()}
        wanted = f"{self.name}:{voice}" if voice else "pyttsx3:gmw/en-us"
        warm_voice = wanted if wanted in voice_ids else min(voice_ids)
        self.synthesize("Ready.", VoiceSettings(voice_id=warm_voice))

    def synthesize(self, text: str, settings: VoiceSettings) -> Pcm:
        """Turn one sentence into 22,050 Hz mono 16-bit PCM."""
        check_voice_settings(settings)
        if settings.engine != self.name:
            raise VoiceError(f"voice {settings.voice_id!r} is not a {self.name} voice")
        voice = settings.engine_voice.lower()
        if f"{self.name}:{voice}" not in {v.voice_id for v in self.voices()}:
            raise VoiceError(f"unknown {self.name} voice {settings.engine_voice!r}")
        if not text.strip():
            return Pcm(b"", SAMPLE_RATE_HZ, words=())
        spoken, source, phonemes = self._espeak_input(text, settings)
        with self._lock:
            samples = self._speak(self._load(), spoken, settings, voice, phonemes=phonemes)
            starts = self._word_starts
            self._word_starts = []
        if not samples:
            raise SynthesisError(f"eSpeak NG made no audio for {preview(text)}")
        return Pcm(samples, SAMPLE_RATE_HZ, words=_word_times(text, source, starts, samples))

    def espeak_text(self, text: str, settings: VoiceSettings) -> tuple[str, bool]:
        """Turn a sentence's phoneme marks into ``[[...]]``; say whether eSpeak must read them.

        eSpeak reads ``[[...]]`` as phonemes only when asked to; then any
        ``[[`` of the article's own text is broken up, so text stays text.
        """
        spoken, _source, phonemes = self._espeak_input(text, settings)
        return spoken, phonemes

    def _espeak_input(self, text: str, settings: VoiceSettings) -> tuple[str, list[int], bool]:
        """Return :meth:`espeak_text` and each character's offset in ``text``."""
        if not has_marks(text):
            return text, list(range(len(text))), False
        spoken, source = engine_input(
            text,
            lambda ipa: self.phonemes(ipa, settings),
            lambda piece: piece.replace("[[", "[ [").replace("]]", "] ]"),
        )
        return spoken, source, True

    def _speak(
        self, driver: Any, text: str, settings: VoiceSettings, voice: str, *, phonemes: bool
    ) -> bytes:
        """Speak one sentence through pyttsx3's eSpeak driver and return its samples.

        eSpeak runs in synchronous mode (see :func:`_initialize_synchronous`):
        ``Synth()`` returns once every sample is in the driver's buffer. Calling
        the driver directly skips ``runAndWait()``, whose loop sleeps 10 ms per
        turn and cancels what eSpeak is still doing; it cost more time per
        sentence than eSpeak takes to speak it.
        """
        espeak = driver.proxy._driver
        # Setting the voice resets the rate, so the voice goes first.
        espeak.setProperty("voice", voice)
        espeak.setProperty("rate", settings.rate_wpm)
        espeak.setProperty("pitch", settings.pitch)
        espeak.setProperty("volume", settings.volume)
        # A sink for the WAV the driver writes should eSpeak ever report the end
        # of the message (it does not in synchronous mode); never play sound.
        espeak.save_to_file(text, io.BytesIO())
        self._errors.clear()
        with contextlib.redirect_stdout(io.StringIO()):
            if phonemes:
                _start_synthesis_with_phonemes(espeak, text)
            else:
                espeak._start_synthesis(text)
        samples: bytes = espeak._data_buffer
        espeak._data_buffer = b""
        espeak._speaking = False
        driver.proxy.setBusy(False)
        if self._errors:
            raise SynthesisError(f"eSpeak NG failed on {preview(text)}: {self._errors[0]}")
        return samples

    def _load(self) -> Any:
        """Load eSpeak NG and pyttsx3's driver into this process, once."""
        if self._driver is not None:
            if self._loaded_pid != os.getpid():
                raise SynthesisError("eSpeak NG was loaded before a fork; start workers with spawn")
            return self._driver
        library = self._library
        handle = ctypes.CDLL(library.path, mode=ctypes.RTLD_GLOBAL)
        if library.data_dir is not None:
            os.environ["ESPEAK_DATA_PATH"] = str(library.data_dir)
        import pyttsx3

        _initialize_synchronous()
        driver = pyttsx3.init("espeak")
        driver.connect("error", self._on_error)
        self._listen_to_words(driver.proxy._driver)
        if library.bundled:
            mapped = mapped_espeak_libraries()
            strays = {path for path in mapped if not _same_file(path, library.path)}
            if strays:
                raise EngineUnavailableError(
                    f"pyttsx3 loaded {', '.join(sorted(strays))} besides the bundled eSpeak NG"
                )
        handle.espeak_Info.restype = ctypes.c_char_p
        handle.espeak_Info.argtypes = [ctypes.POINTER(ctypes.c_char_p)]
        info = handle.espeak_Info(None)
        self._loaded_version = (info or b"").decode("utf-8", "replace")
        # pyttsx3 keeps engines in a WeakValueDictionary: hold it, or the next
        # init() would initialise eSpeak a second time.
        self._driver = driver
        self._handle = handle
        self._loaded_pid = os.getpid()
        logger.debug("loaded eSpeak NG %s from %s", self._loaded_version, library.path)
        return driver

    def _listen_to_words(self, espeak: Any) -> None:
        """Put a callback before the driver's that keeps eSpeak's word events with their times.

        pyttsx3 passes each word's text position on (``started-word``) but not
        its ``audio_position``, the time eSpeak says the word starts at.
        """
        from pyttsx3.drivers import _espeak

        def on_synth(wav: Any, sample_count: int, events: Any) -> int:
            index = 0
            while events[index].type != _espeak.EVENT_LIST_TERMINATED:
                event = events[index]
                if event.type == _espeak.EVENT_WORD:
                    self._word_starts.append((event.text_position, event.audio_position))
                index += 1
            result: int = espeak._onSynth(wav, sample_count, events)
            return result

        _espeak.SetSynthCallback(on_synth)

    def _on_error(self, name: str | None = None, exception: BaseException | None = None) -> None:
        self._errors.append(exception or RuntimeError("unknown eSpeak NG error"))

    def _data_dir(self) -> Path:
        """Return the voice data folder, probing a system library once if needed."""
        if self._library.data_dir is not None:
            return self._library.data_dir
        _, data_dir = probe_espeak(self._library.path, None)
        if not data_dir:
            raise EngineUnavailableError(f"eSpeak NG at {self._library.path} has no voice data")
        self._library = EspeakLibrary(self._library.path, Path(data_dir), self._library.source)
        return self._library.data_dir or Path(data_dir)

    def _data_dir_or_none(self) -> str | None:
        return None if self._library.data_dir is None else str(self._library.data_dir)


def _start_synthesis_with_phonemes(espeak: Any, text: str) -> None:
    """Do what the driver's ``_start_synthesis`` does, with eSpeak reading ``[[...]]`` as phonemes.

    The driver passes fixed flags to ``espeak_Synth``; ``espeakPHONEMES`` is
    the one flag it lacks.
    """
    from pyttsx3.drivers import _espeak

    espeak._proxy.setBusy(True)
    espeak._proxy.notify("started-utterance")
    espeak._speaking = True
    espeak._data_buffer = b""
    flags = _espeak.ENDPAUSE | _espeak.CHARS_UTF8 | _espeak.PHONEMES
    try:
        _espeak.Synth(text.encode("utf-8"), flags=flags)
    except Exception as error:  # the driver reports its own failures this way too
        espeak._proxy.setBusy(False)
        espeak._proxy.notify("error", exception=error)
        raise


def _same_file(first: str, second: str) -> bool:
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False


def _word_times(
    text: str, source: list[int], starts: list[tuple[int, int]], samples: bytes
) -> tuple[WordTime, ...]:
    """Turn eSpeak's word events (1-based character position, ms) into word times."""
    located = [
        (source[min(position - 1, len(source) - 1)], float(start_ms))
        for position, start_ms in starts
        if position >= 1 and source
    ]
    return times_from_starts(word_spans(text), located, samples, SAMPLE_RATE_HZ)
