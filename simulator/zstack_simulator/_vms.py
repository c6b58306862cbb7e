"""VMs restored from VM backups (CreateVmFromVmBackup), and destroying and expunging VMs.

The behaviour follows ZStack's own classes, cited in docs/simulator.md ("Restoring VMs"):
`APICreateVmFromVmBackupMsg`, `VolumeBackupApiInterceptor` and `VolumeBackupManagerImpl` (backup module),
`VmInstanceManagerImpl`, `VmInstanceBase`, `AbstractVmInstance`, `VmInstanceApiInterceptor` and
`VmDeleteVolumeFlow` (core). These functions run under the simulator's lock on its `StateData`.
"""

from __future__ import annotations

import ipaddress
import json
import uuid as uuidlib
from collections.abc import Mapping, Sequence
from typing import Any

from ._errors import ApiError, PlainTextError, check_resource_uuid, create_params, error_code, not_found
from ._inventory import vm_inventory
from ._model import Host, IpRange, Job, L3Network, StateData, VmInstance, VmNic, Volume, VolumeBackup

CREATE_VM_FROM_VM_BACKUP = "CreateVmFromVmBackup"
DESTROY_VM_INSTANCE = "DestroyVmInstance"
EXPUNGE_VM_INSTANCE = "ExpungeVmInstance"
DELETE_DATA_VOLUME = "DeleteDataVolume"
EXPUNGE_DATA_VOLUME = "ExpungeDataVolume"
VM_APIS = frozenset(
    {
        CREATE_VM_FROM_VM_BACKUP,
        DESTROY_VM_INSTANCE,
        EXPUNGE_VM_INSTANCE,
        DELETE_DATA_VOLUME,
        EXPUNGE_DATA_VOLUME,
    }
)
# APICreateVmFromVmBackupMsg: @DefaultTimeout(timeunit = HOURS, value = 24); the others use the default.
API_TIMEOUTS_MS = {CREATE_VM_FROM_VM_BACKUP: 24 * 3600 * 1000}
STRATEGIES = ("InstantStart", "JustCreate", "CreateStopped")

_CREATE_MSG = "org.zstack.header.storage.volume.backup.APICreateVmFromVmBackupMsg"
_DESTROY_MSG = "org.zstack.header.vm.APIDestroyVmInstanceMsg"
_EXPUNGE_MSG = "org.zstack.header.vm.APIExpungeVmInstanceMsg"
_VM_TYPES = ("UserVm", "ApplianceVm")
_DELETE_MODES = ("Permissive", "Enforcing")
_LONGS = ("cpuNum", "memorySize", "reservedMemorySize")
_STRING_LISTS = ("l3NetworkUuids", "rootVolumeSystemTags", "dataVolumeSystemTags", "tagUuids")
# AbstractVmInstance.allowedOperations: the states APIDestroyVmInstanceMsg is accepted in. A Created VM
# (JustCreate) is also destroyed, by removing it outright (DBOnlyCase in ZStack's integration tests).
_DESTROYABLE = (
    "Crashed",
    "Migrating",
    "Paused",
    "Pausing",
    "Rebooting",
    "Resuming",
    "Running",
    "Starting",
    "Stopped",
    "Stopping",
    "Unknown",
    "VolumeMigrating",
)
_EXPUNGEABLE = ("Destroyed",)
# States in which a VM sits on a host; any other state leaves `hostUuid` empty.
_ON_HOST = ("Running", "Paused", "Starting", "Stopping", "Rebooting", "Migrating", "Pausing", "Resuming")


def _new_uuid() -> str:
    return uuidlib.uuid4().hex


# ----------------------------------------------------------------------------- REST layer


