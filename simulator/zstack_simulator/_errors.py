"""The two failure channels of the ZStack REST layer: plain-text HTTP errors and 503 ErrorCode bodies."""

from __future__ import annotations

import re
from typing import Any

# core ApiMediatorImpl: a client-chosen resourceUuid must look like a dashless UUID.
RESOURCE_UUID_RE = re.compile(r"[0-9a-f]{8}[0-9a-f]{4}[1-5][0-9a-f]{3}[89ab][0-9a-f]{3}[0-9a-f]{12}")

DESCRIPTIONS: dict[str, str] = {
    "SYS.1000": "An internal error happened in system",
    "SYS.1001": "A message or a operation timeout",
    "SYS.1003": "A resource can not be found",
    "SYS.1006": "An operation failed",
    "SYS.1007": "One or more API argument is invalid",
    "ID.1000": "Unable to authenticate a user",
    "ID.1001": "The session is invalid, either wrong session id or the session has been expired",
    "ID.1002": "The user doesn't have permission to perform the operation",
    "ID.1003": "The user exceeds a quota of a resource",
    "ID.1006": "Max number of active sessions exceeded",
}


def error_code(code: str, details: str | None = None, description: str | None = None) -> dict[str, Any]:
    """An ErrorCode as Gson writes it: null fields are simply absent."""
    body: dict[str, Any] = {"code": code, "description": description or DESCRIPTIONS.get(code, code)}
    if details is not None:
        body["details"] = details
    return body


class PlainTextError(Exception):
    """A REST-layer refusal (400/403/404/405/500) whose body is plain text, not JSON."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"HTTP {status}: {text}")
        self.status = status
        self.text = text


class ApiError(Exception):
    """An API-level failure: HTTP 503 with `{"error": ErrorCode}` (directly, or on the job poll)."""

    def __init__(self, code: str, details: str | None = None, description: str | None = None) -> None:
        super().__init__(f"{code}: {details or description or DESCRIPTIONS.get(code, '')}")
        self.error = error_code(code, details, description)

    @property
    def code(self) -> str:
        return str(self.error["code"])


def not_found(field_name: str, uuid: str, entity: str) -> str:
    """The details of core PortApiValidator's SYS.1003 for an `@APIParam(resourceType=...)` miss."""
    return f"invalid field[{field_name}], resource[uuid:{uuid}, type:{entity}] not found"


def check_resource_uuid(value: Any) -> None:
    """Refuse a client-chosen resourceUuid that is not a dashless UUID (SYS.1007), as ApiMediatorImpl does."""
    if value is not None and (not isinstance(value, str) or not RESOURCE_UUID_RE.fullmatch(value)):
        raise ApiError(
            "SYS.1007",
            f"resourceUuid[{value}] is not a valid uuid. A valid uuid is a UUID(v4 recommended) "
            "with '-' stripped. see http://en.wikipedia.org/wiki/Universally_unique_identifier "
            "for format of UUID, the regular expression uses to validate a UUID is "
            f"{RESOURCE_UUID_RE.pattern}",
        )


def not_found_error(field_name: str, uuid: str, entity: str) -> ApiError:
    """The parameter validator's answer when a `resourceType` field names nothing (SYS.1003)."""
    return ApiError(
        "SYS.1003", f"invalid field[{field_name}], resource[uuid:{uuid}, type:{entity}] not found"
    )


def mandatory(field_name: str, message: str) -> ApiError:
    return ApiError("SYS.1007", f"field[{field_name}] of message[{message}] is mandatory, can not be null")


def too_long(field_name: str, message: str, limit: int, actual: int) -> ApiError:
    return ApiError(
        "SYS.1007",
        f"field[{field_name}] of message[{message}] exceeds max length of string. "
        f"expected was <= {limit}, actual was {actual}",
    )


def invalid_choice(field_name: str, message: str, choices: tuple[str, ...], found: Any) -> ApiError:
    return ApiError(
        "SYS.1007",
        f"valid value for field[{field_name}] of message[{message}] are [{', '.join(choices)}], "
        f"but {found} found",
    )


def out_of_range(field_name: str, message: str, low: int, high: int, found: Any) -> ApiError:
    return ApiError(
        "SYS.1007",
        f"field[{field_name}] of message[{message}] must be in range of [{low}, {high}], but {found} found",
    )


def create_params(body: Any, longs: tuple[str, ...]) -> tuple[dict[str, Any], list[str]]:
    """A create call's `params` and `systemTags`; malformed ones are refused at the REST layer (400)."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise PlainTextError(400, "the body must be a JSON object")
    params = body.get("params") or {}
    if not isinstance(params, dict):
        raise PlainTextError(400, "the body doesn't contain action mapping to the URL")
    for name in longs:
        value = params.get(name)
        if value is not None and not _is_long(value):
            raise PlainTextError(400, f"[{name}] field is excepted an int or long, but was [{value}].")
    tags = body.get("systemTags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise PlainTextError(400, "[systemTags] field is excepted a list of strings")
    return params, tags


def _is_long(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, float) and value.is_integer()
    )
