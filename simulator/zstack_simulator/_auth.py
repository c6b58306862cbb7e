"""Account password hashing and AccessKey request signing, as the management node checks them."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import zoneinfo
from datetime import datetime, timedelta

from ._errors import PlainTextError

DATE_FORMAT_ERROR = "'Date' format error, correct format is 'EEE, dd MMM yyyy HH:mm:ss z'"
DATE_MISSING_ERROR = "'Date' must be incuded in request header"
MAX_SKEW = timedelta(minutes=15)

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DATE_RE = re.compile(
    r"(?P<dow>[A-Za-z]{3}), (?P<day>\d{2}) (?P<month>[A-Za-z]{3}) (?P<year>\d{4}) "
    r"(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2}) (?P<zone>\S+)"
)
_OFFSET_RE = re.compile(r"(?:GMT|UTC|UT)?[+-]\d{1,2}(?::?\d{2})?(?::?\d{2})?", re.IGNORECASE)
# Java's `z` also parses these short names; the zone itself is ignored (rest.checkTimeZone=false).
_ZONE_NAMES = frozenset(
    {
        "GMT",
        "UTC",
        "UT",
        "Z",
        "CST",
        "CDT",
        "EST",
        "EDT",
        "MST",
        "MDT",
        "PST",
        "PDT",
        "AKST",
        "AKDT",
        "HST",
        "CET",
        "CEST",
        "EET",
        "EEST",
        "WET",
        "WEST",
        "BST",
        "IST",
        "MSK",
        "JST",
        "KST",
        "HKT",
        "SGT",
        "ICT",
        "MMT",
        "WIB",
        "AEST",
        "AEDT",
        "ACST",
        "AWST",
        "NZST",
        "NZDT",
        "PHT",
        "PKT",
    }
)


def sha512_hex(password: str) -> str:
    """What a client sends as the login password: lowercase hex SHA-512 of the UTF-8 text."""
    return hashlib.sha512(password.encode("utf-8")).hexdigest()


def access_key_signature(secret: str, method: str, date: str, uri: str) -> str:
    """Base64(HMAC-SHA1(secret, METHOD\\nDATE\\nURI)) where URI is the decoded `/v1/...` path, no query."""
    string_to_sign = f"{method}\n{date}\n{uri}"
    digest = hmac.new(secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def signatures_match(expected: str, received: str) -> bool:
    return hmac.compare_digest(expected.encode("utf-8"), received.encode("utf-8"))


@functools.cache
def _zone_ids() -> frozenset[str]:
    return frozenset(zone.upper() for zone in zoneinfo.available_timezones())


def _is_zone(text: str) -> bool:
    upper = text.upper()
    return upper in _ZONE_NAMES or upper in _zone_ids() or _OFFSET_RE.fullmatch(text) is not None


def parse_request_date(text: str) -> datetime:
    """Parse `EEE, dd MMM yyyy HH:mm:ss z` like Java's case-insensitive English DateTimeFormatter.

    The result is the wall-clock time written in the header; its zone is validated but not applied.
    """
    match = _DATE_RE.fullmatch(text.strip())
    if match is None or not _is_zone(match["zone"]):
        raise PlainTextError(400, DATE_FORMAT_ERROR)
    month = match["month"].lower()
    dow = match["dow"].lower()
    if month not in _MONTHS or dow not in _DAYS:
        raise PlainTextError(400, DATE_FORMAT_ERROR)
    try:
        parsed = datetime(
            int(match["year"]),
            _MONTHS.index(month) + 1,
            int(match["day"]),
            int(match["hour"]),
            int(match["minute"]),
            int(match["second"]),
        )
    except ValueError:
        raise PlainTextError(400, DATE_FORMAT_ERROR) from None
    # Java's SMART resolver refuses a day-of-week that contradicts the date.
    if parsed.weekday() != _DAYS.index(dow):
        raise PlainTextError(400, DATE_FORMAT_ERROR)
    return parsed


def check_request_time(date_header: str | None, local_now: datetime) -> None:
    """Refuse a missing, malformed or skewed `Date`; skew compares local wall clocks, zones ignored."""
    if date_header is None:
        raise PlainTextError(400, DATE_MISSING_ERROR)
    sent = parse_request_date(date_header)
    if abs(sent - local_now) > MAX_SKEW:
        raise PlainTextError(403, "requestTimeTooSkewed")
