"""Login, sessions, AccessKey signing and logout."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import httpx
import pytest
from pulumi_zstack_provider._client import (
    AuthenticationError,
    SessionExpiredError,
    access_key_signature,
    http_date,
    password_hash,
)

from tests.client.conftest import ACCESS_KEY_ID, HOST, PASSWORD, access_key_config, account_config
from tests.client.fake_zstack import SESSION_EXPIRED, FakeZStack, Forward, error, json_response

pytestmark = pytest.mark.unit

SHA512_OF_PASSWORD = (
    "b109f3bbbc244eb82441917ed06d618b9008dd09b3befd1b5e07394c706a8bb9"
    "80b1d7785e5976ec049b46df5f1326af5a2ea6d103fd07c95385ffab0cacbc86"
)
DATE = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
    r"\d\d:\d\d:\d\d \S+$"
)


def test_password_hash_matches_the_reference_vector() -> None:
    assert password_hash("password") == SHA512_OF_PASSWORD


def test_access_key_signature_matches_the_reference_vector() -> None:
    signature = access_key_signature(
        "8heumeFTvIeZxkTGfEYvVi9qVVPd9ffQNDALSPPb", "GET", "Fri, 06 Aug 2021 17:58:34 PRC", "/v1/vm-instances"
    )
    assert signature == "hPToRHeHdV49D4u20G8OlE0yJho="


def test_http_date_is_english_with_a_zone_java_can_parse() -> None:
    shanghai = datetime(2021, 8, 6, 17, 58, 34, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert http_date(shanghai) == "Fri, 06 Aug 2021 17:58:34 CST"
    no_abbreviation = datetime(2024, 1, 7, 9, 5, 3, tzinfo=timezone(timedelta(hours=6, minutes=30)))
    assert http_date(no_abbreviation) == "Sun, 07 Jan 2024 09:05:03 GMT+06:30"


def test_login_sends_the_sha512_of_the_password_once_for_many_calls(client, fake: FakeZStack) -> None:
    client.query("volume-backups")
    client.query("volume-backups")
    (login,) = fake.sent("PUT", "/accounts/login")
    body = json.loads(login.content)
    assert body == {
        "logInByAccount": {"accountName": "admin", "password": hashlib.sha512(PASSWORD.encode()).hexdigest()}
    }
    session = fake.issued_sessions[0]
    assert [r.headers["Authorization"] for r in fake.sent("GET")] == [f"OAuth {session}"] * 2


def test_wrong_password_is_an_authentication_error_without_retries(make_client, fake: FakeZStack) -> None:
    fake.password = "something else"
    client = make_client()
    with pytest.raises(AuthenticationError) as raised:
        client.query("volume-backups")
    assert raised.value.code == "ID.1000"
    assert raised.value.status == 503
    assert "zstack:accountPassword" in str(raised.value)
    assert "ID.1000" in str(raised.value)
    assert len(fake.sent("PUT", "/accounts/login")) == 1
    assert fake.sent("GET") == []


def test_locked_account_login_is_not_repeated(client, fake: FakeZStack) -> None:
    locked = error(503, "LOGIN_CONTROL.1002", "Target is locked", "account admin is locked for 10 minutes")
    fake.on("PUT", "/accounts/login", lambda request, forward: locked, times=10)
    with pytest.raises(AuthenticationError) as raised:
        client.query("volume-backups")
    assert raised.value.code == "LOGIN_CONTROL.1002"
    assert "locked" in str(raised.value)
    assert len(fake.sent("PUT", "/accounts/login")) == 1


def test_threads_share_one_session(client, fake: FakeZStack) -> None:
    start = threading.Barrier(8, timeout=10)

    def work(_: int) -> int:
        start.wait()
        return len(client.query("volume-backups"))

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(work, range(8), timeout=30)) == [0] * 8
    assert fake.logins == 1


def test_threads_refused_together_log_in_again_only_once(client, fake: FakeZStack) -> None:
    client.query("volume-backups")
    all_refused = threading.Barrier(4, timeout=10)

    def refuse_when_all_arrived(request: httpx.Request, forward: Forward) -> httpx.Response:
        all_refused.wait()
        return json_response(503, {"error": SESSION_EXPIRED})

    fake.on("GET", "/volume-backups", refuse_when_all_arrived, times=4)
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(lambda _: client.query("volume-backups"), range(4), timeout=30)) == [[]] * 4
    assert fake.logins == 2


def test_expired_session_is_renewed_once_and_the_read_retried(client, fake: FakeZStack) -> None:
    client.query("volume-backups")
    fake.expire_sessions()
    assert client.query("volume-backups") == []
    assert fake.logins == 2
    last = fake.sent("GET")[-1]
    assert last.headers["Authorization"] == f"OAuth {fake.issued_sessions[1]}"


def test_session_refused_even_after_login_gives_session_expired(client, fake: FakeZStack) -> None:
    fake.on(
        "GET", "/volume-backups", lambda request, forward: json_response(503, {"error": SESSION_EXPIRED}), 5
    )
    with pytest.raises(SessionExpiredError) as raised:
        client.query("volume-backups")
    assert raised.value.code == "ID.1001"
    assert fake.logins == 2
    assert len(fake.sent("GET")) == 2


def test_newer_global_error_code_and_wording_also_mean_session_expired(client, fake: FakeZStack) -> None:
    client.query("volume-backups")
    newer = {"error": {"code": "SYS.9999", "globalErrorCode": "ORG_ZSTACK_IDENTITY_10020", "details": "x"}}
    fake.on("GET", "/volume-backups", lambda request, forward: json_response(503, newer))
    assert client.query("volume-backups") == []
    wording = {"error": {"details": "the session has expired, log in again"}}
    fake.on("GET", "/volume-backups", lambda request, forward: json_response(503, wording))
    assert client.query("volume-backups") == []
    assert fake.logins == 3


def test_given_session_id_is_used_as_is_and_never_renewed(make_client, fake: FakeZStack) -> None:
    session = "0123456789abcdef0123456789abcdef"
    fake.sessions.add(session)
    client = make_client({"zstack:host": HOST, "zstack:sessionId": session})
    client.query("volume-backups")
    assert fake.sent("GET")[0].headers["Authorization"] == f"OAuth {session}"
    fake.expire_sessions()
    with pytest.raises(SessionExpiredError) as raised:
        client.query("volume-backups")
    assert "zstack:sessionId" in str(raised.value)
    assert "ZSTACK_SESSION_ID" in str(raised.value)
    assert fake.logins == 0
    client.close()
    assert fake.logouts == []  # not ours to end


def test_access_key_requests_carry_a_valid_signature_and_date(make_client, fake: FakeZStack) -> None:
    client = make_client(access_key_config())
    client.query("volume-backups", "groupUuid=abc", limit=5)
    result = client.run_job(
        "DELETE", "/vm-backups/abc", params={"deleteMode": "Permissive"}, deadline=2000.0, operation="delete"
    )
    assert result == {}
    for request in (fake.sent("GET", "/volume-backups")[0], fake.sent("DELETE")[0]):
        assert request.headers["Authorization"].startswith(f"ZStack {ACCESS_KEY_ID}:")
        assert DATE.match(request.headers["Date"])
    assert fake.logins == 0


def test_refused_access_key_explains_credentials_and_clock_skew(make_client, fake: FakeZStack) -> None:
    fake.access_keys[ACCESS_KEY_ID] = "a-different-secret"
    client = make_client(access_key_config())
    with pytest.raises(AuthenticationError) as raised:
        client.query("volume-backups")
    assert raised.value.status == 403
    assert raised.value.details == "wrong accessKey signature"
    message = str(raised.value)
    assert "zstack:accessKeySecret" in message
    assert "15 minutes" in message
    assert len(fake.sent("GET")) == 1


def test_close_logs_out_the_session_it_created(make_client, fake: FakeZStack) -> None:
    client = make_client()
    client.query("volume-backups")
    session = fake.issued_sessions[0]
    client.close()
    client.close()
    assert fake.logouts == [session]
    assert session not in fake.sessions


def test_close_without_any_call_sends_nothing(make_client, fake: FakeZStack) -> None:
    with make_client():
        pass
    assert fake.requests == []


def test_failed_logout_does_not_raise(make_client, fake: FakeZStack) -> None:
    def drop(request: httpx.Request, forward: Forward) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = make_client(account_config())
    client.query("volume-backups")
    fake.on("DELETE", "/accounts/sessions/", drop)
    client.close()
    assert fake.logouts == []