def prepare(api: str, target: str, body: Any, query: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Refusals of the REST layer (400 plain text, no job); otherwise the job's parameters."""
    if api == CREATE_VM_FROM_VM_BACKUP:
        return _prepare_create(target, body)
    if api == EXPUNGE_VM_INSTANCE:
        if not isinstance(body, dict) or "expungeVmInstance" not in body:
            raise PlainTextError(
                400, f"the body doesn't contain action mapping to the URL[/v1/vm-instances/{target}/actions]"
            )
        return {"target": target}
    if api == EXPUNGE_DATA_VOLUME:
        if not isinstance(body, dict) or "expungeDataVolume" not in body:
            raise PlainTextError(
                400, f"the body doesn't contain action mapping to the URL[/v1/volumes/{target}/actions]"
            )
        return {"target": target}
    mode = next((value for key, value in query if key == "deleteMode"), None)
    return {"target": target, "deleteMode": mode}


def _prepare_create(group_uuid: str, body: Any) -> dict[str, Any]:
    params, tags = create_params(body, _LONGS)
    for name in _STRING_LISTS:
        value = params.get(name)
        if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
            raise PlainTextError(400, f"[{name}] field is excepted a list of strings")
    return {"groupUuid": group_uuid, "params": params, "systemTags": list(tags)}


# ----------------------------------------------------------------------------- job start (validation)


def start(data: StateData, job: Job, now: float) -> None:
    """The API's validation and first effects when the job is accepted; failures surface on the poll."""
    if job.api == CREATE_VM_FROM_VM_BACKUP:
        _start_create(data, job)
    elif job.api == DESTROY_VM_INSTANCE:
        _start_destroy(data, job, now)
    elif job.api == EXPUNGE_VM_INSTANCE:
        _start_expunge(data, job, now)
    elif job.api == DELETE_DATA_VOLUME:
        _start_delete_volume(data, job)
    else:
        _start_expunge_volume(data, job)


def _mandatory(name: str) -> ApiError:
    return ApiError("SYS.1007", f"field[{name}] of message[{_CREATE_MSG}] is mandatory, can not be null")


def _invalid_value(name: str, valid: Sequence[str], value: Any) -> ApiError:
    return ApiError(
        "SYS.1007",
        f"valid value for field[{name}] of message[{_CREATE_MSG}] are [{', '.join(valid)}], "
        f"but {value} found",
    )


def _check_parameters(data: StateData, params: Mapping[str, Any]) -> None:
    """core ApiParamValidator over the @APIParam annotations of APICreateVmFromVmBackupMsg."""
    check_resource_uuid(params.get("resourceUuid"))
    if params.get("name") is None:
        raise _mandatory("name")
    for name, limit in (("name", 255), ("description", 2048)):
        value = params.get(name)
        if value is not None and len(str(value)) > limit:
            raise ApiError(
                "SYS.1007",
                f"field[{name}] of message[{_CREATE_MSG}] exceeds max length of string. "
                f"expected was <= {limit}, actual was {len(str(value))}",
            )
    for name, valid in (("type", _VM_TYPES), ("strategy", STRATEGIES)):
        value = params.get(name)
        if value is not None and value not in valid:
            raise _invalid_value(name, valid, value)
    reserved = params.get("reservedMemorySize")
    if reserved is not None and reserved < 0:
        raise ApiError(
            "SYS.1007",
            f"field[reservedMemorySize] of message[{_CREATE_MSG}] must be in range of "
            f"[0, 9223372036854775807], but {int(reserved)} found",
        )
    lookups: tuple[tuple[str, str, Sequence[Any]], ...] = (
        ("backupStorageUuid", "BackupStorageVO", data.backup_storages),
        ("instanceOfferingUuid", "InstanceOfferingVO", data.instance_offerings),
        ("zoneUuid", "ZoneVO", data.zones),
        ("clusterUuid", "ClusterVO", data.clusters),
        ("hostUuid", "HostVO", data.hosts),
        ("primaryStorageUuidForRootVolume", "PrimaryStorageVO", data.primary_storages),
        ("primaryStorageUuidForDataVolume", "PrimaryStorageVO", data.primary_storages),
    )
    for name, entity, records in lookups:
        value = params.get(name)
        if value is not None and not any(r.uuid == value for r in records):
            raise ApiError("SYS.1003", not_found(name, str(value), entity))
    for l3_uuid in params.get("l3NetworkUuids") or []:
        if not any(n.uuid == l3_uuid for n in data.l3_networks):
            raise ApiError("SYS.1003", not_found("l3NetworkUuids", l3_uuid, "L3NetworkVO"))


def _check_interceptor(data: StateData, params: Mapping[str, Any]) -> None:
    """VolumeBackupApiInterceptor.validate(APICreateVmFromVmBackupMsg), with VmInstanceHelper's L3 check."""
    if params.get("instanceOfferingUuid") is None and (
        params.get("cpuNum") is None or params.get("memorySize") is None
    ):
        raise ApiError("SYS.1006", "instanceOfferingUuid or cpuNum and memorySize must be set")
    for l3_uuid in params.get("l3NetworkUuids") or []:
        network = _l3(data, l3_uuid)
        if network is not None and not network.ip_ranges:
            raise ApiError("SYS.1006", f"there is no available ipRange on L3 network [{l3_uuid}]")
    if not (
        params.get("l3NetworkUuids")
        or params.get("zoneUuid")
        or params.get("clusterUuid")
        or params.get("hostUuid")
    ):
        raise ApiError(
            "SYS.1006",
            "could not create vm, because at least one of field "
            "(l3NetworkUuids,zoneUuid,clusterUuid,hostUuid) should be set",
        )


def _verify_group(data: StateData, group_uuid: str) -> list[VolumeBackup]:
    """VolumeBackupManagerImpl.verifyGroupUuid / verifyGroup.

    The server names the group in these messages by its first member's uuid (`vos.get(0).getUuid()`), not
    by the group uuid; reproduced.
    """
    members = [b for b in data.volume_backups if b.group_uuid == group_uuid]
    if not members:
        raise ApiError("SYS.1003", f"No volume backups found with group uuid: {group_uuid}")
    roots = sum(1 for b in members if b.type == "Root")
    if roots == 0:
        raise ApiError("SYS.1006", f"Root volume missing within group uuid: {members[0].uuid}")
    if roots > 1:
        raise ApiError("SYS.1006", f"Multiple root volumes found within group uuid: {members[0].uuid}")
    return members


def _backup_storages(members: Sequence[VolumeBackup], chosen: str | None) -> dict[str, str]:
    """VolumeBackupManagerImpl.getBackupBsUuids: the storage each member is read from."""
    if chosen is not None:
        return {b.uuid: chosen for b in members}
    selected: dict[str, str] = {}
    for backup in members:
        if not backup.backup_storage_refs:
            raise ApiError("SYS.1007", f"Volume backup[uuid:{backup.uuid}] not found on any backup storage")
        # The server shuffles the candidates; the first one keeps runs repeatable.
        selected[backup.uuid] = backup.backup_storage_refs[0].backup_storage_uuid
    return selected


def _start_create(data: StateData, job: Job) -> None:
    params: dict[str, Any] = job.params["params"]
    _check_parameters(data, params)
    _check_interceptor(data, params)
    members = _verify_group(data, job.params["groupUuid"])
    job.params.update(
        vmUuid=params.get("resourceUuid") or _new_uuid(),
        strategy=params.get("strategy") or "InstantStart",
        sources=_backup_storages(members, params.get("backupStorageUuid")),
        vmCreated=False,
        failure=None,
    )


def _not_in_state(state: str, message: str, allowed: Sequence[str]) -> ApiError:
    # AbstractVmInstance.validateOperationByState; the allowed states print as a Java Set.
    return ApiError(
        "VM.1010",
        f"current vm instance state[{state}] doesn't allow to proceed message[{message}], "
        f"allowed states are [{', '.join(allowed)}]",
    )


def _start_destroy(data: StateData, job: Job, now: float) -> None:
    _check_delete_mode(job)
    vm = _vm(data, job.params["target"])
    # VmInstanceApiInterceptor: destroying a VM that does not exist succeeds.
    if vm is None:
        return
    if vm.state != "Created" and vm.state not in _DESTROYABLE:
        raise _not_in_state(vm.state, _DESTROY_MSG, _DESTROYABLE)
    job.params["previousState"] = vm.state
    if vm.state != "Created":
        vm.state, vm.last_op_date = "Destroying", now


def _start_expunge(data: StateData, job: Job, now: float) -> None:
    vm = _vm(data, job.params["target"])
    if vm is None:
        raise ApiError("SYS.1003", not_found("uuid", job.params["target"], "VmInstanceVO"))
    if vm.state not in _EXPUNGEABLE:
        raise _not_in_state(vm.state, _EXPUNGE_MSG, _EXPUNGEABLE)
    vm.state, vm.last_op_date = "Expunging", now


def _check_delete_mode(job: Job) -> None:
    mode = job.params.get("deleteMode")
    if mode is not None and mode not in _DELETE_MODES:
        raise ApiError(
            "SYS.1007",
            f"valid value for field[deleteMode] of message[APIDeleteMessage] are {list(_DELETE_MODES)}, "
            f"but {mode} found",
        )


def _start_delete_volume(data: StateData, job: Job) -> None:
    """DeleteDataVolume: a volume that does not exist is a success, as a destroyed VM is (the delete
    APIs' interceptor pattern); a root volume is refused."""
    _check_delete_mode(job)
    volume = _volume(data, job.params["target"])
    if volume is not None and volume.type == "Root":
        raise ApiError("SYS.1007", f"it's not allowed to delete root volume, uuid:{volume.uuid}")


def _start_expunge_volume(data: StateData, job: Job) -> None:
    volume = _volume(data, job.params["target"])
    if volume is None:
        raise ApiError("SYS.1003", not_found("uuid", job.params["target"], "VolumeVO"))
    if volume.status != "Deleted":
        raise ApiError(
            "SYS.1006",
            f"the volume[uuid:{volume.uuid}] is not deleted, its status is {volume.status}; delete it first",
        )


# ----------------------------------------------------------------------------- progress and finish


def progress(data: StateData, job: Job, now: float) -> bool:
    """Half-way through a restore the images exist and the VM appears; returns whether anything changed."""
    if job.api != CREATE_VM_FROM_VM_BACKUP or job.params.get("vmCreated") or job.params.get("failure"):
        return False
    polls, seconds = job.complete_after_polls, job.complete_after_seconds
    halfway = (polls is not None and job.polls * 2 >= polls) or (
        seconds is not None and (now - job.created_at) * 2 >= seconds
    )
    if not halfway:
        return False
    _materialise(data, job, now)
    return True


def finish(data: StateData, job: Job, now: float) -> dict[str, Any]:
    """The job's result, or ApiError with the job's error."""
    if job.api == CREATE_VM_FROM_VM_BACKUP:
        return _finish_create(data, job, now)
    if job.api == DESTROY_VM_INSTANCE:
        return _finish_destroy(data, job, now)
    if job.api == EXPUNGE_VM_INSTANCE:
        return _finish_expunge(data, job, now)
    if job.api == DELETE_DATA_VOLUME:
        return _finish_delete_volume(data, job, now)
    return _finish_expunge_volume(data, job)


def _fail(error: Mapping[str, Any]) -> ApiError:
    return ApiError(error["code"], error.get("details"), error.get("description"))


def _image_failure(data: StateData, job: Job) -> dict[str, Any] | None:
    """Making the temporary images: a member that is gone, not Ready, or has no Ready copy on its chosen
    storage fails its image. The server then lists *every* member (it compares backup uuids with image
    uuids, so none ever counts as done) as a Java list."""
    sources: dict[str, str] = job.params["sources"]
    for backup_uuid, storage_uuid in sources.items():
        backup = _backup(data, backup_uuid)
        copy = (
            next((r for r in backup.backup_storage_refs if r.backup_storage_uuid == storage_uuid), None)
            if backup is not None
            else None
        )
        if backup is None or backup.status != "Ready" or copy is None or copy.status != "Ready":
            return error_code("SYS.1006", f"failed to create image from backup [{', '.join(sources)}]")
    return None


def _materialise(data: StateData, job: Job, now: float) -> None:
    """CreateVmInstanceMsg: the VM record, and (unless JustCreate) its volumes and NICs."""
    failure = _image_failure(data, job)
    vm_uuid: str = job.params["vmUuid"]
    if failure is None and _vm(data, vm_uuid) is not None:
        failure = error_code(
            "SYS.1000", f"failed to persist VmInstanceVO[uuid:{vm_uuid}]: duplicate primary key"
        )
    if failure is not None:
        job.params["failure"] = failure
        return
    params: dict[str, Any] = job.params["params"]
    members = [b for b in (_backup(data, u) for u in job.params["sources"]) if b is not None]
    root = next(b for b in members if b.type == "Root")
    metadata = _metadata(root)
    offering = next(
        (o for o in data.instance_offerings if o.uuid == params.get("instanceOfferingUuid")), None
    )
    l3_uuids: list[str] = list(params.get("l3NetworkUuids") or [])
    image_uuid = _new_uuid()
    vm = VmInstance(
        uuid=vm_uuid,
        name=str(params["name"]),
        description=params.get("description"),
        state="Created",
        zone_uuid=params.get("zoneUuid"),
        cluster_uuid=params.get("clusterUuid"),
        host_uuid=params.get("hostUuid"),
        image_uuid=image_uuid,
        instance_offering_uuid=offering.uuid if offering else None,
        default_l3_network_uuid=params.get("defaultL3NetworkUuid") or (l3_uuids[0] if l3_uuids else None),
        platform=str(metadata.get("platform") or "Linux"),
        guest_os_type=metadata.get("guestOsType"),
        architecture=str(metadata.get("architecture") or "x86_64"),
        cpu_num=offering.cpu_num if offering else int(params["cpuNum"]),
        memory_size=offering.memory_size if offering else int(params["memorySize"]),
        type=params.get("type") or "UserVm",
        create_date=now,
        last_op_date=now,
    )
    if job.params["strategy"] != "JustCreate":
        # JustCreate only records how to start the VM later: no host, volumes or NICs yet.
        host = _allocate_host(data, params)
        if host is None:
            job.params["failure"] = error_code("SYS.1006", "no host is available to start the VM on")
            return
        try:
            vm.vm_nics = _allocate_nics(data, l3_uuids)
        except ApiError as exc:
            job.params["failure"] = exc.error
            return
        vm.state = "Starting"
        vm.zone_uuid, vm.cluster_uuid = host.zone_uuid, host.cluster_uuid
        vm.host_uuid = vm.last_host_uuid = host.uuid
        data.volumes.extend(_restored_volumes(data, vm, members, image_uuid, params, now))
    data.vm_instances.append(vm)
    job.params["vmCreated"] = True


def _metadata(backup: VolumeBackup) -> dict[str, Any]:
    try:
        parsed = json.loads(backup.metadata or "{}")
    except json.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _allocate_host(data: StateData, params: Mapping[str, Any]) -> Host | None:
    candidates = [
        h
        for h in data.hosts
        if h.state == "Enabled"
        and h.status == "Connected"
        and params.get("hostUuid") in (None, h.uuid)
        and params.get("clusterUuid") in (None, h.cluster_uuid)
        and params.get("zoneUuid") in (None, h.zone_uuid)
    ]
    return candidates[0] if candidates else None


def _allocate_nics(data: StateData, l3_uuids: Sequence[str]) -> list[VmNic]:
    """One NIC per L3 network, in order, each with the lowest free address of the network's ranges."""
    nics: list[VmNic] = []
    for device_id, l3_uuid in enumerate(l3_uuids):
        network = _l3(data, l3_uuid)
        if network is None:
            raise ApiError("SYS.1003", not_found("l3NetworkUuids", l3_uuid, "L3NetworkVO"))
        used = {n.ip for vm in data.vm_instances for n in vm.vm_nics if n.l3_network_uuid == l3_uuid}
        used |= {n.ip for n in nics if n.l3_network_uuid == l3_uuid}
        address = _free_address(network, used)
        if address is None:
            raise ApiError("SYS.1006", f"no available IP in L3 network[uuid:{l3_uuid}]")
        ip, ip_range = address
        mac = uuidlib.uuid4().hex
        nics.append(
            VmNic(
                uuid=_new_uuid(),
                l3_network_uuid=l3_uuid,
                ip=ip,
                mac=f"fa:{mac[0:2]}:{mac[2:4]}:{mac[4:6]}:{mac[6:8]}:{mac[8:10]}",
                netmask=ip_range.netmask,
                gateway=ip_range.gateway,
                device_id=device_id,
            )
        )
    return nics


def _free_address(network: L3Network, used: set[str]) -> tuple[str, IpRange] | None:
    for ip_range in network.ip_ranges:
        first = int(ipaddress.IPv4Address(ip_range.start_ip))
        last = int(ipaddress.IPv4Address(ip_range.end_ip))
        for value in range(first, last + 1):
            ip = str(ipaddress.IPv4Address(value))
            if ip not in used:
                return ip, ip_range
    return None


def _restored_volumes(
    data: StateData,
    vm: VmInstance,
    members: Sequence[VolumeBackup],
    image_uuid: str,
    params: Mapping[str, Any],
    now: float,
) -> list[Volume]:
    """New volumes from the members: root from its image, data disks in their original device order."""
    fallback = data.primary_storages[0].uuid if data.primary_storages else None
    account = data.accounts[0].uuid if data.accounts else "admin"

    def volume(backup: VolumeBackup, kind: str, device_id: int, storage: str | None) -> Volume:
        metadata = _metadata(backup)
        original = metadata.get("primaryStorageUuid")
        placed = storage or (original if any(p.uuid == original for p in data.primary_storages) else fallback)
        volume_uuid = _new_uuid()
        folder = "rootVolumes" if kind == "Root" else "dataVolumes"
        return Volume(
            uuid=volume_uuid,
            name=f"ROOT-for-{vm.name}" if kind == "Root" else f"DATA-for-{vm.name}",
            type="Root" if kind == "Root" else "Data",
            vm_instance_uuid=vm.uuid,
            size=int(metadata.get("size") or backup.size),
            actual_size=backup.size,
            device_id=device_id,
            primary_storage_uuid=placed,
            format=str(metadata.get("format") or "qcow2"),
            install_path=f"/zstack_ps/{folder}/acct-{account}/vol-{volume_uuid}/{volume_uuid}.qcow2",
            root_image_uuid=image_uuid if kind == "Root" else None,
            create_date=now,
            last_op_date=now,
        )

    root = next(b for b in members if b.type == "Root")
    # VolumeBackupManagerImpl sorts the data disks by their original device id to keep the disk order.
    data_members = sorted((b for b in members if b.type != "Root"), key=_device_order)
    restored = [volume(root, "Root", 0, params.get("primaryStorageUuidForRootVolume"))]
    restored += [
        volume(b, "Data", position, params.get("primaryStorageUuidForDataVolume"))
        for position, b in enumerate(data_members, start=1)
    ]
    return restored


def _device_order(backup: VolumeBackup) -> int:
    device_id = _metadata(backup).get("deviceId")
    return int(device_id) if isinstance(device_id, int) else 1 << 31


def _finish_create(data: StateData, job: Job, now: float) -> dict[str, Any]:
    if not job.params.get("vmCreated") and not job.params.get("failure"):
        _materialise(data, job, now)
    failure = job.params.get("failure") or job.inject_error
    if failure is not None:
        if job.params.get("vmCreated"):
            # A VM whose creation fails is removed with its volumes (VmInstanceBase's error handler).
            _remove_vm(data, job.params["vmUuid"])
        raise _fail(failure)
    vm = _vm(data, job.params["vmUuid"])
    if vm is None:
        raise ApiError("SYS.1006", f"the VM[uuid:{job.params['vmUuid']}] was deleted while it was created")
    strategy = job.params["strategy"]
    if strategy == "InstantStart":
        vm.state = "Running"
    elif strategy == "CreateStopped":
        # VmInstanceBase starts a CreateStopped VM and stops it right away.
        vm.state, vm.host_uuid = "Stopped", None
    vm.last_op_date = now
    return {"inventory": _result_inventory(data, vm)}


def _finish_destroy(data: StateData, job: Job, now: float) -> dict[str, Any]:
    vm = _vm(data, job.params["target"])
    previous = job.params.get("previousState")
    if vm is None or previous is None:
        return {}
    if job.inject_error is not None:
        vm.state = previous
        raise _fail(job.inject_error)
    if previous == "Created":
        _remove_vm(data, vm.uuid)
        return {}
    destroy(data, vm, now)
    return {}


def destroy(data: StateData, vm: VmInstance, now: float) -> None:
    """DestroyVmInstance with the default `vm.deletionPolicy` (Delay): the VM stays as Destroyed until it is
    expunged; data volumes are detached and kept (`dataVolume.deleteOnVmDestroy` = false); the root volume
    is deleted with the Delay policy, so it stays attached with status Deleted."""
    vm.state, vm.host_uuid, vm.last_op_date = "Destroyed", None, now
    for volume in data.volumes:
        if volume.vm_instance_uuid != vm.uuid:
            continue
        if volume.type == "Data":
            volume.vm_instance_uuid, volume.last_vm_instance_uuid = None, vm.uuid
        else:
            volume.status = "Deleted"
        volume.last_op_date = now


def _finish_expunge(data: StateData, job: Job, now: float) -> dict[str, Any]:
    vm = _vm(data, job.params["target"])
    if vm is None:
        return {}
    if job.inject_error is not None:
        vm.state, vm.last_op_date = "Destroyed", now
        raise _fail(job.inject_error)
    _remove_vm(data, vm.uuid)
    return {}


def _finish_delete_volume(data: StateData, job: Job, now: float) -> dict[str, Any]:
    """A data volume deleted goes to the recycle bin (status Deleted), detached from its VM."""
    volume = _volume(data, job.params["target"])
    if volume is None:
        return {}
    if job.inject_error is not None:
        raise _fail(job.inject_error)
    if volume.vm_instance_uuid is not None:
        volume.vm_instance_uuid, volume.last_vm_instance_uuid = None, volume.vm_instance_uuid
    volume.status, volume.last_op_date = "Deleted", now
    return {}


def _finish_expunge_volume(data: StateData, job: Job) -> dict[str, Any]:
    volume = _volume(data, job.params["target"])
    if volume is None:
        return {}
    if job.inject_error is not None:
        raise _fail(job.inject_error)
    data.volumes = [v for v in data.volumes if v.uuid != volume.uuid]
    data.drop_tags(volume.uuid)
    return {}


def _remove_vm(data: StateData, vm_uuid: str) -> None:
    """The VM row goes with the volumes still attached to it (its root volume) and its NICs."""
    removed_volumes = [v.uuid for v in data.volumes if v.vm_instance_uuid == vm_uuid]
    data.vm_instances = [v for v in data.vm_instances if v.uuid != vm_uuid]
    data.volumes = [v for v in data.volumes if v.vm_instance_uuid != vm_uuid]
    data.drop_tags(vm_uuid, *removed_volumes)


def _result_inventory(data: StateData, vm: VmInstance) -> dict[str, Any]:
    return {k: v for k, v in vm_inventory(vm, data.volumes).items() if not k.startswith("__")}


# ----------------------------------------------------------------------------- out-of-band changes


def change_vm_state(data: StateData, vm_uuid: str, state: str, now: float) -> None:
    """Set a VM's state behind the API's back, with what that state implies for its host and volumes."""
    vm = _vm(data, vm_uuid)
    if vm is None:
        raise KeyError(f"no VM {vm_uuid}")
    if state == "Destroyed":
        destroy(data, vm, now)
        return
    if state in _ON_HOST:
        fallback = data.hosts[0].uuid if data.hosts else None
        vm.host_uuid = vm.host_uuid or vm.last_host_uuid or fallback
        vm.last_host_uuid = vm.host_uuid
    else:
        vm.host_uuid = None
    vm.state, vm.last_op_date = state, now


def expunge(data: StateData, vm_uuid: str) -> bool:
    """Remove a VM behind the API's back, as a finished ExpungeVmInstance would; False if there is none."""
    if _vm(data, vm_uuid) is None:
        return False
    _remove_vm(data, vm_uuid)
    return True


# ----------------------------------------------------------------------------- lookups


def _volume(data: StateData, uuid: str) -> Volume | None:
    return next((v for v in data.volumes if v.uuid == uuid), None)


def _vm(data: StateData, uuid: str) -> VmInstance | None:
    return next((vm for vm in data.vm_instances if vm.uuid == uuid), None)


def _backup(data: StateData, uuid: str) -> VolumeBackup | None:
    return next((b for b in data.volume_backups if b.uuid == uuid), None)


def _l3(data: StateData, uuid: str) -> L3Network | None:
    return next((n for n in data.l3_networks if n.uuid == uuid), None)
