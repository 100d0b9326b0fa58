"""Build the Flask app: the API, the player pages and the embed, on one library."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request
from flask_cors import CORS

from service.config import Settings
from service.library import Library
from service.web.common import CORS_PREFIXES, add_common_headers
from service.web.context import EXTENSION, AppState
from service.web.live import LiveRequests


def create_app(config: Settings | dict[str, Any] | None = None) -> Flask:
    """Build the app from settings (``LISTEN_*`` variables, then ``config`` overrides)."""
    settings = config if isinstance(config, Settings) else Settings.from_env(**(config or {}))
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.web.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    library = Library(settings)
    library.narrations  # noqa: B018 - the store is checked and the runner made now, not later
    live = LiveRequests(settings.stream_limit, settings.web.max_streams_per_client)
    app.extensions[EXTENSION] = AppState(library, live)

    from service.web.access import init_access
    from service.web.api import api
    from service.web.editor import editor
    from service.web.lexicons import lexicons_api
    from service.web.meta import meta
    from service.web.metrics import init_metrics
    from service.web.player import player
    from service.web.problems import register_problem_handlers
    from service.web.publish import publish
    from service.web.speech import speech
    from service.web.stats import dashboard, listening
    from service.web.urls import public_url_for

    for blueprint in (
        api,
        speech,
        meta,
        player,
        lexicons_api,
        editor,
        publish,
        listening,
        dashboard,
    ):
        app.register_blueprint(blueprint)
    app.jinja_env.globals["public_url_for"] = public_url_for
    origins = [o.strip() for o in settings.web.cors_origins.split(",") if o.strip()] or "*"
    CORS(
        app,
        resources={f"{prefix}*": {"origins": origins} for prefix in CORS_PREFIXES},
        expose_headers=["Location", "Retry-After", "Content-Range", "Content-Length", "ETag"],
        always_send=False,  # only to requests that ask (they carry Origin), as the spec says
    )
    init_access(app, [api, speech, player, lexicons_api], events=("listening.events",))
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
    state.library.close()
    state.open_files.close()
