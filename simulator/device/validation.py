"""How an emulated Q.rad refuses a request: the protocol's error, and the body checks.

Every section validates its own writes with these (docs/protocol.md 3.2), so
that a bad field is refused with the same code and message wherever it is.
"""

from __future__ import annotations

from collections.abc import Mapping
import json
import math
import re
from typing import Any

from aiohttp import web

MAX_BODY = 16 * 1024
PRINTABLE = re.compile(r"^[^\x00-\x1f\x7f]+$")


class ApiError(Exception):
    """A request the unit refuses, with its protocol status and code."""

    def __init__(
        self, status: int, code: str, message: str, field: str | None = None
    ) -> None:
        """Keep what the error body needs."""
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field


def invalid(field: str, why: str) -> ApiError:
    """400 invalid_value for `field`, saying `why` after its name."""
    return ApiError(400, "invalid_value", f"{field} {why}", field)


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's body: a JSON object of at most 16 KiB (section 3.4)."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ApiError(413, "payload_too_large", "the body is over 16 KiB")
    # A zero-byte body is not JSON either (section 3.4).
    raw = await request.read()
    try:
        body = json.loads(raw, parse_constant=_refuse_constant)
    except ValueError:
        raise ApiError(400, "invalid_json", "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "the body must be a JSON object")
    return body


def _refuse_constant(name: str) -> None:
    raise ValueError(name)


def refuse_unknown_fields(body: Mapping[str, Any], allowed: set[str]) -> None:
    """400 unknown_field for the first key of `body` not in `allowed` (section 1)."""
    for key in body:
        if key not in allowed:
            raise ApiError(400, "unknown_field", f"unknown field {key!r}", key)


def check_fields(body: Mapping[str, Any], allowed: set[str]) -> None:
    """A write body holds at least one field, each of them known (section 3.2)."""
    if not body:
        raise ApiError(400, "invalid_value", "the body must hold at least one field")
    refuse_unknown_fields(body, allowed)


def number(
    body: Mapping[str, Any],
    key: str,
    low: float,
    high: float,
    step: float | None = None,
) -> float:
    """`body[key]`, a finite number in low-high (and a multiple of `step`)."""
    value = body[key]
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
    ):
        raise invalid(key, "must be a number")
    if not low <= value <= high:
        raise invalid(key, f"must be between {low} and {high}")
    if step is not None and abs(value / step - round(value / step)) > 1e-9:
        raise invalid(key, f"must be a multiple of {step}")
    return float(value)


def boolean(body: Mapping[str, Any], key: str) -> bool:
    """`body[key]`, true or false."""
    if not isinstance(value := body[key], bool):
        raise invalid(key, "must be true or false")
    return value


def text(body: Mapping[str, Any], key: str, low: int, high: int) -> str:
    """`body[key]`, low-high characters without control characters."""
    value = body[key]
    if (
        not isinstance(value, str)
        or not low <= len(value) <= high
        or not PRINTABLE.match(value)
    ):
        raise invalid(key, f"must be {low}-{high} printable characters")
    return value
