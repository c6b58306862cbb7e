"""Queries over HTTP: volume backups, VMs, volumes and backup storages with the ZStack query language."""

from __future__ import annotations

import uuid

import httpx
import pytest
from zstack_simulator import RunningSimulator
from zstack_simulator import seed as s

from tests.simulator._support import create_and_wait, login, query

pytestmark = pytest.mark.integration


@pytest.fixture
def headers(simulator_client: httpx.Client) -> dict[str, str]:
    return login(simulator_client)


def test_empty_result_is_an_empty_list_with_a_schema(
    simulator_client: httpx.Client, headers: dict[str, str]
) -> None:
    assert query(simulator_client, headers, "volume-backups") == {"inventories": [], "schema": {}}


def test_volume_backup_conditions(simulator_client: httpx.Client, headers: dict[str, str]) -> None:
    group = uuid.uuid4().hex
    create_and_wait(simulator_client, headers, resourceUuid=group, name="alpha")
    create_and_wait(simulator_client, headers, root=s.PAUSED_VM_ROOT_VOLUME_UUID, name="beta")

    def count(*conditions: str) -> int:
        return len(query(simulator_client, headers, "volume-backups", *conditions)["inventories"])

    assert count(f"groupUuid={group}") == 3
    assert count(f"groupUuid={group}", "type=Root") == 1
    assert count(f"groupUuid!={group}") == 2
    assert count("name~=alpha-%") == 3
    assert count("name!~=alpha-%") == 2
    assert count(f"vmInstanceUuid?={s.RUNNING_VM_UUID},{s.PAUSED_VM_UUID}") == 5
    assert count(f"volumeUuid!?={s.RUNNING_VM_ROOT_VOLUME_UUID}") == 4
    assert count("status=Ready", "state=Enabled", "mode=auto") == 5
    assert count("size>0") == 5
    assert count("description is null") == 5
    assert count("description not null") == 0
    assert count(f"backupStorage.uuid={s.IMAGESTORE_BS_UUID}") == 5
    assert count(f"backupStorageRef.backupStorageUuid={s.CEPH_BS_UUID}") == 0


def test_paging_sorting_counting_and_fields(simulator_client: httpx.Client, headers: dict[str, str]) -> None:
    create_and_wait(simulator_client, headers)
    sizes = [
        b["size"] for b in query(simulator_client, headers, "volume-backups", sort="-size")["inventories"]
    ]
    assert sizes == sorted(sizes, reverse=True)
    ascending = query(simulator_client, headers, "volume-backups", sort="+size")["inventories"]
    assert [b["size"] for b in ascending] == sorted(sizes)
    page = query(
        simulator_client, headers, "volume-backups", sort="size", limit="1", start="1", replyWithCount="true"
    )
    assert page["total"] == 3
    assert [b["uuid"] for b in page["inventories"]] == [ascending[1]["uuid"]]
    counted = query(simulator_client, headers, "volume-backups", count="true")
    assert counted == {"total": 3, "schema": {}}
    projected = query(simulator_client, headers, "volume-backups", fields="uuid,type")["inventories"]
    assert {tuple(sorted(b)) for b in projected} == {("type", "uuid")}


def test_get_by_uuid_ignores_every_other_parameter(
    simulator_client: httpx.Client, headers: dict[str, str]
) -> None:
    member = create_and_wait(simulator_client, headers).json()["inventories"][0]
    response = simulator_client.get(
        f"/zstack/v1/volume-backups/{member['uuid']}",
        headers=headers,
        params={"limit": "not-a-number", "q": "no operator"},
    )
    assert response.status_code == 200
    assert [b["uuid"] for b in response.json()["inventories"]] == [member["uuid"]]
    missing = simulator_client.get(f"/zstack/v1/volume-backups/{uuid.uuid4().hex}", headers=headers)
    assert (missing.status_code, missing.json()["inventories"]) == (200, [])


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ({"q": "name"}, "The 'name' in the parameter[q] doesn't contain any query operator"),
        ({"limit": "many"}, "Invalid query parameter. 'limit' must be an integer"),
        ({"start": "x"}, "Invalid query parameter. 'start' must be an integer"),
        ({"fields": ","}, "'fields' contains zero field"),
    ],
)
def test_malformed_queries_are_plain_text_400(
    simulator_client: httpx.Client, headers: dict[str, str], params: dict[str, str], text: str
) -> None:
    response = simulator_client.get("/zstack/v1/volume-backups", headers=headers, params=params)
    assert response.status_code == 400
    assert response.text.startswith(text)
    assert response.headers["content-type"].startswith("text/plain")


def test_unknown_field_is_a_503(simulator_client: httpx.Client, headers: dict[str, str]) -> None:
    response = simulator_client.get("/zstack/v1/volume-backups", headers=headers, params={"q": "name=a>=b"})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "SYS.1007"


