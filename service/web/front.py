"""Put nginx in front of the web processes: it holds slow and idle clients, not our threads.

A threaded web process gives each connection a thread while it sends its
headers and while a slow client drains an answer: a few dozen idle or slow
connections would stop every other client. nginx holds any number of them in
one event loop, so ``listen serve`` runs it in front when it is installed
(Debian's ``nginx`` package), with a configuration written at every start into
a private runtime folder:

- clients have 10 s to send their headers and each piece of a body, and must
  take some of an answer every 30 s; idle connections close after 15 s;
- request bodies are read whole before a web thread sees them, and answers are
  read from the web process as fast as it writes them, then handed out at the
  client's pace (spilling to files in the runtime folder past a few buffers);
- finished audio of the local store is sent by nginx itself from the file: the
  app decides everything (304, the one range, 416, its ETag) and names the file
  in an ``X-Accel-Redirect`` to an internal location;
- the errors nginx answers itself (a request line or headers too long, a body
  too large, a web process not answering) are problem details, like the app's.

The web processes listen on a Unix socket in the runtime folder, which only
the front can reach (a folder left by a killed server is removed at the next
start); the address clients came from reaches the app in
``X-Forwarded-For`` (for the rate and stream limits). nginx runs in the
foreground as a child of the gunicorn master, which stops it on the way out;
it dies with its parent too, so a killed server never leaves it holding the port.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import grp
import json
import logging
import os
import pwd
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from service.config import Settings
from service.errors import ListenError
from service.library import local_store_folder

log = logging.getLogger(__name__)

FRONTS = ("auto", "nginx", "none")
NGINX_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin")
"""Where nginx lives besides ``PATH`` (Debian puts it in /usr/sbin, outside a user's PATH)."""
ACCEL_PREFIX = "/.listen-store/"
"""Internal location of the local store: ``part/<key>`` honours a Range, ``whole/<key>`` not."""
PROBLEM_PREFIX = "/.listen-problem/"
RUN_DIR_PREFIX = "listen-front-"
OWNER_LOCK = "owner.lock"
HEADER_TIMEOUT_S = 10
"""Time a client has to send its request headers (and each piece of its body)."""
SEND_TIMEOUT_S = 30
"""Time a client may take nothing of an answer before it is closed."""
KEEPALIVE_S = 15
"""An idle keep-alive connection is closed after this long."""
STREAM_READ_TIMEOUT_S = 150
"""Longest silence of the app within an answer: a live stream waits up to 120 s for a chunk."""
SPEECH_READ_TIMEOUT_S = 660
"""...and a synchronous speech answer waits up to 600 s for its narration."""
WORKER_CONNECTIONS = 4096
"""Connections one nginx worker holds (clients and the app's sockets together)."""
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
PR_SET_PDEATHSIG = 1


class FrontError(ListenError):
    """The front (nginx) cannot be started or is missing when required."""

    exit_code = 2
    slug = "front-failed"
    title = "Front failed"


@dataclass
class Front:
    """An nginx in front of the web processes, configured for one server."""

    nginx: str
    """The nginx binary."""
    settings: Settings
    """The server's settings (address, limits)."""
    run_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix=RUN_DIR_PREFIX)))
    """Private folder: configuration, the app's socket, nginx's pid and buffers."""
    process: subprocess.Popen[bytes] | None = None
    owner_pid: int = field(default_factory=os.getpid)
    """The process that runs nginx (gunicorn's master); see :meth:`stop`."""

    def __post_init__(self) -> None:
        # Held while this process lives (however it ends): a folder whose lock can be
        # taken belongs to a server that is gone, and the next start removes it.
        self._owner_lock = os.open(self.run_dir / OWNER_LOCK, os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(self._owner_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)

    @property
    def app_socket(self) -> Path:
        """Return the Unix socket the web processes listen on."""
        return self.run_dir / "app.sock"

    @property
    def accel_prefix(self) -> str | None:
        """Return the internal location of the local store, or None for object storage."""
        return ACCEL_PREFIX if local_store_folder(self.settings) is not None else None

    def check(self) -> None:
        """Raise FrontError now if the public address cannot be listened on."""
        check_address(self.settings.server.host, self.settings.server.port)

    def start(self) -> None:
        """Write the configuration and start nginx; raise FrontError if it cannot listen."""
        config = self.run_dir / "nginx.conf"
        for folder in ("client-body", "proxy"):
            (self.run_dir / folder).mkdir(exist_ok=True)
        config.write_text(nginx_config(self.settings, self.run_dir, self.app_socket))
        command = [self.nginx, "-e", "stderr", "-p", str(self.run_dir), "-c", str(config)]
        test = subprocess.run([*command, "-t", "-q"], capture_output=True, text=True, check=False)
        if test.returncode != 0:
            self.cleanup()
            raise FrontError(f"nginx refused its configuration: {_last_line(test.stderr)}")
        # nginx's own lines (errors only) go where the server's go
        # A process group of its own: should its master be killed, its workers, which
        # hold the port, are found by the group and stopped with it.
        self.process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent, process_group=0
        )
        self._wait_listening()

    def _wait_listening(self) -> None:
        """Return once nginx accepts connections; raise if it exits or never listens."""
        assert self.process is not None
        host, port = self.settings.server.host, self.settings.server.port
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.cleanup()
                raise FrontError(f"nginx stopped at start on {host}:{port} (its reason is above)")
            try:
                with socket.create_connection((_connect_host(host), port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise FrontError(f"nginx did not listen on {host}:{port} in {START_TIMEOUT_S:g} s")

    @property
    def pid(self) -> int:
        """Return nginx's master process id (0 before it starts)."""
        return self.process.pid if self.process is not None else 0

    def running(self) -> bool:
        """Return True while nginx runs."""
        return self.process is not None and self.process.poll() is None

    def begin_stop(self) -> None:
        """Ask nginx to stop accepting and finish what it is sending (graceful)."""
        if os.getpid() == self.owner_pid and self.running():
            assert self.process is not None
            self.process.send_signal(signal.SIGQUIT)

    def stop(self) -> None:
        """Stop nginx (graceful for a moment, then at once) and remove the runtime folder.

        Only in the process that started it: a gunicorn worker is a fork of the
        master, and when it exits, the master's ``finally`` blocks run in it too.
        """
        if os.getpid() != self.owner_pid:
            return
        process = self.process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGQUIT)
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.terminate()
                try:
                    process.wait(STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if process is not None:  # workers left by a master that was killed still hold the port
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        self.cleanup()

    def cleanup(self) -> None:
        """Remove the runtime folder (only in the process that made it)."""
        if os.getpid() != self.owner_pid:
            return
        shutil.rmtree(self.run_dir, ignore_errors=True)
        if self._owner_lock >= 0:
            os.close(self._owner_lock)
            self._owner_lock = -1


def check_address(host: str, port: int) -> None:
    """Raise FrontError when ``host:port`` cannot be listened on (in use, not ours)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as nginx binds
        try:
            probe.bind((host, port))
        except OSError as error:
            raise FrontError(f"cannot listen on {host}:{port}: {error.strerror}") from None


def sweep_run_dirs(stale_after_s: float = 600.0) -> int:
    """Remove the runtime folders of servers that were killed (no process holds their lock)."""
    removed = 0
    for folder in Path(tempfile.gettempdir()).glob(f"{RUN_DIR_PREFIX}*"):
        try:
            if folder.stat().st_uid != os.geteuid():
                continue
            lock = os.open(folder / OWNER_LOCK, os.O_RDWR)
        except FileNotFoundError:  # a server creating it right now, or one long gone
            with contextlib.suppress(FileNotFoundError):
                if time.time() - folder.stat().st_mtime > stale_after_s:
                    shutil.rmtree(folder, ignore_errors=True)
                    removed += 1
            continue
        except OSError:
            continue
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # its server runs
        finally:
            os.close(lock)
        shutil.rmtree(folder, ignore_errors=True)
        removed += 1
    return removed


def find_nginx() -> str | None:
    """Return the nginx binary, or None when it is not installed."""
    path = os.environ.get("PATH", "")
    return shutil.which("nginx", path=os.pathsep.join([path, *NGINX_DIRS]))


def plan_front(settings: Settings) -> tuple[Front | None, str | None]:
    """Return the front to run (None: gunicorn alone) and a warning for the operator, if any."""
    if settings.server.front not in FRONTS:
        raise FrontError(
            f"LISTEN_FRONT must be one of {', '.join(FRONTS)}, not {settings.server.front!r}"
        )
    if settings.server.front == "none":
        return None, None
    nginx = find_nginx()
    if nginx is None:
        if settings.server.front == "nginx":
            raise FrontError("LISTEN_FRONT=nginx, but nginx is not installed (Debian: nginx)")
        return None, (
            "nginx is not installed (Debian: nginx): gunicorn alone faces clients, which is "
            "not fit to face the public (a few dozen slow clients stop it)"
        )
    sweep_run_dirs()
    return Front(nginx, settings), None


def nginx_config(settings: Settings, run_dir: Path, app_socket: Path) -> str:
    """Return nginx's configuration for these settings (see the module docstring)."""
    store_root = local_store_folder(settings)
    user = ""
    if os.geteuid() == 0:  # nginx's workers would otherwise run as nobody, locked out of files
        user = f"user {pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name};"
    host = f"[{settings.server.host}]" if ":" in settings.server.host else settings.server.host
    open_files = _open_files_limit()
    connections = min(WORKER_CONNECTIONS, (open_files - 64) // 2)
    problems = "\n".join(
        _problem_location(status, title, detail) for status, title, detail in _problems(settings)
    )
    error_pages = "\n".join(
        f"        error_page {code} {_problem_target(code)};" for code in _NGINX_ERRORS
    )
    files = ""
    if store_root is not None:
        files = "\n".join(
            _file_location(kind, ranges, store_root) for kind, ranges in (("part", 1), ("whole", 0))
        )
    return f"""# Written by `listen serve` at every start; see service/web/front.py.
daemon off;
worker_processes 1;
worker_rlimit_nofile {open_files};
pid {run_dir}/nginx.pid;
error_log stderr error;
{user}
events {{
    worker_connections {connections};
}}

http {{
    access_log off;
    server_tokens off;
    client_body_temp_path {run_dir}/client-body;
    proxy_temp_path {run_dir}/proxy;
    fastcgi_temp_path {run_dir}/proxy;
    uwsgi_temp_path {run_dir}/proxy;
    scgi_temp_path {run_dir}/proxy;
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;

    client_header_timeout {HEADER_TIMEOUT_S}s;
    client_body_timeout {HEADER_TIMEOUT_S}s;
    send_timeout {SEND_TIMEOUT_S}s;
    keepalive_timeout {KEEPALIVE_S}s;
    reset_timedout_connection on;
    large_client_header_buffers 4 8k;
    client_max_body_size {settings.web.max_body_bytes};
    client_body_buffer_size 64k;

    upstream listen_app {{
        server unix:{app_socket};
        keepalive 256;
        keepalive_timeout 50s;
    }}

    server {{
        listen {host}:{settings.server.port} backlog=4096;
{error_pages}

        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_buffering on;
        proxy_buffer_size 16k;
        proxy_buffers 8 16k;
        proxy_busy_buffers_size 32k;
        proxy_ignore_headers X-Accel-Buffering X-Accel-Limit-Rate X-Accel-Expires;

        location / {{
            proxy_pass http://listen_app;
            proxy_read_timeout {STREAM_READ_TIMEOUT_S}s;
        }}

        location /v1/ {{
            proxy_pass http://listen_app;
            proxy_read_timeout {SPEECH_READ_TIMEOUT_S}s;
        }}
{files}
{problems}
    }}
}}
"""


_FORWARDED_HEADERS = (
    "ETag",
    "Vary",
    "X-Content-Type-Options",
    "Access-Control-Allow-Origin",
    "Access-Control-Expose-Headers",
)
"""The app's headers nginx drops on an internal redirect, so they are set again from its answer."""


def _file_location(kind: str, max_ranges: int, store_root: Path) -> str:
    forwarded = "\n".join(
        f"            add_header {name} $upstream_http_{name.lower().replace('-', '_')};"
        for name in _FORWARDED_HEADERS
    )
    return f"""
        location {ACCEL_PREFIX}{kind}/ {{
            internal;
            alias {store_root}/;
            etag off;
            max_ranges {max_ranges};
            open_file_cache max=64 inactive=60s;
            open_file_cache_valid 5s;
            add_header Last-Modified "";
{forwarded}
        }}"""


_NGINX_ERRORS = (400, 404, 408, 413, 414, 494, 500, 502, 503, 504, 505)
"""The answers nginx makes itself; each is problem details (494: headers too large)."""


def _problem_target(code: int) -> str:
    return f"=431 {PROBLEM_PREFIX}431" if code == 494 else f"{PROBLEM_PREFIX}{code}"


def _problems(settings: Settings) -> list[tuple[int, str, str]]:
    return [
        (400, "Bad Request", "the request could not be read as HTTP"),
        (404, "Not Found", "nothing is served at this address"),
        (408, "Request Timeout", "the request was not sent in time"),
        (
            413,
            "Request Entity Too Large",
            f"the request body is larger than {settings.web.max_body_bytes} bytes "
            "(LISTEN_MAX_BODY_BYTES)",
        ),
        (414, "Request-URI Too Long", "the request line is longer than 8 KiB"),
        (431, "Request Header Fields Too Large", "a request header is longer than 8 KiB"),
        (500, "Internal Server Error", "the server failed; the error is logged"),
        (502, "Bad Gateway", "the web process is not answering; try again shortly"),
        (503, "Service Unavailable", "the server is busy; try again shortly"),
        (504, "Gateway Timeout", "the web process did not answer in time; try again shortly"),
        (505, "HTTP Version Not Supported", "use HTTP/1.0 or HTTP/1.1"),
    ]


def _problem_location(status: int, title: str, detail: str) -> str:
    from service.web.problem_format import PROBLEM_BASE, PROBLEM_TYPE

    body = json.dumps(
        {
            "type": PROBLEM_BASE + title.lower().replace(" ", "-"),
            "title": title,
            "status": status,
            "detail": detail,
        }
    )
    retry = "\n            add_header Retry-After 5 always;" if status in (502, 503, 504) else ""
    return f"""
        location = {PROBLEM_PREFIX}{status} {{
            internal;
            default_type {PROBLEM_TYPE};{retry}
            return {status} '{body}\\n';
        }}"""


def _open_files_limit() -> int:
    """Return the open files nginx asks for: two per connection, within the hard limit."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = WORKER_CONNECTIONS * 2 + 64
    return wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)


def _connect_host(host: str) -> str:
    """Return an address to reach a server bound to ``host`` (any address: loopback)."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no reason given"


def _die_with_parent() -> None:
    """Have the kernel stop nginx when the server process dies, however it dies (Linux)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass
