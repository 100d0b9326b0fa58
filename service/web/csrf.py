"""Refuse forms posted from other sites (cross-site request forgery), without a cookie.

Browsers say where a request comes from. ``Sec-Fetch-Site`` (every browser
since 2023) names the relation of the page that sent it to ours; where it is
missing, a browser sends ``Origin`` with every POST. A form posted from our
own pages, or typed by hand (``none``), passes; one posted from another site
is refused; a request that carries neither header was not sent by a page
(curl, scripts), and carries no visitor's standing, so it passes too. This is
the check of Go's ``net/http.CrossOriginProtection`` and of the OWASP cheat
sheet's "Fetch Metadata" defence.

It needs no token and no cookie, so listeners get no cookie from us, and
nothing has to be shared between web processes or nodes (a signed token
would need a secret key they all know, and a session cookie to bind it to).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import request

from service.errors import ListenError
from service.web.context import settings

F = TypeVar("F", bound=Callable[..., Any])


class CrossSiteError(ListenError):
    """A form was posted to us from another site."""

    http_status = 403
    slug = "cross-site-request"
    title = "Sent from another site"


def same_site_only(view: F) -> F:
    """Refuse the request when a browser says another site sent it."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if not from_this_site():
            raise CrossSiteError(
                "this form can only be sent from this service's own page; open it here and "
                "send it again"
            )
        return view(*args, **kwargs)

    return guarded  # type: ignore[return-value]


def from_this_site() -> bool:
    """Tell whether the request was sent by one of our pages, or not by a page at all."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    ours = {request.host.lower()}
    if settings().web.public_base:
        ours.add(urlsplit(settings().web.public_base).netloc.lower())
    try:
        return urlsplit(origin).netloc.lower() in ours
    except ValueError:  # brackets that hold no IPv6 address: no page of ours sent it
        return False
