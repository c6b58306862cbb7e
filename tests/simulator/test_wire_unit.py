"""How values are written on the wire: Gson dates, Java numbers, omitted nulls."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from zstack_simulator import format_zstack_date, java_double, java_sql_timestamp, parse_zstack_date
from zstack_simulator._wire import render_json

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2017, 11, 14, 22, 20, 57), "Nov 14, 2017 10:20:57 PM"),
        (datetime(2026, 4, 26, 23, 5, 50), "Apr 26, 2026 11:05:50 PM"),
        (datetime(2024, 1, 1, 0, 0, 7), "Jan 1, 2024 12:00:07 AM"),
        (datetime(2024, 5, 1, 12, 34, 56), "May 1, 2024 12:34:56 PM"),
    ],
)
def test_dates_use_gson_default_format_and_parse_back(moment: datetime, text: str) -> None:
    assert format_zstack_date(moment) == text
    assert parse_zstack_date(text) == moment


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1073741824, "1.073741824E9"),
        (2147483648, "2.147483648E9"),
        (1310720, "1310720.0"),
        (0, "0.0"),
        (10_000_000, "1.0E7"),
        (4195352576, "4.195352576E9"),
    ],
)
def test_java_double_matches_double_to_string(value: int, text: str) -> None:
    assert java_double(value) == text
    assert float(text) == value


@pytest.mark.parametrize(
    ("microsecond", "suffix"),
    [(789_000, ".789"), (500_000, ".5"), (0, ".0"), (120_999, ".12")],
)
def test_backup_name_timestamp_is_java_sql_timestamp(microsecond: int, suffix: str) -> None:
    moment = datetime(2024, 5, 1, 12, 34, 56, microsecond)
    assert java_sql_timestamp(moment) == f"2024-05-01 12:34:56{suffix}"


def test_render_json_omits_nulls_and_can_switch_longs_to_e_notation() -> None:
    body = {"size": 1073741824, "description": None, "flag": True, "when": datetime(2017, 11, 14, 22, 20, 57)}
    plain = render_json(body)
    assert json.loads(plain) == {"size": 1073741824, "flag": True, "when": "Nov 14, 2017 10:20:57 PM"}
    assert '"size":1.073741824E9' in render_json(body, e_notation=True)
    assert json.loads(render_json(body, e_notation=True))["size"] == 1073741824.0
