"""The lexicon API: list, read, store and delete pronunciation lexicons, and preview a rule.

With ``LISTEN_API_KEYS`` set, every call here needs a key, reading included:
a lexicon is the publisher's own setting, not something a listener needs, and
it can name people and products before a story about them is published.
Without keys, a browser may change lexicons only from this service's own pages
(``Sec-Fetch-Site``, else ``Origin``, as for the no-script form): another site
cannot use a reader's browser to edit them. A key is no ambient credential (a
browser never adds it by itself), so a request that carries one is trusted
from anywhere.
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, Response, jsonify, request, url_for

from service.errors import LexiconError, ListenError, UnsupportedMediaError
from service.library import LexiconSummary, NarrationView
from service.web.access import check_key, require_key
from service.web.api import urls_for
from service.web.context import library, narrations, settings
from service.web.csrf import CrossSiteError, from_this_site
from service.web.fields import json_object

lexicons_api = Blueprint("lexicons", __name__, url_prefix="/api")

PLS_MIMETYPE = "application/pls+xml"
"""W3C PLS documents, as RFC 4267 registers them."""
READ_AS = {
    "application/json": "json",
    PLS_MIMETYPE: "pls",
    "application/xml": "pls",
    "text/xml": "pls",
}
"""Request bodies a lexicon is read from, by content type."""
WRITTEN_AS = {"json": "application/json", "pls": PLS_MIMETYPE}


class NotRepresentableError(ListenError):
    """The lexicon cannot be written in the format asked for (PLS holds no regular expressions)."""

    http_status = 406
    slug = "not-acceptable"
    title = "Not Acceptable"


def may_change() -> None:
    """Refuse a change without a key (keys set), or from another site's page (no keys)."""
    if settings().web.api_key_list:
        check_key("change lexicons")
    elif not from_this_site():
        raise CrossSiteError(
            "lexicons can be changed from this service's own pages or by programs, not from "
            "another site's page; set LISTEN_API_KEYS to let other sites change them with a key"
        )


def summary_json(summary: LexiconSummary) -> dict[str, object]:
    """Return what the listing says of one lexicon."""
    return {
        "name": summary.name,
        "rules": summary.rule_count,
        "sites": list(summary.sites),
        "language": summary.language,
        "digest": summary.digest,
        "updated_at": summary.updated_at.isoformat(timespec="seconds"),
        "url": url_for("lexicons.show", name=summary.name),
    }


@lexicons_api.get("/lexicons")
def list_all() -> Response:
    """List every lexicon: name, number of rules, sites."""
    check_key("read lexicons")
    response = jsonify({"lexicons": [summary_json(s) for s in library().lexicons.list()]})
    response.headers["Cache-Control"] = "no-store"
    return response


def _wanted_format() -> str:
    asked = request.args.get("format")
    if asked is not None:
        if asked not in WRITTEN_AS:
            raise LexiconError(f"format {asked[:20]!r} is not offered; use json or pls")
        return asked
    best = request.accept_mimetypes.best_match([WRITTEN_AS["json"], PLS_MIMETYPE])
    return "pls" if best == PLS_MIMETYPE else "json"


def _lexicon_response(
    name: str, fmt: str, status: int = 200, body: bytes | None = None
) -> Response:
    if body is None:
        try:
            body = library().lexicons.export(name, fmt)
        except LexiconError as error:
            if error.http_status != 422:  # not found, not reachable: as it is
                raise
            raise NotRepresentableError(str(error)) from None
    response = Response(body, status=status, mimetype=WRITTEN_AS[fmt])
    response.set_etag(hashlib.sha256(body).hexdigest()[:32])
    response.vary.add("Accept")
    response.headers["Cache-Control"] = "no-store"
    return response


@lexicons_api.get("/lexicons/<name>")
def show(name: str) -> Response:
    """Return one lexicon as JSON, or as W3C PLS (``Accept: application/pls+xml``)."""
    check_key("read lexicons")
    return _lexicon_response(name, _wanted_format())


@lexicons_api.put("/lexicons/<name>")
def store(name: str) -> Response:
    """Store a lexicon (JSON, or W3C PLS by its content type) under ``name``, replacing it."""
    may_change()
    fmt = READ_AS.get(request.mimetype)
    if fmt is None:
        raise UnsupportedMediaError(
            f"content type {request.mimetype or 'none'!r} is not read; send application/json "
            f"or {PLS_MIMETYPE}"
        )
    stored, created = library().lexicons.put(name, request.get_data(cache=False), fmt=fmt)
    body = library().lexicons.written(stored, "json")
    response = _lexicon_response(name, "json", 201 if created else 200, body)
    if created:
        response.headers["Location"] = url_for("lexicons.show", name=name)
    return response


@lexicons_api.delete("/lexicons/<name>")
def delete(name: str) -> Response:
    """Delete a lexicon (narrations already made keep their audio)."""
    may_change()
    library().lexicons.delete(name)
    return Response(status=204)


@lexicons_api.post("/lexicon-preview")
@require_key
def preview() -> Response:
    """Start a phrase said without a rule and with it; answer both narrations."""
    without, ruled = library().preview_rule(json_object(request))
    body = {"without": _described(without), "with": _described(ruled)}
    done = all(view.state.status in ("done", "failed") for view in (without, ruled))
    response = jsonify(body)
    response.status_code = 200 if done else 202
    response.headers["Cache-Control"] = "no-store"
    return response


def _described(view: NarrationView) -> dict[str, object]:
    return narrations().describe(view, urls_for(view.plan.narration_id))
