"""Queries: parameters, tolerant parsing, error bodies and retries."""

from __future__ import annotations

import ssl

import httpx
import pytest
from pulumi_zstack_provider._client import APIError, OperationTimeoutError, RetryPolicy, TransportError

from tests.client.conftest import HOST
from tests.client.fake_zstack import FakeClock, FakeZStack, Forward, error, json_response, text

pytestmark = pytest.mark.unit

GROUP = "8c1f0b2d3e4a4b5c9d6e7f8091a2b3c4"


def raw(status: int, body: str, content_type: str = "application/json") -> httpx.Response:
    return httpx.Response(status, content=body.encode(), headers={"Content-Type": content_type})


def test_conditions_and_options_go_in_the_query_string(client, fake: FakeZStack) -> None:
    fake.backups = [
        {"uuid": "1", "groupUuid": GROUP, "type": "Root"},
        {"uuid": "2", "groupUuid": GROUP, "type": "Data"},
        {"uuid": "3", "groupUuid": "other", "type": "Root"},
    ]
    rows = client.query(
        "volume-backups", f"groupUuid={GROUP}", "type=Root", limit=10, start=0, sort="+createDate"
    )
    assert [r["uuid"] for r in rows] == ["1"]
    (request,) = fake.sent("GET", "/volume-backups")
    assert request.url.params.get_list("q") == [f"groupUuid={GROUP}", "type=Root"]
    assert (request.url.params["limit"], request.url.params["start"]) == ("10", "0")
    assert request.url.params["sort"] == "+createDate"
    assert b"sort=%2BcreateDate" in request.url.query  # a bare + would arrive as a space


def test_query_by_uuid_path(client, fake: FakeZStack) -> None:
    fake.backups = [{"uuid": "1", "groupUuid": GROUP}, {"uuid": "2", "groupUuid": GROUP}]
    assert client.query("volume-backups/2") == [{"uuid": "2", "groupUuid": GROUP}]


def test_missing_inventories_is_an_empty_list(client, fake: FakeZStack) -> None:
    fake.on("GET", "/volume-backups", lambda request, forward: json_response(200, {"schema": {}}))
    assert client.query("volume-backups") == []


def test_e_notation_and_unknown_fields_are_tolerated(client, fake: FakeZStack) -> None:
    body = (
        '{"inventories":[{"uuid":"1","size":1.073741824E9,"deviceId":0.0,"hypervisorType":"KVM",'
        '"backupStorageRefs":[{"status":"Ready","extra":{"nested":true}}],"success":true}],'
        '"schema":{"inventories[0]":"org.zstack.header.storage.backup.VolumeBackupInventory"},"total":1,'
        '"apiTimeout":1800000}'
    )
    fake.on("GET", "/volume-backups", lambda request, forward: raw(200, body, "text/plain"))
    (row,) = client.query("volume-backups")
    assert row["size"] == 1073741824
    assert row["hypervisorType"] == "KVM"
    assert row["backupStorageRefs"][0]["extra"] == {"nested": True}


def test_plain_text_error_goes_to_details_without_retry(client, fake: FakeZStack) -> None:
    message = "The 'groupUuid' in the parameter[q] doesn't contain any query operator"
    fake.on("GET", "/volume-backups", lambda request, forward: text(400, message))
    with pytest.raises(APIError) as raised:
        client.query("volume-backups", "groupUuid")
    assert (raised.value.status, raised.value.code, raised.value.details) == (400, None, message)
    assert message in str(raised.value)
    assert len(fake.sent("GET", "/volume-backups")) == 1


def test_long_plain_text_body_is_truncated(client, fake: FakeZStack) -> None:
    trace = "java.lang.NullPointerException\n" + "\tat org.zstack.Something.method(Something.java:1)\n" * 200
    fake.on("GET", "/volume-backups", lambda request, forward: text(500, trace))
    with pytest.raises(APIError) as raised:
        client.query("volume-backups")
    assert raised.value.details is not None
    assert raised.value.details.startswith("java.lang.NullPointerException")
    assert len(raised.value.details) <= 500
    assert len(str(raised.value)) < 1000


