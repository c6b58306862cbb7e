"""CreateVmFromVmBackup, DestroyVmInstance and ExpungeVmInstance over real HTTP."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from zstack_simulator import RunningSimulator, Settings, Simulator, StateData
from zstack_simulator import seed as s
from zstack_simulator.seed import default_seed

from tests.fixtures.simulator import ServeSimulator
from tests.simulator._support import (
    create_and_wait,
    create_backup,
    group_members,
    job_path,
    location_path,
    login,
    poll,
    query,
)

pytestmark = pytest.mark.integration

VM_INSTANCES = "/zstack/v1/vm-instances"


def restore(
    client: httpx.Client,
    headers: dict[str, str],
    group: str,
    *,
    body: dict[str, Any] | None = None,
    **params: Any,
) -> httpx.Response:
    """POST CreateVmFromVmBackup with an instance offering and the isolated network unless told otherwise."""
    defaults = {
        "name": "restored",
        "instanceOfferingUuid": s.INSTANCE_OFFERING_UUID,
        "l3NetworkUuids": [s.ISOLATED_L3_NETWORK_UUID],
    }
    payload = body if body is not None else {"params": {k: v for k, v in (defaults | params).items() if v}}
    return client.post(f"{VM_INSTANCES}/from/vm-backups/{group}", headers=headers, json=payload)


def restore_and_wait(
    client: httpx.Client, headers: dict[str, str], group: str, **params: Any
) -> httpx.Response:
    submitted = restore(client, headers, group, **params)
    assert submitted.status_code == 202, submitted.text
    return poll(client, submitted.json()["location"])


def ready_group(
    client: httpx.Client, headers: dict[str, str], root: str = s.RUNNING_VM_ROOT_VOLUME_UUID
) -> str:
    group = uuid.uuid4().hex
    assert create_and_wait(client, headers, root=root, resourceUuid=group).status_code == 200
    return group


def vm_by_uuid(client: httpx.Client, headers: dict[str, str], vm_uuid: str) -> dict[str, Any] | None:
    found = client.get(f"{VM_INSTANCES}/{vm_uuid}", headers=headers).json()["inventories"]
    return found[0] if found else None


def field_of(client: httpx.Client, headers: dict[str, str], vm_uuid: str, name: str) -> Any:
    """One field of a VM's inventory; None when the VM is gone."""
    vm = vm_by_uuid(client, headers, vm_uuid)
    return vm.get(name) if vm is not None else None


def destroy(
    client: httpx.Client, headers: dict[str, str], vm_uuid: str, **query_params: str
) -> httpx.Response:
    submitted = client.delete(f"{VM_INSTANCES}/{vm_uuid}", headers=headers, params=query_params)
    assert submitted.status_code == 202, submitted.text
    return poll(client, submitted.json()["location"])


def expunge(client: httpx.Client, headers: dict[str, str], vm_uuid: str) -> httpx.Response:
    submitted = client.put(
        f"{VM_INSTANCES}/{vm_uuid}/actions", headers=headers, json={"expungeVmInstance": {}}
    )
    assert submitted.status_code == 202, submitted.text
    return poll(client, submitted.json()["location"])


def test_a_ready_group_becomes_a_running_vm(simulator_client: httpx.Client) -> None:
    headers = login(simulator_client)
    group = ready_group(simulator_client, headers)
    members = {m["volumeUuid"]: m for m in group_members(simulator_client, headers, group)}
    vm_uuid = uuid.uuid4().hex
    result = restore_and_wait(
        simulator_client,
        headers,
        group,
        resourceUuid=vm_uuid,
        description="restore drill",
        l3NetworkUuids=[s.ISOLATED_L3_NETWORK_UUID, s.L3_NETWORK_UUID],
    )
    assert result.status_code == 200, result.text
    vm = result.json()["inventory"]
    assert (vm["uuid"], vm["name"], vm["description"], vm["state"]) == (
        vm_uuid,
        "restored",
        "restore drill",
        "Running",
    )
    assert (vm["hostUuid"], vm["clusterUuid"], vm["zoneUuid"]) == (s.HOST_UUID, s.CLUSTER_UUID, s.ZONE_UUID)
    assert (vm["instanceOfferingUuid"], vm["cpuNum"], vm["memorySize"]) == (
        s.INSTANCE_OFFERING_UUID,
        2,
        2 * 1024**3,
    )
    assert vm["defaultL3NetworkUuid"] == s.ISOLATED_L3_NETWORK_UUID
    assert "__systemTag__" not in vm
    isolated, production = sorted(vm["vmNics"], key=lambda n: n["deviceId"])
    assert (isolated["l3NetworkUuid"], isolated["ip"], isolated["gateway"]) == (
        s.ISOLATED_L3_NETWORK_UUID,
        "10.99.0.10",
        "10.99.0.1",
    )
    # The seed VMs hold 192.168.100.11 to .15; the restored VM gets a free address, not theirs.
    assert (production["l3NetworkUuid"], production["ip"]) == (s.L3_NETWORK_UUID, "192.168.100.10")
    assert isolated["mac"] != production["mac"]
    volumes = {v["uuid"]: v for v in vm["allVolumes"]}
    assert len(volumes) == len(members) == 3
    assert not set(volumes) & set(members), "restored volumes get new uuids"
    root = volumes[vm["rootVolumeUuid"]]
    assert (root["type"], root["deviceId"], root["name"]) == ("Root", 0, "ROOT-for-restored")
    assert root["size"] == json.loads(members[s.RUNNING_VM_ROOT_VOLUME_UUID]["metadata"])["size"]
    data = sorted((v for v in volumes.values() if v["type"] == "Data"), key=lambda v: v["deviceId"])
    expected = [json.loads(members[u]["metadata"])["size"] for u in s.RUNNING_VM_DATA_VOLUME_UUIDS]
    assert [(v["deviceId"], v["size"]) for v in data] == [(1, expected[0]), (2, expected[1])]
    assert {v["vmInstanceUuid"] for v in volumes.values()} == {vm_uuid}
    assert vm_by_uuid(simulator_client, headers, vm_uuid) == vm


