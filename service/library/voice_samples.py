"""The short sample each voice reads, so a listener can choose a voice by ear.

A preview is an ordinary narration of a fixed sentence in the voice's first
language (English where none is written here): it is made once per voice and
rate, cached and evicted like any narration, and bounded by the same limits.
"""

from __future__ import annotations

from service.config import Settings
from service.errors import InputError
from service.library.requests import NarrationRequest, narration_request
from service.text.tags import language_subtag

RATES_WPM = ((140, "Slower"), (175, "Normal"), (210, "Faster"), (250, "Fastest"))
"""Speaking rates the pages offer (words per minute); previews are made at these (and the
configured rate) only, so a preview is one of a few files per voice."""

SAMPLES = {
    "en": "Hello. This is how I sound when I read your stories aloud.",
    "de": "Hallo. So klinge ich, wenn ich Ihnen Ihre Artikel vorlese.",
    "es": "Hola. Así sueno cuando leo tus artículos en voz alta.",
    "fr": "Bonjour. Voici ma voix quand je lis vos articles à voix haute.",
    "it": "Ciao. Ecco la mia voce quando leggo ad alta voce i tuoi articoli.",
    "nl": "Hallo. Zo klink ik als ik je artikelen voorlees.",
    "pt": "Olá. É assim que eu soo quando leio os seus artigos em voz alta.",
}
"""The sentence a voice reads, by language."""


def preview_request(
    voice_id: str, languages: tuple[str, ...], rate: object, settings: Settings
) -> NarrationRequest:
    """Return the narration request of ``voice_id``'s preview at ``rate`` (words a minute)."""
    offered = sorted({wpm for wpm, _ in RATES_WPM} | {settings.speech.rate_wpm})
    if rate not in (None, "") and str(rate) not in {str(wpm) for wpm in offered}:
        raise InputError(
            f"a preview is read at {', '.join(map(str, offered))} words a minute, "
            f"not {str(rate)[:20]!r}"
        )
    language = language_subtag(languages[0]) if languages else "en"
    text = SAMPLES.get(language, SAMPLES["en"])
    fields = {"text": text, "voice": voice_id, "rate": rate, "title": "Voice preview"}
    return narration_request(fields, settings)
