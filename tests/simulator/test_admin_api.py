"""The `/_simulator` admin API: faults, settings, records, requests, clock, out-of-band changes."""

from __future__ import annotations

import uuid

import httpx
import pytest
from zstack_simulator import RunningSimulator
from zstack_simulator import seed as s

from tests.simulator._support import create_and_wait, create_backup, group_members, login, poll, query

pytestmark = pytest.mark.integration


def test_health(simulator_client: httpx.Client) -> None:
    assert simulator_client.get("/_simulator/health").json() == {"status": "ok"}


def test_faults_over_http(simulator_client: httpx.Client) -> None:
    added = simulator_client.post(
        "/_simulator/faults",
        json={"kind": "error", "method": "get", "path": "/zstack/v1/volumes*", "count": 1},
    )
    assert added.status_code == 201
    rule = added.json()
    assert (rule["kind"], rule["method"], rule["code"], rule["remaining"]) == ("error", "GET", "SYS.1000", 1)
    headers = login(simulator_client)
    assert simulator_client.get("/zstack/v1/volumes", headers=headers).status_code == 503
    assert simulator_client.get("/zstack/v1/volumes", headers=headers).status_code == 200
    [listed] = simulator_client.get("/_simulator/faults").json()
    assert (listed["fired"], listed["remaining"]) == (1, 0)
    assert simulator_client.delete(f"/_simulator/faults/{rule['id']}").status_code == 200
    assert simulator_client.delete(f"/_simulator/faults/{rule['id']}").status_code == 404
    simulator_client.post("/_simulator/faults", json={"kind": "drop", "method": "POST"})
    assert simulator_client.delete("/_simulator/faults").status_code == 200
    assert simulator_client.get("/_simulator/faults").json() == []


@pytest.mark.parametrize(
    "body",
    [{"kind": "latency"}, {"kind": "explode"}, {"kind": "error", "probability": 2}, {"kind": "job_duration"}],
)
def test_invalid_fault_is_a_400(simulator_client: httpx.Client, body: dict[str, object]) -> None:
    response = simulator_client.post("/_simulator/faults", json=body)
    assert response.status_code == 400
    assert response.json()["error"]


def test_settings_over_http(simulator: RunningSimulator, simulator_client: httpx.Client) -> None:
    before = simulator_client.get("/_simulator/settings").json()
    assert (before["jobPolls"], before["jobSeconds"]) == (2, 0.2)
    after = simulator_client.patch(
        "/_simulator/settings", json={"jobPolls": 3, "jobSeconds": None, "eNotation": True}
    )
    assert (after.json()["jobPolls"], after.json()["eNotation"]) == (3, True)
    assert simulator.simulator.settings.job_polls == 3
    assert simulator_client.patch("/_simulator/settings", json={"jobPolls": -1}).status_code == 400
    assert simulator_client.patch("/_simulator/settings", json={"colour": "red"}).status_code == 400


def test_backup_records_and_out_of_band_changes(simulator_client: httpx.Client) -> None:
    headers = login(simulator_client)
    group = uuid.uuid4().hex
    create_and_wait(simulator_client, headers, resourceUuid=group)
    listed = simulator_client.get("/_simulator/backups").json()
    assert {b["groupUuid"] for b in listed} == {group}
    member = listed[0]["uuid"]
    patched = simulator_client.patch(f"/_simulator/backups/{member}", json={"status": "Deleted"})
    assert patched.json()["status"] == "Deleted"
    assert simulator_client.patch(f"/_simulator/backups/{member}", json={"uuid": "x"}).status_code == 400
    assert simulator_client.patch(f"/_simulator/backups/{'0' * 32}", json={"name": "x"}).status_code == 404
    assert simulator_client.delete(f"/_simulator/backups/{member}").status_code == 200
    assert len(group_members(simulator_client, headers, group)) == 2
    assert simulator_client.delete(f"/_simulator/backup-groups/{group}").json() == {"deleted": 2}
    assert simulator_client.get("/_simulator/backups").json() == []