def test_volumes_go_to_the_primary_storages_asked_for(simulator_client: httpx.Client) -> None:
    headers = login(simulator_client)
    group = ready_group(simulator_client, headers)
    vm = restore_and_wait(
        simulator_client,
        headers,
        group,
        primaryStorageUuidForRootVolume=s.SECOND_PRIMARY_STORAGE_UUID,
        primaryStorageUuidForDataVolume=s.PRIMARY_STORAGE_UUID,
    ).json()["inventory"]
    placed = {(v["type"], v["primaryStorageUuid"]) for v in vm["allVolumes"]}
    assert placed == {("Root", s.SECOND_PRIMARY_STORAGE_UUID), ("Data", s.PRIMARY_STORAGE_UUID)}


def test_cpu_and_memory_instead_of_an_offering(simulator_client: httpx.Client) -> None:
    headers = login(simulator_client)
    group = ready_group(simulator_client, headers, root=s.ROOT_ONLY_VM_ROOT_VOLUME_UUID)
    result = restore_and_wait(
        simulator_client, headers, group, instanceOfferingUuid=None, cpuNum=4, memorySize=8 * 1024**3
    )
    vm = result.json()["inventory"]
    assert (vm["cpuNum"], vm["memorySize"]) == (4, 8 * 1024**3)
    assert "instanceOfferingUuid" not in vm
    assert [v["type"] for v in vm["allVolumes"]] == ["Root"]


def test_two_restores_on_one_network_get_different_addresses(simulator_client: httpx.Client) -> None:
    headers = login(simulator_client)
    group = ready_group(simulator_client, headers)
    first = restore_and_wait(simulator_client, headers, group, name="first").json()["inventory"]
    second = restore_and_wait(simulator_client, headers, group, name="second").json()["inventory"]
    assert [first["vmNics"][0]["ip"], second["vmNics"][0]["ip"]] == ["10.99.0.10", "10.99.0.11"]


@pytest.mark.parametrize(
    ("strategy", "while_running", "final", "on_host"),
    [
        (None, "Starting", "Running", True),
        ("InstantStart", "Starting", "Running", True),
        ("CreateStopped", "Starting", "Stopped", False),
        ("JustCreate", "Created", "Created", False),
    ],
)
def test_the_vm_appears_half_way_and_ends_in_the_strategy_state(
    simulator: RunningSimulator,
    simulator_client: httpx.Client,
    strategy: str | None,
    while_running: str,
    final: str,
    on_host: bool,
) -> None:
    headers = login(simulator_client)
    group = ready_group(simulator_client, headers)
    simulator.simulator.settings.job_seconds = None
    simulator.simulator.settings.job_polls = 4
    vm_uuid = uuid.uuid4().hex
    job = location_path(
        restore(simulator_client, headers, group, resourceUuid=vm_uuid, strategy=strategy).json()["location"]
    )
    assert simulator_client.get(job).status_code == 202
    assert vm_by_uuid(simulator_client, headers, vm_uuid) is None, "no VM while the images are being made"
    assert simulator_client.get(job).status_code == 202
    midway = vm_by_uuid(simulator_client, headers, vm_uuid)
    assert midway is not None
    assert midway["state"] == while_running
    assert [simulator_client.get(job).status_code for _ in range(2)] == [202, 200]
    vm = vm_by_uuid(simulator_client, headers, vm_uuid)
    assert vm is not None
    assert vm["state"] == final
    assert ("hostUuid" in vm) is on_host
    if strategy == "JustCreate":
        # The volumes and NICs of a JustCreate VM are only made when it first starts.
        assert (vm["allVolumes"], vm["vmNics"], vm.get("rootVolumeUuid")) == ([], [], None)
    else:
        assert vm["lastHostUuid"] == s.HOST_UUID
        assert len(vm["allVolumes"]) == 3
        assert len(vm["vmNics"]) == 1


