"""Run the app under gunicorn: threaded workers, engines started after the fork, never before."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from service.config import Settings
from service.jobs.threads import start_threads
from service.malloc import allocator_name, limit_malloc_arenas

log = logging.getLogger(__name__)


class ListenServer(BaseApplication):  # type: ignore[misc]
    """A gunicorn application that builds one Flask app per worker process."""

    def __init__(
        self, settings: Settings, *, workers: int = 1, seeds: tuple[str, ...] = ()
    ) -> None:
        self.settings = settings
        self.workers = workers
        self.seeds = seeds
        super().__init__()

    def load_config(self) -> None:
        """Configure gunicorn from the settings (no config file, no preload)."""
        options: dict[str, Any] = {
            "bind": f"{self.settings.host}:{self.settings.port}",
            "workers": self.workers,
            "worker_class": "gthread",
            "threads": self.settings.threads,
            "timeout": 120,
            "graceful_timeout": 10,
            "keepalive": 5,
            "preload_app": False,
            "control_socket_disable": True,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "info",
            "post_fork": _post_fork,
            "post_worker_init": self._post_worker_init,
            "worker_exit": _worker_exit,
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        """Build the app inside the worker process."""
        from service.web import create_app

        return create_app(self.settings)

    def _post_worker_init(self, worker: Any) -> None:
        from service.web.context import EXTENSION
        from service.web.seeds import prepare_seeds

        app: Flask = worker.wsgi
        requests = getattr(worker, "tpool", None)  # gthread's pool: one thread per request
        if isinstance(requests, ThreadPoolExecutor):
            start_threads(requests, self.settings.threads)
        state = app.extensions[EXTENSION]
        start = getattr(state.runner, "start", None)
        if start is not None:
            start()
        log.info("web worker %d runs on the %s allocator", worker.pid, allocator_name())
        if self.seeds:
            with app.app_context():
                for line in prepare_seeds(self.seeds):
                    log.info("%s", line)


def _post_fork(_server: Any, _worker: Any) -> None:
    limit_malloc_arenas()
    _log_through_gunicorn()


def _log_through_gunicorn() -> None:
    """Send the service's log lines (seeds, allocator, failures) to gunicorn's error log."""
    ours, gunicorns = logging.getLogger("service"), logging.getLogger("gunicorn.error")
    ours.handlers = list(gunicorns.handlers)
    ours.setLevel(gunicorns.level)
    ours.propagate = False


def _worker_exit(_server: Any, worker: Any) -> None:
    from service.web import close_app

    app = getattr(worker, "wsgi", None)
    if isinstance(app, Flask):
        close_app(app)


def serve(settings: Settings, *, workers: int = 1, seeds: tuple[str, ...] = ()) -> None:
    """Serve until interrupted."""
    ListenServer(settings, workers=workers, seeds=seeds).run()
