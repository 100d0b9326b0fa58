"""The web service: API, player pages and the embed, built by :func:`create_app`.

The package imports nothing itself: the server's master process imports
:mod:`service.web.server` and :mod:`service.web.front` without Flask or the
library, which only the web workers load (:mod:`service.web.app`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from service.web.app import close_app, create_app

__all__ = ["close_app", "create_app"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from service.web import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
