"""Turn a create-narration request (JSON, form or raw body) into its fields.

What the fields mean is read by the library (:mod:`service.library.requests`);
here is only how HTTP carries them.
"""

from __future__ import annotations

from typing import Any

from flask import Request

from service.errors import UnsupportedMediaError
from service.web.fields import json_object

RAW_KINDS = {
    "text/plain": "text",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "text/html": "html",
    "application/xhtml+xml": "html",
}


def request_fields(request: Request) -> dict[str, Any]:
    """Return the fields of a JSON, form or raw (text, Markdown, HTML) request body."""
    mimetype = request.mimetype
    if mimetype == "application/json":
        return json_object(request)
    if mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return request.form.to_dict()
    if mimetype in RAW_KINDS:
        return {RAW_KINDS[mimetype]: request.get_data(cache=False), **request.args.to_dict()}
    raise UnsupportedMediaError(
        f"content type {mimetype or 'none'!r} is not read; send JSON, a form, or text/plain, "
        "text/markdown or text/html"
    )
