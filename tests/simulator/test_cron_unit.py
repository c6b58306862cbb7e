"""The Quartz cron subset the simulator evaluates: parsing, refusals and next firing times."""

from __future__ import annotations

from datetime import datetime

import pytest
from zstack_simulator._cron import CronError, parse_quartz_cron

pytestmark = pytest.mark.unit

MONDAY_NOON = datetime(2026, 1, 5, 12, 0, 0)  # 5 January 2026 is a Monday


def _next(expression: str, after: datetime = MONDAY_NOON) -> datetime | None:
    return parse_quartz_cron(expression).next_after(after)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("0 0 2 * * ?", datetime(2026, 1, 6, 2, 0, 0)),
        ("0 30 12 * * ?", datetime(2026, 1, 5, 12, 30, 0)),
        ("0 0/15 * * * ?", datetime(2026, 1, 5, 12, 15, 0)),
        ("*/10 * * * * ?", datetime(2026, 1, 5, 12, 0, 10)),
        ("0 0 12 ? * MON", datetime(2026, 1, 12, 12, 0, 0)),  # strictly after: not today's noon
        ("0 0 9 ? * 2", datetime(2026, 1, 12, 9, 0, 0)),  # Quartz numbers Monday 2 (Sunday is 1)
        ("0 0 9 ? * SUN", datetime(2026, 1, 11, 9, 0, 0)),
        ("0 0 9 ? * MON-FRI", datetime(2026, 1, 6, 9, 0, 0)),
        ("0 0 3 1 * ?", datetime(2026, 2, 1, 3, 0, 0)),
        ("0 0 3 1 JUN ?", datetime(2026, 6, 1, 3, 0, 0)),
        ("0 0 22-2 * * ?", datetime(2026, 1, 5, 22, 0, 0)),  # ranges wrap as in Quartz
        ("0 0 1,13 * * ?", datetime(2026, 1, 5, 13, 0, 0)),
        ("0 0 0 29 2 ?", datetime(2028, 2, 29, 0, 0, 0)),
        ("0 0 2 * * ? 2027", datetime(2027, 1, 1, 2, 0, 0)),
    ],
)
def test_next_firing(expression: str, expected: datetime) -> None:
    assert _next(expression) == expected


def test_a_wrapped_range_includes_both_ends() -> None:
    schedule = parse_quartz_cron("0 0 22-2 * * ?")
    assert schedule.hours == (0, 1, 2, 22, 23)


def test_a_schedule_that_never_fires_answers_none() -> None:
    assert _next("0 0 0 30 2 ?") is None


@pytest.mark.parametrize(
    "expression",
    [
        "0 0 2 * * *",  # neither day field is '?'
        "0 0 2 ? * ?",  # both are
        "0 0 2 * *",  # 5 fields
        "0 0 24 * * ?",  # hour out of range
        "0 0/61 * * * ?",  # increment too large
        "? 0 2 * * MON",  # '?' outside the day fields
        "0 0 2 * FOO ?",
    ],
)
def test_invalid_expressions_are_refused(expression: str) -> None:
    with pytest.raises(CronError) as caught:
        parse_quartz_cron(expression)
    assert not caught.value.unsupported


@pytest.mark.parametrize("expression", ["0 0 2 L * ?", "0 0 2 ? * 6#3", "0 0 2 15W * ?", "0 0 2 ? * 6L"])
def test_l_w_and_hash_are_refused_as_unsupported(expression: str) -> None:
    with pytest.raises(CronError, match="does not evaluate") as caught:
        parse_quartz_cron(expression)
    assert caught.value.unsupported
