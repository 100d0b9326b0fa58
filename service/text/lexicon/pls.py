"""Read and write W3C Pronunciation Lexicon Specification (PLS) 1.0 documents.

Each ``<lexeme>`` gives one rule per ``<grapheme>``: its first ``<alias>``
becomes ``say`` and its first ``<phoneme>`` in IPA becomes ``ipa`` (PLS lists
the preferred pronunciation first). The XML is parsed by ``defusedxml``, which
refuses entity declarations, DTDs and external references, so a document can
neither expand into gigabytes nor make the parser read a file or a URL.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from typing import Any

import defusedxml.ElementTree as SafeElementTree
from defusedxml import DefusedXmlException

from service.errors import LexiconError
from service.text.lexicon.model import MAX_RULES, Lexicon, parse_lexicon

PLS_NAMESPACE = "http://www.w3.org/2005/01/pronunciation-lexicon"
"""The namespace of PLS 1.0 elements."""
XML_NAMESPACE = "http://www.w3.org/XML/1998/namespace"
_IPA = "ipa"


def _tag(name: str) -> str:
    return f"{{{PLS_NAMESPACE}}}{name}"


def _text(element: ElementTree.Element) -> str:
    return " ".join("".join(element.itertext()).split())


def read_pls(data: bytes | str, name: str) -> Lexicon:
    """Read a PLS document into a lexicon named ``name``, or raise :class:`LexiconError`."""
    try:
        root = SafeElementTree.fromstring(data, forbid_dtd=True)
    except DefusedXmlException as error:
        raise LexiconError(f"the PLS document is refused: {error}") from None
    except ElementTree.ParseError as error:
        raise LexiconError(f"the PLS document is not well-formed XML: {error}") from None
    if root.tag != _tag("lexicon"):
        raise LexiconError(
            f"not a PLS 1.0 document: the root element must be <lexicon> in {PLS_NAMESPACE}"
        )
    default_alphabet = root.get("alphabet", "")
    rules: list[dict[str, Any]] = []
    for number, lexeme in enumerate(root.iter(_tag("lexeme")), start=1):
        graphemes = [_text(g) for g in lexeme.findall(_tag("grapheme")) if _text(g)]
        if not graphemes:
            raise LexiconError(f"lexeme {number} has no <grapheme>")
        rule: dict[str, Any] = {}
        alias = lexeme.find(_tag("alias"))
        if alias is not None and _text(alias):
            rule["say"] = _text(alias)
        phoneme = lexeme.find(_tag("phoneme"))
        if phoneme is not None and _text(phoneme):
            alphabet = phoneme.get("alphabet", default_alphabet)
            if alphabet.lower() != _IPA:
                raise LexiconError(
                    f"lexeme {number} ({graphemes[0]!r}) writes phonemes in "
                    f'{alphabet or "no named alphabet"!r}; only alphabet="ipa" is read'
                )
            rule["ipa"] = _text(phoneme)
        if not rule:
            raise LexiconError(
                f"lexeme {number} ({graphemes[0]!r}) has neither an <alias> nor a <phoneme>"
            )
        rules += [{"match": grapheme, **rule} for grapheme in graphemes]
        if len(rules) > MAX_RULES:
            raise LexiconError(f"the PLS document has more than {MAX_RULES:,} graphemes")
    language = root.get(f"{{{XML_NAMESPACE}}}lang")
    return parse_lexicon({"rules": rules, "language": language}, name)


def write_pls(lexicon: Lexicon) -> bytes:
    """Return ``lexicon`` as a PLS 1.0 document (UTF-8).

    PLS has no regular expressions and no case-blind matching: a lexicon with
    such rules is refused rather than written with rules lost or changed.
    """
    inexpressible = [
        f"rule {n} ({rule.match!r})"
        for n, rule in enumerate(lexicon.rules, start=1)
        if rule.regex or rule.ignore_case
    ]
    if inexpressible:
        raise LexiconError(
            f"PLS cannot hold regular-expression or case-blind rules ({inexpressible[0]}"
            f"{f' and {len(inexpressible) - 1} more' if len(inexpressible) > 1 else ''}); "
            "export the lexicon as JSON instead"
        )
    ElementTree.register_namespace("", PLS_NAMESPACE)
    root = ElementTree.Element(
        _tag("lexicon"),
        {
            "version": "1.0",
            "alphabet": _IPA,
            f"{{{XML_NAMESPACE}}}lang": lexicon.language or "und",
        },
    )
    for rule in lexicon.rules:
        lexeme = ElementTree.SubElement(root, _tag("lexeme"))
        ElementTree.SubElement(lexeme, _tag("grapheme")).text = rule.match
        if rule.ipa is not None:
            ElementTree.SubElement(lexeme, _tag("phoneme")).text = rule.ipa
        if rule.say is not None:
            ElementTree.SubElement(lexeme, _tag("alias")).text = rule.say
    ElementTree.indent(root)
    body: bytes = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    return body + b"\n"
