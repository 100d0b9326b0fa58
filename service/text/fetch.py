"""Fetch an article over HTTP(S) safely: time, size and redirect limits, no private addresses.

The host name is resolved once per hop, every address is checked, and the
connection goes to the checked address (with the name kept for the Host
header, SNI and the certificate), so a second DNS answer cannot point it at
a private address. Redirects are followed by hand for the same reason.
"""

from __future__ import annotations

import errno
import http.client
import ipaddress
import logging
import re
import socket
import ssl
import time
from dataclasses import dataclass
from email.message import Message
from urllib.parse import urljoin, urlsplit

import urllib3
from urllib3.exceptions import HTTPError

from service import __version__
from service.config import InputSettings
from service.errors import FetchError, TooLargeError, UnsupportedMediaError
from service.text.deadline import Watchdog, WatchedHTTPPool, WatchedHTTPSPool, resolve

log = logging.getLogger(__name__)

USER_AGENT = f"listen-service/{__version__} (+article narration)"
_ACCEPT = "text/html,application/xhtml+xml,text/plain;q=0.9,text/markdown;q=0.9,*/*;q=0.1"
_READABLE_TYPES = frozenset(
    {"text/html", "application/xhtml+xml", "text/plain", "text/markdown", "text/x-markdown"}
)
_CHUNK_BYTES = 64 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Fetched:
    """A fetched document, not yet decoded."""

    url: str
    """The final address, after redirects."""
    body: bytes
    """The body as received (content encoding undone)."""
    media_type: str
    """The media type of Content-Type, lower case; empty when the server sent none."""
    charset: str | None
    """The charset parameter of Content-Type, if any."""


