"""hibari's lexicons and tagger in compact tries: the same answers in a sixth of the memory.

hibari's phonemizer holds its American or British lexicons (183,000 words) and
its part-of-speech tagger's weights (80,000 features) as Python dicts: about
70 MB of small objects in every engine worker. The same data in marisa tries
(one flat buffer each, values packed as bytes) takes about 7 MB, and a value is
decoded when it is looked up; the last few thousand stay decoded (4 MB more).
Phonemizing real articles takes about a tenth longer than with the dicts, and
loading twice as long (half a second more per worker), both small beside the
model's own time (``python -m bench.hibari --parts phonemizer``).

The answers are the same, bit for bit: each value decodes to what the dict
held, the tagger's weights as the same 64-bit floats in the same order (its
scores are sums, and a sum's rounding depends on its order). A test phonemizes
real articles both ways and compares.
"""

from __future__ import annotations

import functools
import json
import struct
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import marisa_trie

RECENT = 4096
"""Decoded values kept per map."""
TRIES_FORMAT = 1
"""Version of what :func:`save_phonemizer` writes (part of what names its folder)."""
_WEIGHT = struct.Struct("<Bd")
"""One tagger weight: the tag's index and the weight as a 64-bit float."""


class CompactMap:
    """A read-only ``str -> value`` lookup over a marisa trie, with dict's ``get`` and ``in``.

    The last :data:`RECENT` values looked up are kept decoded: a few hundred
    words and tagger features make up most lookups of any text.
    """

    __slots__ = ("_decode", "_recent", "_trie")

    def __init__(self, trie: marisa_trie.BytesTrie, decode: Callable[[bytes], Any]) -> None:
        self._trie = trie
        self._decode = decode
        self._recent = functools.lru_cache(maxsize=RECENT)(self._lookup)

    @classmethod
    def build(
        cls, items: Iterable[tuple[str, bytes]], decode: Callable[[bytes], Any]
    ) -> CompactMap:
        """Return a map of ``items`` (keys and their packed values)."""
        return cls(marisa_trie.BytesTrie(items), decode)

    @classmethod
    def mapped(cls, path: Path, decode: Callable[[bytes], Any]) -> CompactMap:
        """Return the map :meth:`save` wrote to ``path``, memory-mapped (shared by processes)."""
        trie = marisa_trie.BytesTrie()
        trie.mmap(str(path))
        return cls(trie, decode)

    def save(self, path: Path) -> None:
        """Write the map's trie to ``path``."""
        self._trie.save(str(path))

    def _lookup(self, key: str) -> Any:
        found = self._trie.get(key)
        return self._decode(found[0]) if found else None

    def get(self, key: str, default: Any = None) -> Any:
        found = self._recent(key)
        return default if found is None else found

    def __contains__(self, key: object) -> bool:
        return key in self._trie

    def __len__(self) -> int:
        return len(self._trie)


def compact_phonemizer(g2p: Any) -> Any:
    """Replace the dicts of a ``hibari.g2p.G2P`` by compact maps, in place; return it."""
    lexicon = g2p.lexicon
    for entries in (lexicon.golds, lexicon.silvers):
        entries.d = lexicon_map(entries.d)
    tagger = g2p.tagger
    tagger.weights = weights_map(tagger.weights, list(tagger.tags))
    tagger.tagdict = CompactMap.build(
        ((word, tag.encode()) for word, tag in tagger.tagdict.items()), bytes.decode
    )
    if tagger.vocab is not None:
        tagger.vocab = marisa_trie.Trie(tagger.vocab)
    return g2p


