"""Fault injection, in-process (`simulator.faults`) and seen from a client over HTTP."""

from __future__ import annotations

import uuid

import httpx
import pytest
from zstack_simulator import RunningSimulator, Settings, Simulator
from zstack_simulator import seed as s

from tests.fixtures.simulator import ServeSimulator
from tests.simulator._support import create_backup, group_members, job_path, location_path, login, poll, query

pytestmark = pytest.mark.integration

BACKUPS = "/zstack/v1/volume-backups"


def test_latency_delays_matching_answers(simulator: RunningSimulator, simulator_client: httpx.Client) -> None:
    headers = login(simulator_client)
    simulator.simulator.faults.latency(0.8, method="GET", path="/zstack/v1/volume-backups*", count=1)
    with pytest.raises(httpx.ReadTimeout):
        simulator_client.get(BACKUPS, headers=headers, timeout=0.1)
    assert simulator_client.get(BACKUPS, headers=headers, timeout=5).status_code == 200


def test_error_fraction_is_deterministic_for_a_seed(serve_simulator: ServeSimulator) -> None:
    def statuses() -> list[int]:
        running = serve_simulator()
        running.simulator.faults.error_503(probability=0.5, seed=1234, path=f"{BACKUPS}*")
        with httpx.Client(base_url=running.base_url) as client:
            headers = login(client)
            return [client.get(BACKUPS, headers=headers).status_code for _ in range(16)]

    first = statuses()
    assert set(first) == {200, 503}
    assert statuses() == first


def test_injected_503_is_a_transient_zstack_error(
    simulator: RunningSimulator, simulator_client: httpx.Client
) -> None:
    headers = login(simulator_client)
    simulator.simulator.faults.error_503(method="POST", count=2)
    refused = [create_backup(simulator_client, headers) for _ in range(3)]
    assert [r.status_code for r in refused] == [503, 503, 202]
    error = refused[0].json()["error"]
    assert (error["code"], error["description"]) == ("SYS.1000", "An internal error happened in system")
    assert len(simulator.simulator.jobs()) == 1
    assert simulator_client.get(BACKUPS, headers=headers).status_code == 200


def test_dropped_connection_processes_nothing(
    simulator: RunningSimulator, simulator_client: httpx.Client
) -> None:
    headers = login(simulator_client)
    simulator.simulator.faults.drop_connection(method="POST", count=1)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):  # a close or a reset, by timing
        create_backup(simulator_client, headers)
    assert simulator.simulator.jobs() == []
    assert simulator.simulator.requests()[-1].status is None
    assert create_backup(simulator_client, headers).status_code == 202


def test_lost_202_is_recoverable_with_the_job_uuid(
    simulator: RunningSimulator, simulator_client: httpx.Client
) -> None:
    headers = login(simulator_client)
    job = uuid.uuid4().hex
    group = uuid.uuid4().hex
    simulator.simulator.faults.lose_response(method="POST", path="/zstack/v1/volumes/*/vm-backups", count=1)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):  # a close or a reset, by timing
        create_backup(simulator_client, headers | {"X-Job-UUID": job}, resourceUuid=group)
    resent = create_backup(simulator_client, headers | {"X-Job-UUID": job}, resourceUuid=group)
    assert (resent.status_code, resent.text) == (400, f"Duplicate job uuid[{job}]")
    result = poll(simulator_client, f"http://elsewhere{job_path(job)}")
    assert result.status_code == 200
    assert len(group_members(simulator_client, headers, group)) == 3


def test_failed_job_rolls_back_its_records(
    simulator: RunningSimulator, simulator_client: httpx.Client
) -> None:
    simulator.simulator.settings.job_seconds = None
    headers = login(simulator_client)
    group = uuid.uuid4().hex
    simulator.simulator.faults.fail_job(
        code="SYS.1001", details="Create backup on KVM timeout after 300s", count=1
    )
    location = create_backup(simulator_client, headers, resourceUuid=group).json()["location"]
    assert {m["status"] for m in group_members(simulator_client, headers, group)} == {"Creating"}
    result = poll(simulator_client, location)
    assert result.status_code == 503
    assert result.json()["error"] == {
        "code": "SYS.1001",
        "description": "A message or a operation timeout",
        "details": "Create backup on KVM timeout after 300s",
    }
    assert group_members(simulator_client, headers, group) == []


