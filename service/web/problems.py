"""Answer every error as JSON problem details (RFC 9457): type, title, status, detail."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException, RequestedRangeNotSatisfiable

from service.errors import ListenError
from service.web.problem_format import PROBLEM_BASE, PROBLEM_TYPE

log = logging.getLogger(__name__)


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    slug: str | None = None,
    retry_after_s: int | None = None,
    **extra: Any,
) -> Response:
    """Build a problem-details response."""
    body = {
        "type": PROBLEM_BASE + (slug or title.lower().replace(" ", "-")),
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
    }
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_TYPE
    if retry_after_s is not None:
        response.headers["Retry-After"] = str(retry_after_s)
    return response


def register_problem_handlers(app: Flask) -> None:
    """Turn named errors, HTTP errors and bugs into problem details."""

    @app.errorhandler(ListenError)
    def listen_error(error: ListenError) -> Response:
        retry = getattr(error, "retry_after_s", None)
        return problem(
            error.http_status, error.title, str(error), slug=error.slug, retry_after_s=retry
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        response = problem(status, error.name, error.description or error.name)
        if status == 405 and error.response is None:
            allowed = getattr(error, "valid_methods", None)
            if allowed:
                response.headers["Allow"] = ", ".join(allowed)
        if isinstance(error, RequestedRangeNotSatisfiable) and error.length is not None:
            response.headers["Content-Range"] = f"bytes */{error.length}"  # RFC 9110, 15.5.17
        retry = getattr(error, "retry_after", None)
        if status == 429:
            response.headers["Retry-After"] = str(retry or 60)
        return response

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        log.exception("unhandled error")
        return problem(500, "Internal Server Error", "The server failed; the error is logged.")
