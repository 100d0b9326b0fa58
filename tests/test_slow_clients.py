"""Slow, idle and greedy clients against the real server: everyone else is still answered.

Each connection below would hold a web thread were the web processes facing
clients themselves: headers never finished, a large download never read, a
live stream of a narration being made. The front holds the first two without
any thread; live streams hold one each, so they are limited in number.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest

from harness.api import call, create
from harness.corpus import article_text
from harness.webserver import running_server

pytestmark = [pytest.mark.server, pytest.mark.xdist_group("slow-clients")]

ENV = {"LISTEN_WORKERS": "1", "LISTEN_VOICE": "pyttsx3:gmw/en-us"}


def wait_status(base: str, made: dict[str, Any], *wanted: str, timeout_s: float = 120) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = json.loads(call(base, made["status_url"])[2])["status"]
        if status in wanted:
            return str(status)
        time.sleep(0.1)
    raise AssertionError(f"{made['id']} never reached {wanted}")


def connect(base: str, client: int = 1, receive_bytes: int | None = None) -> socket.socket:
    """Open a connection from the loopback address 127.0.0.<client> (another client each)."""
    parts = urllib.parse.urlsplit(base)
    sock = socket.socket()
    if receive_bytes is not None:  # a reader that takes almost nothing off the wire
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_bytes)
    sock.bind((f"127.0.0.{client}", 0))
    sock.settimeout(10)
    sock.connect((parts.hostname or "127.0.0.1", parts.port or 80))
    return sock


def send_get(sock: socket.socket, path: str, extra: str = "") -> None:
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: listen.test\r\n{extra}\r\n".encode())


def status_line(sock: socket.socket) -> tuple[int, bytes]:
    """Read the start of an answer; return its status code and what was read."""
    head = sock.recv(4096)
    return int(head.split(b" ", 2)[1]), head


def timed(base: str, path: str) -> tuple[float, int]:
    started = time.monotonic()
    status = call(base, path, timeout_s=10)[0]
    return time.monotonic() - started, status


@contextmanager
def held(sockets: list[socket.socket]) -> Iterator[list[socket.socket]]:
    try:
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def test_slow_clients_leave_the_service_answering(tmp_path: Path) -> None:
    with running_server(tmp_path / "cache", env=ENV) as base, ExitStack() as stack:
        large = create(base, article_text(3500, seed=501))
        assert wait_status(base, large, "done") == "done"
        size = int(call(base, large["audio_url"])[1]["Content-Length"])
        assert size > 6_000_000  # more than the kernel's socket buffers take in
        making = create(base, article_text(20_000, seed=502))
        assert wait_status(base, making, "running") == "running"

        # 100 connections from 60 clients, against 32 web threads
        unfinished = stack.enter_context(held([connect(base, 2 + n % 20) for n in range(30)]))
        for sock in unfinished:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: listen.test\r\n")  # no blank line
        unread = stack.enter_context(
            held([connect(base, 2 + n % 20, receive_bytes=4096) for n in range(30)])
        )
        for sock in unread:
            send_get(sock, large["audio_url"])
        streams = stack.enter_context(held([connect(base, 100 + n) for n in range(40)]))
        for sock in streams:
            send_get(sock, making["stream_url"])
        answers = [status_line(sock) for sock in streams]
        statuses = [status for status, _head in answers]
        assert statuses.count(200) == 16, statuses  # half the threads take live streams
        assert statuses.count(503) == 24, statuses
        assert all(b"Retry-After: " in head for status, head in answers if status == 503)
        time.sleep(1)

        timings = [timed(base, "/healthz") for _ in range(5)]
        assert all(status == 200 for _s, status in timings), timings
        assert max(seconds for seconds, _status in timings) < 2, timings
        small = create(base, "A short note\n\nThe harbour opened again at noon.")
        assert wait_status(base, small, "done", "failed", timeout_s=30) == "done"
        for sock in unread:  # the downloads still go on, at their readers' pace
            assert sock.recv(4096)


def test_slow_clients_live_streams_are_limited_per_client_and_in_all(tmp_path: Path) -> None:
    env = {**ENV, "LISTEN_MAX_STREAMS": "3", "LISTEN_MAX_STREAMS_PER_CLIENT": "2"}
    with running_server(tmp_path / "cache", env=env) as base, ExitStack() as stack:
        making = create(base, article_text(20_000, seed=503))

        def stream_from(client: int, extra: str = "") -> tuple[int, bytes]:
            sock = stack.enter_context(held([connect(base, client)]))[0]
            send_get(sock, making["stream_url"], extra)
            return status_line(sock)

        assert [stream_from(7)[0] for _ in range(2)] == [200, 200]
        assert stream_from(7, "X-Forwarded-For: 10.9.8.7\r\n")[0] == 503  # no other name
        refused, head = stream_from(7)
        assert refused == 503 and b"Retry-After: 10" in head
        problem = json.loads(head.split(b"\r\n\r\n", 1)[1])
        assert problem["type"].endswith("/too-many-streams"), problem
        assert "2 live streams" in problem["detail"]
        assert stream_from(8)[0] == 200  # another client
        assert stream_from(9)[0] == 503  # three in all
        # speech answers that wait for their narration take the same places
        status, headers, body = call(
            base,
            "/v1/audio/speech",
            body={"input": article_text(400, seed=504), "response_format": "wav"},
        )
        assert status == 503 and headers["Retry-After"] == "10", body
        assert call(base, "/healthz")[0] == 200
        assert call(base, making["status_url"])[0] == 202
