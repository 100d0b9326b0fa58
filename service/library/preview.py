"""Say a phrase with and without one lexicon rule: the edit page's play buttons.

Both are ordinary narrations (planned, keyed, cached and limited like any
other): the phrase alone, and the phrase read by a one-rule lexicon. The
phrase is the rule's term, or a sample the editor gives (a regular expression
is no phrase); the rule must apply to it, or the two would sound the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from service.errors import InputError, LexiconError
from service.library.narrations import Narrations, NarrationView
from service.library.requests import option_str
from service.library.speech import speech_article
from service.text.lexicon.model import Lexicon, Rule, parse_rule

MAX_PREVIEW_CHARS = 500
"""Longest sample phrase a preview says."""
PREVIEW_LEXICON = "preview"
"""The name of the one-rule lexicon a preview is read by (its status names it)."""


@dataclass(frozen=True)
class RulePreview:
    """What an editor asked to hear."""

    rule: Rule
    """The rule, as it stands in the editor (saved or not)."""
    text: str
    """The phrase to say."""
    voice: str | None
    """The voice to say it in; None lets the phrase's language choose."""


def read_preview(payload: Mapping[str, Any]) -> RulePreview:
    """Read a preview request: ``rule`` (as in a lexicon), optional ``text`` and ``voice``."""
    rule = parse_rule(payload.get("rule"))
    text = option_str(payload.get("text"), "text", max_chars=MAX_PREVIEW_CHARS)
    if text is None:
        if rule.regex:
            raise InputError("a regular-expression rule needs a sample 'text' to say")
        text = rule.match
    if not text.strip():
        raise InputError("text holds nothing to say")
    return RulePreview(rule, text, option_str(payload.get("voice"), "voice"))


def make_previews(
    narrations: Narrations, wanted: RulePreview
) -> tuple[NarrationView, NarrationView]:
    """Start (or find) the phrase without the rule and with it; return both."""
    article = speech_article(wanted.text)
    lexicon = Lexicon(PREVIEW_LEXICON, (wanted.rule,))
    ruled = narrations.plan_for(article, voice=wanted.voice, rate_wpm=None, lexicon=lexicon)
    if ruled.lexicon_rules_applied == 0:
        raise LexiconError(
            f"the rule does not match {wanted.text!r} as it is spoken; give a sample text "
            "that holds its term"
        )
    plain = narrations.plan_for(article, voice=wanted.voice, rate_wpm=None)
    return narrations.start(plain, "mp3"), narrations.start(ruled, "mp3")
