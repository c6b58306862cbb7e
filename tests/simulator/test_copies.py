"""SyncVmBackupFromImageStoreBackupStorage over HTTP: offsite copies of a VM backup group."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from zstack_simulator import RunningSimulator
from zstack_simulator import seed as s

from tests.simulator._scheduling import call, error_of, query
from tests.simulator._support import create_and_wait, create_backup, login, poll

pytestmark = pytest.mark.integration


@pytest.fixture
def headers(simulator_client: httpx.Client) -> dict[str, str]:
    return login(simulator_client)


def _group(client: httpx.Client, headers: dict[str, str]) -> str:
    group = uuid.uuid4().hex
    assert create_and_wait(client, headers, resourceUuid=group).status_code == 200
    return group


def _sync(
    client: httpx.Client,
    headers: dict[str, str],
    group: str,
    source: str = s.IMAGESTORE_BS_UUID,
    destination: str = s.REMOTE_IMAGESTORE_BS_UUID,
) -> httpx.Response:
    arguments = {"srcBackupStorageUuid": source, "dstBackupStorageUuid": destination}
    body = {"syncVmBackupFromImageStoreBackupStorage": arguments}
    return call(client, headers, "PUT", f"vm-backups/{group}/actions", body)


def _refs(backup: dict[str, Any]) -> dict[str, str]:
    return {r["backupStorageUuid"]: r["status"] for r in backup["backupStorageRefs"]}


def test_a_group_is_copied_to_another_imagestore(
    simulator_client: httpx.Client, headers: dict[str, str]
) -> None:
    group = _group(simulator_client, headers)
    synced = _sync(simulator_client, headers, group)
    assert synced.status_code == 200, synced.text
    inventories = synced.json()["inventories"]
    assert len(inventories) == 3
    both = {s.IMAGESTORE_BS_UUID: "Ready", s.REMOTE_IMAGESTORE_BS_UUID: "Ready"}
    assert all(_refs(b) == both for b in inventories)
    offsite = query(
        simulator_client, headers, "volume-backups", f"groupUuid={group}",
        f"backupStorageRef.backupStorageUuid={s.REMOTE_IMAGESTORE_BS_UUID}",
    )  # fmt: skip
    assert len(offsite) == 3
    # Syncing again changes nothing and still succeeds.
    assert _sync(simulator_client, headers, group).status_code == 200


def test_deleting_the_copy_keeps_the_original(
    simulator_client: httpx.Client, headers: dict[str, str]
) -> None:
    group = _group(simulator_client, headers)
    assert _sync(simulator_client, headers, group).status_code == 200
    assert (
        call(
            simulator_client,
            headers,
            "DELETE",
            f"vm-backups/{group}",
            backupStorageUuids=s.REMOTE_IMAGESTORE_BS_UUID,
        ).status_code
        == 200
    )
    members = query(simulator_client, headers, "volume-backups", f"groupUuid={group}")
    assert [_refs(b) for b in members] == [{s.IMAGESTORE_BS_UUID: "Ready"}] * 3


def test_a_copy_can_be_synced_back(simulator_client: httpx.Client, headers: dict[str, str]) -> None:
    group = _group(simulator_client, headers)
    assert _sync(simulator_client, headers, group).status_code == 200
    assert (
        call(
            simulator_client,
            headers,
            "DELETE",
            f"vm-backups/{group}",
            backupStorageUuids=s.IMAGESTORE_BS_UUID,
        ).status_code
        == 200
    )
    back = _sync(
        simulator_client, headers, group, source=s.REMOTE_IMAGESTORE_BS_UUID, destination=s.IMAGESTORE_BS_UUID
    )
    assert back.status_code == 200, back.text
    assert all(
        set(_refs(b)) == {s.IMAGESTORE_BS_UUID, s.REMOTE_IMAGESTORE_BS_UUID}
        for b in back.json()["inventories"]
    )


@pytest.mark.parametrize(
    ("source", "destination", "code", "details"),
    [
        (
            s.IMAGESTORE_BS_UUID,
            s.DISABLED_IMAGESTORE_BS_UUID,
            "SYS.1006",
            "current backup storage state[Disabled]",
        ),
        (
            s.IMAGESTORE_BS_UUID,
            s.CEPH_BS_UUID,
            "SYS.1006",
            f"Unexpected backup storage[type:Ceph,uuid:{s.CEPH_BS_UUID}]",
        ),
        (
            s.IMAGESTORE_BS_UUID,
            "missing",
            "SYS.1003",
            "invalid field[dstBackupStorageUuid], resource[uuid:missing",
        ),
        ("missing", s.REMOTE_IMAGESTORE_BS_UUID, "SYS.1003", "invalid field[srcBackupStorageUuid]"),
        (s.REMOTE_IMAGESTORE_BS_UUID, s.IMAGESTORE_BS_UUID, "SYS.1006", "not found in backup storage"),
    ],
)
def test_sync_refusals(
    simulator_client: httpx.Client,
    headers: dict[str, str],
    source: str,
    destination: str,
    code: str,
    details: str,
) -> None:
    group = _group(simulator_client, headers)
    found = error_of(_sync(simulator_client, headers, group, source, destination))
    assert found[0] == code
    assert details in found[1]
    assert all(len(b["backupStorageRefs"]) == 1 for b in query(simulator_client, headers, "volume-backups"))


def test_an_unknown_group_is_refused(simulator_client: httpx.Client, headers: dict[str, str]) -> None:
    assert error_of(_sync(simulator_client, headers, "nope")) == (
        "SYS.1003",
        "No volume backups found with group uuid: nope",
    )


def test_a_group_still_being_written_cannot_be_copied(
    simulator: RunningSimulator, simulator_client: httpx.Client, headers: dict[str, str]
) -> None:
    simulator.simulator.faults.job_duration(polls=1000, seconds=1000, method="POST", count=1)
    group = uuid.uuid4().hex
    assert create_backup(simulator_client, headers, resourceUuid=group).status_code == 202
    assert error_of(_sync(simulator_client, headers, group))[0] == "SYS.1006"


def test_the_body_must_name_the_action(simulator_client: httpx.Client, headers: dict[str, str]) -> None:
    group = _group(simulator_client, headers)
    refused = simulator_client.put(
        f"/zstack/v1/vm-backups/{group}/actions", headers=headers, json={"revertVmFromVmBackup": {}}
    )
    assert refused.status_code == 400
    assert (
        refused.text == f"the body doesn't contain action mapping to the URL[/v1/vm-backups/{group}/actions]"
    )


def test_a_failed_copy_is_rolled_back(
    simulator: RunningSimulator, simulator_client: httpx.Client, headers: dict[str, str]
) -> None:
    group = _group(simulator_client, headers)
    faults = simulator.simulator.faults
    faults.fail_job(method="PUT", path="/zstack/v1/vm-backups/*/actions", count=1)
    faults.job_duration(polls=2, method="PUT", path="/zstack/v1/vm-backups/*/actions", count=1)
    arguments = {
        "srcBackupStorageUuid": s.IMAGESTORE_BS_UUID,
        "dstBackupStorageUuid": s.REMOTE_IMAGESTORE_BS_UUID,
    }
    body = {"syncVmBackupFromImageStoreBackupStorage": arguments}
    submitted = simulator_client.put(f"/zstack/v1/vm-backups/{group}/actions", headers=headers, json=body)
    assert submitted.json()["apiTimeout"] == 24 * 3600 * 1000
    running = query(simulator_client, headers, "volume-backups", f"groupUuid={group}")
    assert all(_refs(b)[s.REMOTE_IMAGESTORE_BS_UUID] == "Creating" for b in running)
    assert error_of(poll(simulator_client, submitted.json()["location"]))[0] == "SYS.1006"
    members = query(simulator_client, headers, "volume-backups", f"groupUuid={group}")
    assert all(set(_refs(b)) == {s.IMAGESTORE_BS_UUID} for b in members)


def test_a_copy_lost_out_of_band_leaves_the_group_on_its_first_store(
    simulator_client: httpx.Client, headers: dict[str, str]
) -> None:
    group = _group(simulator_client, headers)
    assert _sync(simulator_client, headers, group).status_code == 200
    removed = simulator_client.delete(
        f"/_simulator/backup-groups/{group}/copies/{s.REMOTE_IMAGESTORE_BS_UUID}"
    )
    assert removed.json() == {"deleted": 3}
    members = query(simulator_client, headers, "volume-backups", f"groupUuid={group}")
    assert [_refs(b) for b in members] == [{s.IMAGESTORE_BS_UUID: "Ready"}] * 3
    assert all(b["status"] == "Ready" for b in members)
