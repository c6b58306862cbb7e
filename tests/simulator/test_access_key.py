"""AccessKey authentication: signing `METHOD\\nDATE\\n/v1/...`, the Date window, plain-text refusals."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest
from zstack_simulator import RunningSimulator, access_key_signature
from zstack_simulator import seed as s

from tests.simulator._support import access_key_headers, create_backup, java_date, poll

pytestmark = pytest.mark.integration

VMS = "/zstack/v1/vm-instances"


def test_signed_request_is_served(simulator_client: httpx.Client) -> None:
    response = simulator_client.get(VMS, headers=access_key_headers("GET", "/v1/vm-instances"))
    assert response.status_code == 200
    assert len(response.json()["inventories"]) == 5


def test_query_string_is_not_signed(simulator_client: httpx.Client) -> None:
    response = simulator_client.get(
        VMS, params={"q": "state=Running"}, headers=access_key_headers("GET", "/v1/vm-instances")
    )
    assert {vm["state"] for vm in response.json()["inventories"]} == {"Running"}


def test_signed_async_call_runs(simulator_client: httpx.Client) -> None:
    uri = f"/v1/volumes/{s.ROOT_ONLY_VM_ROOT_VOLUME_UUID}/vm-backups"
    submitted = create_backup(
        simulator_client, access_key_headers("POST", uri), root=s.ROOT_ONLY_VM_ROOT_VOLUME_UUID
    )
    assert submitted.status_code == 202
    assert poll(simulator_client, submitted.json()["location"]).status_code == 200


@pytest.mark.parametrize("zone", ["GMT", "PRC", "CST", "Asia/Shanghai", "+08:00", "UTC"])
def test_zone_is_ignored_local_wall_clock_counts(simulator_client: httpx.Client, zone: str) -> None:
    date = java_date(datetime.now(), zone)
    response = simulator_client.get(VMS, headers=access_key_headers("GET", "/v1/vm-instances", date))
    assert response.status_code == 200


def _refusal(client: httpx.Client, headers: dict[str, str]) -> tuple[int, str]:
    response = client.get(VMS, headers=headers)
    return response.status_code, response.text


def test_signing_the_context_path_is_refused(simulator_client: httpx.Client) -> None:
    assert _refusal(simulator_client, access_key_headers("GET", "/zstack/v1/vm-instances")) == (
        403,
        "wrong accessKey signature",
    )


def test_wrong_secret_is_refused(simulator_client: httpx.Client) -> None:
    date = java_date(datetime.now())
    signature = access_key_signature("not-the-secret", "GET", date, "/v1/vm-instances")
    headers = {"Authorization": f"ZStack {s.ACCESS_KEY_ID}:{signature}", "Date": date}
    assert _refusal(simulator_client, headers) == (403, "wrong accessKey signature")


def test_unknown_or_disabled_key_is_refused(simulator_client: httpx.Client) -> None:
    headers = access_key_headers("GET", "/v1/vm-instances")
    headers["Authorization"] = headers["Authorization"].replace(s.ACCESS_KEY_ID, "NoSuchKeyId000000000")
    assert _refusal(simulator_client, headers) == (
        403,
        "access key id: NoSuchKeyId000000000 does not existed or disabled",
    )


def test_skewed_date_is_refused(simulator_client: httpx.Client) -> None:
    date = java_date(datetime.now() - timedelta(minutes=20))
    assert _refusal(simulator_client, access_key_headers("GET", "/v1/vm-instances", date)) == (
        403,
        "requestTimeTooSkewed",
    )


def test_date_follows_the_simulator_clock(
    simulator: RunningSimulator, simulator_client: httpx.Client
) -> None:
    simulator.simulator.clock.advance(3600)
    assert _refusal(simulator_client, access_key_headers("GET", "/v1/vm-instances"))[0] == 403
    later = java_date(datetime.now() + timedelta(hours=1))
    assert (
        simulator_client.get(VMS, headers=access_key_headers("GET", "/v1/vm-instances", later)).status_code
        == 200
    )


def test_missing_and_malformed_dates_are_400(simulator_client: httpx.Client) -> None:
    headers = access_key_headers("GET", "/v1/vm-instances")
    del headers["Date"]
    assert _refusal(simulator_client, headers) == (400, "'Date' must be incuded in request header")
    bad = access_key_headers("GET", "/v1/vm-instances", "2021-08-06 17:58:34")
    assert _refusal(simulator_client, bad) == (
        400,
        "'Date' format error, correct format is 'EEE, dd MMM yyyy HH:mm:ss z'",
    )


@pytest.mark.parametrize(
    ("authorization", "text"),
    [
        (f"ZStack {s.ACCESS_KEY_ID}", "accessKey format is 'ZStack AccessKeyId:Signature'"),
        ("ZStack :abc", "Invalid authKey format"),
        ("Basic YWRtaW46cGFzc3dvcmQ=", "Authorization type must be 'OAuth'"),
    ],
)
def test_malformed_authorization_is_plain_text_400(
    simulator_client: httpx.Client, authorization: str, text: str
) -> None:
    headers = {"Authorization": authorization, "Date": java_date(datetime.now())}
    response = simulator_client.get(VMS, headers=headers)
    assert (response.status_code, response.text) == (400, text)
    assert response.headers["content-type"].startswith("text/plain")


def test_missing_authorization_is_plain_text_400(simulator_client: httpx.Client) -> None:
    response = simulator_client.get(VMS)
    assert (response.status_code, response.text) == (400, "missing header 'Authorization'")
