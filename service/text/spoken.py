"""Turn displayed text into what the engine is given: its spoken form.

Rules for every language: web addresses become their registered domain,
footnote marks, bullets, emoji, zero-width and control characters go, dashes
and ellipses become a comma (a pause eSpeak NG and Piper both make), and
whitespace is folded.

English also gets fixes for what eSpeak NG 1.52 reads wrongly on its own
(currency before the amount, decades, month abbreviations, ISO dates, numeric
ranges, "No. 5", version numbers, degrees, a few units), and common
abbreviations spelled out where the words around them leave no doubt: a title
before a name ("Dr. Smith"), a street type after one ("Main St."), a label
before a number ("Fig. 3", "pp. 12–14"). Numbers eSpeak already reads well
(plain numbers, thousands separators, decimals, percentages, times, ordinals)
are left alone, so its own rules do the work. Other languages keep their
digits: an English rule never runs on them.

E-mail addresses are read in full, since a listener may want to write to one:
"news at example dot org" in English; in other languages the engine reads the
address in its own words ("arobase", "arroba").

Every function here is total: it never raises on any ``str``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import regex
from num2words import num2words

from service.text.alignment import Edits, PlainRewriting, Rewriting
from service.text.tags import language_subtag

__all__ = ["aligned_spoken_form", "language_subtag", "spoken_form", "spoken_words"]

# --- characters removed in every language ------------------------------------

_WHITESPACE = re.compile(r"\s+")
_INVISIBLE = regex.compile(r"[\p{Cc}\p{Cf}\p{Cs}\p{Co}]+")
_EMOJI = regex.compile(
    r"[\p{Extended_Pictographic}\p{Emoji_Modifier}\p{Regional_Indicator}\uFE0E\uFE0F\u20E3]+"
)
_BULLETS = re.compile(r"[•◦‣⁃●○▪▫■□►▸▹▻◆◇❖➢➤✓✔✗✘]+")
_LEADING_LIST_MARK = re.compile(r"^[*+\-]\s+")
_FOOTNOTE = re.compile(
    r"\[(?:\d+(?:\s*[,–-]\s*\d+)*|[a-z]|note \d+|citation needed|\d+\s*:\s*\d+(?:-\d+)?)\]",
    re.IGNORECASE,
)

# --- web and e-mail addresses ------------------------------------------------

_EMAIL = re.compile(
    r"(?<![\w.+-])(?:mailto:)?(?P<address>(?P<local>[\w.+-]+)@"
    r"(?P<domain>[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}))\b"
)
_EMAIL_SYMBOLS = {".": " dot ", "_": " underscore ", "-": " dash ", "+": " plus "}
_URL = re.compile(
    r"(?<![\w@])(?:(?:https?|ftp)://|www\d{0,3}\.)"
    r"(?P<host>[^\s/?#<>\"'@]+)"
    r"(?:[/?#][^\s<>\"]*)?"
)
_URL_TRAILING = ".,;:!?)]}'\"»”’"
_SECOND_LEVEL = frozenset({"co", "com", "org", "net", "ac", "gov", "edu", "ne", "or", "go", "gob"})

# --- pauses ------------------------------------------------------------------

_ELLIPSIS = re.compile(r"\s*(?:…+|\.(?:\s?\.){2,})\s*")
_DASH = re.compile(r"\s*(?:—|―|-{2,})\s*|\s+[–‒-]\s+|(?<=\D)–(?=\D)|^–|–$")
# A comma right before a stop, or before closing quotes or brackets and then a stop, adds
# nothing; one before a closing quote that the sentence goes on after ("it works," she
# said) is the author's, and stays.
_COMMA_BEFORE_STOP = re.compile(r"\s*,(?:\s*,)*\s*(?=[)\]”’\"»]*\s*(?:[,.;:!?]|$))")
_REPEATED_COMMA = re.compile(r",(?:\s*,)+")
_LEADING_PAUSE = re.compile(r"^[\s,;:]+")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+(?=[,;:!?.](?:\s|$))")

# --- English fixes -----------------------------------------------------------

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_MONTH_ABBREVIATIONS = {
    "jan": "January",
    "feb": "February",
    "mar": "March",
    "apr": "April",
    "jun": "June",
    "jul": "July",
    "aug": "August",
    "sep": "September",
    "sept": "September",
    "oct": "October",
    "nov": "November",
    "dec": "December",
}
_MONTH_NAME = "|".join(_MONTHS)
_MONTH_ABBREVIATION = "|".join(
    sorted((name.capitalize() for name in _MONTH_ABBREVIATIONS), key=len, reverse=True)
)

_CURRENCY = re.compile(
    r"(?<![\w$€£¥₹])(?P<country>US|U\.S\.|AU|A|CA|C|NZ|HK|S)?(?P<symbol>[$€£¥₹])\s?"
    r"(?P<whole>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<fraction>\d+))?"
    r"(?:\s?(?P<scale>thousand|million|billion|trillion)\b"
    r"|(?P<scale_short>k|m|mn|bn|b|tn|tr)\b)?"
)
_CURRENCY_NAMES: dict[str, tuple[str, str, str, str]] = {
    # symbol: (one, many, one hundredth, many hundredths)
    "$": ("dollar", "dollars", "cent", "cents"),
    "€": ("euro", "euros", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "¥": ("yen", "yen", "", ""),
    "₹": ("rupee", "rupees", "paisa", "paise"),
}
_CURRENCY_COUNTRIES = {
    "US": "US",
    "U.S.": "US",
    "A": "Australian",
    "AU": "Australian",
    "C": "Canadian",
    "CA": "Canadian",
    "NZ": "New Zealand",
    "HK": "Hong Kong",
    "S": "Singapore",
}
_SCALES = {
    "k": "thousand",
    "m": "million",
    "mn": "million",
    "b": "billion",
    "bn": "billion",
    "tn": "trillion",
    "tr": "trillion",
}

_ISO_DATE = re.compile(r"(?<![\d-])(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])(?![\d-])")
_YEAR = r"(?P<year>\d{4})(?![\d%]|[.,:]\d)"
_DAY_MONTH = re.compile(
    rf"(?<![\d.,])(?P<article>\b[Tt]he\s+)?(?P<day>[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?\s+"
    rf"(?P<month>{_MONTH_NAME}|{_MONTH_ABBREVIATION})"
    rf"(?:\.?(?P<gap>,?\s+){_YEAR}|\.?(?!\w))"
)
_MONTH_DAY = re.compile(
    rf"\b(?P<month>{_MONTH_NAME}|(?:{_MONTH_ABBREVIATION})\.?)\s+"
    r"(?P<day>[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?(?![\w:]|[.,]\d)"
    rf"(?:(?P<gap>,?\s+){_YEAR})?"
)
_MONTH_YEAR = re.compile(
    rf"\b(?P<month>{_MONTH_NAME}|(?:{_MONTH_ABBREVIATION})\.?)(?P<gap>,?\s+){_YEAR}"
)
_YEAR_AFTER_WORD = re.compile(
    r"\b(?P<word>in|since|from|until|till|before|after|around|circa|c\.|during|year|early|late|"
    r"mid|through|In|Since|From|Until|Till|Before|After|Around|Circa|During|Year|Early|Late|Mid)"
    r"(?P<gap>\s+|-)(?P<year>1\d{3})(?![\d%]|[.,:]\d|\s*(?:percent|per cent)\b)"
)
_DECADE_FULL = re.compile(r"\b(1\d|20)(\d)0s\b")
_DECADE_SHORT = re.compile(r"(?:(?<=\s)|^|(?<=[(\"“]))['’‘]?([1-9])0s\b")
_RANGE = re.compile(
    r"(?<![\w.,/:-])(?P<low>\d{1,4}(?:[.,]\d+)?)(?P<dash>\s?[–—]\s?|-)(?P<high>\d{1,4}(?:[.,]\d+)?)"
    r"(?![\w/]|[-–.,:]\d)"
)
_NUMBER_SIGN = re.compile(r"\bNo\.\s?(?=\d)|(?<![\w&])#(?=\d)")
_VERSION = re.compile(r"(?<![\w.])(\d+)\.(\d+)\.(\d+)(?:\.(\d+))?(?![\w.]|\.\d)")
_VERSION_WORD = re.compile(r"\b(?P<word>[Vv]ersion |v)(?P<major>\d+)\.(?P<minor>\d+)\b(?!\.\d)")
_DEGREES = re.compile(r"\s?(?:°\s?(?P<unit>[CF])\b|℃|℉)")
_ABOUT = re.compile(r"(?:(?<=\s)|^)~\s?(?=\d)")
_VERSUS = re.compile(r"\bvs\.?(?=\s)|\bv\.(?=\s[A-Z])")
_NUMERONYM = re.compile(r"\b(9/11|24/7)\b")
_UNIT = re.compile(r"(?<=\d)\s?(?P<unit>km/h|kph|mph|km|kg|ft)\b")
_UNIT_NAMES = {
    "km/h": "kilometres per hour",
    "kph": "kilometres per hour",
    "mph": "miles per hour",
    "km": "kilometres",
    "kg": "kilograms",
    "ft": "feet",
}

# Abbreviations eSpeak NG spells, misreads or pauses after (the "." ends a clause for it),
# expanded only where the next or previous word makes them unambiguous.
_TITLES = {
    "Dr": "Doctor", "Prof": "Professor", "Mr": "Mister", "Mrs": "Missus", "Ms": "Miz",
    "Gen": "General", "Sen": "Senator", "Rep": "Representative", "Gov": "Governor",
    "Lt": "Lieutenant", "Col": "Colonel", "Capt": "Captain", "Sgt": "Sergeant",
    "Rev": "Reverend", "St": "Saint", "Mt": "Mount", "Ft": "Fort",
}  # fmt: skip
"""Before a capitalised name: ``Dr. Smith``, ``St. Louis``, ``Mt. Everest``."""
_STREET_TYPES = ("St", "Dr")
_TITLE = regex.compile(
    # "Main St. Paul" and "Elm Dr. Smith" may be addresses: "St." and "Dr." after a
    # capitalised word are left alone
    rf"(?:(?<!\p{{Lu}}[\p{{L}}'’]*\s)\b(?P<abbreviation>{'|'.join(_STREET_TYPES)})"
    rf"|\b(?P<title>{'|'.join(t for t in _TITLES if t not in _STREET_TYPES)}))"
    r"\.\s+(?=\p{Lu})"
)
_SUFFIXES = {
    "St": "Street", "Ave": "Avenue", "Blvd": "Boulevard", "Rd": "Road",
    "Jr": "Junior", "Sr": "Senior", "Corp": "Corporation",
}  # fmt: skip
"""After a capitalised name or an ordinal, before lower case or the end: ``Main St.``, ``Jr.``"""
_SUFFIX = regex.compile(
    r"(?<=(?:\p{Lu}[\p{L}'’]*|\d(?:st|nd|rd|th)),?\s)"
    rf"(?P<abbreviation>{'|'.join(_SUFFIXES)})\.(?P<end>\s*$)?(?=\s+\p{{Ll}}|\s*[,;:!?)]|\s*$)"
)
_BEFORE_NUMBER = {
    "Fig": "figure", "fig": "figure", "Figs": "figures", "figs": "figures",
    "p": "page", "pp": "pages", "Nos": "numbers", "Vol": "volume", "vol": "volume",
    "Ch": "chapter", "ch": "chapter", "Eq": "equation", "Sec": "section", "Art": "article",
    "approx": "approximately", "Approx": "approximately",
}  # fmt: skip
"""Before a number: ``Fig. 3``, ``pp. 12–14``, ``Vol. 2``."""
_NUMBERED = re.compile(rf"(?<![\w.])(?P<abbreviation>{'|'.join(_BEFORE_NUMBER)})\.\s?(?=\d)")
_ESTABLISHED = re.compile(r"(?<![\w.])[Ee]st\.\s?(?=\d{4}\b)")
_THAT_IS = re.compile(r"(?<![\w.])i\.\s?e\.(?=[\s,]|$)")

_WORD = re.compile(r"\w+")

_BYLINE_PREFIX = {
    "en": "By",
    "de": "Von",
    "es": "Por",
    "fr": "Par",
    "it": "Di",
    "nl": "Door",
    "pt": "Por",
}


def byline_prefix(language: str) -> str:
    """Return the word read before a byline ("By" in English), or "" when there is none."""
    return _BYLINE_PREFIX.get(language_subtag(language), "")


def spoken_words(text: str) -> list[str]:
    """Return the words of a text: runs of letters, digits and underscores, in order."""
    return _WORD.findall(text)


def spoken_form(text: str, language: str = "en") -> str:
    """Return what the engine should be given for ``text`` in ``language``."""
    rewriting = PlainRewriting(text)
    _speak(rewriting, language)
    return rewriting.text


def aligned_spoken_form(text: str, language: str = "en") -> tuple[str, Edits]:
    """Return :func:`spoken_form` of ``text`` and the edits that lead back to ``text``."""
    rewriting = Rewriting(text)
    _speak(rewriting, language)
    return rewriting.text, rewriting.edits()


def _speak(text: PlainRewriting | Rewriting, language: str) -> None:
    """Rewrite ``text`` into its spoken form, step by step."""
    text.sub(_WHITESPACE, " ")
    text.sub(_INVISIBLE, "")
    english = language_subtag(language) == "en"
    # Each rule runs only when a character it needs is present: most sentences
    # skip most rules, which keeps a 10,000-word article well under a second.
    if "@" in text.text:
        text.sub(_EMAIL, _say_email if english else r"\g<address>")
    if "://" in text.text or "www" in text.text:
        text.sub(_URL, lambda match: _say_url(match, english))
    if "[" in text.text:
        text.sub(_FOOTNOTE, "")
    text.sub(_EMOJI, " ")
    text.sub(_BULLETS, " ")
    if english:
        for needed, pattern, replacement in _ENGLISH_RULES:
            if needed.search(text.text):
                text.sub(pattern, replacement)
    if "." in text.text or "…" in text.text:
        text.sub(_ELLIPSIS, ", ")
    if _HAS_DASH.search(text.text):
        text.sub(_DASH, ", ")
    text.sub(_WHITESPACE, " ")
    text.strip()
    text.sub(_LEADING_LIST_MARK, "")
    if "," in text.text:
        text.sub(_REPEATED_COMMA, ",")
        text.sub(_COMMA_BEFORE_STOP, "")
    text.sub(_LEADING_PAUSE, "")
    text.sub(_SPACE_BEFORE_PUNCT, "")


def _say_url(match: re.Match[str], english: bool) -> str:
    """Return the registered domain of a matched web address, as it should be heard."""
    url = match.group(0)
    trailing = ""
    while url and url[-1] in _URL_TRAILING:
        trailing = url[-1] + trailing
        url = url[:-1]
    host = match.group("host").rstrip(_URL_TRAILING).split(":")[0].lower()
    labels = [label for label in host.split(".") if label]
    if labels and re.fullmatch(r"www\d{0,3}", labels[0]):
        labels = labels[1:]
    if not labels or all(label.isdigit() for label in labels):
        return (" a web address" if english else " ") + trailing
    keep = 2
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL:
        keep = 3
    domain = labels[-keep:]
    separator = " dot " if english else "."
    return " " + separator.join(domain) + trailing + " "


def _say_email(match: re.Match[str]) -> str:
    """Say ``jane.doe@example.org`` as ``jane dot doe at example dot org``."""
    local = re.sub(r"[._+-]", lambda symbol: _EMAIL_SYMBOLS[symbol.group(0)], match["local"])
    domain = match["domain"].replace(".", " dot ").replace("-", " dash ")
    return " ".join(f"{local} at {domain}".split())


def _year_words(year: int) -> str:
    """Return a year as English words ("1990" -> "nineteen ninety"), or its digits."""
    if 1000 <= year <= 1999:
        return str(num2words(year, to="year"))
    return str(year)


def _ordinal(day: int) -> str:
    """Return a day of the month with its ordinal suffix (``5th``), which eSpeak reads."""
    if 11 <= day % 100 <= 13:
        return f"{day}th"
    return f"{day}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(day % 10, 'th') }"


def _month(name: str) -> str:
    """Return the full month name for a month name or abbreviation."""
    return _MONTH_ABBREVIATIONS.get(name.rstrip(".").lower(), name.rstrip("."))


def _say_currency(match: re.Match[str]) -> str:
    """Say an amount with the currency after it, as English speakers do."""
    one, many, cent, cents = _CURRENCY_NAMES[match.group("symbol")]
    country = _CURRENCY_COUNTRIES.get(match.group("country") or "", "")
    if country:
        one, many = f"{country} {one}", f"{country} {many}"
    whole = match.group("whole")
    fraction = match.group("fraction")
    scale = match.group("scale") or _SCALES.get(match.group("scale_short") or "", "")
    number = f"{whole}.{fraction}" if fraction else whole
    if scale:
        return f"{number} {scale} {many}"
    if fraction is not None and len(fraction) == 2 and cent:
        hundredths = int(fraction)
        units = int(whole.replace(",", ""))
        cents_said = f"{hundredths} {cent if hundredths == 1 else cents}"
        if units == 0:
            return cents_said if hundredths else f"0 {many}"
        units_said = f"{whole} {one if units == 1 else many}"
        return f"{units_said} and {cents_said}" if hundredths else units_said
    if fraction is None and whole == "1":
        return f"1 {one}"
    return f"{number} {many}"


def _say_iso_date(match: re.Match[str]) -> str:
    """Say ``2024-01-05`` as ``January 5th, 2024``."""
    year, month, day = int(match.group(1)), int(match.group(2)), int(match.group(3))
    return f"{_MONTHS[month - 1]} {_ordinal(day)}, {_year_words(year)}"


def _said_year(match: re.Match[str]) -> str:
    """Return the optional year of a matched date, with what separated it, as heard."""
    year = match.group("year")
    return "" if year is None else f"{match.group('gap')}{_year_words(int(year))}"


def _say_day_month(match: re.Match[str]) -> str:
    """Say ``5 January 1990`` as ``the 5th of January nineteen ninety``."""
    day = _ordinal(int(match.group("day")))
    article = match.group("article") or "the "
    said = f"{article}{day} of {_month(match.group('month'))}{_said_year(match)}"
    # the pattern takes the full stop of "Jan."; it also ends a sentence at the end of the
    # text, and after a full month name it can only end one
    stop = match.group(0).endswith(".") and (
        match.group("month") in _MONTHS or not match.string[match.end() :].strip()
    )
    return said + "." if stop else said


def _say_month_day(match: re.Match[str]) -> str:
    """Say ``Jan. 5, 1990`` as ``January 5th, nineteen ninety``."""
    day = _ordinal(int(match.group("day")))
    return f"{_month(match.group('month'))} {day}{_said_year(match)}"


def _say_month_year(match: re.Match[str]) -> str:
    """Say ``Jan. 1990`` as ``January nineteen ninety``."""
    return f"{_month(match.group('month'))}{_said_year(match)}"


def _say_year_after_word(match: re.Match[str]) -> str:
    """Say ``in 1990`` as ``in nineteen ninety``."""
    gap = " " if match.group("gap") == "-" else match.group("gap")
    return f"{match.group('word')}{gap}{_year_words(int(match.group('year')))}"


def _plural(words: str) -> str:
    """Make the last word of a number plural (``nineteen ninety`` -> ``nineteen nineties``)."""
    if words.endswith("y"):
        return words[:-1] + "ies"
    return words + "s"


def _say_decade(match: re.Match[str]) -> str:
    """Say ``1990s`` as ``nineteen nineties``."""
    year = int(match.group(1) + match.group(2) + "0")
    return _plural(str(num2words(year, to="year")))


def _say_short_decade(match: re.Match[str]) -> str:
    """Say ``'90s`` as ``nineties``."""
    return _plural(str(num2words(int(match.group(1)) * 10)))


