"""Value types shared by ZStack resources: what users may declare and what ZStack sends back."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

_UUID = re.compile(r"[0-9a-f]{32}")
_DASHED_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(h|m|s)")
_DURATION_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0}


def _zstack_uuid(value: str) -> str:
    if _DASHED_UUID.fullmatch(value.lower()):
        raise ValueError(
            f"must be a ZStack UUID: 32 lowercase hex characters without dashes, "
            f"e.g. {value.lower().replace('-', '')!r} instead of {value!r}"
        )
    if not _UUID.fullmatch(value):
        raise ValueError(f"must be a ZStack UUID: 32 lowercase hex characters without dashes, got {value!r}")
    return value


def _bandwidth(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"must be a whole number of bytes per second, got {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"must be a whole number of bytes per second, got {value!r}") from None
    if not number.is_integer():
        raise ValueError(f"must be a whole number of bytes per second, got {value!r}")
    if number < 1024:
        raise ValueError(f"must be at least 1024 bytes per second (ZStack's minimum), got {int(number)}")
    return int(number)


def parse_duration(value: Any) -> float:
    """Seconds from ``90``, ``"90s"``, ``"20m"``, ``"1h30m"``."""
    if isinstance(value, bool):
        raise ValueError(f"must be a duration such as '90s', '20m' or '1h30m', got {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        parts = _DURATION_PART.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise ValueError(f"must be a duration such as '90s', '20m' or '1h30m', got {value!r}")
        seconds = sum(float(n) * _DURATION_UNITS[u] for n, u in parts)
    else:
        raise ValueError(f"must be a duration such as '90s', '20m' or '1h30m', got {value!r}")
    if seconds <= 0:
        raise ValueError(f"must be a positive duration, got {value!r}")
    return seconds


def _duration_text(value: Any) -> str:
    parse_duration(value)
    return value.strip() if isinstance(value, str) else f"{value}s"


ZStackUuid = Annotated[str, AfterValidator(_zstack_uuid)]
Bandwidth = Annotated[int, BeforeValidator(_bandwidth)]
#: Kept as the user wrote it (so state shows "20m"), validated as a duration.
Duration = Annotated[str, BeforeValidator(_duration_text)]


# ZStack serialises java.util.Date with Gson's default en_US pattern and no zone: the management node's
# local time. Newer JDKs (CLDR) add a comma after the year and a narrow no-break space before AM/PM.
_TIMESTAMP_FORMATS = ("%b %d, %Y %I:%M:%S %p", "%b %d, %Y, %I:%M:%S %p")


def parse_zstack_timestamp(value: Any) -> str | None:
    """ISO 8601 without an offset (the management node's local time), or None when absent."""
    if value is None or value == "":
        return None
    text = str(value).replace("\u202f", " ").replace("\u00a0", " ").strip()
    for fmt in _TIMESTAMP_FORMATS:
        try:
            return datetime.strptime(text, fmt).isoformat()
        except ValueError:
            continue
    return text


def parse_size(value: Any) -> int | None:
    """Bytes from a Java Long sent as ``1073741824``, ``1.073741824E9`` or a string of either."""
    if value is None or value == "":
        return None
    return int(float(value))


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not float(value).is_integer():
        raise ValueError(f"must be a whole number, got {value!r}")
    if value < 1:
        raise ValueError(f"must be at least 1, got {int(value)}")
    return int(value)


#: A whole number of things, at least one; the engine sends every number as a float.
PositiveCount = Annotated[int, BeforeValidator(_count)]
