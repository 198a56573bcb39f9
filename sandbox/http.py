"""JSON helpers shared by the fake Jumpseller's API, its OAuth endpoints and the control API."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, JsonResponse


class BadBody(Exception):
    """The request body is not the JSON object the endpoint expects."""

    def __init__(self, response: JsonResponse) -> None:
        super().__init__(response.content.decode())
        self.response = response


def json_response(data: Any, status: int = 200) -> JsonResponse:
    return JsonResponse(data, status=status, safe=False, json_dumps_params={"ensure_ascii": False})


def message(status: int, text: str, **extra: Any) -> JsonResponse:
    """Jumpseller's error body: ``{"message": "..."}`` (OAS schema ``NotFound``), plus any extra keys."""
    return json_response({"message": text, **extra}, status=status)


def not_found() -> JsonResponse:
    return message(404, "Not Found")


def validation_error(errors: dict[str, list[str]]) -> JsonResponse:
    """422 with the field errors (jumpseller-api.md §2.1: "422 (field errors)")."""
    first = next(iter(errors.items()))
    return message(422, f"{first[0]} {first[1][0]}", errors=errors)


def read_json(request: HttpRequest) -> dict:
    """The body as a JSON object; raises :class:`BadBody` (400) when it is not one."""
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise BadBody(message(400, "Bad Request: the body is not valid JSON")) from None
    if not isinstance(data, dict):
        raise BadBody(message(400, "Bad Request: the body must be a JSON object"))
    return data


def wrapped(data: dict, key: str) -> dict:
    """``data[key]`` as an object; raises :class:`BadBody` (422) when missing."""
    value = data.get(key)
    if not isinstance(value, dict):
        raise BadBody(validation_error({key: ["is missing or not an object"]}))
    return value


def int_param(value: str | None, default: int, *, minimum: int = 1, maximum: int | None = None) -> int:
    try:
        number = int(value) if value not in (None, "") else default
    except ValueError:
        number = default
    number = max(minimum, number)
    return min(maximum, number) if maximum is not None else number
