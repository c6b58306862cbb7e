"""How values look on the ZStack wire: Gson dates, Java numbers, omitted nulls."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_zstack_date(value: datetime) -> str:
    """Gson's default `MMM d, yyyy h:mm:ss a` in en_US, without a zone (the MN's local time)."""
    hour12 = value.hour % 12 or 12
    meridiem = "AM" if value.hour < 12 else "PM"
    return (
        f"{_MONTHS[value.month - 1]} {value.day}, {value.year} "
        f"{hour12}:{value.minute:02d}:{value.second:02d} {meridiem}"
    )


def parse_zstack_date(text: str) -> datetime:
    """Inverse of `format_zstack_date`; raises ValueError on anything else."""
    month_day, year_time = text.split(", ", 1)
    month_name, day = month_day.split(" ")
    year, clock, meridiem = year_time.split(" ")
    hour, minute, second = (int(part) for part in clock.split(":"))
    if month_name not in _MONTHS or meridiem not in ("AM", "PM") or not 1 <= hour <= 12:
        raise ValueError(text)
    hour = hour % 12 + (12 if meridiem == "PM" else 0)
    return datetime(int(year), _MONTHS.index(month_name) + 1, int(day), hour, minute, second)


def java_sql_timestamp(value: datetime) -> str:
    """`java.sql.Timestamp.toString()` of a millisecond clock: `2024-05-01 12:34:56.789`.

    Java prints the nanos without trailing zeros but keeps one digit, so 500 ms reads `.5` and 0 ms `.0`.
    """
    fraction = f"{value.microsecond // 1000 * 1_000_000:09d}".rstrip("0") or "0"
    return f"{value:%Y-%m-%d %H:%M:%S}.{fraction}"


def java_double(value: float) -> str:
    """`Double.toString`: plain between 1e-3 and 1e7, otherwise `d.dddE±n` (e.g. `1.073741824E9`)."""
    if value == 0:
        return "0.0"
    magnitude = abs(value)
    if 1e-3 <= magnitude < 1e7:
        return repr(float(value))
    _, digits, exponent = Decimal(repr(float(magnitude))).as_tuple()
    assert isinstance(exponent, int)
    significant = "".join(str(d) for d in digits).rstrip("0") or "0"
    scientific_exponent = len(digits) + exponent - 1
    mantissa = significant[0] + "." + (significant[1:] or "0")
    sign = "-" if value < 0 else ""
    return f"{sign}{mantissa}E{scientific_exponent}"


def render_json(value: Any, *, e_notation: bool = False) -> str:
    """Serialise like ZStack's Gson: nulls dropped, dates as Gson strings, Longs optionally as doubles."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return java_double(float(value)) if e_notation else str(value)
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, datetime):
        return json.dumps(format_zstack_date(value))
    if isinstance(value, Mapping):
        items = (
            f"{json.dumps(str(key))}:{render_json(item, e_notation=e_notation)}"
            for key, item in value.items()
            if item is not None
        )
        return "{" + ",".join(items) + "}"
    if isinstance(value, Sequence):
        return "[" + ",".join(render_json(item, e_notation=e_notation) for item in value) + "]"
    raise TypeError(f"cannot render {type(value).__name__} as ZStack JSON")


def to_plain(value: Any) -> Any:
    """The JSON-compatible Python value a client would decode from `render_json(value)`."""
    return json.loads(render_json(value))