def _say_range(match: re.Match[str]) -> str:
    """Say ``2019-2021`` as ``2019 to 2021`` (eSpeak says "dash" or nothing)."""
    low, high = match.group("low"), match.group("high")
    if len(low) == 4 and len(high) == 4 and low.isdigit() and high.isdigit():
        low, high = _year_words(int(low)), _year_words(int(high))
    return f"{low} to {high}"


def _say_version(match: re.Match[str]) -> str:
    """Say ``3.12.1`` as ``3 point 12 point 1`` (eSpeak reads the digits one by one)."""
    return " point ".join(part for part in match.groups() if part is not None)


def _say_version_word(match: re.Match[str]) -> str:
    """Say ``version 3.12`` as ``version 3 point 12``."""
    word = "version " if match.group("word") == "v" else match.group("word")
    return f"{word}{match.group('major')} point {match.group('minor')}"


def _say_degrees(match: re.Match[str]) -> str:
    """Say ``°C`` as ``degrees Celsius`` (eSpeak says "degrees C")."""
    unit = match.group("unit") or ("C" if "℃" in match.group(0) else "F")
    return " degrees Celsius" if unit == "C" else " degrees Fahrenheit"


def _say_title(match: regex.Match[str]) -> str:
    """Say ``Dr. `` before a name as ``Doctor ``."""
    return _TITLES[match["abbreviation"] or match["title"]] + " "


