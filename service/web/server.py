"""Run the app under gunicorn: threaded workers, engines started after the fork, never before.

With a front (:mod:`service.web.front`), the gunicorn master starts nginx once
its own socket (a Unix socket only nginx reaches) is ready, stops serving if
nginx stops, and stops nginx on its way out. Without one, gunicorn faces
clients itself.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from gunicorn import util as gunicorn_util
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.errors import HaltServer

from service.config import Settings
from service.malloc import allocator_name, limit_malloc_arenas
from service.threads import start_threads
from service.web.front import Front

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger(__name__)

REQUEST_LINE_BYTES = 8190
"""Longest request line and header line gunicorn reads (its maximum; nginx allows 8 KiB)."""
REQUEST_FIELDS = 32768
"""Most header fields gunicorn reads (its maximum), so nginx's own limits are the ones met."""


class ListenServer(BaseApplication):  # type: ignore[misc]
    """A gunicorn application that builds one Flask app per worker process."""

    def __init__(
        self,
        settings: Settings,
        *,
        workers: int = 1,
        seeds: tuple[str, ...] = (),
        front: Front | None = None,
    ) -> None:
        self.settings = settings
        self.workers = workers
        self.seeds = seeds
        self.front = front
        super().__init__()

    def load_config(self) -> None:
        """Configure gunicorn from the settings (no config file, no preload)."""
        front = self.front
        options: dict[str, Any] = {
            "bind": f"{self.settings.server.host}:{self.settings.server.port}",
            "workers": self.workers,
            "worker_class": "gthread",
            "threads": self.settings.server.threads,
            "timeout": 120,
            "graceful_timeout": 10,
            "keepalive": 5,
            "limit_request_line": REQUEST_LINE_BYTES,
            "limit_request_field_size": REQUEST_LINE_BYTES,
            "preload_app": False,
            "control_socket_disable": True,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "info",
            "post_fork": _post_fork,
            "post_worker_init": self._post_worker_init,
            "worker_exit": _worker_exit,
        }
        if front is not None:
            options.update(
                bind=f"unix:{front.app_socket}",
                # nginx keeps idle connections to the app for 50 s: the app must keep them longer,
                # or a request could go out on a connection the app is closing
                keepalive=75,
                limit_request_fields=REQUEST_FIELDS,
                when_ready=_starting(front),
                on_exit=lambda _arbiter: front.stop(),
            )
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        """Build the app inside the worker process."""
        from werkzeug.middleware.proxy_fix import ProxyFix

        from service.web import create_app
        from service.web.context import EXTENSION

        app = create_app(self.settings)
        if self.front is not None:
            # Only the front reaches the app's socket: the client's address is the one it sends.
            app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=0, x_host=0)  # type: ignore[method-assign]
            app.extensions[EXTENSION].accel_prefix = self.front.accel_prefix
        return app

    def run(self) -> None:
        """Serve until stopped; with a front, under an arbiter that watches it."""
        if self.front is None:
            super().run()
            return
        arbiter = FrontArbiter(self)
        arbiter.front = self.front
        arbiter.run()

    def _post_worker_init(self, worker: Any) -> None:
        from service.web.context import EXTENSION
        from service.web.seeds import prepare_seeds

        app: Flask = worker.wsgi
        requests = getattr(worker, "tpool", None)  # gthread's pool: one thread per request
        if isinstance(requests, ThreadPoolExecutor):
            start_threads(requests, self.settings.server.threads)
        app.extensions[EXTENSION].library.start()
        log.info("web worker %d runs on the %s allocator", worker.pid, allocator_name())
        if self.seeds:
            with app.app_context():
                for line in prepare_seeds(self.seeds):
                    log.info("%s", line)


class FrontArbiter(Arbiter):  # type: ignore[misc]
    """gunicorn's master, which also stops when its front stops, and stops the front first."""

    front: Front

    def manage_workers(self) -> None:
        """Keep the workers, as gunicorn does; halt when nginx is gone (clients cannot come)."""
        if not self.front.running():
            raise HaltServer("nginx, the front, stopped", 1)
        super().manage_workers()

    def stop(self, graceful: bool = True) -> None:
        """Stop taking new connections at the front, then stop the workers."""
        self.front.begin_stop()
        super().stop(graceful)


def _starting(front: Front) -> Any:
    """Return gunicorn's ``when_ready`` hook: start nginx once the app's socket is there."""

    def when_ready(arbiter: Any) -> None:
        front.start()
        host, port = front.settings.server.host, front.settings.server.port
        arbiter.log.info("Serving http://%s:%d through nginx (pid: %d)", host, port, front.pid)

    return when_ready


def _post_fork(_server: Any, _worker: Any) -> None:
    limit_malloc_arenas()
    _log_through_gunicorn()
    gunicorn_util.write_error = write_problem  # gunicorn's own errors, as problem details


def write_problem(sock: Any, status: int, reason: str, detail: str) -> None:
    """Answer an error gunicorn found itself (a request it cannot read) as problem details.

    Takes the place of ``gunicorn.util.write_error``, which writes an HTML page.
    """
    from service.web.problem_format import PROBLEM_BASE, PROBLEM_TYPE

    body = json.dumps(
        {
            "type": PROBLEM_BASE + reason.lower().replace(" ", "-"),
            "title": reason,
            "status": status,
            "detail": detail,
        }
    ).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
        f"Content-Type: {PROBLEM_TYPE}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    gunicorn_util.write_nonblock(sock, head.encode("latin-1") + body)


def _log_through_gunicorn() -> None:
    """Send the service's log lines (seeds, allocator, failures) to gunicorn's error log."""
    ours, gunicorns = logging.getLogger("service"), logging.getLogger("gunicorn.error")
    ours.handlers = list(gunicorns.handlers)
    ours.setLevel(gunicorns.level)
    ours.propagate = False


def _worker_exit(_server: Any, worker: Any) -> None:
    from flask import Flask

    from service.web import close_app

    app = getattr(worker, "wsgi", None)
    if isinstance(app, Flask):
        close_app(app)


def serve(
    settings: Settings,
    *,
    workers: int = 1,
    seeds: tuple[str, ...] = (),
    front: Front | None = None,
) -> None:
    """Serve until interrupted (behind ``front`` when given)."""
    if front is None:
        ListenServer(settings, workers=workers, seeds=seeds).run()
        return
    try:
        front.check()  # a busy address fails here, before gunicorn starts
        ListenServer(settings, workers=workers, seeds=seeds, front=front).run()
    finally:
        front.stop()
