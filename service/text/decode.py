"""Turn input bytes into text: honour BOMs and declared charsets, refuse binary data.

Beautiful Soup's ``bs4.dammit`` does two jobs here that it is made for: it finds
the charset a document declares (an XML declaration or an HTML ``<meta>``),
searched in the first few kilobytes only, and it mends pages that mix
Windows-1252 bytes (curly quotes, dashes pasted from a word processor) into
UTF-8 ("detwingling"). Labels are then read as browsers read them
(the WHATWG Encoding Standard, through webencodings). It is imported only for
a document that declares a charset, or that is not valid UTF-8.
"""

from __future__ import annotations

import codecs
import re

import webencodings

from service.errors import InputError, UnsupportedMediaError

# Signatures of common binary formats, so the error can name what was sent.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"ID3", "an MP3 file"),
    (b"OggS", "an Ogg file"),
    (b"RIFF", "a RIFF (WAV/AVI/WebP) file"),
    (b"\x7fELF", "an executable"),
)

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

_DECLARES = re.compile(rb"charset|encoding", re.I)
"""What a charset declaration holds: without it, Beautiful Soup is not loaded to look."""
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]")
"""A UTF-8 character beyond ASCII: bytes that fail UTF-8 but hold some mix two encodings."""
_NOT_DECODED = frozenset({"replacement", "x-user-defined"})
"""WHATWG encodings Python has no codec for; their declarations are ignored."""
_SNIFF_BYTES = 4096
# Text has almost no C0 control characters besides tab, newline, carriage return, form feed.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_MAX_CONTROL_SHARE = 0.01
_MAX_REPLACEMENT_SHARE = 0.001


def sniff_charset(data: bytes) -> str | None:
    """Return the charset a document declares in its first bytes (``<meta>`` or XML), if any."""
    head = data[:_SNIFF_BYTES]
    if _DECLARES.search(head) is None:
        return None
    from bs4.dammit import EncodingDetector

    # the whole head, not bs4's own 2 KB for <meta>: declarations after a long <head> count
    declared = EncodingDetector.find_declared_encoding(
        head.lstrip(), is_html=True, search_entire_document=True
    )
    return _codec_name(declared)


def decode_bytes(data: bytes, *, declared_charset: str | None = None) -> str:
    """Decode ``data`` to text, or raise a named error if it is binary or undecodable.

    A byte order mark wins, then the charset declared by the transport
    (``declared_charset``) or the document itself, then UTF-8, then UTF-8 with
    Windows-1252 mixed in, then a guess by charset-normalizer.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _checked(_decode(data[len(bom) :], encoding))
    _refuse_binary(data)
    for candidate in (_codec_name(declared_charset), sniff_charset(data)):
        if candidate is None:
            continue
        try:
            return _checked(data.decode(candidate))
        except UnicodeDecodeError:
            # A wrong declaration is common (pages saved as UTF-8 that still say latin-1).
            continue
    try:
        return _checked(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        utf8_error = error
    mended = _detwingled(data)
    if mended is not None:
        return _checked(mended)
    return _checked(_guess(data, utf8_error))


def _detwingled(data: bytes) -> str | None:
    """Return UTF-8 text with Windows-1252 bytes mixed in, mended; None when it is not that.

    Only text that holds UTF-8 characters is mixed; a whole page in Windows-1252
    is left to the guess below.
    """
    if _UTF8_MULTIBYTE.search(data) is None:
        return None
    from bs4.dammit import UnicodeDammit

    try:
        return UnicodeDammit.detwingle(data).decode("utf-8")
    except UnicodeDecodeError:
        return None


def _decode(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise InputError(
            f"the input is not valid {encoding.upper()} despite its byte order mark"
        ) from error


def _codec_name(charset: str | None) -> str | None:
    """Return Python's codec for a declared ``charset``, or None when it names no text encoding.

    Labels are read as browsers read them (the WHATWG Encoding Standard, through
    webencodings): latin-1 and ascii mean windows-1252, and a label that is not
    a text encoding there (``base64``, ``bz2_codec``, ``utf-7``...) is ignored,
    although Python has a codec of that name.
    """
    if not charset:
        return None
    encoding = webencodings.lookup(charset.strip())
    if encoding is None or encoding.name in _NOT_DECODED:
        return None
    name: str = encoding.codec_info.name
    try:
        codecs.lookup(name)
    except LookupError:
        return None
    return name


def _refuse_binary(data: bytes) -> None:
    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise UnsupportedMediaError(f"the input is binary data ({what}), not text")
    # UTF-16 without BOM has many NULs too, but nobody sends it without one.
    if b"\x00" in data[:_SNIFF_BYTES]:
        raise UnsupportedMediaError("the input is binary data, not text")


def _guess(data: bytes, utf8_error: UnicodeDecodeError) -> str:
    # Mostly UTF-8 with a few broken bytes: keep the text, mark the damage.
    text = data.decode("utf-8", errors="replace")
    damaged = text.count("\ufffd")
    has_multibyte = any(ord(char) > 127 and char != "\ufffd" for char in text)
    if has_multibyte and damaged <= max(1, len(text) * _MAX_REPLACEMENT_SHARE):
        return text
    from charset_normalizer import from_bytes

    best = from_bytes(data[: 256 * 1024]).best()
    if best is not None and best.encoding not in {"utf_8", "ascii"}:
        try:
            return data.decode(best.encoding)
        except UnicodeDecodeError:
            pass
    raise InputError(
        f"the input is not valid UTF-8 (byte {utf8_error.start}) and its encoding "
        "could not be recognised; save it as UTF-8"
    ) from utf8_error


def _checked(text: str) -> str:
    sample = text[: _SNIFF_BYTES * 4]
    if sample and len(_CONTROL.findall(sample)) > len(sample) * _MAX_CONTROL_SHARE:
        raise UnsupportedMediaError("the input is binary data, not text")
    return text
