"""DeleteVmBackup and DeleteVolumeBackup: idempotence, per-member failures, soft deletion, validation."""

from __future__ import annotations

import uuid

import httpx
import pytest
from zstack_simulator import RunningSimulator
from zstack_simulator import seed as s

from tests.simulator._support import create_and_wait, group_members, login, poll

pytestmark = pytest.mark.integration


def _delete(
    client: httpx.Client, headers: dict[str, str], path: str, **params: str | list[str]
) -> httpx.Response:
    submitted = client.delete(f"/zstack/v1/{path}", headers=headers, params=params)
    assert submitted.status_code == 202, submitted.text
    return poll(client, submitted.json()["location"])


def _backup(client: httpx.Client, headers: dict[str, str], **params: str) -> str:
    group = uuid.uuid4().hex
    assert create_and_wait(client, headers, resourceUuid=group, **params).status_code == 200
    return group


def test_delete_vm_backup_removes_every_member(simulator_client: httpx.Client) -> None:
    headers = login(simulator_client)
    group = _backup(simulator_client, headers)
    other = _backup(simulator_client, headers)
    result = _delete(simulator_client, headers, f"vm-backups/{group}", deleteMode="Permissive")
    assert (result.status_code, result.json()) == (200, {})
    assert group_members(simulator_client, headers, group) == []
    assert len(group_members(simulator_client, headers, other)) == 3


def test_deleting_an_unknown_group_succeeds(simulator_client: httpx.Client) -> None:
    result = _delete(simulator_client, login(simulator_client), f"vm-backups/{uuid.uuid4().hex}")
    assert (result.status_code, result.json()) == (200, {})


def test_member_failures_are_swallowed_by_delete_vm_backup(
    simulator: RunningSimulator, simulator_client: httpx.Client
) -> None:
    headers = login(simulator_client)
    group = _backup(simulator_client, headers)
    stuck = next(m for m in group_members(simulator_client, headers, group) if m["type"] == "Data")
    simulator.simulator.faults.fail_member_delete(target=stuck["uuid"])
    result = _delete(simulator_client, headers, f"vm-backups/{group}")
    assert (result.status_code, result.json()) == (200, {})
    assert [m["uuid"] for m in group_members(simulator_client, headers, group)] == [stuck["uuid"]]


def test_handle_dependency_leaves_a_soft_deleted_backup(simulator_client: httpx.Client) -> None:
    headers = login(simulator_client)
    older = _backup(simulator_client, headers)
    _backup(simulator_client, headers)  # a later auto backup of the same volumes builds on the older one
    result = _delete(simulator_client, headers, f"vm-backups/{older}", handleDependency="true")
    assert result.status_code == 200
    left = group_members(simulator_client, headers, older)
    assert len(left) == 3
    assert {m["status"] for m in left} == {"Deleted"}
    assert {r["status"] for m in left for r in m["backupStorageRefs"]} == {"Deleted"}


def test_full_backup_has_no_dependents(simulator_client: httpx.Client) -> None:
    headers = login(simulator_client)
    older = _backup(simulator_client, headers)
    _backup(simulator_client, headers, mode="full")
    _delete(simulator_client, headers, f"vm-backups/{older}", handleDependency="true")
    assert group_members(simulator_client, headers, older) == []


def test_group_with_two_roots_cannot_be_deleted_as_a_vm_backup(simulator_client: httpx.Client) -> None:
    headers = login(simulator_client)
    group = _backup(simulator_client, headers)
    create_and_wait(simulator_client, headers, resourceUuid=group)
    result = _delete(simulator_client, headers, f"vm-backups/{group}")
    assert result.status_code == 503
    assert result.json()["error"]["code"] == "SYS.1006"
    assert "Multiple root volumes found within group uuid" in result.json()["error"]["details"]
    members = group_members(simulator_client, headers, group)
    assert len(members) == 6, "the refused delete left both sets of three members"
    for member in members:
        assert _delete(simulator_client, headers, f"volume-backups/{member['uuid']}").status_code == 200
    assert group_members(simulator_client, headers, group) == []


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"deleteMode": "Eventually"}, "SYS.1007"),
        ({"backupStorageUuids": ["f" * 32]}, "SYS.1003"),
        ({"backupStorageUuids.0": "f" * 32}, "SYS.1003"),
    ],
)
def test_delete_parameters_are_validated_on_the_poll(
    simulator_client: httpx.Client, params: dict[str, str | list[str]], code: str
) -> None:
    headers = login(simulator_client)
    group = _backup(simulator_client, headers)
    result = _delete(simulator_client, headers, f"vm-backups/{group}", **params)
    assert (result.status_code, result.json()["error"]["code"]) == (503, code)
    assert len(group_members(simulator_client, headers, group)) == 3


def test_handle_dependency_must_be_a_boolean(simulator_client: httpx.Client) -> None:
    response = simulator_client.delete(
        f"/zstack/v1/vm-backups/{uuid.uuid4().hex}",
        headers=login(simulator_client),
        params={"handleDependency": "maybe"},
    )
    assert (response.status_code, response.text) == (
        400,
        "[handleDependency] field is excepted a boolean, but was [maybe].",
    )


def test_backup_storage_list_limits_what_is_deleted(simulator_client: httpx.Client) -> None:
    headers = login(simulator_client)
    group = _backup(simulator_client, headers)
    elsewhere = _delete(simulator_client, headers, f"vm-backups/{group}", backupStorageUuids=[s.CEPH_BS_UUID])
    assert elsewhere.status_code == 200
    assert {m["status"] for m in group_members(simulator_client, headers, group)} == {"Ready"}
    here = _delete(
        simulator_client,
        headers,
        f"vm-backups/{group}",
        backupStorageUuids=[s.CEPH_BS_UUID, s.IMAGESTORE_BS_UUID],
    )
    assert here.status_code == 200
    assert group_members(simulator_client, headers, group) == []


def test_delete_volume_backup(simulator_client: httpx.Client) -> None:
    headers = login(simulator_client)
    group = _backup(simulator_client, headers)
    root = next(m for m in group_members(simulator_client, headers, group) if m["type"] == "Root")
    result = _delete(simulator_client, headers, f"volume-backups/{root['uuid']}")
    assert (result.status_code, result.json()) == (200, {})
    assert {m["type"] for m in group_members(simulator_client, headers, group)} == {"Data"}
    missing = _delete(simulator_client, headers, f"volume-backups/{root['uuid']}")
    assert (missing.status_code, missing.json()["error"]["code"]) == (503, "SYS.1003")
    remaining = _delete(simulator_client, headers, f"vm-backups/{group}")
    assert (remaining.status_code, remaining.json()["error"]["code"]) == (503, "SYS.1006")


def test_member_failure_fails_delete_volume_backup(
    simulator: RunningSimulator, simulator_client: httpx.Client
) -> None:
    headers = login(simulator_client)
    group = _backup(simulator_client, headers)
    member = group_members(simulator_client, headers, group)[0]
    simulator.simulator.faults.fail_member_delete(count=1)
    failed = _delete(simulator_client, headers, f"volume-backups/{member['uuid']}")
    assert (failed.status_code, failed.json()["error"]["code"]) == (503, "SYS.1006")
    assert _delete(simulator_client, headers, f"volume-backups/{member['uuid']}").status_code == 200