def is_public_address(address: IPAddress) -> bool:
    """Tell a public unicast address from loopback, private, link-local, reserved ones."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            return is_public_address(embedded)
        if address.teredo is not None:
            return is_public_address(address.teredo[1])
    return address.is_global and not address.is_multicast


def fetch_url(url: str, settings: InputSettings) -> Fetched:
    """Fetch ``url`` within the limits of ``settings``; raise a named error otherwise.

    ``fetch_timeout_s`` bounds the whole fetch: name lookups, connections,
    headers and bodies of every redirect.
    """
    deadline = time.monotonic() + settings.fetch_timeout_s
    with Watchdog(deadline) as watchdog:
        try:
            fetched = _fetch(url, settings, deadline, watchdog)
        except Exception:  # whatever a socket shut mid-read raised, when the watchdog shut it
            if not watchdog.fired:
                raise
            fetched = None
        if watchdog.fired:  # a body cut short by the deadline may look complete
            raise FetchError(
                f"{url} could not be fetched: timed out after {settings.fetch_timeout_s:g} s "
                "(LISTEN_FETCH_TIMEOUT_S)"
            )
    assert fetched is not None
    return fetched


def _fetch(url: str, settings: InputSettings, deadline: float, watchdog: Watchdog) -> Fetched:
    current = url
    for _hop in range(settings.fetch_max_redirects + 1):
        response = _request(current, settings, deadline, watchdog)
        try:
            location = response.headers.get("Location")
            if response.status in _REDIRECTS and location:
                try:
                    current = urljoin(current, location)
                except ValueError:
                    raise FetchError(f"{current} redirects to an invalid address") from None
                continue
            if response.status >= 400:
                raise FetchError(
                    f"{current} answered HTTP {response.status} {response.reason or ''}".rstrip()
                )
            media_type, charset = _content_type(response.headers.get("Content-Type"))
            if media_type and media_type not in _READABLE_TYPES:
                raise UnsupportedMediaError(
                    f"{current} is {media_type}, not an article (HTML, text or Markdown)"
                )
            body = _read_capped(response, current, settings.max_input_bytes, deadline)
            return Fetched(url=current, body=body, media_type=media_type, charset=charset)
        finally:
            response.release_conn()
            response.close()
    raise FetchError(f"{url} redirects more than {settings.fetch_max_redirects} times")


def _request(
    url: str, settings: InputSettings, deadline: float, watchdog: Watchdog
) -> urllib3.BaseHTTPResponse:
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:  # a bad port, or brackets that hold no IPv6 address ("http://[::1/")
        raise FetchError(f"{url!r} is not a valid address") from None
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"}:
        raise FetchError(f"only http and https addresses can be fetched, not {url!r}")
    if not host:
        raise FetchError(f"{url!r} has no host name")
    port = port or (443 if scheme == "https" else 80)
    address = _checked_address(host, port, settings.allow_private_urls, deadline)
    remaining = _remaining(deadline, url)
    timeout = urllib3.Timeout(connect=remaining, read=remaining)
    pool: urllib3.HTTPConnectionPool
    if scheme == "https":
        pool = WatchedHTTPSPool(
            str(address), port, timeout=timeout, retries=False,
            server_hostname=host, assert_hostname=host, watchdog=watchdog,
        )  # fmt: skip
    else:
        pool = WatchedHTTPPool(
            str(address), port, timeout=timeout, retries=False, watchdog=watchdog
        )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    default_port = port == (443 if scheme == "https" else 80)
    headers = {
        "Host": host if default_port else f"{host}:{port}",
        "User-Agent": USER_AGENT,
        "Accept": _ACCEPT,
        "Accept-Encoding": "gzip, deflate",
    }
    try:
        return pool.urlopen(
            "GET", path, headers=headers, redirect=False, preload_content=False, retries=False
        )
    except HTTPError as error:
        raise FetchError(f"{url} could not be fetched: {_reason(error)}") from None


def _checked_address(host: str, port: int, allow_private: bool, deadline: float) -> IPAddress:
    """Resolve ``host``; return an address to connect to, refusing private ones."""
    try:
        infos = resolve(host, port, deadline)
    except socket.gaierror as error:
        raise FetchError(f"the name {host!r} {_resolution_failure(error)}") from None
    except UnicodeError:
        raise FetchError(f"the name {host!r} is not a valid host name") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses:
        raise FetchError(f"the host {host!r} has no address")
    if not allow_private:
        refused = [address for address in addresses if not is_public_address(address)]
        if refused:
            raise FetchError(
                f"refusing to fetch {host!r}: it resolves to the non-public address "
                f"{refused[0]}; set LISTEN_ALLOW_PRIVATE_URLS=1 to allow private addresses"
            )
    return addresses[0]


def _read_capped(
    response: urllib3.BaseHTTPResponse, url: str, cap_bytes: int, deadline: float
) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > cap_bytes:
        raise TooLargeError(f"{url} is {int(declared):,} bytes; the limit is {cap_bytes:,}")
    chunks: list[bytes] = []
    received = 0
    try:
        while True:
            chunk = response.read(_CHUNK_BYTES)
            if not chunk:
                break
            received += len(chunk)
            if received > cap_bytes:
                raise TooLargeError(f"{url} is larger than the limit of {cap_bytes:,} bytes")
            chunks.append(chunk)
            _remaining(deadline, url)
    except HTTPError as error:
        raise FetchError(f"{url} could not be read: {_reason(error)}") from None
    return b"".join(chunks)


def _remaining(deadline: float, url: str) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise FetchError(f"{url} could not be fetched: timed out (LISTEN_FETCH_TIMEOUT_S)")
    return remaining


def _content_type(header: str | None) -> tuple[str, str | None]:
    if not header:
        return "", None
    message = Message()
    message["Content-Type"] = header
    charset = message.get_param("charset")
    return message.get_content_type().lower(), charset if isinstance(charset, str) else None


def _reason(error: HTTPError) -> str:
    """Say what went wrong on the wire, in the words a user would use.

    The order matters: urllib3 makes ``NewConnectionError`` (a refused or
    unreachable connection) a subclass of its timeout error.
    """
    if isinstance(error, urllib3.exceptions.NameResolutionError):
        return "name does not resolve"
    if isinstance(error, urllib3.exceptions.NewConnectionError):
        return _connection_failure(error.__cause__ or error.__context__)
    if isinstance(error, urllib3.exceptions.TimeoutError):
        return "timed out"
    if isinstance(error, urllib3.exceptions.SSLError):
        return "TLS error: " + _tls_failure(error)
    if isinstance(error, urllib3.exceptions.ProtocolError):
        return _broken_connection(error)
    reason = getattr(error, "reason", None) or error
    text = str(reason)
    return text.split(": ", 1)[-1] if len(text) > 120 else text


_CONNECTION_FAILURES = {
    errno.ECONNREFUSED: "connection refused",
    errno.ENETUNREACH: "network is unreachable",
    errno.EHOSTUNREACH: "host is unreachable",
    errno.ETIMEDOUT: "timed out",
    errno.EADDRNOTAVAIL: "address not available",
}


def _connection_failure(cause: BaseException | None) -> str:
    if isinstance(cause, socket.gaierror):
        return "name does not resolve"
    if isinstance(cause, TimeoutError):
        return "timed out"
    if isinstance(cause, OSError) and cause.errno in _CONNECTION_FAILURES:
        return _CONNECTION_FAILURES[cause.errno]
    detail = cause.strerror if isinstance(cause, OSError) and cause.strerror else cause
    return f"connection failed ({detail})" if detail else "connection failed"


def _tls_failure(error: urllib3.exceptions.SSLError) -> str:
    """Return the TLS library's reason without its error-code decoration."""
    inner = error.args[0] if error.args and isinstance(error.args[0], Exception) else error
    if isinstance(inner, ssl.SSLCertVerificationError) and inner.verify_message:
        return f"certificate verify failed ({inner.verify_message})"
    text = str(inner.args[1] if isinstance(inner, ssl.SSLError) and len(inner.args) > 1 else inner)
    text = re.sub(r"^\[[A-Z_]+: [A-Z_]+\]\s*|\s*\(_ssl\.c:\d+\)$", "", text)
    return text.strip() or "handshake failed"


def _broken_connection(error: urllib3.exceptions.ProtocolError) -> str:
    cause = error.args[1] if len(error.args) > 1 else error.__cause__
    if isinstance(cause, ConnectionResetError):
        return "connection reset by the server"
    if isinstance(cause, http.client.RemoteDisconnected):
        return "the server closed the connection without answering"
    if isinstance(cause, http.client.IncompleteRead):
        return "the server closed the connection before the end of the answer"
    return "the connection broke"


def _resolution_failure(error: socket.gaierror) -> str:
    if error.errno == socket.EAI_AGAIN:
        return "could not be resolved: no answer from the name server"
    if error.errno in {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}:
        return "does not resolve"
    return f"does not resolve ({error.strerror or error})"
