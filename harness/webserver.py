"""Start the real server (``listen serve``) on a free loopback port for tests."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from harness.ports import free_port


def wait_until_up(
    url: str, timeout_s: float = 30.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Poll ``url`` until it answers."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer in {timeout_s} s")


@contextmanager
def running_server(
    cache_dir: Path, *, env: dict[str, str] | None = None, args: tuple[str, ...] = ()
) -> Iterator[str]:
    """Run ``listen serve`` until the block ends; yield its base URL."""
    port = free_port()
    environment = {**os.environ, "LISTEN_CACHE_DIR": str(cache_dir), **(env or {})}
    log = open(cache_dir.parent / f"server-{port}.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "service",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *args,
        ],
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base + "/healthz", process=process)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def server_process(base: str) -> Any:
    """Return the ``psutil.Process`` of the server (gunicorn master) listening at ``base``."""
    import psutil

    port = str(urllib.parse.urlsplit(base).port)
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if "serve" in cmdline and "--port" in cmdline and port in cmdline:
            return process
    raise LookupError(f"no server process for {base}")


def web_workers(base: str) -> list[Any]:
    """Return the gunicorn worker processes (those running the app) of the server at ``base``."""
    return [child for child in server_process(base).children() if not is_nginx(child)]


def web_worker(base: str) -> Any:
    """Return the one gunicorn worker process of the server at ``base``."""
    children = web_workers(base)
    if len(children) != 1:
        raise LookupError(f"expected one web worker, found {len(children)}")
    return children[0]


def front_processes(base: str) -> list[Any]:
    """Return the nginx processes (master and workers) in front of the server at ``base``."""
    masters = [child for child in server_process(base).children() if is_nginx(child)]
    return [process for master in masters for process in [master, *master.children()]]


def is_nginx(process: Any) -> bool:
    """Tell whether ``process`` is one of nginx's."""
    import psutil

    try:
        return str(process.name()).startswith("nginx")
    except psutil.NoSuchProcess:
        return False


def engine_workers(base: str) -> list[Any]:
    """Return the engine worker processes (spawned by the web worker) of the server at ``base``."""
    return [
        child
        for child in web_worker(base).children()
        if "resource_tracker" not in " ".join(child.cmdline())
    ]


@contextmanager
def serving_page(
    page: bytes,
    *,
    status: int = 200,
    content_type: str = "text/html; charset=utf-8",
    headers: dict[str, str] | None = None,
) -> Iterator[str]:
    """Serve ``page`` (HTML by default) at every path of a loopback server; yield its base URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(page)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{site.server_address[1]}"
    finally:
        site.shutdown()
        site.server_close()