def save_phonemizer(g2p: Any, folder: Path) -> None:
    """Write the compact maps of ``g2p`` (made by :func:`compact_phonemizer`) into ``folder``."""
    lexicon, tagger = g2p.lexicon, g2p.tagger
    lexicon.golds.d.save(folder / "golds.marisa")
    lexicon.silvers.d.save(folder / "silvers.marisa")
    tagger.weights.save(folder / "weights.marisa")
    tagger.tagdict.save(folder / "tagdict.marisa")
    if tagger.vocab is not None:
        tagger.vocab.save(str(folder / "vocab.marisa"))
    tagger_tags = {"tags": list(tagger.tags), "british": bool(g2p.british)}
    (folder / "tagger.json").write_text(json.dumps(tagger_tags), encoding="utf-8")


def tries_made_from(british: bool) -> str:
    """Return what the files of :func:`save_phonemizer` depend on (names their folder)."""
    from importlib import metadata

    return (
        f"hibari-tts {metadata.version('hibari-tts')}; "
        f"marisa-trie {metadata.version('marisa-trie')}; "
        f"tries {TRIES_FORMAT}; british {british}"
    )


def mapped_phonemizer(folder: Path) -> Any:
    """Return hibari's phonemizer over the maps :func:`save_phonemizer` wrote, memory-mapped.

    It is built as ``G2P.__init__`` builds it (hibari's version is part of the
    folder's name), its lexicons and tagger read from the tries instead of JSON.
    """
    from hibari.g2p import G2P, Lexicon, Tagger, Tokenizer, _load_json

    meta = json.loads((folder / "tagger.json").read_text(encoding="utf-8"))
    tags: list[str] = meta["tags"]
    british = bool(meta["british"])
    g2p = G2P.__new__(G2P)
    g2p.lexicon = Lexicon({}, {}, british)
    g2p.lexicon.golds.d = CompactMap.mapped(folder / "golds.marisa", _decode_entry)
    g2p.lexicon.silvers.d = CompactMap.mapped(folder / "silvers.marisa", _decode_entry)
    g2p.tokenizer = Tokenizer(_load_json("tokenizer_exceptions.json"))
    tagger = Tagger.__new__(Tagger)
    tagger.tags = tags
    tagger.weights = CompactMap.mapped(folder / "weights.marisa", _weights_decoder(tags))
    tagger.tagdict = CompactMap.mapped(folder / "tagdict.marisa", bytes.decode)
    tagger.vocab = None
    if (folder / "vocab.marisa").exists():
        tagger.vocab = marisa_trie.Trie()
        tagger.vocab.mmap(str(folder / "vocab.marisa"))
    g2p.tagger = tagger
    g2p._oov = None
    g2p.unk = ""
    g2p.british = british
    return g2p


def lexicon_map(entries: Mapping[str, Any]) -> CompactMap:
    """Return a lexicon's ``word -> phonemes`` (a string, or a dict by part of speech)."""
    packed = ((word, _encode_entry(value)) for word, value in entries.items())
    return CompactMap.build(packed, _decode_entry)


def weights_map(weights: Mapping[str, Mapping[str, float]], tags: list[str]) -> CompactMap:
    """Return the tagger's ``feature -> {tag: weight}``, each dict in its own order."""
    index = {tag: number for number, tag in enumerate(tags)}

    def encode(by_tag: Mapping[str, float]) -> bytes:
        return b"".join(_WEIGHT.pack(index[tag], weight) for tag, weight in by_tag.items())

    packed = ((feature, encode(by_tag)) for feature, by_tag in weights.items())
    return CompactMap.build(packed, _weights_decoder(tags))


def _weights_decoder(tags: list[str]) -> Callable[[bytes], dict[str, float]]:
    def decode(packed: bytes) -> dict[str, float]:
        return {tags[number]: weight for number, weight in _WEIGHT.iter_unpack(packed)}

    return decode


def _encode_entry(value: Any) -> bytes:
    if isinstance(value, str):
        return b"s" + value.encode()
    return b"j" + json.dumps(value, ensure_ascii=False).encode()


def _decode_entry(packed: bytes) -> Any:
    return packed[1:].decode() if packed[:1] == b"s" else json.loads(packed[1:])