def error_of(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 503, answer.text
    error: dict[str, Any] = answer.json()["error"]
    return error


@pytest.mark.parametrize(
    ("params", "code", "details"),
    [
        (
            {"name": None},
            "SYS.1007",
            "field[name] of message[org.zstack.header.storage.volume.backup."
            "APICreateVmFromVmBackupMsg] is mandatory, can not be null",
        ),
        (
            {"name": "x" * 256},
            "SYS.1007",
            "exceeds max length of string. expected was <= 255, actual was 256",
        ),
        (
            {"strategy": "StartLater"},
            "SYS.1007",
            "are [InstantStart, JustCreate, CreateStopped], but StartLater found",
        ),
        ({"type": "Container"}, "SYS.1007", "are [UserVm, ApplianceVm], but Container found"),
        ({"resourceUuid": "not-a-uuid"}, "SYS.1007", "resourceUuid[not-a-uuid] is not a valid uuid"),
        (
            {"reservedMemorySize": -1, "instanceOfferingUuid": None, "cpuNum": 1, "memorySize": 1024},
            "SYS.1007",
            "must be in range of [0, 9223372036854775807], but -1 found",
        ),
        (
            {"instanceOfferingUuid": "e0000000000040008000000000000fff"},
            "SYS.1003",
            "invalid field[instanceOfferingUuid], resource[uuid:e0000000000040008000000000000fff, "
            "type:InstanceOfferingVO] not found",
        ),
        (
            {"l3NetworkUuids": ["e0000000000040008000000000000ffe"]},
            "SYS.1003",
            "invalid field[l3NetworkUuids], resource[uuid:e0000000000040008000000000000ffe, "
            "type:L3NetworkVO] not found",
        ),
        (
            {"backupStorageUuid": "30000000000040008000000000000fff"},
            "SYS.1003",
            "type:BackupStorageVO] not found",
        ),
        ({"hostUuid": "e0000000000040008000000000000ffd"}, "SYS.1003", "type:HostVO] not found"),
        (
            {"primaryStorageUuidForDataVolume": "e0000000000040008000000000000ffc"},
            "SYS.1003",
            "type:PrimaryStorageVO] not found",
        ),
        (
            {"instanceOfferingUuid": None},
            "SYS.1006",
            "instanceOfferingUuid or cpuNum and memorySize must be set",
        ),
        (
            {"instanceOfferingUuid": None, "cpuNum": 2},
            "SYS.1006",
            "instanceOfferingUuid or cpuNum and memorySize must be set",
        ),
        (
            {"l3NetworkUuids": [s.NO_IP_RANGE_L3_NETWORK_UUID]},
            "SYS.1006",
            f"there is no available ipRange on L3 network [{s.NO_IP_RANGE_L3_NETWORK_UUID}]",
        ),
        (
            {"l3NetworkUuids": None},
            "SYS.1006",
            "could not create vm, because at least one of field "
            "(l3NetworkUuids,zoneUuid,clusterUuid,hostUuid) should be set",
        ),
    ],
)
def test_invalid_requests_are_refused_on_the_poll(
    simulator: RunningSimulator,
    simulator_client: httpx.Client,
    params: dict[str, Any],
    code: str,
    details: str,
) -> None:
    headers = login(simulator_client)
    group = ready_group(simulator_client, headers)
    before = len(simulator.simulator.jobs())
    error = error_of(restore_and_wait(simulator_client, headers, group, **params))
    assert error["code"] == code
    assert details in error["details"]
    assert len(simulator.simulator.jobs()) == before + 1
    assert len(query(simulator_client, headers, "vm-instances")["inventories"]) == 5, "only the seed VMs"


def test_a_placement_by_zone_alone_makes_a_vm_without_nics(simulator_client: httpx.Client) -> None:
    headers = login(simulator_client)
    group = ready_group(simulator_client, headers)
    vm = restore_and_wait(simulator_client, headers, group, l3NetworkUuids=None, zoneUuid=s.ZONE_UUID).json()[
        "inventory"
    ]
    assert (vm["state"], vm["vmNics"], vm.get("defaultL3NetworkUuid")) == ("Running", [], None)


def test_a_missing_group_is_not_found(simulator_client: httpx.Client) -> None:
    headers = login(simulator_client)
    group = uuid.uuid4().hex
    error = error_of(restore_and_wait(simulator_client, headers, group))
    assert error == {
        "code": "SYS.1003",
        "description": "A resource can not be found",
        "details": f"No volume backups found with group uuid: {group}",
    }


def test_a_group_without_its_root_member_is_refused(
    simulator: RunningSimulator, simulator_client: httpx.Client
) -> None:
    headers = login(simulator_client)
    group = ready_group(simulator_client, headers)
    members = group_members(simulator_client, headers, group)
    root = next(m for m in members if m["type"] == "Root")
    assert simulator_client.delete(f"/_simulator/backups/{root['uuid']}").status_code == 200
    first_left = next(b["uuid"] for b in simulator.simulator.backups() if b["groupUuid"] == group)
    error = error_of(restore_and_wait(simulator_client, headers, group))
    # The server names the group by its first member's uuid in this message.
    assert (error["code"], error["details"]) == (
        "SYS.1006",
        f"Root volume missing within group uuid: {first_left}",
    )


def test_a_group_with_two_roots_is_refused(simulator_client: httpx.Client) -> None:
    headers = login(simulator_client)
    group = ready_group(simulator_client, headers)
    assert create_and_wait(simulator_client, headers, resourceUuid=group).status_code == 200
    error = error_of(restore_and_wait(simulator_client, headers, group))
    assert error["code"] == "SYS.1006"
    assert error["details"].startswith("Multiple root volumes found within group uuid: ")


def test_a_group_still_being_made_fails_at_the_end(
    simulator: RunningSimulator, simulator_client: httpx.Client
) -> None:
    headers = login(simulator_client)
    simulator.simulator.settings.job_seconds = None
    simulator.simulator.settings.job_polls = 50
    group = uuid.uuid4().hex
    assert create_backup(simulator_client, headers, resourceUuid=group).status_code == 202
    members = [m["uuid"] for m in group_members(simulator_client, headers, group)]
    simulator.simulator.settings.job_polls = 2
    error = error_of(restore_and_wait(simulator_client, headers, group))
    assert error["code"] == "SYS.1006"
    assert error["details"].startswith("failed to create image from backup [")
    assert sorted(
        error["details"].removeprefix("failed to create image from backup [")[:-1].split(", ")
    ) == sorted(members)
    assert len(query(simulator_client, headers, "vm-instances")["inventories"]) == 5


def test_a_storage_holding_no_copy_fails(simulator_client: httpx.Client) -> None:
    headers = login(simulator_client)
    group = ready_group(simulator_client, headers)
    error = error_of(restore_and_wait(simulator_client, headers, group, backupStorageUuid=s.CEPH_BS_UUID))
    assert error["code"] == "SYS.1006"
    assert error["details"].startswith("failed to create image from backup [")
    ok = restore_and_wait(simulator_client, headers, group, backupStorageUuid=s.IMAGESTORE_BS_UUID)
    assert ok.status_code == 200


def test_a_member_with_no_copy_anywhere_is_an_argument_error(serve_simulator: ServeSimulator) -> None:
    group = uuid.uuid4().hex
    copy = {"backupStorageUuid": s.IMAGESTORE_BS_UUID, "status": "Ready", "createDate": 0, "lastOpDate": 0}
    document = default_seed().model_dump(by_alias=True)
    document["volumeBackups"] = [
        {
            "uuid": f"{group[:-2]}{n:02d}",
            "volumeUuid": volume,
            "name": volume,
            "type": kind,
            "state": "Enabled",
            "status": "Ready",
            "groupUuid": group,
            "backupStorageRefs": refs,
            "createDate": 0,
            "lastOpDate": 0,
        }
        for n, (volume, kind, refs) in enumerate(
            [(s.RUNNING_VM_ROOT_VOLUME_UUID, "Root", [copy]), (s.RUNNING_VM_DATA_VOLUME_UUIDS[0], "Data", [])]
        )
    ]
    running = serve_simulator(Simulator(Settings.fast(), seed=StateData.model_validate(document)))
    with httpx.Client(base_url=running.base_url) as client:
        error = error_of(restore_and_wait(client, login(client), group))
    assert (error["code"], error["details"]) == (
        "SYS.1007",
        f"Volume backup[uuid:{group[:-2]}01] not found on any backup storage",
    )


def test_a_member_deleted_while_the_images_are_made_fails_the_job(
    simulator: RunningSimulator, simulator_client: httpx.Client
) -> None:
    headers = login(simulator_client)
    group = ready_group(simulator_client, headers)
    simulator.simulator.settings.job_seconds = None
    simulator.simulator.settings.job_polls = 4
    vm_uuid = uuid.uuid4().hex
    job = location_path(restore(simulator_client, headers, group, resourceUuid=vm_uuid).json()["location"])
    data_member = next(m for m in group_members(simulator_client, headers, group) if m["type"] == "Data")
    assert simulator_client.delete(f"/_simulator/backups/{data_member['uuid']}").status_code == 200
    answers = [simulator_client.get(job) for _ in range(4)]
    assert [a.status_code for a in answers] == [202, 202, 202, 503]
    assert answers[-1].json()["error"]["details"].startswith("failed to create image from backup [")
    assert vm_by_uuid(simulator_client, headers, vm_uuid) is None


def test_destroy_then_expunge(simulator_client: httpx.Client) -> None:
    headers = login(simulator_client)
    group = ready_group(simulator_client, headers)
    vm = restore_and_wait(simulator_client, headers, group).json()["inventory"]
    root_uuid = vm["rootVolumeUuid"]
    data_uuids = {v["uuid"] for v in vm["allVolumes"] if v["type"] == "Data"}
    destroyed = destroy(simulator_client, headers, vm["uuid"])
    assert (destroyed.status_code, destroyed.json()) == (200, {})
    after = vm_by_uuid(simulator_client, headers, vm["uuid"])
    assert after is not None
    assert after["state"] == "Destroyed"
    assert "hostUuid" not in after
    assert after["lastHostUuid"] == s.HOST_UUID
    assert [(v["uuid"], v["status"]) for v in after["allVolumes"]] == [(root_uuid, "Deleted")]
    detached = query(simulator_client, headers, "volumes", f"lastVmInstanceUuid={vm['uuid']}")["inventories"]
    assert {v["uuid"] for v in detached} == data_uuids
    assert all("vmInstanceUuid" not in v and v["status"] == "Ready" for v in detached)
    expunged = expunge(simulator_client, headers, vm["uuid"])
    assert (expunged.status_code, expunged.json()) == (200, {})
    assert vm_by_uuid(simulator_client, headers, vm["uuid"]) is None
    assert query(simulator_client, headers, "volumes", f"uuid={root_uuid}")["inventories"] == []
    # Data volumes outlive the VM: destroying it only detached them.
    kept = query(simulator_client, headers, "volumes", f"uuid?={','.join(data_uuids)}")["inventories"]
    assert len(kept) == 2


def test_the_vm_tags_stay_while_it_is_destroyed_and_go_when_it_is_expunged(
    simulator_client: httpx.Client,
) -> None:
    """`TagManagerImpl.postDelete`: an expunged VM's row goes with its tags, so a VM made again under the same
    uuid starts without them; a Destroyed VM keeps its row, and its tags."""
    headers = login(simulator_client)
    vm_uuid = restore_and_wait(simulator_client, headers, ready_group(simulator_client, headers)).json()[
        "inventory"
    ]["uuid"]
    tag = {"params": {"resourceType": "VmInstanceVO", "resourceUuid": vm_uuid, "tag": "owner::x"}}
    submitted = simulator_client.post("/zstack/v1/user-tags", headers=headers, json=tag)
    assert poll(simulator_client, submitted.json()["location"]).status_code == 200

    def tags() -> list[str]:
        found = query(simulator_client, headers, "user-tags", f"resourceUuid={vm_uuid}")["inventories"]
        return [t["tag"] for t in found]

    destroy(simulator_client, headers, vm_uuid)
    assert tags() == ["owner::x"]
    expunge(simulator_client, headers, vm_uuid)
    assert tags() == []


def _volume_job(client: httpx.Client, headers: dict[str, str], method: str, volume: str) -> httpx.Response:
    if method == "DELETE":
        submitted = client.delete(f"/zstack/v1/volumes/{volume}", headers=headers)
    else:
        submitted = client.put(
            f"/zstack/v1/volumes/{volume}/actions", headers=headers, json={"expungeDataVolume": {}}
        )
    assert submitted.status_code == 202, submitted.text
    return poll(client, submitted.json()["location"])


def test_a_destroyed_vms_data_volumes_are_deleted_then_expunged(simulator_client: httpx.Client) -> None:
    """DeleteDataVolume (`DELETE /volumes/{uuid}`) puts a volume in the recycle bin; ExpungeDataVolume
    (`PUT /volumes/{uuid}/actions`, `expungeDataVolume`) removes it, and only once deleted."""
    headers = login(simulator_client)
    group = ready_group(simulator_client, headers)
    vm = restore_and_wait(simulator_client, headers, group).json()["inventory"]
    data_uuids = sorted(v["uuid"] for v in vm["allVolumes"] if v["type"] == "Data")
    destroy(simulator_client, headers, vm["uuid"])
    first, *_ = data_uuids

    refused = _volume_job(simulator_client, headers, "PUT", first)
    assert refused.json()["error"]["code"] == "SYS.1006", "a volume not deleted yet is not expunged"
    for volume in data_uuids:
        assert _volume_job(simulator_client, headers, "DELETE", volume).json() == {}
    deleted = query(simulator_client, headers, "volumes", f"uuid?={','.join(data_uuids)}")["inventories"]
    assert {v["status"] for v in deleted} == {"Deleted"}
    for volume in data_uuids:
        assert _volume_job(simulator_client, headers, "PUT", volume).json() == {}

    assert query(simulator_client, headers, "volumes", f"uuid?={','.join(data_uuids)}")["inventories"] == []
    assert _volume_job(simulator_client, headers, "DELETE", first).json() == {}, "a gone volume: success"
    root = query(simulator_client, headers, "volumes", "type=Root")["inventories"][0]["uuid"]
    assert _volume_job(simulator_client, headers, "DELETE", root).json()["error"]["code"] == "SYS.1007"


def test_destroy_passes_through_destroying(
    simulator: RunningSimulator, simulator_client: httpx.Client
) -> None:
    headers = login(simulator_client)
    group = ready_group(simulator_client, headers)
    vm_uuid = restore_and_wait(simulator_client, headers, group).json()["inventory"]["uuid"]
    simulator.simulator.settings.job_seconds = None
    job = location_path(
        simulator_client.delete(f"{VM_INSTANCES}/{vm_uuid}", headers=headers).json()["location"]
    )
    assert field_of(simulator_client, headers, vm_uuid, "state") == "Destroying"
    assert [simulator_client.get(job).status_code for _ in range(2)] == [202, 200]
    assert field_of(simulator_client, headers, vm_uuid, "state") == "Destroyed"


def test_destroying_an_unknown_vm_succeeds(simulator_client: httpx.Client) -> None:
    answer = destroy(simulator_client, login(simulator_client), uuid.uuid4().hex)
    assert (answer.status_code, answer.json()) == (200, {})


def test_a_just_created_vm_is_removed_outright(simulator_client: httpx.Client) -> None:
    headers = login(simulator_client)
    group = ready_group(simulator_client, headers)
    vm_uuid = restore_and_wait(simulator_client, headers, group, strategy="JustCreate").json()["inventory"][
        "uuid"
    ]
    assert destroy(simulator_client, headers, vm_uuid).status_code == 200
    assert vm_by_uuid(simulator_client, headers, vm_uuid) is None


def test_destroy_and_expunge_refusals(simulator_client: httpx.Client) -> None:
    headers = login(simulator_client)
    group = ready_group(simulator_client, headers)
    vm_uuid = restore_and_wait(simulator_client, headers, group).json()["inventory"]["uuid"]
    running = error_of(expunge(simulator_client, headers, vm_uuid))
    assert running["code"] == "VM.1010"
    assert running["details"] == (
        "current vm instance state[Running] doesn't allow to proceed message"
        "[org.zstack.header.vm.APIExpungeVmInstanceMsg], allowed states are [Destroyed]"
    )
    bad_mode = error_of(destroy(simulator_client, headers, vm_uuid, deleteMode="Later"))
    assert bad_mode["code"] == "SYS.1007"
    assert field_of(simulator_client, headers, vm_uuid, "state") == "Running"
    assert destroy(simulator_client, headers, vm_uuid, deleteMode="Enforcing").status_code == 200
    again = error_of(destroy(simulator_client, headers, vm_uuid))
    assert again["code"] == "VM.1010"
    assert "state[Destroyed]" in again["details"]
    unknown = uuid.uuid4().hex
    assert error_of(expunge(simulator_client, headers, unknown))["details"] == (
        f"invalid field[uuid], resource[uuid:{unknown}, type:VmInstanceVO] not found"
    )
    wrong_action = simulator_client.put(
        f"{VM_INSTANCES}/{vm_uuid}/actions", headers=headers, json={"startVm": {}}
    )
    assert (wrong_action.status_code, wrong_action.text) == (
        400,
        f"the body doesn't contain action mapping to the URL[/v1/vm-instances/{vm_uuid}/actions]",
    )


def test_rest_layer_type_errors_are_400(simulator: RunningSimulator, simulator_client: httpx.Client) -> None:
    headers = login(simulator_client)
    answer = restore(simulator_client, headers, uuid.uuid4().hex, cpuNum="two")
    assert (answer.status_code, answer.text) == (
        400,
        "[cpuNum] field is excepted an int or long, but was [two].",
    )
    listed = restore(simulator_client, headers, uuid.uuid4().hex, l3NetworkUuids=s.L3_NETWORK_UUID)
    assert listed.status_code == 400
    assert simulator.simulator.jobs() == []


def test_queries_filter_restored_vms(simulator_client: httpx.Client) -> None:
    headers = login(simulator_client)
    group = ready_group(simulator_client, headers)
    running = restore_and_wait(simulator_client, headers, group, name="drill-a").json()["inventory"]
    stopped = restore_and_wait(
        simulator_client, headers, group, name="drill-b", strategy="CreateStopped"
    ).json()["inventory"]

    def names(*conditions: str) -> list[str]:
        return sorted(
            v["name"] for v in query(simulator_client, headers, "vm-instances", *conditions)["inventories"]
        )

    assert names("name~=drill-%") == ["drill-a", "drill-b"]
    assert names("name~=drill-%", "state=Stopped") == ["drill-b"]
    assert names(f"vmNics.ip={running['vmNics'][0]['ip']}") == ["drill-a"]
    assert names(f"vmNics.l3NetworkUuid={s.ISOLATED_L3_NETWORK_UUID}") == ["drill-a", "drill-b"]
    assert names(f"allVolumes.uuid={stopped['rootVolumeUuid']}") == ["drill-b"]
    assert names(f"rootVolumeUuid={running['rootVolumeUuid']}") == ["drill-a"]
    assert names("state=Running", f"uuid={stopped['uuid']}") == []


def test_placement_resources_are_queryable(simulator_client: httpx.Client) -> None:
    headers = login(simulator_client)
    networks = query(simulator_client, headers, "l3-networks")["inventories"]
    assert {n["uuid"] for n in networks} == {
        s.L3_NETWORK_UUID,
        s.ISOLATED_L3_NETWORK_UUID,
        s.NO_IP_RANGE_L3_NETWORK_UUID,
    }
    [isolated] = query(simulator_client, headers, "l3-networks", "ipRanges.networkCidr=10.99.0.0/24")[
        "inventories"
    ]
    assert (isolated["uuid"], isolated["state"], isolated["system"]) == (
        s.ISOLATED_L3_NETWORK_UUID,
        "Enabled",
        False,
    )
    [offering] = query(simulator_client, headers, f"instance-offerings/{s.INSTANCE_OFFERING_UUID}")[
        "inventories"
    ]
    assert (offering["cpuNum"], offering["memorySize"], offering["state"]) == (2, 2 * 1024**3, "Enabled")
    storages = query(simulator_client, headers, "primary-storage", "state=Enabled")["inventories"]
    assert {p["uuid"] for p in storages} == {s.PRIMARY_STORAGE_UUID, s.SECOND_PRIMARY_STORAGE_UUID}


def test_a_reused_resource_uuid_fails_and_keeps_the_first_vm(simulator_client: httpx.Client) -> None:
    headers = login(simulator_client)
    group = ready_group(simulator_client, headers)
    vm_uuid = uuid.uuid4().hex
    assert restore_and_wait(simulator_client, headers, group, resourceUuid=vm_uuid).status_code == 200
    second = error_of(restore_and_wait(simulator_client, headers, group, resourceUuid=vm_uuid, name="again"))
    assert second["code"] == "SYS.1000"
    first = vm_by_uuid(simulator_client, headers, vm_uuid)
    assert first is not None
    assert (first["name"], first["state"], len(first["allVolumes"])) == (
        "restored",
        "Running",
        3,
    )
    assert len(query(simulator_client, headers, "vm-instances", "name=again")["inventories"]) == 0
    # A destroyed VM still holds its uuid; once expunged, the uuid can be used again.
    destroy(simulator_client, headers, vm_uuid)
    assert (
        error_of(restore_and_wait(simulator_client, headers, group, resourceUuid=vm_uuid))["code"]
        == "SYS.1000"
    )
    expunge(simulator_client, headers, vm_uuid)
    assert restore_and_wait(simulator_client, headers, group, resourceUuid=vm_uuid).status_code == 200


def test_a_lost_202_is_recovered_with_the_job_uuid(
    simulator: RunningSimulator, simulator_client: httpx.Client
) -> None:
    headers = login(simulator_client)
    group = ready_group(simulator_client, headers)
    job = uuid.uuid4().hex
    vm_uuid = uuid.uuid4().hex
    simulator.simulator.faults.lose_response(method="POST", path=f"{VM_INSTANCES}/from/vm-backups/*", count=1)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):  # a close or a reset, by timing
        restore(simulator_client, headers | {"X-Job-UUID": job}, group, resourceUuid=vm_uuid)
    resent = restore(simulator_client, headers | {"X-Job-UUID": job}, group, resourceUuid=vm_uuid)
    assert (resent.status_code, resent.text) == (400, f"Duplicate job uuid[{job}]")
    result = poll(simulator_client, f"http://elsewhere{job_path(job)}")
    assert result.status_code == 200
    assert result.json()["inventory"]["uuid"] == vm_uuid
    assert len(query(simulator_client, headers, "vm-instances", f"uuid={vm_uuid}")["inventories"]) == 1


