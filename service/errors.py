"""Name every error a user can cause or meet; the edges turn them into messages.

The CLI prints ``str(error)`` on one line and exits with ``error.exit_code``;
the web layer answers JSON problem details with ``error.http_status``.
"""

from __future__ import annotations


class ListenError(Exception):
    """Base of every error the service reports to a user."""

    http_status: int = 400
    exit_code: int = 2
    slug: str = "bad-input"
    title: str = "Bad input"


class InputError(ListenError):
    """The input cannot be read as an article (empty, binary, too large...)."""


class TooLargeError(InputError):
    """The input is larger than the configured limit."""

    http_status = 413
    slug = "too-large"
    title = "Input too large"


class TooComplexError(InputError):
    """The input is within the size limit but would cost too much to read (nesting, markup)."""

    http_status = 422
    slug = "too-complex"
    title = "Input too costly to read"


class NothingToReadError(InputError):
    """The input was read but holds no article text."""

    http_status = 422
    slug = "nothing-to-read"
    title = "Nothing to read"


class UnsupportedMediaError(InputError):
    """The input is of a type the service does not read."""

    http_status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"


class FetchError(InputError):
    """A URL could not be fetched (refused address, timeout, status, size...)."""

    http_status = 422
    slug = "fetch-failed"
    title = "URL could not be fetched"


class VoiceError(ListenError):
    """The voice or a voice setting does not exist or is out of range."""

    slug = "bad-voice"
    title = "Unknown voice or bad voice setting"


class EngineUnavailableError(ListenError):
    """An engine was chosen that is not installed here."""

    http_status = 400
    slug = "engine-unavailable"
    title = "Engine not installed"


class SynthesisError(ListenError):
    """Speech synthesis failed for a chunk, even after a retry, or no engine worker started.

    The service is at fault, not the request: the API answers 503 with ``Retry-After``.
    """

    http_status = 503
    retry_after_s = 10
    exit_code = 1
    slug = "synthesis-failed"
    title = "Synthesis failed"


class StoreError(ListenError):
    """The audio store cannot be read or written (read-only, full, not a folder)."""

    http_status = 503
    exit_code = 1
    slug = "store-unavailable"
    title = "Audio store unavailable"


class FormatError(ListenError):
    """The audio format asked for cannot be written, or two ways of asking disagree."""

    slug = "bad-format"
    title = "Unsupported or conflicting audio format"


class OutputError(ListenError):
    """An output file cannot be written."""

    exit_code = 1
    slug = "output-failed"
    title = "Output cannot be written"


class LexiconError(ListenError):
    """A lexicon or one of its rules is invalid, or a voice cannot say a rule."""

    http_status = 422
    slug = "bad-lexicon"
    title = "Invalid lexicon"


class LexiconNotFoundError(LexiconError):
    """No lexicon has the name asked for."""

    http_status = 404
    slug = "lexicon-not-found"
    title = "Lexicon not found"


class UnknownLexiconError(LexiconError):
    """A narration request names a lexicon that does not exist (the request is what is wrong)."""

    http_status = 422
    slug = "unknown-lexicon"
    title = "Unknown lexicon"


class LexiconConflictError(LexiconError):
    """A lexicon claims a site that another lexicon already has."""

    http_status = 409
    slug = "lexicon-conflict"
    title = "Site already claimed by another lexicon"


class DatabaseError(ListenError):
    """The library database cannot be reached, read or written, or needs migrating."""

    http_status = 503
    retry_after_s = 10
    exit_code = 1
    slug = "database-unavailable"
    title = "Library database unavailable"


class DatabaseSchemaError(DatabaseError):
    """The database's schema is not the one this code was written for: migrate it first."""

    slug = "database-schema"
    title = "Library database needs migrating"
