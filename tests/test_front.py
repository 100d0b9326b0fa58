"""The front (nginx) that ``listen serve`` runs, and gunicorn alone where there is none."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from harness.ports import free_port
from harness.webserver import (
    front_processes,
    running_server,
    server_process,
    web_workers,
)
from service.config import Settings
from service.web import front as front_module
from service.web.front import (
    Front,
    FrontError,
    find_nginx,
    nginx_config,
    plan_front,
    sweep_run_dirs,
)

pytestmark = [pytest.mark.server, pytest.mark.xdist_group("front")]

ENV = {"LISTEN_WORKERS": "1"}


def raw(base: str, request: bytes, timeout_s: float = 10) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` as bytes; return the status, headers and body of the answer."""
    parts = urllib.parse.urlsplit(base)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout_s) as sock:
        sock.sendall(request)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:  # nginx resets a connection whose body it refused
            assert received
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split(" ", 2)[1]), headers, body


REFUSED = [
    pytest.param(b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, id="long-line"),
    pytest.param(
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", 431, id="long-header"
    ),
    pytest.param(b"NOT HTTP AT ALL\r\n\r\n", 400, id="garbage"),
    pytest.param(b"GET / HTTP/1.1\r\n\r\n", 400, id="no-host"),
    pytest.param(b"GET / HTTP/7.0\r\nHost: x\r\n\r\n", 505, id="version"),
    pytest.param(
        b"POST /api/narrations HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n",
        413,
        id="huge-body",
    ),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(tmp_path_factory.mktemp("front") / "cache", env=ENV) as base:
        yield base


@pytest.fixture(scope="module")
def alone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    cache = tmp_path_factory.mktemp("alone") / "cache"
    with running_server(cache, env={**ENV, "LISTEN_FRONT": "none"}) as base:
        yield base


@pytest.mark.parametrize(("request_bytes", "status"), REFUSED)
def test_front_requests_it_refuses_get_problem_details(
    server: str, request_bytes: bytes, status: int
) -> None:
    got, headers, body = raw(server, request_bytes)
    assert got == status, body[:300]
    assert headers["Content-Type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["status"] == status and problem["detail"] and problem["title"]


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", 431),
        (b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n", 400),
    ],
    ids=["long-line", "long-header", "bad-header"],
)
def test_front_gunicorn_alone_refuses_with_problem_details_too(
    alone: str, request_bytes: bytes, status: int
) -> None:
    assert front_processes(alone) == []
    got, headers, body = raw(alone, request_bytes)
    assert got == status, body[:300]
    assert headers["Content-Type"] == "application/problem+json"
    assert json.loads(body)["status"] == status


def test_front_is_nginx_in_front_of_a_unix_socket(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with running_server(cache, env=ENV) as base:
        nginx = front_processes(base)
        assert nginx and all(p.name().startswith("nginx") for p in nginx)
        master = server_process(base)
        ports = {c.laddr.port for c in master.net_connections("tcp") if c.status == "LISTEN"}
        assert ports == set(), "gunicorn listens on no TCP port of its own"
        workers = web_workers(base)
        assert len(workers) == 1
        run_dir = Path(nginx[0].cmdline()[nginx[0].cmdline().index("-p") + 1])
        assert (run_dir / "app.sock").is_socket()
        assert oct(run_dir.stat().st_mode & 0o777) == "0o700"
    assert not run_dir.exists(), "the runtime folder goes with the server"
    assert not any(p.is_running() for p in nginx)
    log = "\n".join(path.read_text() for path in tmp_path.glob("server-*.log"))
    assert "through nginx" in log and "Traceback" not in log


def test_front_and_two_web_processes(tmp_path: Path) -> None:
    with running_server(tmp_path / "cache", env=ENV, args=("--workers", "2")) as base:
        assert len(web_workers(base)) == 2
        status, _headers, body = raw(
            base, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        assert status == 200, body


def test_front_stopping_stops_the_server_and_a_killed_server_takes_nginx_along(
    tmp_path: Path,
) -> None:
    with running_server(tmp_path / "cache", env=ENV) as base:
        master = server_process(base)
        nginx = front_processes(base)
        nginx[0].kill()  # the master: its workers are left, holding the port
        assert master.wait(20) != 0, "without its front the server stops, and says so"
        _gone, alive = psutil.wait_procs(nginx, timeout=10)
        assert alive == [], "the workers of a killed nginx go with it"
    with running_server(tmp_path / "cache2", env=ENV) as base:
        master = server_process(base)
        nginx = front_processes(base)
        run_dir = Path(nginx[0].cmdline()[nginx[0].cmdline().index("-p") + 1])
        workers = web_workers(base)
        master.kill()
        _gone, alive = psutil.wait_procs(nginx + workers, timeout=15)
        assert alive == [], "nginx and the web worker end with their master"
        port = urllib.parse.urlsplit(base).port
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", port))  # the port is free again
    assert run_dir.exists()  # nothing was left to remove it
    sweep_run_dirs()
    assert not run_dir.exists(), "the next start removes a killed server's runtime folder"


def test_front_outlives_a_web_worker_that_exits(tmp_path: Path) -> None:
    with running_server(tmp_path / "cache", env=ENV) as base:
        nginx = front_processes(base)
        old = web_workers(base)[0]
        old.terminate()  # gunicorn's master starts another
        old.wait(30)
        deadline = time.monotonic() + 60
        while not (new := web_workers(base)) or new[0].pid == old.pid:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        while time.monotonic() < deadline:
            status, _headers, body = raw(
                base, b"GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
            if status == 200:
                break
            time.sleep(0.2)
        assert status == 200, body
        assert all(process.is_running() for process in nginx)


def test_front_busy_port_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "service", "serve", "--port", str(port)],
            env={**os.environ, "LISTEN_CACHE_DIR": str(tmp_path), **ENV},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("listen: error: "), done.stderr
    assert str(port) in lines[0]


def test_front_configuration_is_accepted_by_nginx(tmp_path: Path) -> None:
    nginx = find_nginx()
    assert nginx is not None, "scripts/system-deps test installs nginx"
    for store_url in ("", "s3://bucket/prefix"):
        settings = Settings.from_env({}, cache_dir=tmp_path / "cache", store_url=store_url)
        config = tmp_path / "nginx.conf"
        config.write_text(nginx_config(settings, tmp_path, tmp_path / "app.sock"))
        checked = subprocess.run(
            [nginx, "-t", "-q", "-e", "stderr", "-p", str(tmp_path), "-c", str(config)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert checked.returncode == 0, checked.stderr
        assert ("/.listen-store/part/" in config.read_text()) == (store_url == "")


def test_front_choice(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = Settings.from_env({}, cache_dir=tmp_path, port=free_port())
    front, warning = plan_front(settings)
    assert isinstance(front, Front) and warning is None
    front.cleanup()
    assert plan_front(settings.replace(front="none")) == (None, None)
    with pytest.raises(FrontError, match="LISTEN_FRONT must be one of"):
        plan_front(settings.replace(front="apache"))
    # where nginx is not installed
    monkeypatch.setattr(front_module, "NGINX_DIRS", ())
    monkeypatch.setenv("PATH", str(tmp_path))
    front, warning = plan_front(settings)
    assert front is None and warning is not None and "not fit" in warning
    with pytest.raises(FrontError, match="not installed"):
        plan_front(settings.replace(front="nginx"))
