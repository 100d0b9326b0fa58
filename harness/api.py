"""The service's HTTP API as tests and benchmarks use it: a request, a narration, first byte."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any, NamedTuple


class Reply(NamedTuple):
    """One HTTP answer, read whole."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """Return the body parsed as JSON."""
        return json.loads(self.body)


def call(
    base: str,
    path: str,
    *,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    timeout_s: float = 120,
) -> Reply:
    """Send one request (a POST when it has a body); return the answer, errors included."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        base + path,
        data=data,
        headers={**({"Content-Type": "application/json"} if data else {}), **(headers or {})},
        method="POST" if data else "GET",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as answer:
            return Reply(answer.status, dict(answer.headers), answer.read())
    except urllib.error.HTTPError as error:
        with error:
            return Reply(error.code, dict(error.headers), error.read())


def create(base: str, text: str, **fields: Any) -> dict[str, Any]:
    """Create the narration of ``text`` (with more ``fields``: ``rate``, ``voice``...); return
    the API's answer (raise unless accepted)."""
    status, _headers, body = call(base, "/api/narrations", body={"text": text, **fields})
    if status not in (200, 201, 202):
        raise RuntimeError(f"POST /api/narrations answered {status}: {body[:300]!r}")
    return dict(json.loads(body))


def time_first_byte(base: str, text: str, **fields: Any) -> tuple[float, dict[str, Any]]:
    """Create the narration of ``text`` (and ``fields``); return the seconds until its
    stream's first byte, counted from before the POST, and the API's answer."""
    started = time.perf_counter()
    created = create(base, text, **fields)
    with urllib.request.urlopen(base + created["stream_url"], timeout=120) as stream:
        stream.read(1)
        return time.perf_counter() - started, created


def wait_done(base: str, status_url: str, timeout_s: float = 600) -> dict[str, Any]:
    """Poll a narration until it is done or failed; return its last status."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        _code, _headers, body = call(base, status_url)
        state = json.loads(body)
        if state["status"] in ("done", "failed"):
            return dict(state)
        time.sleep(0.1)
    raise TimeoutError(status_url)
