"""No password, password hash, key secret, session id or Authorization value leaks into errors or logs."""

from __future__ import annotations

import hashlib
import logging

import httpx
import pytest
from pulumi_zstack_provider._client import (
    APIError,
    AuthenticationError,
    JobFailedError,
    SessionExpiredError,
    ZStackError,
)

from tests.client.conftest import ACCESS_KEY_ID, ACCESS_KEY_SECRET, HOST, PASSWORD, access_key_config
from tests.client.fake_zstack import FakeClock, FakeZStack, Forward, error, json_response, text

pytestmark = pytest.mark.unit

PASSWORD_HASH = hashlib.sha512(PASSWORD.encode()).hexdigest()
GIVEN_SESSION = "feedfacefeedfacefeedfacefeedface"


def test_no_secret_in_any_exception_or_log_record(
    make_client, fake: FakeZStack, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    raised: list[ZStackError] = []

    def expect(kind: type[ZStackError], call) -> None:
        with pytest.raises(kind) as info:
            call()
        raised.append(info.value)

    def echo_everything(request: httpx.Request, forward: Forward) -> httpx.Response:
        leaked = f"session {fake.issued_sessions[-1]}, password {PASSWORD}, hash {PASSWORD_HASH}"
        return text(400, f"{request.headers.get('Authorization')} refused: {leaked}")

    def session_in_details(request: httpx.Request, forward: Forward) -> httpx.Response:
        details = f"Session[uuid:{fake.issued_sessions[-1]}] expired"
        return error(503, "ID.1001", "The session is invalid", details)

    client = make_client()
    client.query("volume-backups")
    fake.on("GET", "/volume-backups", echo_everything)
    expect(APIError, lambda: client.query("volume-backups"))
    fake.expire_sessions()
    client.query("volume-backups")  # logs in again
    fake.on("GET", "/volume-backups", session_in_details, times=2)
    expect(SessionExpiredError, lambda: client.query("volume-backups"))

    fake.job_failure = {"code": "SYS.1006", "details": f"op failed for session {fake.issued_sessions[-1]}"}
    expect(
        JobFailedError,
        lambda: client.run_job(
            "POST",
            "/volumes/abc/vm-backups",
            body={"params": {"name": "n"}},
            deadline=clock() + 60,
            operation="c",
        ),
    )
    client.close()  # the logout URL carries the session id

    fake.password = "changed"
    fake.on(
        "PUT",
        "/accounts/login",
        lambda request, forward: error(503, "ID.1000", "Unable to authenticate", f"bad hash {PASSWORD_HASH}"),
    )
    expect(AuthenticationError, lambda: make_client().query("volume-backups"))

    def echo_key(request: httpx.Request, forward: Forward) -> httpx.Response:
        return text(400, f"{request.headers['Authorization']} refused, secret {ACCESS_KEY_SECRET}")

    key_client = make_client(access_key_config())
    fake.on("GET", "/volume-backups", echo_key)
    expect(APIError, lambda: key_client.query("volume-backups"))
    fake.access_keys[ACCESS_KEY_ID] = "rotated"
    expect(AuthenticationError, lambda: key_client.query("volume-backups"))

    given = make_client({"zstack:host": HOST, "zstack:sessionId": GIVEN_SESSION})
    fake.on(
        "GET",
        "/volume-backups",
        lambda request, forward: json_response(
            503, {"error": {"code": "ID.1001", "details": f"session {GIVEN_SESSION} expired"}}
        ),
    )
    expect(SessionExpiredError, lambda: given.query("volume-backups"))

    authorizations = {r.headers["Authorization"] for r in fake.requests if "Authorization" in r.headers}
    signatures = {a.split(":", 1)[1] for a in authorizations if a.startswith("ZStack ")}
    secrets = {PASSWORD, PASSWORD_HASH, ACCESS_KEY_SECRET, GIVEN_SESSION, *fake.issued_sessions}
    secrets |= authorizations | signatures
    assert len(fake.issued_sessions) == 3  # first login, renewal after expiry, renewal after ID.1001
    assert fake.logouts == [fake.issued_sessions[-1]]
    assert len(raised) == 7
    assert any("/accounts/sessions/" in r.getMessage() for r in caplog.records)  # the logout was logged

    shown = [str(e) for e in raised] + [repr(e) for e in raised]
    shown += [str(getattr(e, "details", "")) for e in raised] + [str(getattr(e, "path", "")) for e in raised]
    shown += [r.getMessage() for r in caplog.records] + [caplog.text]
    for secret in secrets:
        for text_shown in shown:
            assert secret not in text_shown