def test_lost_answers_of_destroy_and_expunge_are_recovered(
    simulator: RunningSimulator, simulator_client: httpx.Client
) -> None:
    headers = login(simulator_client)
    group = ready_group(simulator_client, headers)
    vm_uuid = restore_and_wait(simulator_client, headers, group).json()["inventory"]["uuid"]
    simulator.simulator.faults.lose_response(method="DELETE", path=f"{VM_INSTANCES}/*", count=1)
    simulator.simulator.faults.lose_response(method="PUT", path=f"{VM_INSTANCES}/*/actions", count=1)
    for method, path, body, state in (
        ("DELETE", f"{VM_INSTANCES}/{vm_uuid}", None, "Destroyed"),
        ("PUT", f"{VM_INSTANCES}/{vm_uuid}/actions", {"expungeVmInstance": {}}, None),
    ):
        job = uuid.uuid4().hex
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            simulator_client.request(method, path, headers=headers | {"X-Job-UUID": job}, json=body)
        assert poll(simulator_client, job_path(job)).status_code == 200
        found = vm_by_uuid(simulator_client, headers, vm_uuid)
        assert (found["state"] if found else None) == state


def test_a_503_before_the_job_makes_no_vm(
    simulator: RunningSimulator, simulator_client: httpx.Client
) -> None:
    headers = login(simulator_client)
    group = ready_group(simulator_client, headers)
    simulator.simulator.faults.error_503(method="POST", path=f"{VM_INSTANCES}/from/vm-backups/*", count=1)
    refused = restore(simulator_client, headers, group)
    assert error_of(refused)["code"] == "SYS.1000"
    assert len(query(simulator_client, headers, "vm-instances")["inventories"]) == 5
    assert restore_and_wait(simulator_client, headers, group).status_code == 200