def test_json_error_parsed_whatever_the_content_type(client, fake: FakeZStack) -> None:
    body = '{"error":{"code":"SYS.1007","description":"One or more API argument is invalid","details":"bad"}}'
    fake.on("GET", "/volume-backups", lambda request, forward: raw(503, body, "text/html;charset=utf-8"))
    with pytest.raises(APIError) as raised:
        client.query("volume-backups")
    assert (raised.value.code, raised.value.description, raised.value.details) == (
        "SYS.1007",
        "One or more API argument is invalid",
        "bad",
    )


def test_burst_of_503_on_a_read_is_retried(client, fake: FakeZStack, clock: FakeClock) -> None:
    fake.on("GET", "/volume-backups", lambda request, forward: text(503, "Service Unavailable"), times=2)
    fake.on(
        "GET",
        "/volume-backups",
        lambda request, forward: error(503, "SYS.1000", "An internal error happened in system", "db busy"),
    )
    fake.backups = [{"uuid": "1", "groupUuid": GROUP}]
    assert client.query("volume-backups") == fake.backups
    assert len(fake.sent("GET", "/volume-backups")) == 4
    assert len(clock.sleeps) == 3
    assert all(0 <= s <= 5.0 for s in clock.sleeps)


def test_retries_stop_after_the_attempt_budget(make_client, fake: FakeZStack, clock: FakeClock) -> None:
    fake.on("GET", "/volume-backups", lambda request, forward: text(502, "Bad Gateway"), times=100)
    client = make_client(retry=RetryPolicy(attempts=4, initial=0.1, maximum=1.0))
    with pytest.raises(APIError) as raised:
        client.query("volume-backups")
    assert raised.value.status == 502
    assert len(fake.sent("GET", "/volume-backups")) == 4
    assert len(clock.sleeps) == 3
    assert all(s <= 1.0 for s in clock.sleeps)


@pytest.mark.parametrize(
    "code", ["SYS.1007", "SYS.1003", "ID.1002"], ids=["validation", "not-found", "permission"]
)
def test_definite_503_answers_are_not_retried(client, fake: FakeZStack, code: str) -> None:
    fake.on("GET", "/volume-backups", lambda request, forward: error(503, code, "refused", "no"))
    with pytest.raises(APIError) as raised:
        client.query("volume-backups")
    assert raised.value.code == code
    assert code in str(raised.value)
    assert len(fake.sent("GET", "/volume-backups")) == 1


def test_dropped_connection_on_a_read_is_retried(client, fake: FakeZStack) -> None:
    def drop(request: httpx.Request, forward: Forward) -> httpx.Response:
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)

    fake.on("GET", "/volume-backups", drop)
    assert client.query("volume-backups") == []
    assert len(fake.sent("GET", "/volume-backups")) == 2


def test_unreachable_host_names_host_port_and_settings(make_client, fake: FakeZStack) -> None:
    def refuse(request: httpx.Request, forward: Forward) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    fake.on("PUT", "/accounts/login", refuse, times=100)
    client = make_client(retry=RetryPolicy(attempts=2))
    with pytest.raises(TransportError) as raised:
        client.query("volume-backups")
    message = str(raised.value)
    assert f"{HOST}:8080" in message
    assert "zstack:host" in message
    assert "Connection refused" in message
    assert len(fake.sent("PUT")) == 2


def test_certificate_failure_suggests_ca_file_or_insecure_and_is_not_retried(make_client, fake) -> None:
    def untrusted(request: httpx.Request, forward: Forward) -> httpx.Response:
        cause = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] self-signed certificate")
        raise httpx.ConnectError(str(cause), request=request) from cause

    fake.on("PUT", "/accounts/login", untrusted, times=100)
    client = make_client()
    with pytest.raises(TransportError) as raised:
        client.query("volume-backups")
    message = str(raised.value)
    assert f"{HOST}:8080" in message
    assert "zstack:caCertFile" in message
    assert "zstack:insecure" in message
    assert len(fake.sent("PUT")) == 1


def test_query_deadline_bounds_the_retries(make_client, fake: FakeZStack, clock: FakeClock) -> None:
    fake.on("GET", "/volume-backups", lambda request, forward: text(503, "Service Unavailable"), times=1000)
    client = make_client(retry=RetryPolicy(attempts=100, initial=1.0, maximum=1.0))
    with pytest.raises(OperationTimeoutError) as raised:
        client.query("volume-backups", deadline=clock() + 3)
    assert "Service Unavailable" in str(raised.value)
    assert raised.value.timeout == 3
    assert clock() <= 1003
    assert len(fake.sent("GET", "/volume-backups")) < 100
