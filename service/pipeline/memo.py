"""Remember which narration an exact input made, so a repeat skips reading and planning it.

Finding a narration in the cache normally means extracting the article,
detecting its language, splitting it into sentences, choosing the voice and keying every
sentence: a third of a second for a long article, most of it in loading the
libraries that do it. The same bytes with the same settings, read by the same
code, always give the same narration, so the first narration records its id
under a key made of exactly those, and a repeat only has to copy the file.

"The same settings" are those that change the reading or the sound
(:data:`MEMO_GROUPS`). "The same code" is a fingerprint of this package's
source files (names, sizes, modification times), the installed distributions
(their names carry their versions, the bundled eSpeak NG's included) and the
Piper voices folder. An
upgrade or an edited source file therefore misses, and the narration is
planned again, as it would be without the memo. A system eSpeak NG, used only
when the bundled one is missing, is not part of the fingerprint.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
import sysconfig
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import service
from service.config import Settings
from service.store import Store
from service.text.source import Source

MEMO_VERSION = 2
MEMO_GROUPS = ("input", "speech", "audio")
"""The settings that change what a narration reads or how it sounds; no other group is hashed.

The store, the database, the engine processes, the job runner, the server
and the web app's keys or limits change nothing a repeat would copy, so a
change of port or API key still finds every memo.
"""


@dataclass(frozen=True)
class Memo:
    """What a repeat needs to know about the narration an input made."""

    narration_id: str
    title: str
    duration_ms: int


def memo_object(key: str) -> str:
    """Return the store key of a memo record."""
    return f"inputs/{key[:2]}/{key[2:]}.json"


def memo_key(source: Source, settings: Settings, lexicon: str | None = None) -> str:
    """Return the key of ``source`` read with ``settings`` by this code (and by the lexicon
    whose :attr:`~service.text.lexicon.model.Lexicon.identity` is ``lexicon``)."""
    described = {
        "memo": MEMO_VERSION,
        "hint": source.hint,
        "charset": source.charset,
        "url": source.url,
        "settings": {group: dataclasses.asdict(getattr(settings, group)) for group in MEMO_GROUPS},
        "code": code_fingerprint(settings.engines.piper_voices_dir),
    }
    if lexicon is not None:
        described["lexicon"] = lexicon
    digest = hashlib.sha256(json.dumps(described, sort_keys=True, default=str).encode())
    digest.update(source.data)
    return digest.hexdigest()


def recall(store: Store, key: str) -> Memo | None:
    """Return the memo recorded under ``key``, if any (a damaged record is no record)."""
    raw = store.get(memo_object(key))
    if raw is None:
        return None
    try:
        fields = json.loads(raw)
        return Memo(str(fields["narration_id"]), str(fields["title"]), int(fields["duration_ms"]))
    except (ValueError, KeyError, TypeError):
        return None


def remember(store: Store, key: str, memo: Memo) -> None:
    """Record ``memo`` under ``key``, replacing a damaged or different record."""
    data = json.dumps(dataclasses.asdict(memo)).encode()
    if store.get(memo_object(key)) != data:
        store.delete(memo_object(key))  # objects are written once: make room first
        store.put(memo_object(key), data)


@cache
def code_fingerprint(piper_voices_dir: str = "") -> str:
    """Return a digest that changes when this package, an installed package or the voices do."""
    site_dirs = {sysconfig.get_paths()[name] for name in ("purelib", "platlib")}
    extra = [Path(piper_voices_dir)] if piper_voices_dir else []
    return fingerprint(Path(service.__file__).parent, sorted(site_dirs), extra)


def fingerprint(package: Path, site_dirs: list[str], extra_dirs: list[Path]) -> str:
    """Return a digest of ``package``'s files, the entries of ``site_dirs`` and ``extra_dirs``."""
    digest = hashlib.sha256(f"{sys.version}\n{service.__version__}\n".encode())
    for walked, _dirs, files in sorted(os.walk(package)):
        for name in sorted(files):
            if name.endswith((".pyc", ".pyo")):
                continue
            status = os.stat(os.path.join(walked, name))
            relative = os.path.relpath(os.path.join(walked, name), package)
            digest.update(f"{relative}\t{status.st_size}\t{status.st_mtime_ns}\n".encode())
    for site_dir in site_dirs:
        digest.update(_listing(site_dir, with_times=False))
    for extra_dir in extra_dirs:
        digest.update(_listing(str(extra_dir), with_times=True))
    return digest.hexdigest()


def _listing(folder: str, *, with_times: bool) -> bytes:
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:
        return f"{folder}: none\n".encode()
    lines = [folder]
    for entry in entries:
        stamp = ""
        if with_times:
            try:
                status = entry.stat()
                stamp = f"\t{status.st_size}\t{status.st_mtime_ns}"
            except OSError:
                stamp = "\t?"
        lines.append(entry.name + stamp)
    return ("\n".join(lines) + "\n").encode()
