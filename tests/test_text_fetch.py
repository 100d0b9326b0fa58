"""URLs are fetched within limits from a real local server; private addresses are refused."""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from service.config import InputSettings
from service.errors import FetchError, TooLargeError, UnsupportedMediaError
from service.text.fetch import fetch_url, is_public_address
from service.text.load import load_article

PAGE = (
    b"<!DOCTYPE html><html lang='en'><head><title>Local story | Test Site</title>"
    b"<meta charset='utf-8'></head><body><article><h1>Local story</h1>"
    b"<p>A paragraph that is long enough to count as the body of a short local story.</p>"
    b"<p>A second paragraph, so that the extractor sees a real article here.</p>"
    b"</article></body></html>"
)


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        route = self.path.split("?", 1)[0]
        if route == "/article":
            self._send(200, PAGE, "text/html; charset=utf-8")
        elif route == "/moved":
            self._redirect("/article")
        elif route == "/loop":
            self._redirect("/loop")
        elif route == "/missing":
            self._send(404, b"not here", "text/plain")
        elif route == "/pdf":
            self._send(200, b"%PDF-1.4", "application/pdf")
        elif route == "/slow":
            time.sleep(3)
            self._send(200, PAGE, "text/html")
        elif route == "/huge-declared":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(1 << 30))
            self.end_headers()
        elif route in ("/drip-headers", "/drip-body", "/drip-unsized"):
            self._drip(route)
        elif route == "/to-drip":
            self._redirect("/drip-body")
        elif route == "/endless":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            chunk = b"x" * 65536
            try:
                for _ in range(1 << 14):  # up to 1 GiB, until the client hangs up
                    self.wfile.write(chunk)
            except OSError:
                pass

    def _drip(self, route: str) -> None:
        """Send a byte every 0.2 s: every wait for a byte is short, the whole is not."""
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
        if route != "/drip-unsized":
            head += b"Content-Length: %d\r\n" % len(PAGE)
        head += b"Connection: close\r\n\r\n"
        if route != "/drip-headers":
            self.wfile.write(head)
            self.wfile.flush()
            head = b""
        try:
            for byte in head + PAGE:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:
            pass  # the client gave up, as it should
        self.close_connection = True

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the client gave up (the timeout test)
            self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


LOCAL = InputSettings(allow_private_urls=True, fetch_timeout_s=1.0, max_input_bytes=1 << 20)


def test_fetch_local_article_through_redirect(server_url: str) -> None:
    article = load_article(f"{server_url}/moved", LOCAL)
    assert article.title == "Local story"
    assert article.source_url == f"{server_url}/article"
    assert len(article.blocks) == 2


@pytest.mark.parametrize(
    ("route", "error", "message"),
    [
        ("/loop", FetchError, "redirects more than"),
        ("/missing", FetchError, "404"),
        ("/pdf", UnsupportedMediaError, "application/pdf"),
        ("/slow", FetchError, "timed out|timeout"),
        ("/huge-declared", TooLargeError, "limit"),
        ("/endless", TooLargeError, "limit"),
    ],
)
def test_fetch_failures_are_named_errors(
    server_url: str, route: str, error: type[Exception], message: str
) -> None:
    started = time.perf_counter()
    with pytest.raises(error, match=message):
        fetch_url(f"{server_url}{route}", LOCAL)
    assert time.perf_counter() - started < 2.5


@pytest.mark.parametrize("route", ["/drip-headers", "/drip-body", "/drip-unsized", "/to-drip"])
def test_fetch_timeout_is_a_total_whatever_the_origin_sends(server_url: str, route: str) -> None:
    # Each byte comes well within the timeout; all of them would take a minute.
    started = time.perf_counter()
    with pytest.raises(
        FetchError, match=r"could not be fetched: timed out after 1 s \(LISTEN_FETCH_TIMEOUT_S\)$"
    ):
        fetch_url(f"{server_url}{route}", LOCAL)
    assert time.perf_counter() - started < 2.0


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/",
        "http://localhost:9/",
        "http://10.1.2.3/",
        "http://192.168.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
        "http://240.0.0.1/",
    ],
)
def test_fetch_refuses_non_public_addresses_by_default(url: str) -> None:
    with pytest.raises(FetchError, match="non-public"):
        fetch_url(url, InputSettings())


def test_fetch_refuses_redirect_to_a_private_address(server_url: str) -> None:
    # The local server itself is private, so the first hop is already refused.
    with pytest.raises(FetchError, match="non-public"):
        fetch_url(f"{server_url}/moved", InputSettings())


@pytest.mark.parametrize("url", ["ftp://example.org/a", "file:///etc/passwd", "http:///nohost"])
def test_fetch_refuses_other_schemes_and_bad_urls(url: str) -> None:
    with pytest.raises(FetchError):
        fetch_url(url, InputSettings())


@pytest.mark.parametrize(
    ("address", "public"),
    [("93.184.216.34", True), ("2606:4700::1111", True), ("::ffff:10.0.0.1", False),
     ("2002:7f00:1::", False), ("fe80::1", False), ("100.64.0.1", False)],
)  # fmt: skip
def test_fetch_public_address_rules(address: str, public: bool) -> None:
    import ipaddress

    assert is_public_address(ipaddress.ip_address(address)) is public


# --- what went wrong, said exactly -------------------------------------------------


def _closed_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = int(probe.getsockname()[1])
    probe.close()
    return port


def test_fetch_names_a_refused_connection() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/story"
    with pytest.raises(FetchError) as caught:
        fetch_url(url, LOCAL)
    assert str(caught.value) == f"{url} could not be fetched: connection refused"


def test_fetch_names_a_connection_that_never_answers() -> None:
    silent = socket.socket()  # accepts into its backlog, never reads or answers
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        with pytest.raises(FetchError, match=r"could not be fetched: timed out\b"):
            fetch_url(url, LOCAL)
    finally:
        silent.close()


def test_fetch_names_a_name_that_does_not_resolve() -> None:
    # .invalid is reserved never to resolve (RFC 2606)
    with pytest.raises(FetchError, match=r"^the name 'no-such-host\.invalid' does not resolve$"):
        fetch_url("http://no-such-host.invalid/story", InputSettings())


@pytest.mark.slow
def test_fetch_names_a_tls_error_on_a_server_without_tls(server_url: str) -> None:
    url = server_url.replace("http://", "https://") + "/article"
    patient = dataclasses.replace(LOCAL, fetch_timeout_s=10.0)  # a busy machine's handshake
    with pytest.raises(FetchError, match=r"could not be fetched: TLS error: wrong version number$"):
        fetch_url(url, patient)


@pytest.mark.slow
def test_fetch_names_a_certificate_that_is_not_trusted() -> None:
    import ssl

    import trustme

    authority = trustme.CA()  # an authority nobody trusts: its certificates fail verification
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"https://127.0.0.1:{server.server_address[1]}/article"
        with pytest.raises(FetchError) as caught:
            fetch_url(url, LOCAL)
    finally:
        server.shutdown()
        server.server_close()
    assert str(caught.value).startswith(
        f"{url} could not be fetched: TLS error: certificate verify failed ("
    ), caught.value


def test_fetch_refusal_of_a_private_address_says_how_to_allow_it() -> None:
    with pytest.raises(FetchError) as caught:
        fetch_url("http://127.0.0.1:9/", InputSettings())
    assert str(caught.value) == (
        "refusing to fetch '127.0.0.1': it resolves to the non-public address 127.0.0.1; "
        "set LISTEN_ALLOW_PRIVATE_URLS=1 to allow private addresses"
    )
