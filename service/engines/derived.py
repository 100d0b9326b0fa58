"""Files an engine derives from its package once, kept on disk for every later process.

An engine worker that loads hibari turns the package's JSON lexicons into tries
and edits its ONNX model (about 3 s of CPU in each worker, before the first
sentence). Neither depends on the article: the result is written once into a
folder named by everything it was made from (package versions, voice file,
the format of what is written), and later workers map or read those files.

A folder is written under a temporary name and renamed into place whole, with
a manifest of its files' SHA-256; a folder whose files do not match is made
again. Two workers starting together may both build; the first rename wins
and the other uses it. When there is nowhere writable to keep the files, the
engine builds in memory, as if there were no cache (logged once).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from service.config import EngineSettings

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
"""The file in each folder that names its files and their SHA-256."""
STALE_TEMP_S = 3600.0
"""Age after which a temporary folder left by a killed process is removed."""
_TEMP_SUFFIX = ".partial"


def engine_cache_root(settings: EngineSettings) -> Path:
    """Return where derived files are kept: the setting, else the user's cache folder."""
    if settings.engine_cache_dir:
        return Path(settings.engine_cache_dir).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "listen-service" / "engines"


def derived_folder(
    settings: EngineSettings, name: str, made_from: str, build: Callable[[Path], None]
) -> Path | None:
    """Return the folder of files ``build`` makes for ``made_from``, making it when missing.

    ``build`` writes its files into the empty folder it is given. Return None when
    the files cannot be kept (an unwritable cache folder): the caller builds in
    memory instead.
    """
    root = engine_cache_root(settings)
    digest = hashlib.sha256(made_from.encode()).hexdigest()[:16]
    folder = root / f"{name}-{digest}"
    if _intact(folder):
        return folder
    try:
        root.mkdir(parents=True, exist_ok=True)
        _remove_stale_temps(root)
        temp = Path(tempfile.mkdtemp(prefix=f".{name}-", suffix=_TEMP_SUFFIX, dir=root))
        temp.chmod(0o755)  # readable by every user of a shared cache, as its files are
    except OSError as error:
        _warn_unwritable(str(root), str(error))
        return None
    try:
        build(temp)
        files = sorted(path.name for path in temp.iterdir())
        manifest = {"made_from": made_from, "files": {f: _sha256(temp / f) for f in files}}
        (temp / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        _put_in_place(temp, folder)
    except OSError as error:
        _warn_unwritable(str(root), str(error))
        return None
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return folder if _intact(folder) else None


def _put_in_place(temp: Path, folder: Path) -> None:
    """Rename ``temp`` to ``folder``; a damaged folder there is moved aside first."""
    if folder.exists() and not _intact(folder):
        aside = folder.with_name(f".{folder.name}-{os.getpid()}-damaged{_TEMP_SUFFIX}")
        with contextlib.suppress(OSError):
            folder.rename(aside)
            shutil.rmtree(aside, ignore_errors=True)
    try:
        temp.rename(folder)
    except OSError:
        if not folder.is_dir():
            raise
        # another process put the same files there first


def _intact(folder: Path) -> bool:
    """Return whether ``folder`` holds exactly its manifest's files, unchanged."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        files: dict[str, str] = manifest["files"]
        return all(_sha256(folder / name) == digest for name, digest in files.items())
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _sha256(path: Path) -> str:
    with open(path, "rb") as opened:
        return hashlib.file_digest(opened, "sha256").hexdigest()


def _remove_stale_temps(root: Path) -> None:
    """Remove temporary folders that killed processes left behind."""
    now = time.time()
    for path in root.glob(f".*{_TEMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            if now - path.stat().st_mtime > STALE_TEMP_S:
                shutil.rmtree(path, ignore_errors=True)


@functools.cache
def _warn_unwritable(root: str, error: str) -> None:
    logger.warning(
        "cannot keep engine files in %s (%s): each engine worker builds them again "
        "(set LISTEN_ENGINE_CACHE_DIR to a writable folder)",
        root,
        error,
    )
