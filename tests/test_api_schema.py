"""Fuzz the HTTP API from its own OpenAPI document (schemathesis, in-process WSGI).

Every generated request, valid or not, must get an answer the document
describes: a documented status code and content type, a body that matches
its schema, and never a 500.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.schemas import BaseSchema

from service.web import close_app, create_app
from service.web.openapi import openapi_document

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("schema")]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def api_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """Build one app on a fresh cache; the rate limit is lifted so fuzzing is not cut short."""
    cache = tmp_path_factory.mktemp("schema") / "cache"
    app = create_app(
        {
            "cache_dir": cache,
            "workers": 1,
            "rate_limit_per_minute": 100_000,
            "voice": "pyttsx3:gmw/en-us",
            "max_body_bytes": 256 * 1024,
        }
    )
    yield app
    close_app(app)


@pytest.fixture(scope="module")
def api_schema(api_app: Flask) -> BaseSchema:
    """Load the OpenAPI document the app serves, bound to the app itself."""
    return schemathesis.openapi.from_wsgi("/openapi.json", api_app)


def _operations() -> list[tuple[str, str, GenerationMode]]:
    """List (path, method, mode): invalid input only where there is input to get wrong."""
    found = []
    for path, item in openapi_document()["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "delete", "patch"):
                continue
            takes_input = bool(
                item.get("parameters") or operation.get("parameters") or "requestBody" in operation
            )
            modes = list(GenerationMode) if takes_input else [GenerationMode.POSITIVE]
            found += [(path, method.upper(), mode) for mode in modes]
    return found


OPERATIONS = _operations()


@pytest.mark.parametrize(
    ("path", "method", "mode"), OPERATIONS, ids=[f"{m} {p} {g.value}" for p, m, g in OPERATIONS]
)
def test_api_schema_every_answer_is_documented(
    api_schema: BaseSchema, path: str, method: str, mode: GenerationMode
) -> None:
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=30,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        phases=[Phase.explicit, Phase.generate],
    )
    def answers_as_documented(case: Case) -> None:
        case.call_and_validate(checks=CHECKS)

    answers_as_documented()
