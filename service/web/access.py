"""Guard creation: optional API keys and a per-client rate limit."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, Flask, request
from flask_limiter import HeaderNames, Limiter
from flask_limiter.util import get_remote_address

from service.errors import ListenError
from service.web.context import settings

F = TypeVar("F", bound=Callable[..., Any])


class MissingKeyError(ListenError):
    """Creating narrations needs an API key and none was given."""

    http_status = 401
    slug = "missing-key"
    title = "API key required"


class WrongKeyError(ListenError):
    """The API key given is not one of ours."""

    http_status = 403
    slug = "wrong-key"
    title = "API key refused"


def creation_limit() -> str:
    """Return the per-client limit on creating narrations."""
    return f"{settings().web.rate_limit_per_minute}/minute"


def require_key(view: F) -> F:
    """Refuse the request unless it carries one of the configured API keys (when any)."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        check_key("create narrations")
        return view(*args, **kwargs)

    return guarded  # type: ignore[return-value]


def check_key(what: str) -> None:
    """Raise 401 (no key) or 403 (not ours) when API keys are set and the request has none."""
    keys = settings().web.api_key_list
    if not keys:
        return
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise MissingKeyError(f"send 'Authorization: Bearer <key>' to {what}")
    if not _known_key(given, keys):
        raise WrongKeyError("that API key is not accepted")


def _known_key(given: str, keys: tuple[str, ...]) -> bool:
    # compare_digest takes str only when it is ASCII: compare bytes, the header's as sent
    # (WSGI hands them over as latin-1) and the keys' in UTF-8.
    offered = given.strip().encode("latin-1", "replace")
    return any(hmac.compare_digest(offered, key.encode("utf-8", "replace")) for key in keys)


def init_access(app: Flask, creating: list[Blueprint]) -> Limiter:
    """Limit POSTs to the ``creating`` blueprints per client (in memory, or in Redis)."""
    redis_url = app.extensions["listen"].settings.jobs.redis_url
    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri=redis_url or "memory://",
        headers_enabled=True,
        # Flask-Limiter would put its window's reset time in Retry-After on every
        # answer: a 202 saying "retry after 59 s" would slow pollers down, and our
        # own Retry-After on 503 would be replaced. X-RateLimit-Reset says it already.
        header_name_mapping={HeaderNames.RETRY_AFTER: "X-RateLimit-Retry-After"},
        swallow_errors=True,
    )
    for blueprint in creating:
        limiter.limit(creation_limit, methods=["POST"])(blueprint)
    # Only creation is limited: let every other request skip the limiter's work
    # (it costs about as much as a whole trivial request).
    limiter.request_filter(lambda: request.method != "POST")
    return limiter


def has_key() -> bool:
    """Tell whether the request carries one of the configured API keys."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return False
    return _known_key(given, settings().web.api_key_list)


def may_make() -> bool:
    """Tell whether this request may start a synthesis: no keys are set, or it has one."""
    return not settings().web.api_key_list or has_key()


def require_key_when_set(what: str) -> None:
    """Refuse the request (401/403) when API keys are set and it carries none of them."""
    check_key(what)
