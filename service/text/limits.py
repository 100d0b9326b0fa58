"""Refuse input whose reading would cost more than its size suggests, before the costly step.

The byte limit (``max_input_bytes``) bounds what is read, but not the work:
some inputs cost far more than their size. Every check here is cheap (a count
over the text, or a look at the finished article) and runs before the step it
guards, so any input is refused or read in bounded time. ``bench/hostile.py``
measures the worst inputs found against these bounds.
"""

from __future__ import annotations

from service.config import Settings
from service.errors import TooLargeError
from service.text.article import Article

CHARS_PER_WORD = 10
"""Characters read allowed per word of ``max_words``.

A text without spaces (one long token, or a script written without them)
counts as few words but takes as long to plan and to say as its length: this
bounds it. English averages about six characters a word, spaces included.
"""


def check_length(article: Article, settings: Settings) -> None:
    """Refuse an article longer than ``max_words``, title and byline included.

    Call it once, on the article as it will be read (after any title given
    with the request has replaced the document's own), before any work is
    planned for it.
    """
    if not settings.max_words:
        return
    words = article.word_count
    if words > settings.max_words:
        raise TooLargeError(
            f"the article has {words:,} words; the limit is {settings.max_words:,} "
            "(LISTEN_MAX_WORDS)"
        )
    chars = len(article.text)
    max_chars = settings.max_words * CHARS_PER_WORD
    if chars > max_chars:
        raise TooLargeError(
            f"the article has {chars:,} characters; the limit is {max_chars:,} "
            f"({CHARS_PER_WORD} for each word of LISTEN_MAX_WORDS)"
        )
