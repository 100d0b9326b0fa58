"""Turn IPA from a lexicon rule into the phoneme alphabet each engine reads.

- **eSpeak NG** reads its own ASCII phoneme names inline between ``[[`` and
  ``]]`` (Kirshenbaum-like: ``dZ'If`` for /ˈdʒɪf/). The table below maps the
  IPA that eSpeak itself writes for English (``espeak-ng --ipa``) back to the
  names of its English phoneme table, so its own transcription of a word
  converts to the phonemes it would say for that word.
- **Piper** voices are trained on eSpeak NG's IPA and read it between
  ``[[`` and ``]]``, one phoneme per character; a voice's config lists the
  characters it knows (``phoneme_id_map``).
- **hibari** reads misaki's alphabet (Kokoro's): diphthongs as capitals
  (``A I O W Y``), ``ʤ ʧ``, ``ɡ``, ``ɹ``, the stress mark right before the vowel,
  inline as ``[term](/phonemes/)``.

A symbol an alphabet has no phoneme for raises :class:`PhonemeError`: the
planner then reads the rule's ``say`` words, or refuses the rule.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection

PHONEME_FORMAT_VERSION = 1
"""Bump when a conversion below changes: sentences with phoneme rules are made again."""
STRESS = "ˈˌ"
"""IPA's primary and secondary stress marks."""


class PhonemeError(ValueError):
    """An IPA string holds a symbol the target alphabet cannot say."""


def normalize_ipa(ipa: str) -> str:
    """Return IPA in one spelling: composed, ASCII look-alikes replaced, no ties or dots."""
    text = unicodedata.normalize("NFC", ipa.strip().strip("/[]"))
    for old, new in (
        ("'", "ˈ"),
        ("ˈ", "ˈ"),
        (",", "ˌ"),
        ("g", "ɡ"),
        (":", "ː"),
        ("ʤ", "dʒ"),
        ("ʧ", "tʃ"),
        ("ʦ", "ts"),
        ("ʣ", "dz"),
        ("\u0361", ""),  # tie bar above
        ("\u035c", ""),  # tie bar below
        ("‿", ""),
        (".", ""),
    ):
        text = text.replace(old, new)
    return " ".join(text.split())


# --- eSpeak NG (English phoneme table) ------------------------------------------------

_ESPEAK_TOKENS: dict[str, str] = {
    # r-coloured vowels and diphthongs first (longest match wins)
    "ɑːɹ": "A@",
    "ɔːɹ": "O@",
    "ɛɹ": "e@",
    "ʊɹ": "U@",
    "ɪɹ": "i@3",
    "eɪ": "eI",
    "aɪ": "aI",
    "ɔɪ": "OI",
    "aʊ": "aU",
    "oʊ": "oU",
    "əʊ": "@U",
    "ɪə": "i@",
    "ɛə": "e@",
    "eə": "e@",
    "ʊə": "U@",
    "dʒ": "dZ",
    "tʃ": "tS",
    "iː": "i:",
    "uː": "u:",
    "ɑː": "A:",
    "ɔː": "O:",
    "ɜː": "3:",
    "n̩": "n-",
    "l̩": "@L",
    "m̩": "m-",
    # vowels
    "i": "i",
    "ɪ": "I",
    "ᵻ": "I#",
    "ɨ": "I#",
    "e": "E",
    "ɛ": "E",
    "æ": "a",
    "a": "a",
    "ɐ": "a#",
    "ɑ": "A:",
    "ɒ": "0",
    "ɔ": "O:",
    "o": "oU",
    "ʌ": "V",
    "ə": "@",
    "ɚ": "3",
    "ɜ": "3:",
    "ɝ": "3:",
    "ʊ": "U",
    "u": "u:",
    # consonants
    "p": "p",
    "b": "b",
    "t": "t",
    "d": "d",
    "k": "k",
    "ɡ": "g",
    "f": "f",
    "v": "v",
    "θ": "T",
    "ð": "D",
    "s": "s",
    "z": "z",
    "ʃ": "S",
    "ʒ": "Z",
    "h": "h",
    "m": "m",
    "n": "n",
    "ŋ": "N",
    "l": "l",
    "ɫ": "l",
    "ɹ": "r",
    "r": "r",
    "ɾ": "t#",
    "w": "w",
    "ʍ": "w",
    "j": "j",
    "x": "x",
    "ʔ": "?",
    # prosody
    "ˈ": "'",
    "ˌ": ",",
    " ": " ",
}
_IPA_VOWELS = "aeiouæɑɒɔəɛɜɪʊʌɐɚɝᵻɨ"
_R_COLOURED = frozenset({"ɑːɹ", "ɔːɹ", "ɛɹ", "ʊɹ", "ɪɹ"})
"""eSpeak's r-coloured vowels; before a vowel the r is a consonant of its own (``story``)."""
_ESPEAK_PATTERN = re.compile(
    "|".join(
        re.escape(token) + (f"(?![{_IPA_VOWELS}])" if token in _R_COLOURED else "")
        for token in sorted(_ESPEAK_TOKENS, key=len, reverse=True)
    )
)
_ESPEAK_IGNORED = frozenset("ː\u0303ʰˑ\u0329ʲ")
"""Length after a vowel with no long form, nasalisation, aspiration: English eSpeak has none."""
_ESPEAK_VOWEL_START = frozenset("aAeEiIoOuUV03@")