def test_a_failed_restore_shows_the_vm_then_removes_it(
    simulator: RunningSimulator, simulator_client: httpx.Client
) -> None:
    headers = login(simulator_client)
    group = ready_group(simulator_client, headers)
    simulator.simulator.settings.job_seconds = None
    simulator.simulator.settings.job_polls = 4
    simulator.simulator.faults.fail_job(
        path=f"{VM_INSTANCES}/from/vm-backups/*", details="failed to start the VM on the host", count=1
    )
    vm_uuid = uuid.uuid4().hex
    job = location_path(restore(simulator_client, headers, group, resourceUuid=vm_uuid).json()["location"])
    assert [simulator_client.get(job).status_code for _ in range(2)] == [202, 202]
    assert field_of(simulator_client, headers, vm_uuid, "state") == "Starting"
    answers = [simulator_client.get(job) for _ in range(2)]
    assert answers[-1].json()["error"] == {
        "code": "SYS.1006",
        "description": "An operation failed",
        "details": "failed to start the VM on the host",
    }
    assert vm_by_uuid(simulator_client, headers, vm_uuid) is None
    assert query(simulator_client, headers, "volumes", f"vmInstanceUuid={vm_uuid}")["inventories"] == []


def test_a_failed_destroy_leaves_the_vm_as_it_was(
    simulator: RunningSimulator, simulator_client: httpx.Client
) -> None:
    headers = login(simulator_client)
    group = ready_group(simulator_client, headers)
    vm_uuid = restore_and_wait(simulator_client, headers, group).json()["inventory"]["uuid"]
    simulator.simulator.faults.fail_job(method="DELETE", path=f"{VM_INSTANCES}/*", count=1)
    assert error_of(destroy(simulator_client, headers, vm_uuid))["code"] == "SYS.1006"
    vm = vm_by_uuid(simulator_client, headers, vm_uuid)
    assert vm is not None
    assert vm["state"] == "Running"
    assert len(vm["allVolumes"]) == 3


