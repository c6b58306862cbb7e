"""Quartz cron expressions (the `cron` of a ZStack scheduler trigger), for the subset the simulator evaluates.

Quartz fields are `second minute hour day-of-month month day-of-week [year]`; exactly one of the two day
fields is `?`. Supported in each field: `*`, numbers, `a-b` ranges (wrapping, as Quartz does, when `a > b`),
`,` lists and `/` steps (`*/n`, `a/n`, `a-b/n`), month names `JAN`-`DEC` and day names `SUN`-`SAT`
(Quartz numbers days 1 = Sunday to 7 = Saturday). Not supported: `L`, `W`, `#` and `LW`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# (name, lowest, highest, names for lowest..., largest step Quartz accepts)
_FIELDS = (
    ("second", 0, 59, (), 59),
    ("minute", 0, 59, (), 59),
    ("hour", 0, 23, (), 23),
    ("day-of-month", 1, 31, (), 31),
    ("month", 1, 12, _MONTHS, 12),
    ("day-of-week", 1, 7, _DAYS, 7),
    ("year", 1970, 2099, (), 2099 - 1970),
)
_UNSUPPORTED = re.compile(r"[LW#]")
# A schedule that matches nothing (e.g. 31 February) must not loop for ever.
_SEARCH_DAYS = 366 * 8


class CronError(ValueError):
    """The expression is not valid Quartz, or uses a feature this evaluator does not have."""

    def __init__(self, message: str, *, unsupported: bool = False) -> None:
        super().__init__(message)
        self.unsupported = unsupported


@dataclass(frozen=True)
class CronSchedule:
    seconds: tuple[int, ...]
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days_of_month: frozenset[int] | None
    """None when the field is `?`."""
    months: frozenset[int]
    days_of_week: frozenset[int] | None
    """Quartz numbering (1 = Sunday); None when the field is `?`."""
    years: frozenset[int] | None

    def _day_matches(self, day: date) -> bool:
        if day.month not in self.months or (self.years is not None and day.year not in self.years):
            return False
        if self.days_of_month is not None:
            return day.day in self.days_of_month
        assert self.days_of_week is not None
        return day.isoweekday() % 7 + 1 in self.days_of_week

    def next_after(self, moment: datetime) -> datetime | None:
        """The first firing strictly after `moment` (naive local time), or None if there is none."""
        first = moment.replace(microsecond=0)
        for offset in range(_SEARCH_DAYS):
            day = first.date() + timedelta(days=offset)
            if not self._day_matches(day):
                continue
            for hour in self.hours:
                for minute in self.minutes:
                    if offset == 0 and (hour, minute) < (first.hour, first.minute):
                        continue
                    for second in self.seconds:
                        candidate = datetime(day.year, day.month, day.day, hour, minute, second)
                        if candidate > moment:
                            return candidate
        return None


def _value(text: str, low: int, high: int, names: tuple[str, ...], field: str) -> int:
    upper = text.upper()
    if names and upper in names:
        return low + names.index(upper)
    if not text.isdigit():
        raise CronError(f"invalid value '{text}' in the {field} field")
    number = int(text)
    if not low <= number <= high:
        raise CronError(f"{field} value {number} is out of range [{low}, {high}]")
    return number


def _parse_field(text: str, index: int) -> frozenset[int] | None:
    field, low, high, names, max_step = _FIELDS[index]
    if text == "?":
        if index not in (3, 5):
            raise CronError(f"'?' can only be used in the day-of-month and day-of-week fields, not {field}")
        return None
    if _UNSUPPORTED.search(text.upper()):
        raise CronError(
            f"the simulator does not evaluate 'L', 'W' or '#' (found '{text}' in the {field} field)",
            unsupported=True,
        )
    chosen: set[int] = set()
    for part in text.split(","):
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or not 1 <= int(step_text) <= max_step:
                raise CronError(f"invalid increment '{step_text}' in the {field} field")
            step = int(step_text)
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = _value(first, low, high, names, field), _value(last, low, high, names, field)
        else:
            start = _value(base, low, high, names, field)
            end = high if slash else start
        span = (end - start) % (high - low + 1)
        for position in range(0, span + 1, step):
            chosen.add(low + (start - low + position) % (high - low + 1))
    return frozenset(chosen)


def parse_quartz_cron(expression: str) -> CronSchedule:
    """Parse like Quartz's `CronExpression` (whitespace-separated, 6 or 7 fields)."""
    parts = expression.split()
    if len(parts) not in (6, 7):
        raise CronError(f"a Quartz cron expression has 6 or 7 fields, found {len(parts)}")
    fields = [_parse_field(part, index) for index, part in enumerate(parts)]
    days_of_month, days_of_week = fields[3], fields[5]
    if (days_of_month is None) == (days_of_week is None):
        raise CronError("exactly one of day-of-month and day-of-week must be '?'")
    seconds, minutes, hours, months = fields[0], fields[1], fields[2], fields[4]
    assert seconds is not None
    assert minutes is not None
    assert hours is not None
    assert months is not None
    return CronSchedule(
        seconds=tuple(sorted(seconds)),
        minutes=tuple(sorted(minutes)),
        hours=tuple(sorted(hours)),
        days_of_month=days_of_month,
        months=months,
        days_of_week=days_of_week,
        years=fields[6] if len(fields) == 7 else None,
    )