def ipa_to_espeak(ipa: str) -> str:
    """Return eSpeak NG's English phoneme names for ``ipa`` (``ˈdʒɪf`` -> ``dZ'If``).

    eSpeak, like its own ``-x`` output, takes a stress mark as applying to the
    next vowel; it is moved there, so IPA's syllable-initial marks work as well.
    """
    text = normalize_ipa(ipa)
    names: list[str] = []
    position = 0
    while position < len(text):
        found = _ESPEAK_PATTERN.match(text, position)
        if found is None:
            symbol = text[position]
            if symbol in _ESPEAK_IGNORED:
                position += 1
                continue
            raise PhonemeError(f"eSpeak NG has no English phoneme for {symbol!r}")
        names.append(_ESPEAK_TOKENS[found.group()])
        position = found.end()
    return _stress_before_vowel(names, {"'", ","}, _ESPEAK_VOWEL_START)


def _stress_before_vowel(names: list[str], marks: set[str], vowel_starts: Collection[str]) -> str:
    out: list[str] = []
    pending = ""
    for name in names:
        if name in marks:
            pending = name
            continue
        if name == " " and pending:
            out.append(pending)  # a mark with no vowel before the word ends stays where it was
            pending = ""
        if pending and name[0] in vowel_starts:
            out.append(pending)
            pending = ""
        out.append(name)
    if pending:
        out.append(pending)
    return "".join(out)


# --- Piper (eSpeak NG's IPA, one phoneme per character) --------------------------------


def ipa_to_piper(ipa: str, known: Collection[str], *, english: bool = True) -> str:
    """Return ``ipa`` as the phonemes a Piper voice reads, checked against ``known``.

    ``known`` is the voice's ``phoneme_id_map`` keys. For English voices a
    plain ``r`` becomes ``ɹ``, and stress marks stand right before the vowel,
    as eSpeak writes them and the voices were trained on.
    """
    text = normalize_ipa(ipa)
    if english:
        text = text.replace("r", "ɹ")
    text = _stress_before_vowel(list(text), set(STRESS), _IPA_VOWELS)
    for symbol in text:
        if symbol not in known:
            raise PhonemeError(f"the Piper voice has no phoneme {symbol!r}")
    return text


# --- hibari (misaki's alphabet) ---------------------------------------------------------

MISAKI_PHONEMES = frozenset(
    "AIOQSTWYabcdefhijklmnopqrstuvwxyzæçðøŋœɐɑɒɔɕɖəɚɛɜɟɡɣɤɥɨɪɯɰɲɳɴɸɹɻɽɾʁʂʃʈʊʋʌʎʒʔʝ"
    "ʣʤʥʦʧʨʰʲˈˌː\u0303βθχᵊᵝᵻꭧ "
)
"""The phoneme characters of hibari's vocabulary (its ``vocab.json`` less punctuation)."""
_MISAKI_MULTI = (
    ("dʒ", "ʤ"),
    ("tʃ", "ʧ"),
    ("eɪ", "A"),
    ("aɪ", "I"),
    ("ɔɪ", "Y"),
    ("aʊ", "W"),
    ("oʊ", "O"),
    ("əʊ", "O"),
    ("ɝ", "ɜɹ"),
    ("ɚ", "əɹ"),
    ("n̩", "ᵊn"),
    ("l̩", "ᵊl"),
    ("m̩", "ᵊm"),
)
_MISAKI_SINGLE = {
    "r": "ɹ",
    "ɾ": "T",
    "ʔ": "t",
    "ɒ": "ɑ",
    "e": "ɛ",
    "o": "O",
    "a": "æ",
    "ɫ": "l",
    "ʍ": "w",
    "x": "k",
    "ː": "",
    "ˑ": "",
    "ʰ": "",
    "ʲ": "",
    "\u0329": "",
}
_MISAKI_VOWELS = frozenset("AIOWYaeiouæɑɒɔəɛɜɪʊʌᵊᵻ")
_NURSE = re.compile(r"ɜː(?!ɹ)|ɜ(?![ɹː])")


def ipa_to_misaki(ipa: str) -> str:
    """Return (American) IPA in misaki's alphabet, which hibari reads: /həˈloʊ/ -> ``həlˈO``."""
    text = _NURSE.sub("ɜɹ", normalize_ipa(ipa))  # General American NURSE is r-coloured
    for old, new in _MISAKI_MULTI:
        text = text.replace(old, new)
    text = "".join(_MISAKI_SINGLE.get(c, c) for c in text)
    out: list[str] = []
    pending = ""
    for char in text:
        if char in STRESS:
            pending = char
            continue
        if pending and char in _MISAKI_VOWELS:
            out.append(pending)
            pending = ""
        out.append(char)
    result = "".join(out)
    for symbol in result:
        if symbol not in MISAKI_PHONEMES:
            raise PhonemeError(f"hibari has no phoneme {symbol!r}")
    return result


def misaki_markup(term: str, ipa: str) -> str:
    """Return misaki's inline markup that reads ``term`` as ``ipa``: ``[term](/phonemes/)``."""
    safe_term = term.replace("[", " ").replace("]", " ").strip() or "x"
    return f"[{safe_term}](/{ipa_to_misaki(ipa)}/)"


def inline_marks(text: str, say: Callable[[str], str], escape: Callable[[str], str]) -> str:
    """Return ``text`` with its phoneme marks said by ``say`` (IPA in, the engine's markup out).

    ``escape`` turns the article's own text into text the engine never reads as
    phonemes. A mark the engine cannot say fails the sentence with a message
    naming the term.
    """
    from service.errors import SynthesisError
    from service.text.lexicon.marks import PhonemeMark, split_marks

    pieces = []
    for piece in split_marks(text):
        if isinstance(piece, PhonemeMark):
            try:
                pieces.append(say(piece.ipa))
            except PhonemeError as error:
                raise SynthesisError(f"cannot say {piece.term!r}: {error}") from None
        else:
            pieces.append(escape(piece))
    return "".join(pieces)