def test_session_expiring_during_a_job(simulator: RunningSimulator, simulator_client: httpx.Client) -> None:
    headers = login(simulator_client)
    simulator.simulator.faults.expire_session_during_job(count=1)
    location = create_backup(simulator_client, headers).json()["location"]
    assert poll(simulator_client, location).status_code == 200
    stale = simulator_client.get(BACKUPS, headers=headers)
    assert stale.json()["error"]["code"] == "ID.1001"
    assert len(query(simulator_client, login(simulator_client), "volume-backups")["inventories"]) == 3


def test_job_record_expiring_although_the_job_ran(
    simulator: RunningSimulator, simulator_client: httpx.Client
) -> None:
    headers = login(simulator_client)
    group = uuid.uuid4().hex
    simulator.simulator.faults.expire_job_record(count=1)
    location = create_backup(simulator_client, headers, resourceUuid=group).json()["location"]
    answer = poll(simulator_client, location)
    assert (answer.status_code, answer.text) == (404, "the job has been expired")
    assert {m["status"] for m in group_members(simulator_client, headers, group)} == {"Ready"}


def test_job_duration_fault_sets_the_number_of_polls(
    simulator: RunningSimulator, simulator_client: httpx.Client
) -> None:
    simulator.simulator.settings.job_seconds = None
    simulator.simulator.faults.job_duration(polls=4, count=1)
    headers = login(simulator_client)
    slow = location_path(create_backup(simulator_client, headers).json()["location"])
    assert [simulator_client.get(slow).status_code for _ in range(4)] == [202, 202, 202, 200]
    normal = location_path(create_backup(simulator_client, headers).json()["location"])
    assert [simulator_client.get(normal).status_code for _ in range(2)] == [202, 200]


def test_out_of_band_changes_are_seen_by_queries(
    simulator: RunningSimulator, simulator_client: httpx.Client
) -> None:
    headers = login(simulator_client)
    group = uuid.uuid4().hex
    poll(simulator_client, create_backup(simulator_client, headers, resourceUuid=group).json()["location"])
    member = group_members(simulator_client, headers, group)[0]
    simulator.simulator.update_backup(member["uuid"], {"status": "Deleted", "name": "renamed"})
    changed = query(simulator_client, headers, f"volume-backups/{member['uuid']}")["inventories"][0]
    assert (changed["status"], changed["name"]) == ("Deleted", "renamed")
    assert simulator.simulator.delete_backup(member["uuid"])
    assert len(group_members(simulator_client, headers, group)) == 2
    assert simulator.simulator.delete_backup_group(group) == 2
    assert group_members(simulator_client, headers, group) == []


def test_vm_state_change_blocks_new_backups(
    simulator: RunningSimulator, simulator_client: httpx.Client
) -> None:
    simulator.simulator.set_vm_state(s.RUNNING_VM_UUID, "Stopped")
    result = poll(
        simulator_client, create_backup(simulator_client, login(simulator_client)).json()["location"]
    )
    assert result.json()["error"]["code"] == "SYS.1006"


def test_fault_count_and_targeting(serve_simulator: ServeSimulator) -> None:
    running = serve_simulator(Simulator(Settings.fast()))
    faults = running.simulator.faults
    rule = faults.error_503(method="GET", path="/zstack/v1/vm-instances", count=2)
    with httpx.Client(base_url=running.base_url) as client:
        headers = login(client)
        assert client.get("/zstack/v1/volumes", headers=headers).status_code == 200
        assert [client.get("/zstack/v1/vm-instances", headers=headers).status_code for _ in range(3)] == [
            503,
            503,
            200,
        ]
    [seen] = faults.rules()
    assert (seen.id, seen.fired, seen.remaining) == (rule.id, 2, 0)
    assert faults.remove(rule.id)
    assert faults.rules() == []
