"""List voices, pick one for an article's language, and check voice settings.

Listing asks each installed engine for its voices; engines read them from
their data files, so nothing here loads a speech library into the calling
process.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable

from service.config import EngineSettings, SpeechSettings
from service.engines.base import Voice, VoiceSettings, check_voice_settings
from service.engines.registry import DEFAULT_ENGINE, engine_class, engine_names, resolve_engine
from service.errors import EngineUnavailableError, VoiceError
from service.text.tags import normalize_language

logger = logging.getLogger(__name__)

DEFAULT_LANGUAGE = "en"
"""Language assumed when an article's language is unknown."""

BUILTIN_DEFAULT_VOICES: dict[str, tuple[str, ...]] = {
    "en-gb": ("hibari:emma", "hibari:fable"),
    "en": ("hibari:heart", "pyttsx3:gmw/en-us"),
}
"""Voices preferred over the engines' own ranking, by language tag, the first installed one.

English is read by a natural voice (hibari's ``heart``, in its wheel); British
English by hibari's British voices when they are installed, else by ``heart``.
"""
NATURAL_FALLBACK: dict[str, str] = {"en": "pyttsx3:gmw/en-us"}
"""The eSpeak NG voice that reads a language when its natural voice cannot load."""

REGION_FALLBACKS: dict[str, str] = {
    "en-au": "en-gb",
    "en-nz": "en-gb",
    "en-ie": "en-gb",
    "en-za": "en-gb",
    "en-in": "en-gb",
    "en-ca": "en-us",
    "pt-ao": "pt-pt",
    "pt-mz": "pt-pt",
    "es-mx": "es-419",
    "es-ar": "es-419",
    "es-co": "es-419",
    "es-cl": "es-419",
    "es-us": "es-419",
    "fr-ca": "fr-fr",
}
"""Closest voice region for regions without a voice of their own, before the bare language."""


__all__ = [
    "check_voice_settings",
    "find_voice",
    "installed",
    "list_voices",
    "natural_fallback",
    "normalize_language",
    "parse_default_voices",
    "preferred_voices",
    "resolve_voice",
    "speaks",
    "voice_settings",
]


def voice_settings(voice_id: str, settings: SpeechSettings) -> VoiceSettings:
    """Return checked :class:`VoiceSettings` for ``voice_id`` with the configured rate and pitch.

    Besides the ranges every engine takes, an engine class may narrow the rate
    (``rate_range_wpm``, a pair): hibari's voices speak 80 to 275 words a minute.
    """
    chosen = VoiceSettings(
        voice_id=voice_id, rate_wpm=settings.rate_wpm, pitch=settings.pitch, volume=settings.volume
    )
    check_voice_settings(chosen)
    try:
        limits = getattr(engine_class(chosen.engine), "rate_range_wpm", None)
    except EngineUnavailableError:
        limits = None
    if limits is not None and not limits[0] <= chosen.rate_wpm <= limits[1]:
        raise VoiceError(
            f"rate {chosen.rate_wpm} words per minute is out of range for {chosen.engine} "
            f"voices ({limits[0]} to {limits[1]})"
        )
    return chosen


def list_voices(
    settings: EngineSettings,
    engine: str | None = None,
    language: str | None = None,
    failures: dict[str, str] | None = None,
) -> list[Voice]:
    """Return the voices of one engine, or of every installed one, optionally for one language.

    ``language`` matches a voice language and its regions: ``en`` lists
    ``en-us`` and ``en-gb-scotland`` too; ``en-us`` lists ``en-us-nyc``.
    Asking for a named engine that is not installed raises
    :class:`EngineUnavailableError`; without a name, missing engines are skipped
    (and named in ``failures`` with the reason, when given).
    """
    names = [engine] if engine is not None else engine_names()
    voices: list[Voice] = []
    for name in names:
        try:
            voices.extend(resolve_engine(name, settings).voices())
        except EngineUnavailableError as error:
            if engine is not None:
                raise
            logger.debug("skipping engine %s: %s", name, error)
            if failures is not None:
                failures[name] = str(error)
    if language is not None:
        tag = normalize_language(language)
        voices = [voice for voice in voices if speaks(voice, tag)]
    return voices


def find_voice(
    requested: str, settings: EngineSettings, voices: Iterable[Voice] | None = None
) -> Voice:
    """Return the voice ``requested`` names, loosely; raise :class:`VoiceError` with close matches.

    Accepted, case-insensitive: the full id (``pyttsx3:gmw/en-us``), the id
    without its engine (``gmw/en-us``), the last part of it (``en-us``), the
    voice's name (``English (America)``) or its main language (``en-gb``).
    """
    query = requested.strip().lower()
    engine, separator, rest = query.partition(":")
    if not separator:
        engine, rest = "", query
    if voices is None:
        voices = list_voices(settings, engine or None)
    candidates = [voice for voice in voices if not engine or voice.engine == engine]
    order = {name: index for index, name in enumerate(engine_names())}
    candidates.sort(key=lambda voice: order.get(voice.engine, len(order)))
    for matches in (
        lambda voice: _short_id(voice) == rest,
        lambda voice: _short_id(voice).rsplit("/", 1)[-1] == rest,
        lambda voice: voice.name.lower() == rest,
        lambda voice: bool(voice.languages) and voice.languages[0] == rest,
    ):
        found = [voice for voice in candidates if matches(voice)]
        if found:
            return found[0]
    raise VoiceError(_unknown_voice_message(requested, candidates))


