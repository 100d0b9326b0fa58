"""The page that edits pronunciation lexicons (``/lexicons``), over the lexicon API.

The page is our own HTML, script and style under the pages' Content-Security-Policy;
its script reads and writes through ``/api/lexicons`` from the same origin, so
the API's rules hold for it: with ``LISTEN_API_KEYS`` set the page asks for a
key, keeps it in memory only (never a cookie, never storage) and sends it as
``Authorization: Bearer``; without keys, the API takes changes only from this
service's own pages.
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template

from service.errors import ListenError
from service.web.context import settings
from service.web.player import page_error, secure_pages

editor = Blueprint("editor", __name__)
editor.after_request(secure_pages)
editor.register_error_handler(ListenError, page_error)


@editor.get("/lexicons")
def lexicons_page() -> Response:
    """Show the lexicon editor: the list, one lexicon's rules, import, export and previews."""
    page = render_template("lexicons.html", needs_key=bool(settings().web.api_key_list))
    response = Response(page, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response