def _say_suffix(match: regex.Match[str]) -> str:
    """Say ``St.`` after a name as ``Street``, keeping the full stop that ends a sentence."""
    return _SUFFIXES[match["abbreviation"]] + ("." if match["end"] is not None else "")


def _say_numbered(match: re.Match[str]) -> str:
    """Say ``Fig. `` before a number as ``figure ``."""
    return _BEFORE_NUMBER[match["abbreviation"]] + " "


def _say_unit(match: re.Match[str]) -> str:
    """Say a unit abbreviation after a number in full (eSpeak spells it)."""
    return " " + _UNIT_NAMES[match.group("unit")]


_HAS_DIGIT = re.compile(r"\d")
_HAS_DASH = re.compile(r"[—―–‒-]")
_ENGLISH_RULES: tuple[
    tuple[re.Pattern[str], re.Pattern[str], str | Callable[[re.Match[str]], str]], ...
] = (
    # (a character the rule needs, the rule, its replacement), in order
    (_HAS_DIGIT, _CURRENCY, _say_currency),
    (_HAS_DIGIT, _ISO_DATE, _say_iso_date),
    (_HAS_DIGIT, _DECADE_FULL, _say_decade),
    (_HAS_DIGIT, _DECADE_SHORT, _say_short_decade),
    (_HAS_DIGIT, _DAY_MONTH, _say_day_month),
    (_HAS_DIGIT, _MONTH_DAY, _say_month_day),
    (_HAS_DIGIT, _MONTH_YEAR, _say_month_year),
    (_HAS_DIGIT, _YEAR_AFTER_WORD, _say_year_after_word),
    (_HAS_DIGIT, _VERSION, _say_version),
    (_HAS_DIGIT, _VERSION_WORD, _say_version_word),
    (_HAS_DIGIT, _RANGE, _say_range),
    (_HAS_DIGIT, _NUMBER_SIGN, "number "),
    (_HAS_DIGIT, _NUMBERED, _say_numbered),
    (_HAS_DIGIT, _ESTABLISHED, "established "),
    (re.compile(r"\."), _TITLE, _say_title),
    (re.compile(r"\."), _SUFFIX, _say_suffix),
    (re.compile(r"i\.\s?e\."), _THAT_IS, "that is"),
    (re.compile("[°℃℉]"), _DEGREES, _say_degrees),
    (_HAS_DIGIT, _UNIT, _say_unit),
    (re.compile("~"), _ABOUT, "about "),
    (re.compile("v"), _VERSUS, "versus"),
    (_HAS_DIGIT, _NUMERONYM, lambda match: match.group(1).replace("/", " ")),
)
