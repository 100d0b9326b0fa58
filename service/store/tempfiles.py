"""Name the store's temporary files and sweep the ones their writers left behind.

A temp file is named ``<host>~<pid>~<random><ext>`` so that a sweep can tell
whose it is: one whose process on this machine is gone is removed at once;
any other is removed only when it is older than ``STALE_TEMP_S`` (a writer on
another machine sharing the folder, or a reused pid), or than
``STALE_AT_START_S`` when a process opens the store: a server killed with
``kill -9`` leaves its temp files, and the next start clears them. The extension is the
key's, so tools that guess a format from the name (ffmpeg) still work.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import time
from pathlib import Path, PurePosixPath

STALE_TEMP_S = 6 * 3600
"""Age after which any temp file is taken as abandoned."""
STALE_AT_START_S = 15 * 60
"""...and when a process opens the store: no write of ours takes minutes."""

_MAX_SUFFIX_CHARS = 16
_HOST = re.sub(r"[^A-Za-z0-9.-]", "_", socket.gethostname())[:40] or "host"


def temp_name(key: str) -> str:
    """Return a fresh temp file name for the future object ``key``."""
    suffix = PurePosixPath(key).suffix
    if len(suffix) > _MAX_SUFFIX_CHARS:
        suffix = ""
    return f"{_HOST}~{os.getpid()}~{secrets.token_hex(8)}{suffix}"


def sweep(folder: Path, stale_after_s: float = STALE_TEMP_S) -> int:
    """Remove abandoned temp files from ``folder``; return how many went."""
    removed = 0
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return 0
    for entry in entries:
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            if _writer_is_gone(entry.name) or now - entry.stat().st_mtime > stale_after_s:
                os.unlink(entry.path)
                removed += 1
        except FileNotFoundError:
            continue
    return removed


def _writer_is_gone(name: str) -> bool:
    """Tell whether ``name`` was written by a process of this machine that has ended."""
    host, _, rest = name.partition("~")
    pid_text, _, _ = rest.partition("~")
    if host != _HOST or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _zombie(pid)


def _zombie(pid: int) -> bool:
    """Tell whether ``pid`` has ended but was not reaped (it still answers a signal check).

    A writer killed with its parent is left unreaped when nothing reaps orphans
    (a container whose first process does not); it writes nothing any more.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] in (["Z"], ["X"])
