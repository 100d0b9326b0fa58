"""Hold a URL fetch to its total deadline: name lookup, connection, headers and body.

urllib3's timeouts bound each wait for a byte, not the whole exchange, so an
origin that sends one byte every second never trips them. A :class:`Watchdog`
shuts the fetch's sockets down when its deadline passes, which ends a read or
write in progress at once; name lookups run on a small pool of threads so the
fetch can stop waiting for one (the lookup itself ends when the resolver gives up).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeoutError
from types import TracebackType
from typing import Any

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection

from service.errors import FetchError


class Watchdog:
    """Shut a fetch's sockets at its deadline, whatever the origin is doing.

    urllib3's timeouts bound each wait for a byte, not the whole fetch: an origin
    sending one byte a second never trips them. Shutting the socket down from
    this timer's thread ends any read or write in progress at once.
    """

    def __init__(self, deadline: float) -> None:
        self.fired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._fire)
        self._timer.daemon = True

    def __enter__(self) -> Watchdog:
        self._timer.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._timer.cancel()

    def watch(self, sock: socket.socket) -> None:
        """Shut ``sock`` down at the deadline (at once if it has passed)."""
        with self._lock:
            self._sockets.append(sock)
            fired = self.fired
        if fired:
            _shut(sock)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    # The plain socket's shutdown, even for TLS: it wakes a blocked read without
    # touching the TLS object another thread is using. A closed socket has no
    # file descriptor left, so this never reaches a descriptor since reused.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _WatchedHTTPConnection(HTTPConnection):
    def __init__(self, *args: Any, watchdog: Watchdog, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._watchdog = watchdog

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        self._watchdog.watch(sock)
        return sock


class _WatchedHTTPSConnection(HTTPSConnection):
    def __init__(self, *args: Any, watchdog: Watchdog, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._watchdog = watchdog

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        self._watchdog.watch(sock)  # the TCP connection and the TLS handshake
        return sock

    def connect(self) -> None:
        super().connect()
        if self.sock is not None:
            self._watchdog.watch(self.sock)  # the TLS socket, which took over the descriptor


class WatchedHTTPPool(urllib3.HTTPConnectionPool):
    """A connection pool whose connections a :class:`Watchdog` ends at the deadline.

    Pass ``watchdog=`` along with the usual arguments.
    """

    ConnectionCls = _WatchedHTTPConnection


class WatchedHTTPSPool(urllib3.HTTPSConnectionPool):
    """The TLS form of :class:`WatchedHTTPPool`."""

    ConnectionCls = _WatchedHTTPSConnection


_resolver = ThreadPoolExecutor(max_workers=4, thread_name_prefix="listen-resolve")
"""Name lookups, which cannot be interrupted, run here so a fetch can stop waiting for one."""


def resolve(host: str, port: int, deadline: float) -> list[Any]:
    """Return ``socket.getaddrinfo`` for ``host``, or raise :class:`FetchError` at the deadline."""
    lookup = _resolver.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        return lookup.result(timeout=max(0.0, deadline - time.monotonic()))
    except FutureTimeoutError:
        raise FetchError(
            f"the name {host!r} could not be resolved: timed out (LISTEN_FETCH_TIMEOUT_S)"
        ) from None
