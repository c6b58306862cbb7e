"""Password hashing and AccessKey signing, checked against the official test vectors."""

from __future__ import annotations

from datetime import datetime

import pytest
from zstack_simulator import access_key_signature, sha512_hex
from zstack_simulator._auth import check_request_time, parse_request_date
from zstack_simulator._errors import PlainTextError

pytestmark = pytest.mark.unit


def test_login_password_hash_vector() -> None:
    assert sha512_hex("password") == (
        "b109f3bbbc244eb82441917ed06d618b9008dd09b3befd1b5e07394c706a8bb9"
        "80b1d7785e5976ec049b46df5f1326af5a2ea6d103fd07c95385ffab0cacbc86"
    )


def test_access_key_vector_from_the_dev_manual() -> None:
    signature = access_key_signature(
        "8heumeFTvIeZxkTGfEYvVi9qVVPd9ffQNDALSPPb", "GET", "Fri, 06 Aug 2021 17:58:34 PRC", "/v1/vm-instances"
    )
    assert signature == "hPToRHeHdV49D4u20G8OlE0yJho="


def test_signing_the_context_path_gives_the_rejected_signature() -> None:
    signature = access_key_signature(
        "8heumeFTvIeZxkTGfEYvVi9qVVPd9ffQNDALSPPb",
        "GET",
        "Fri, 06 Aug 2021 17:58:34 PRC",
        "/zstack/v1/vm-instances",
    )
    assert signature == "4IpKm7pLtCo1/xrAUTuOcJqiyWc="


@pytest.mark.parametrize(
    "header",
    [
        "Fri, 06 Aug 2021 17:58:34 PRC",
        "fri, 06 aug 2021 17:58:34 prc",
        "Fri, 06 Aug 2021 17:58:34 GMT",
        "Fri, 06 Aug 2021 17:58:34 UTC",
        "Fri, 06 Aug 2021 17:58:34 CST",
        "Fri, 06 Aug 2021 17:58:34 Asia/Shanghai",
        "Fri, 06 Aug 2021 17:58:34 +08:00",
        "Fri, 06 Aug 2021 17:58:34 GMT+08:00",
    ],
)
def test_request_date_accepts_zone_names_ids_and_offsets(header: str) -> None:
    assert parse_request_date(header) == datetime(2021, 8, 6, 17, 58, 34)


@pytest.mark.parametrize(
    "header",
    [
        "Thu, 06 Aug 2021 17:58:34 PRC",  # wrong day of week
        "Fri, 6 Aug 2021 17:58:34 PRC",  # dd needs two digits
        "Fri, 06 Aug 2021 17:58:34",  # no zone
        "Fri, 06 Aug 2021 17:58:34 Nowhere/Land",
        "2021-08-06T17:58:34Z",
        "Fri, 31 Feb 2021 17:58:34 GMT",
    ],
)
def test_request_date_rejects_malformed_values(header: str) -> None:
    with pytest.raises(PlainTextError) as refused:
        parse_request_date(header)
    assert (refused.value.status, refused.value.text) == (
        400,
        "'Date' format error, correct format is 'EEE, dd MMM yyyy HH:mm:ss z'",
    )


def test_request_time_compares_wall_clocks_within_fifteen_minutes() -> None:
    now = datetime(2021, 8, 6, 17, 58, 34)
    check_request_time("Fri, 06 Aug 2021 18:13:00 UTC", now)
    check_request_time("Fri, 06 Aug 2021 17:44:00 Asia/Tokyo", now)
    with pytest.raises(PlainTextError) as skewed:
        check_request_time("Fri, 06 Aug 2021 18:14:00 PRC", now)
    assert (skewed.value.status, skewed.value.text) == (403, "requestTimeTooSkewed")
    with pytest.raises(PlainTextError) as missing:
        check_request_time(None, now)
    assert (missing.value.status, missing.value.text) == (400, "'Date' must be incuded in request header")