def test_out_of_band_stop_destroy_and_expunge(simulator_client: httpx.Client) -> None:
    headers = login(simulator_client)
    group = ready_group(simulator_client, headers)
    vm_uuid = restore_and_wait(simulator_client, headers, group).json()["inventory"]["uuid"]
    admin = f"/_simulator/vm-instances/{vm_uuid}"
    assert simulator_client.patch(admin, json={"state": "Stopped"}).status_code == 200
    stopped = vm_by_uuid(simulator_client, headers, vm_uuid)
    assert stopped is not None
    assert stopped["state"] == "Stopped"
    assert "hostUuid" not in stopped
    assert simulator_client.patch(admin, json={"state": "Running"}).status_code == 200
    assert field_of(simulator_client, headers, vm_uuid, "hostUuid") == s.HOST_UUID
    assert simulator_client.patch(admin, json={"state": "Destroyed"}).status_code == 200
    destroyed = vm_by_uuid(simulator_client, headers, vm_uuid)
    assert destroyed is not None
    assert [v["type"] for v in destroyed["allVolumes"]] == ["Root"]
    assert simulator_client.delete(admin).status_code == 200
    assert vm_by_uuid(simulator_client, headers, vm_uuid) is None
    assert simulator_client.delete(admin).status_code == 404
    assert simulator_client.patch(admin, json={"state": "Stopped"}).status_code == 404
