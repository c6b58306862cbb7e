"""Checking a ZStack scheduler trigger's `cron` before any request: the Quartz syntax, as ZStack accepts it.

ZStack's `SchedulerApiInterceptor` takes a cron trigger only if Quartz's `CronExpression.isValidExpression`
accepts it *and* it has exactly six fields, separated by single spaces, one of them `?` (no year field).
Quartz fields are `second minute hour day-of-month month day-of-week`, days of the week numbered 1 = Sunday
to 7 = Saturday; exactly one of the two day fields is `?`. Each field is `*` or a comma list of values,
ranges `a-b` and steps (`*/n`, `a/n`, `a-b/n`); months and days may be named (`JAN`, `MON`). Days of the
month also take `L`, `L-n`, `nW` and `LW`; days of the week `L`, `nL` and `n#k`.

The simulator has a cron evaluator of its own, but it is a test double that refuses `L`, `W` and `#`, which
real ZStack runs: a user's valid expression must not fail here because the simulator cannot evaluate it.
"""

from __future__ import annotations

import re

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# name, lowest, highest, names for lowest..., the special forms that field alone accepts
_FIELDS: tuple[tuple[str, int, int, tuple[str, ...], re.Pattern[str] | None], ...] = (
    ("seconds", 0, 59, (), None),
    ("minutes", 0, 59, (), None),
    ("hours", 0, 23, (), None),
    ("day-of-month", 1, 31, (), re.compile(r"L(-([0-9]|[12][0-9]|30))?|LW|([1-9]|[12][0-9]|3[01])W")),
    ("month", 1, 12, _MONTHS, None),
    ("day-of-week", 1, 7, _DAYS, re.compile(r"L|[1-7]L|[1-7]#[1-5]")),
)
EXAMPLE = "0 0 2 * * ?"


class CronError(ValueError):
    """Why ZStack would refuse the expression, in words a user can act on."""


def _value(text: str, field: str, low: int, high: int, names: tuple[str, ...]) -> int:
    if text.upper() in names:
        return low + names.index(text.upper())
    if not text.isdigit():
        raise CronError(f"{field} field: {text!r} is not a number from {low} to {high}")
    number = int(text)
    if not low <= number <= high:
        raise CronError(f"{field} field: {number} is outside {low} to {high}")
    return number


def _check_item(item: str, field: str, low: int, high: int, names: tuple[str, ...]) -> None:
    base, slash, step = item.partition("/")
    if slash and (not step.isdigit() or not 1 <= int(step) <= high):
        raise CronError(f"{field} field: step {step!r} in {item!r} is not a whole number within range")
    if base == "*":
        return
    start, dash, end = base.partition("-")
    _value(start, field, low, high, names)
    if dash:
        _value(end, field, low, high, names)  # Quartz wraps a range whose start is past its end


def check_quartz_cron(expression: str) -> None:
    """Raise `CronError` unless ZStack would accept `expression` for a cron trigger."""
    fields = expression.split(" ")
    if len(fields) != 6 or any(not f for f in fields):
        raise CronError(
            f"must have exactly 6 fields separated by single spaces (seconds minutes hours day-of-month "
            f"month day-of-week, no year), as ZStack requires, e.g. {EXAMPLE!r}; got {expression!r}"
        )
    day_of_month, day_of_week = fields[3], fields[5]
    if (day_of_month == "?") == (day_of_week == "?"):
        raise CronError(
            f"exactly one of day-of-month and day-of-week must be '?' (Quartz), e.g. {EXAMPLE!r}; "
            f"got {expression!r}"
        )
    for text, (field, low, high, names, special) in zip(fields, _FIELDS, strict=True):
        if text == "?" and field in ("day-of-month", "day-of-week"):
            continue
        if special is not None and special.fullmatch(text.upper()):
            continue
        for item in text.split(","):
            if not item:
                raise CronError(f"{field} field: empty list item in {text!r}")
            _check_item(item, field, low, high, names)