def resolve_voice(
    requested: str | None,
    language: str,
    speech: SpeechSettings,
    engines: EngineSettings,
    fallbacks: list[tuple[str, str]] | None = None,
) -> str:
    """Return the full id of the voice to use: the one requested, or one for ``language``.

    ``requested`` falls back to ``speech.voice``; when both are empty, the
    voice follows the article's language: ``speech.default_voices`` first,
    then the built-in choices (hibari's natural voices for English), then the
    voice that names the language first, trying the region, a nearby region
    (``en-au`` -> ``en-gb``) and the bare language in turn. A built-in choice
    whose engine cannot load is passed over for the next, and added to
    ``fallbacks`` as (voice, reason) when given.
    """
    wanted = (requested or "").strip() or speech.voice.strip()
    if wanted:
        return installed(find_voice(wanted, engines)).voice_id
    failures: dict[str, str] = {}
    voices = [voice for voice in list_voices(engines, failures=failures) if voice.installed]
    tags = _fallback_tags(normalize_language(language) or DEFAULT_LANGUAGE)
    configured = parse_default_voices(speech.default_voices)
    for tag in tags:
        if tag in configured:
            try:
                return installed(find_voice(configured[tag], engines, voices)).voice_id
            except (VoiceError, EngineUnavailableError) as error:
                logger.warning("ignoring default voice for %s: %s", tag, error)
    ids = {voice.voice_id for voice in voices}
    for tag in tags:
        for builtin in BUILTIN_DEFAULT_VOICES.get(tag, ()):
            if builtin in ids:
                return builtin
            reason = failures.get(builtin.split(":", 1)[0])
            if reason is not None and fallbacks is not None:
                fallbacks.append((builtin, reason))
    for tag in tags:
        speakers = [voice for voice in voices if tag in voice.languages]
        if speakers:
            order = {name: index for index, name in enumerate(engine_names())}
            best = min(
                speakers,
                key=lambda voice: (
                    order.get(voice.engine, len(order)),
                    voice.languages.index(tag),
                    voice.voice_id,
                ),
            )
            return best.voice_id
    raise VoiceError(f"no voice speaks {language!r}; choose one with a voice id")


def installed(voice: Voice) -> Voice:
    """Return ``voice`` if it can speak here; else raise :class:`VoiceError` naming the fix."""
    if not voice.installed:
        raise VoiceError(voice.detail or f"the voice {voice.voice_id} is not installed")
    return voice


def natural_fallback(language: str) -> str | None:
    """Return the eSpeak NG voice that reads ``language`` when its natural voice cannot load."""
    for tag in _fallback_tags(normalize_language(language) or DEFAULT_LANGUAGE):
        if tag in NATURAL_FALLBACK:
            return NATURAL_FALLBACK[tag]
    return None


def preferred_voices(speech: SpeechSettings) -> tuple[str, ...]:
    """Return what engine workers load at start: the default engine, then the voices named.

    Each entry is an engine name or a full voice id (``piper:en_US-joe-medium``),
    so the first sentence of a narration does not wait for a model to load.
    Malformed or unknown entries are left to :func:`resolve_voice` to report.
    """
    try:
        parsed = parse_default_voices(speech.default_voices)
    except VoiceError:
        parsed = {}
    configured = list(parsed.values())
    named = [voice.strip() for voice in (speech.voice, *configured) if ":" in voice]
    if not speech.voice.strip() and "en" not in parsed:
        named.insert(0, BUILTIN_DEFAULT_VOICES["en"][0])  # what English articles are read by
    known = engine_names()
    wanted = [voice for voice in named if voice.split(":", 1)[0].lower() in known]
    return tuple(dict.fromkeys([DEFAULT_ENGINE, *wanted]))


def parse_default_voices(mapping: str) -> dict[str, str]:
    """Parse ``en=pyttsx3:gmw/en-us,de=pyttsx3:gmw/de`` into ``{language: voice}``."""
    parsed: dict[str, str] = {}
    for item in mapping.split(","):
        if not item.strip():
            continue
        tag, separator, voice = item.partition("=")
        if not separator or not tag.strip() or not voice.strip():
            raise VoiceError(f"default voice {item.strip()!r} is not of the form language=voice")
        parsed[normalize_language(tag)] = voice.strip()
    return parsed


def speaks(voice: Voice, tag: str) -> bool:
    """Tell whether ``voice`` speaks the language ``tag`` or one of its regions."""
    return any(lang == tag or lang.startswith(tag + "-") for lang in voice.languages)


def _short_id(voice: Voice) -> str:
    return voice.voice_id.split(":", 1)[-1].lower()


def _fallback_tags(tag: str) -> list[str]:
    """Return ``tag``, a nearby region, then ever shorter prefixes (``zh-hans-cn`` ... ``zh``)."""
    tags = [tag]
    if tag in REGION_FALLBACKS:
        tags.append(REGION_FALLBACKS[tag])
    parts = tag.split("-")
    tags.extend("-".join(parts[:length]) for length in range(len(parts) - 1, 0, -1))
    return list(dict.fromkeys(tags))


def _unknown_voice_message(requested: str, candidates: list[Voice]) -> str:
    """Say a voice is unknown and suggest the closest ids."""
    keys: dict[str, list[str]] = {}
    for voice in candidates:
        name = voice.name.lower()
        # "English (America)" also answers to "english", so a misspelt language finds it.
        for key in (voice.voice_id.lower(), _short_id(voice), name, name.split(" (")[0]):
            keys.setdefault(key, []).append(voice.voice_id)
    query = requested.strip().lower()
    close = difflib.get_close_matches(query, keys, n=8, cutoff=0.6)
    suggestions = list(dict.fromkeys(voice_id for key in close for voice_id in keys[key]))[:5]
    if suggestions:
        return f"unknown voice {requested!r}; did you mean {', '.join(suggestions)}?"
    return f"unknown voice {requested!r}; list the voices to see what is installed"
