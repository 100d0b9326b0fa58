"""Apply a pronunciation lexicon to a narration's sentences, for the voice of each.

A rule with phonemes is kept as phonemes only for a voice whose engine can
say every one of them (asked once per rule and voice, and only for rules that
match); otherwise its ``say`` words are read, and a rule without them is
refused with a message naming the rule and the voice.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from typing import Any

from service.config import EngineSettings
from service.engines.base import VoiceSettings
from service.engines.phonemes import PhonemeError
from service.engines.registry import resolve_engine
from service.text.alignment import Edits
from service.text.lexicon.matcher import LexiconMatcher
from service.text.lexicon.model import Lexicon

_MATCHERS: OrderedDict[tuple[str, str], LexiconMatcher] = OrderedDict()
_MATCHERS_LOCK = threading.Lock()
MATCHERS_KEPT = 8
"""Compiled lexicons kept in a process, by name and digest (a 10,000-rule one takes ~50 ms)."""


def matcher_for(lexicon: Lexicon) -> LexiconMatcher:
    """Return ``lexicon`` compiled, reusing the compilation of identical rules."""
    key = (lexicon.name, lexicon.digest)
    with _MATCHERS_LOCK:
        found = _MATCHERS.get(key)
        if found is not None:
            _MATCHERS.move_to_end(key)
            return found
    compiled = LexiconMatcher(lexicon)
    with _MATCHERS_LOCK:
        _MATCHERS[key] = compiled
        while len(_MATCHERS) > MATCHERS_KEPT:
            _MATCHERS.popitem(last=False)
    return compiled


class Pronouncer:
    """A lexicon applied for the voices of one narration; it records the rules that applied."""

    def __init__(self, lexicon: Lexicon, engines: EngineSettings | None = None) -> None:
        self.lexicon = lexicon
        self.engines = engines if engines is not None else EngineSettings()
        self.matcher = matcher_for(lexicon)
        self._reasons: dict[tuple[str, int], str | None] = {}
        self._applied: dict[int, None] = {}

    @property
    def name(self) -> str:
        """Return the lexicon's name."""
        return self.lexicon.name

    def __call__(self, spoken: str, voice: VoiceSettings) -> str:
        """Return the text the engine of ``voice`` is given for the sentence ``spoken``."""
        return self.rewrite(spoken, voice)[0]

    def rewrite(self, spoken: str, voice: VoiceSettings) -> tuple[str, Edits]:
        """Return the engine's text for ``spoken``, and the edits that lead back to ``spoken``."""
        applied = self.matcher.apply(spoken, lambda index: self._unsayable(index, voice))
        if applied.matched:
            self._applied.update(dict.fromkeys(applied.matched))
        return applied.text, applied.edits

    def applied(self) -> list[dict[str, Any]]:
        """Return the rules that matched so far (as JSON data), in order of first match."""
        rules = self.matcher.rules_json
        return [rules[index] for index in self._applied]

    def _unsayable(self, index: int, voice: VoiceSettings) -> str | None:
        key = (voice.voice_id, index)
        if key not in self._reasons:
            ipa = self.lexicon.rules[index].ipa or ""
            self._reasons[key] = unsayable_reason(ipa, voice, self.engines)
        return self._reasons[key]


def unsayable_reason(ipa: str, voice: VoiceSettings, engines: EngineSettings) -> str | None:
    """Return why ``voice`` cannot say the phonemes ``ipa``, or None when it can."""
    return _unsayable_reason(ipa, voice.voice_id, engines)


@functools.lru_cache(maxsize=20_000)
def _unsayable_reason(ipa: str, voice_id: str, engines: EngineSettings) -> str | None:
    voice = VoiceSettings(voice_id)
    engine = resolve_engine(voice.engine, engines)
    phonemes = getattr(engine, "phonemes", None)
    if phonemes is None:
        return f"the {voice.engine} engine does not read phonemes"
    try:
        phonemes(ipa, voice)
    except PhonemeError as error:
        return f"the voice {voice.voice_id} cannot say /{ipa}/ ({error})"
    return None
