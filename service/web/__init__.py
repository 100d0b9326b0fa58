"""The web service: API, player pages and the embed, built by :func:`create_app`."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request
from flask_cors import CORS

from service.config import Settings
from service.jobs.base import JobRunner
from service.store import open_store
from service.web.common import CORS_PREFIXES, add_common_headers
from service.web.context import EXTENSION, AppState
from service.web.live import LiveRequests
from service.web.narrations import Narrations


def make_runner(settings: Settings, store: Any) -> JobRunner:
    """Return the job runner the settings ask for: RQ when Redis is set, else in-process."""
    if settings.redis_url:
        from service.jobs.rq import RQRunner

        return RQRunner(settings, store)
    from service.jobs.inprocess import InProcessRunner

    return InProcessRunner(settings, store)


def create_app(config: Settings | dict[str, Any] | None = None) -> Flask:
    """Build the app from settings (``LISTEN_*`` variables, then ``config`` overrides)."""
    settings = config if isinstance(config, Settings) else Settings.from_env(**(config or {}))
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    store = open_store(settings)
    runner = make_runner(settings, store)
    live = LiveRequests(settings.stream_limit, settings.max_streams_per_client)
    app.extensions[EXTENSION] = AppState(
        settings, store, runner, Narrations(settings, store, runner), live
    )

    from service.web.access import init_access
    from service.web.api import api
    from service.web.meta import meta
    from service.web.metrics import init_metrics
    from service.web.player import player
    from service.web.problems import register_problem_handlers
    from service.web.speech import speech
    from service.web.urls import public_url_for

    for blueprint in (api, speech, meta, player):
        app.register_blueprint(blueprint)
    app.jinja_env.globals["public_url_for"] = public_url_for
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()] or "*"
    CORS(
        app,
        resources={f"{prefix}*": {"origins": origins} for prefix in CORS_PREFIXES},
        expose_headers=["Location", "Retry-After", "Content-Range", "Content-Length", "ETag"],
        always_send=False,  # only to requests that ask (they carry Origin), as the spec says
    )
    init_access(app, [api, speech, player])
    register_problem_handlers(app)
    app.after_request(_common_headers)
    init_metrics(app)
    from service.web.fastpath import FinishedAudio

    app.wsgi_app = FinishedAudio(app.wsgi_app, app.extensions[EXTENSION])  # type: ignore[method-assign]
    return app


def _common_headers(response: Response) -> Response:
    return add_common_headers(response, request.path)


def close_app(app: Flask) -> None:
    """Stop the app's job runner and its workers."""
    state: AppState = app.extensions[EXTENSION]
    state.runner.close()
    state.open_files.close()