def test_request_log_has_no_secrets(simulator_client: httpx.Client) -> None:
    headers = login(simulator_client)
    session = headers["Authorization"].removeprefix("OAuth ")
    simulator_client.get(f"/zstack/v1/accounts/sessions/{session}/valid")
    simulator_client.get("/zstack/v1/volumes", headers=headers, params={"q": "type=Root"})
    simulator_client.delete(f"/zstack/v1/accounts/sessions/{session}")
    logged = simulator_client.get("/_simulator/requests").json()
    assert [(r["method"], r["api"], r["status"]) for r in logged] == [
        ("PUT", "LogInByAccount", 200),
        ("GET", "ValidateSession", 200),
        ("GET", "QueryVolume", 200),
        ("DELETE", "LogOut", 200),
    ]
    assert logged[2]["query"] == "q=type%3DRoot"
    assert logged[2]["auth"] == "OAuth"
    leaked = session in simulator_client.get("/_simulator/requests").text
    assert not leaked, "a session id appears in the request log"
    assert simulator_client.delete("/_simulator/requests").status_code == 200
    assert simulator_client.get("/_simulator/requests").json() == []


def test_request_log_shows_that_reads_sent_no_write(simulator_client: httpx.Client) -> None:
    headers = login(simulator_client)
    query(simulator_client, headers, "volume-backups", "groupUuid=" + uuid.uuid4().hex)
    query(simulator_client, headers, f"vm-instances/{s.RUNNING_VM_UUID}")
    writes = [
        r for r in simulator_client.get("/_simulator/requests").json() if r["method"] not in ("GET", "PUT")
    ]
    assert writes == []


def test_jobs_clock_and_expiry(simulator_client: httpx.Client) -> None:
    simulator_client.patch("/_simulator/settings", json={"jobPolls": None, "jobSeconds": 100})
    headers = login(simulator_client)
    location = create_backup(simulator_client, headers).json()["location"]
    [job] = simulator_client.get("/_simulator/jobs").json()
    assert (job["api"], job["state"]) == ("CreateVmBackup", "processing")
    assert simulator_client.post("/_simulator/clock/advance", json={"seconds": 101}).status_code == 200
    assert simulator_client.get("/_simulator/jobs").json()[0]["state"] == "done"
    assert simulator_client.post("/_simulator/jobs/expire").json() == {"expired": 1}
    assert poll(simulator_client, location).status_code == 404
    assert simulator_client.post("/_simulator/clock/advance", json={"seconds": "soon"}).status_code == 400


def test_sessions_expire_on_demand(simulator_client: httpx.Client) -> None:
    headers = login(simulator_client)
    assert simulator_client.post("/_simulator/sessions/expire").status_code == 200
    assert simulator_client.get("/zstack/v1/volumes", headers=headers).json()["error"]["code"] == "ID.1001"


def test_vm_and_backup_storage_changes(simulator_client: httpx.Client) -> None:
    headers = login(simulator_client)
    assert (
        simulator_client.patch(
            f"/_simulator/vm-instances/{s.STOPPED_VM_UUID}", json={"state": "Running"}
        ).status_code
        == 200
    )
    assert create_and_wait(simulator_client, headers, root=s.STOPPED_VM_ROOT_VOLUME_UUID).status_code == 200
    assert (
        simulator_client.patch(
            f"/_simulator/vm-instances/{s.STOPPED_VM_UUID}", json={"name": "x"}
        ).status_code
        == 400
    )
    assert (
        simulator_client.patch(f"/_simulator/vm-instances/{'0' * 32}", json={"state": "Running"}).status_code
        == 404
    )
    disabled = simulator_client.patch(
        f"/_simulator/backup-storage/{s.IMAGESTORE_BS_UUID}", json={"state": "Disabled"}
    )
    assert disabled.json()["state"] == "Disabled"
    result = create_and_wait(simulator_client, headers)
    assert (result.status_code, result.json()["error"]["code"]) == (503, "SYS.1006")
