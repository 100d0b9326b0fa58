"""Read a request's JSON body into fields, refusing what is not a JSON object.

Python's JSON reader accepts more than JSON: ``NaN``, ``Infinity``, numbers
too large for a float, lone surrogates (``"\\ud800"``, not text in any
encoding), and nesting deep enough to exhaust the stack. Each of these used to
reach the code behind and end as a 500; here each is a 400, or, for a lone
surrogate, the replacement character a decoder would have made of it. What the
fields mean is read by :mod:`service.library.requests`.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from flask import Request

from service.errors import InputError

_SURROGATE = re.compile(r"[\ud800-\udfff]")


def json_object(request: Request) -> dict[str, Any]:
    """Return the request body as a JSON object, or raise :class:`InputError`."""
    try:
        payload = json.loads(
            request.get_data(cache=True),
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
        )
    except RecursionError:
        raise InputError("the JSON body is nested too deeply") from None
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError and the refusals below
        raise InputError(f"the body is not valid JSON: {_short(str(error))}") from None
    if not isinstance(payload, dict):
        raise InputError("the body is not a JSON object")
    return {key: _text(value) for key, value in payload.items()}


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(literal: str) -> float:
    number = float(literal)
    if not math.isfinite(number):
        raise ValueError(f"the number {_short(literal)} is too large")
    return number


def _text(value: Any) -> Any:
    """Replace lone surrogates in a string value, as a decoder does with broken bytes."""
    if isinstance(value, str) and _SURROGATE.search(value):
        return _SURROGATE.sub("\ufffd", value)
    return value


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
