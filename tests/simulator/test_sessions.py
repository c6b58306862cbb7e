"""Account login, session validity, sliding expiry and logout, over real HTTP."""

from __future__ import annotations

import httpx
import pytest
from zstack_simulator import RunningSimulator, sha512_hex
from zstack_simulator import seed as s

from tests.simulator._support import create_backup, location_path, login, poll, query

pytestmark = pytest.mark.integration

LOGIN = "/zstack/v1/accounts/login"


def test_login_returns_a_session_inventory(simulator_client: httpx.Client) -> None:
    response = simulator_client.put(
        LOGIN, json={"logInByAccount": {"accountName": "admin", "password": sha512_hex("password")}}
    )
    assert response.status_code == 200
    inventory = response.json()["inventory"]
    assert set(inventory) == {"uuid", "accountUuid", "userUuid", "expiredDate", "createDate"}
    assert inventory["accountUuid"] == s.ADMIN_ACCOUNT_UUID
    is_hex32 = len(inventory["uuid"]) == 32 and all(c in "0123456789abcdef" for c in inventory["uuid"])
    assert is_hex32, "the session id is not 32 lowercase hex characters"


@pytest.mark.parametrize(
    "password",
    ["password", sha512_hex("wrong"), sha512_hex("password").upper()],
    ids=["plain-text", "wrong-hash", "upper-case-hash"],
)
def test_wrong_password_is_503_id_1000(simulator_client: httpx.Client, password: str) -> None:
    response = simulator_client.put(
        LOGIN, json={"logInByAccount": {"accountName": "admin", "password": password}}
    )
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "ID.1000"


def test_login_body_needs_the_action_key(simulator_client: httpx.Client) -> None:
    response = simulator_client.put(LOGIN, json={"logIn": {"accountName": "admin", "password": "x"}})
    assert response.status_code == 400
    assert response.text.startswith("the body doesn't contain action mapping to the URL")


@pytest.mark.parametrize("missing", ["accountName", "password"])
def test_login_fields_are_mandatory(simulator_client: httpx.Client, missing: str) -> None:
    fields = {"accountName": "admin", "password": sha512_hex("password")}
    del fields[missing]
    response = simulator_client.put(LOGIN, json={"logInByAccount": fields})
    assert response.status_code == 503
    error = response.json()["error"]
    assert (error["code"], f"field[{missing}]" in error["details"]) == ("SYS.1007", True)


def test_valid_endpoint_and_logout(simulator_client: httpx.Client) -> None:
    headers = login(simulator_client)
    session = headers["Authorization"].removeprefix("OAuth ")
    valid = simulator_client.get(f"/zstack/v1/accounts/sessions/{session}/valid")
    assert (valid.status_code, valid.json()) == (200, {"valid": True})
    logout = simulator_client.delete(f"/zstack/v1/accounts/sessions/{session}")
    assert (logout.status_code, logout.json()) == (200, {})
    assert simulator_client.get(f"/zstack/v1/accounts/sessions/{session}/valid").json() == {"valid": False}
    after = simulator_client.get("/zstack/v1/vm-instances", headers=headers)
    assert (after.status_code, after.json()["error"]["code"]) == (503, "ID.1001")


def test_sessions_slide_with_every_api_call(
    simulator: RunningSimulator, simulator_client: httpx.Client
) -> None:
    simulator.simulator.settings.session_timeout = 100
    headers = login(simulator_client)
    clock = simulator.simulator.clock
    for _ in range(3):
        clock.advance(60)
        assert simulator_client.get("/zstack/v1/volumes", headers=headers).status_code == 200
    clock.advance(101)
    expired = simulator_client.get("/zstack/v1/volumes", headers=headers)
    assert expired.status_code == 503
    assert expired.json()["error"]["code"] == "ID.1001"


def test_job_polls_need_no_auth_and_do_not_renew(
    simulator: RunningSimulator, simulator_client: httpx.Client
) -> None:
    simulator.simulator.settings.session_timeout = 100
    simulator.simulator.settings.job_seconds = None
    simulator.simulator.settings.job_polls = 5
    headers = login(simulator_client)
    location = create_backup(simulator_client, headers).json()["location"]
    for _ in range(3):
        simulator.simulator.clock.advance(40)
        assert simulator_client.get(location_path(location)).status_code == 202
    assert poll(simulator_client, location).status_code == 200
    stale = simulator_client.get("/zstack/v1/volume-backups", headers=headers)
    assert stale.json()["error"]["code"] == "ID.1001"


def test_invalid_session_on_an_async_call_is_reported_on_the_poll(simulator_client: httpx.Client) -> None:
    headers = {"Authorization": "OAuth " + "0" * 32}
    submitted = create_backup(simulator_client, headers)
    assert submitted.status_code == 202
    result = poll(simulator_client, submitted.json()["location"])
    assert result.status_code == 503
    assert result.json()["error"]["code"] == "ID.1001"
    assert query(simulator_client, login(simulator_client), "volume-backups")["inventories"] == []


def test_login_is_refused_past_the_session_limit(
    simulator: RunningSimulator, simulator_client: httpx.Client
) -> None:
    simulator.simulator.settings.max_sessions = 2
    login(simulator_client)
    login(simulator_client)
    response = simulator_client.put(
        LOGIN, json={"logInByAccount": {"accountName": "admin", "password": sha512_hex("password")}}
    )
    assert response.json()["error"]["code"] == "ID.1006"


def test_get_version_needs_no_auth(simulator_client: httpx.Client) -> None:
    response = simulator_client.put("/zstack/v1/management-nodes/actions", json={"getVersion": {}})
    assert response.status_code == 200
    assert response.json()["version"]
