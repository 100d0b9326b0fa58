"""Send finished local audio files: 304, one byte range (206/416), or the whole file.

Listeners seek, so a cached narration is mostly asked for in small ranges.
Opening, checking and closing its file for each of them costs several system
calls, and in a threaded server every call hands the GIL to another thread:
that alone halved the rate of 64 KiB range requests. So, like nginx's
``open_file_cache``, recently served files stay open (a bounded number, each
looked at again in the store every few seconds), and a small range is one
``pread`` from the open file. Large spans and whole files still go out through
the server's ``wsgi.file_wrapper`` (``sendfile``), from a file opened for them.

Behind the front (:mod:`service.web.front`) no byte goes out from here: the
answer names the file for nginx, which sends it at the client's pace.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

from werkzeug.wrappers import Request, Response

from service.web.ranges import Span, wanted_span

IMMUTABLE = "public, max-age=31536000, immutable"
OPEN_FILES = 64
"""How many served files stay open."""
RECHECK_S = 5.0
"""How often an open file is looked up in the store again (eviction, least-recently-used)."""
IDLE_S = 60.0
"""A file nobody has read for this long is closed (the set holds what is being listened to)."""
SMALL_SPAN_BYTES = 256 * 1024
"""Spans up to this size are read from the open file; larger ones use sendfile."""


@dataclass
class OpenFile:
    """A file kept open, with the readers using it right now."""

    path: Path
    fd: int
    size: int
    inode: tuple[int, int]
    """(device, inode) of the file opened: a file made again at the same path is another."""
    checked_at: float
    used_at: float = 0.0
    users: int = 0
    retired: bool = False


class OpenFiles:
    """A bounded set of open, immutable files, shared by the request threads of one app.

    A file leaves the set when it is least recently used, or when the store
    no longer has it; it is closed once its last reader is done, so a number
    is never closed under a reader (and then reused for another file).
    """

    def __init__(
        self, capacity: int = OPEN_FILES, recheck_s: float = RECHECK_S, idle_s: float = IDLE_S
    ) -> None:
        self.capacity = capacity
        self.recheck_s = recheck_s
        self.idle_s = idle_s
        self._files: OrderedDict[str, OpenFile] = OrderedDict()
        self._lock = threading.Lock()

    def acquire(self, key: str, locate: Callable[[], Path | None]) -> OpenFile | None:
        """Return the open file of ``key`` for reading (``release`` it after), or ``None``.

        ``locate`` returns the file's current path from the store (recording
        its use there), or ``None`` when it is not there; it is called when the
        file is not open, or was last looked up more than ``recheck_s`` ago.
        """
        now = time.monotonic()
        with self._lock:
            entry = self._files.get(key)
            if entry is not None and now - entry.checked_at < self.recheck_s:
                self._files.move_to_end(key)
                entry.users += 1
                entry.used_at = now
                return entry
            self._close_idle(now)
        return self._reopen(key, entry, locate, now)

    def release(self, entry: OpenFile) -> None:
        """Say a reader is done with ``entry``; close it if it left the set meanwhile."""
        with self._lock:
            entry.users -= 1
            if entry.retired and entry.users == 0:
                os.close(entry.fd)

    def close(self) -> None:
        """Close every file no reader is using (the others close when their readers finish)."""
        with self._lock:
            entries = list(self._files.values())
            self._files.clear()
            for entry in entries:
                self._retire(entry)

    def _reopen(
        self, key: str, entry: OpenFile | None, locate: Callable[[], Path | None], now: float
    ) -> OpenFile | None:
        path = locate()
        if path is None:
            self._forget(key)
            return None
        if entry is not None and entry.path == path and _inode(path) == entry.inode:
            with self._lock:
                if self._files.get(key) is entry:
                    entry.checked_at = entry.used_at = now
                    self._files.move_to_end(key)
                    entry.users += 1
                    return entry
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            self._forget(key)
            return None
        status = os.fstat(fd)
        fresh = OpenFile(
            path, fd, status.st_size, (status.st_dev, status.st_ino), now, used_at=now, users=1
        )
        with self._lock:
            old = self._files.pop(key, None)
            if old is not None:
                self._retire(old)
            self._files[key] = fresh
            while len(self._files) > self.capacity:
                _key, dropped = self._files.popitem(last=False)
                self._retire(dropped)
        return fresh

    def _close_idle(self, now: float) -> None:
        """Drop the files nobody has read for ``idle_s`` (lock held; least recent first)."""
        while self._files:
            key, oldest = next(iter(self._files.items()))
            if now - oldest.used_at < self.idle_s:
                return
            del self._files[key]
            self._retire(oldest)

    def _forget(self, key: str) -> None:
        with self._lock:
            old = self._files.pop(key, None)
            if old is not None:
                self._retire(old)

    def _retire(self, entry: OpenFile) -> None:
        """Mark ``entry`` as gone from the set; close it now if nobody reads it (lock held)."""
        entry.retired = True
        if entry.users == 0:
            os.close(entry.fd)


def _inode(path: Path) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return (status.st_dev, status.st_ino)


class AccelResponse(Response):
    """An answer whose body the front sends from the file itself (``X-Accel-Redirect``)."""

    sent_bytes: int = 0
    """How many bytes the front will send (for the figures of bytes served)."""


def send_file(
    request: Request,
    files: OpenFiles,
    key: str,
    locate: Callable[[], Path | None],
    *,
    mimetype: str,
    etag: str | None,
    download_name: str | None = None,
    accel_prefix: str | None = None,
) -> Response | None:
    """Answer GET/HEAD for an immutable stored file; ``None`` when it is not there.

    With ``accel_prefix`` (the front's internal location of the store), the
    answer names the file and the front sends its bytes, so a slow reader
    holds no web thread; every decision (304, the span, 416) is made here.
    """
    headers = {"Cache-Control": IMMUTABLE, "Accept-Ranges": "bytes"}
    environ = request.environ
    if etag:
        headers["ETag"] = f'"{etag}"'
        if "HTTP_IF_NONE_MATCH" in environ and request.if_none_match.contains(etag):
            return Response(status=304, headers=headers)
    entry = files.acquire(key, locate)
    if entry is None:
        return None
    try:
        span = wanted_span(
            environ.get("HTTP_RANGE"), environ.get("HTTP_IF_RANGE"), etag, entry.size
        )
        if accel_prefix is not None and (span.plain or not span.partial):
            return _accel(accel_prefix, key, span, headers, mimetype, download_name)
        if span.partial:
            headers["Content-Range"] = f"bytes {span.start}-{span.stop - 1}/{entry.size}"
        headers["Content-Length"] = str(span.length)
        body: Any
        if span.length <= SMALL_SPAN_BYTES:
            body = [os.pread(entry.fd, span.length, span.start)] if request.method != "HEAD" else []
        else:
            body = _large_body(request, entry.path, span.start, span.stop)
            if body is None:
                return None
    finally:
        files.release(entry)
    response = Response(
        body,
        status=206 if span.partial else 200,
        mimetype=mimetype,
        headers=headers,
        direct_passthrough=True,
    )
    if download_name:
        response.headers.set("Content-Disposition", "attachment", filename=download_name)
    return response


def bytes_sent(response: Response) -> int:
    """Return how many body bytes a file answer sends (by the front or by us)."""
    if isinstance(response, AccelResponse):
        return response.sent_bytes
    return int(response.headers.get("Content-Length", 0))


def _accel(
    prefix: str,
    key: str,
    span: Span,
    headers: dict[str, str],
    mimetype: str,
    download_name: str | None,
) -> AccelResponse:
    """Hand the file to the front: its ranges honoured for a part, ignored for the whole.

    The front reads the same ``Range`` header to the same span (see
    :mod:`service.web.ranges`) and writes ``Content-Range`` and the length.
    """
    location = f"{prefix}{'part' if span.partial else 'whole'}/{quote(key)}"
    response = AccelResponse(
        status=206 if span.partial else 200,
        mimetype=mimetype,
        headers={**headers, "X-Accel-Redirect": location},
    )
    response.sent_bytes = span.length
    if download_name:
        response.headers.set("Content-Disposition", "attachment", filename=download_name)
    return response


def _large_body(request: Request, path: Path, start: int, stop: int) -> Any:
    """Return a body that sends bytes ``start:stop`` of ``path``, with sendfile when it can.

    The file is opened for this response alone (a file position of its own);
    ``None`` when the store removed it a moment ago.
    """
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed with the response
    except FileNotFoundError:
        return None
    handle.seek(start)
    file_wrapper = request.environ.get("wsgi.file_wrapper")
    if file_wrapper is not None:
        return file_wrapper(handle, 65536)
    return _read_span(handle, stop - start)


def _read_span(handle: BinaryIO, length: int) -> Iterator[bytes]:
    """Yield ``length`` bytes of ``handle`` from where it stands, then close it."""
    try:
        while length > 0:
            block = handle.read(min(65536, length))
            if not block:
                return
            length -= len(block)
            yield block
    finally:
        handle.close()
