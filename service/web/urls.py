"""Write the addresses of the service's own resources: relative, or under LISTEN_PUBLIC_URL.

An absolute URL built from the request's ``Host`` header names whatever host
the client claimed: a page cached for everyone could then point its readers'
embed snippet at another site. Absolute URLs are written only from the
configured public base URL; without one, links are relative (a browser
resolves them against the page it shows).
"""

from __future__ import annotations

from typing import Any

from flask import url_for

from service.web.context import settings


def public_url_for(endpoint: str, **values: Any) -> str:
    """Return ``endpoint``'s URL: absolute under the public base URL if set, else relative."""
    return settings().web.public_base + url_for(endpoint, **values)


def public_servers() -> list[dict[str, str]]:
    """Return the OpenAPI ``servers`` list: the public base URL, or none (this server)."""
    base = settings().web.public_base
    return [{"url": base, "description": "This service"}] if base else []