def test_unknown_query_parameters_are_ignored(
    simulator_client: httpx.Client, headers: dict[str, str]
) -> None:
    body = query(
        simulator_client, headers, "vm-instances", sortBy="name", sortDirection="desc", groupBy="state"
    )
    assert len(body["inventories"]) == 5


def test_vm_instances(simulator_client: httpx.Client, headers: dict[str, str]) -> None:
    vm = query(simulator_client, headers, f"vm-instances/{s.RUNNING_VM_UUID}")["inventories"][0]
    assert (vm["name"], vm["state"], vm["rootVolumeUuid"]) == (
        "web-01",
        "Running",
        s.RUNNING_VM_ROOT_VOLUME_UUID,
    )
    assert {v["uuid"] for v in vm["allVolumes"]} == {
        s.RUNNING_VM_ROOT_VOLUME_UUID,
        *s.RUNNING_VM_DATA_VOLUME_UUIDS,
        s.RUNNING_VM_SHARED_VOLUME_UUID,
    }
    states = {v["uuid"]: v["state"] for v in query(simulator_client, headers, "vm-instances")["inventories"]}
    assert states == {
        s.RUNNING_VM_UUID: "Running",
        s.PAUSED_VM_UUID: "Paused",
        s.STOPPED_VM_UUID: "Stopped",
        s.ROOT_ONLY_VM_UUID: "Running",
        s.STARTING_VM_UUID: "Starting",
    }
    by_volume = query(
        simulator_client, headers, "vm-instances", f"allVolumes.uuid={s.PAUSED_VM_DATA_VOLUME_UUID}"
    )
    assert [v["uuid"] for v in by_volume["inventories"]] == [s.PAUSED_VM_UUID]
    by_ip = query(simulator_client, headers, "vm-instances", "vmNics.ip=192.168.100.13")
    assert [v["uuid"] for v in by_ip["inventories"]] == [s.STOPPED_VM_UUID]


def test_volumes(simulator_client: httpx.Client, headers: dict[str, str]) -> None:
    roots = query(simulator_client, headers, "volumes", f"vmInstanceUuid={s.RUNNING_VM_UUID}", "type=Root")
    assert [v["uuid"] for v in roots["inventories"]] == [s.RUNNING_VM_ROOT_VOLUME_UUID]
    shared = query(simulator_client, headers, "volumes", "isShareable=true")["inventories"]
    assert [v["uuid"] for v in shared] == [s.RUNNING_VM_SHARED_VOLUME_UUID]
    detached = query(simulator_client, headers, "volumes", "vmInstanceUuid is null")["inventories"]
    assert {v["uuid"] for v in detached} == {s.DETACHED_DATA_VOLUME_UUID, s.ORPHAN_ROOT_VOLUME_UUID}
    one = query(simulator_client, headers, f"volumes/{s.PAUSED_VM_DATA_VOLUME_UUID}")["inventories"][0]
    assert (one["type"], one["isShareable"], one["size"]) == ("Data", False, 500 * 1024**3)


def test_backup_storages(simulator_client: httpx.Client, headers: dict[str, str]) -> None:
    storages = {b["uuid"]: b for b in query(simulator_client, headers, "backup-storage")["inventories"]}
    assert sorted((b["type"], b["state"]) for b in storages.values()) == [
        ("Ceph", "Enabled"),
        ("ImageStoreBackupStorage", "Disabled"),
        ("ImageStoreBackupStorage", "Enabled"),
        ("ImageStoreBackupStorage", "Enabled"),
        ("SftpBackupStorage", "Enabled"),
    ]
    usable = query(
        simulator_client,
        headers,
        "backup-storage",
        "type=ImageStoreBackupStorage",
        "state=Enabled",
        "status=Connected",
    )["inventories"]
    assert {b["uuid"] for b in usable} == {s.IMAGESTORE_BS_UUID, s.REMOTE_IMAGESTORE_BS_UUID}
    assert (
        storages[s.IMAGESTORE_BS_UUID]["availableCapacity"] <= storages[s.IMAGESTORE_BS_UUID]["totalCapacity"]
    )


def test_e_notation_switch(
    simulator: RunningSimulator, simulator_client: httpx.Client, headers: dict[str, str]
) -> None:
    simulator.simulator.settings.e_notation = True
    response = simulator_client.get(f"/zstack/v1/volumes/{s.RUNNING_VM_ROOT_VOLUME_UUID}", headers=headers)
    assert '"size":4.294967296E10' in response.text
    assert '"deviceId":0.0' in response.text
    assert response.json()["inventories"][0]["size"] == 40 * 1024**3
