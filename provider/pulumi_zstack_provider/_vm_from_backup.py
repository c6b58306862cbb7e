"""The VmFromBackup resource: a VM made from a VM backup group with CreateVmFromVmBackup.

The VM follows the ownership rules of `_ownership`, with the VM in the place of a backup group: its uuid (the
resource's id, sent as ``resourceUuid``) is an owned id of the resource, derived from the inputs that shape
it and a generation number, and the VM carries the owner tag once it has reached the state its strategy
promises. A create therefore resumes only its own untagged VM, and a delete only destroys the VM whose tag
carries the state's claim.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, model_validator

from ._backup_group import (
    DEFAULT_DELETE_TIMEOUT,
    DEFAULT_MAX_POLL_INTERVAL,
    Limits,
    OwnedResourceInputs,
    candidates,
    claim_object,
    live_members,
    logger,
    tags_by_resource,
)
from ._client import JobFailedError, JobNotFoundError, OperationTimeoutError, PollSchedule, ZStackError
from ._ownership import GroupTags, Owner, OwnerTag, digest, first_free, new_claim
from ._resource import OperationContext, ReadOutcome, ResourceDefinition
from ._schema import Input, Output, Setting, cross_property_error, unknown_in
from ._types import Duration, PositiveCount, ZStackUuid

DEFAULT_RESTORE_TIMEOUT = "60m"

_REPLACE = Input(replace=True)
Strategy = Literal["InstantStart", "JustCreate", "CreateStopped"]
#: The state a VM reaches when CreateVmFromVmBackup ends, by strategy (ZStack's VmInstanceBase).
PROMISED_STATE: dict[str, str] = {
    "InstantStart": "Running",
    "CreateStopped": "Stopped",
    "JustCreate": "Created",
}
#: States a VM passes through on its way to the promised one: a create waits while the VM is in one.
_ON_THE_WAY = ("Starting", "Created", "Stopping")
#: A VM in one of these is on its way out: it is gone for the stack, and its uuid is not free again until
#: it is expunged.
_GOING = ("Destroying", "Destroyed", "Expunging")
_DELETE_STEPS = 8


class VmFromBackupProperties(OwnedResourceInputs):
    """Every property of a VmFromBackup, declared once. Inputs map to CreateVmFromVmBackup's parameters."""

    group_uuid: Annotated[ZStackUuid, _REPLACE] = Field(
        description="The VM backup group to restore, e.g. `series.latest_group_uuid` or `backup.group_uuid`. "
        "A new group replaces the VM (the new VM is made first unless `delete_before_replace`)."
    )
    name: Annotated[str, StringConstraints(min_length=1, max_length=255), _REPLACE] = Field(
        description="Name of the new VM, 1 to 255 characters."
    )
    description: Annotated[str | None, StringConstraints(max_length=2048), _REPLACE] = Field(
        default=None, description="Free text, at most 2048 characters."
    )
    backup_storage_uuid: Annotated[ZStackUuid | None, _REPLACE] = Field(
        default=None,
        description="Which copy of the backup to restore from (a backup storage holding every member). "
        "Unset, ZStack picks a storage holding each member.",
    )
    instance_offering_uuid: Annotated[ZStackUuid | None, _REPLACE] = Field(
        default=None,
        description="CPU and memory from this instance offering; or set `cpu_num` and `memory_size`.",
    )
    cpu_num: Annotated[PositiveCount | None, _REPLACE] = Field(
        default=None, description="Number of vCPUs, with `memory_size`, instead of `instance_offering_uuid`."
    )
    memory_size: Annotated[PositiveCount | None, _REPLACE] = Field(
        default=None, description="Memory in bytes, with `cpu_num`, instead of `instance_offering_uuid`."
    )
    l3_network_uuids: Annotated[list[ZStackUuid] | None, Input(replace=True, ordered=True)] = Field(
        default=None,
        description="L3 networks of the VM's NICs, in order (one NIC each). At least one of "
        "`l3_network_uuids`, `zone_uuid`, `cluster_uuid` and `host_uuid` is required.",
    )
    default_l3_network_uuid: Annotated[ZStackUuid | None, _REPLACE] = Field(
        default=None,
        description="The NIC of the default route; one of `l3_network_uuids` (default: the first).",
    )
    zone_uuid: Annotated[ZStackUuid | None, _REPLACE] = Field(
        default=None, description="Zone to place the VM in."
    )
    cluster_uuid: Annotated[ZStackUuid | None, _REPLACE] = Field(
        default=None, description="Cluster to place the VM in."
    )
    host_uuid: Annotated[ZStackUuid | None, _REPLACE] = Field(
        default=None, description="Host to start the VM on."
    )
    primary_storage_uuid_for_root_volume: Annotated[ZStackUuid | None, _REPLACE] = Field(
        default=None, description="Primary storage of the root volume (default: the original volume's)."
    )
    primary_storage_uuid_for_data_volume: Annotated[ZStackUuid | None, _REPLACE] = Field(
        default=None, description="Primary storage of the data volumes (default: each original volume's)."
    )
    strategy: Annotated[Strategy | None, _REPLACE] = Field(
        default=None,
        description="`InstantStart` (the default: the create waits for `Running`), `CreateStopped` (waits "
        "for `Stopped`) or `JustCreate` (waits for `Created`; ZStack makes volumes and NICs at first start).",
    )

    create_timeout: Annotated[Duration | None, Setting()] = Field(
        default=None,
        description="How long restoring the VM may take, job and start included, e.g. '90m' "
        f"(default {DEFAULT_RESTORE_TIMEOUT}).",
    )
    delete_timeout: Annotated[Duration | None, Setting()] = Field(
        default=None,
        description=f"How long destroying and expunging the VM may take (default {DEFAULT_DELETE_TIMEOUT}).",
    )
    max_poll_interval: Annotated[Duration | None, Setting()] = Field(
        default=None,
        description=f"Longest wait between two polls of a ZStack job or of the VM (default "
        f"{DEFAULT_MAX_POLL_INTERVAL}).",
    )

    uuid: Annotated[str | None, Output(always=True)] = Field(
        default=None, description="The VM's UUID; the resource's id."
    )
    state: Annotated[str | None, Output()] = Field(
        default=None,
        description="The VM's state. Refresh reads it: a VM no longer in the state its `strategy` promises "
        "(stopped outside Pulumi, say) is made again at the next `up`.",
    )
    vm_host_uuid: Annotated[str | None, Output()] = Field(
        default=None, description="The host the VM runs on; none while it is stopped."
    )
    root_volume_uuid: Annotated[str | None, Output()] = Field(
        default=None, description="The VM's new root volume, made from the group's root member."
    )
    data_volume_uuids: Annotated[list[str] | None, Output(always=True)] = Field(
        default=None, description="The VM's new data volumes, in device order, one per data member."
    )
    nics: Annotated[list[dict[str, Any]] | None, Output(always=True)] = Field(
        default=None,
        description="The VM's NICs in device order: uuid, l3_network_uuid, ip, mac, netmask, gateway.",
    )

    @model_validator(mode="before")
    @classmethod
    def _consistent(cls, data: Any, info: ValidationInfo) -> Any:
        # Before the fields: a required input still unknown at preview (a group made by the same `up`)
        # must not hide these rules, which only look at which inputs are given.
        if not isinstance(data, Mapping):
            return data
        unknown = unknown_in(info)

        def given(name: str) -> bool:
            return data.get(name) not in (None, "", [])

        if not {"instance_offering_uuid", "cpu_num", "memory_size"} & unknown:
            by_offering, by_size = given("instance_offering_uuid"), given("cpu_num") or given("memory_size")
            if by_offering and by_size:
                raise cross_property_error(
                    "instance_offering_uuid",
                    "instance_offering_uuid cannot be combined with cpu_num and memory_size: set one or "
                    "the other",
                )
            if not by_offering and not by_size:
                raise cross_property_error(
                    "instance_offering_uuid",
                    "instance_offering_uuid, or cpu_num and memory_size, must be set: the VM needs CPUs and "
                    "memory",
                )
            for needed, other in (("memory_size", "cpu_num"), ("cpu_num", "memory_size")):
                if not by_offering and not given(needed):
                    raise cross_property_error(needed, f"{needed} is required with {other}")
        placement = ("l3_network_uuids", "zone_uuid", "cluster_uuid", "host_uuid")
        if not set(placement) & unknown and not any(given(p) for p in placement):
            raise cross_property_error(
                "l3_network_uuids",
                "at least one of l3_network_uuids, zone_uuid, cluster_uuid and host_uuid must be set: "
                "ZStack needs to know where to put the VM",
            )
        default = data.get("default_l3_network_uuid")
        networks = data.get("l3_network_uuids") or []
        outside = not isinstance(networks, list) or default not in networks
        checkable = not {"l3_network_uuids", "default_l3_network_uuid"} & unknown
        if checkable and given("default_l3_network_uuid") and outside:
            raise cross_property_error(
                "default_l3_network_uuid",
                f"default_l3_network_uuid {default} must be one of l3_network_uuids",
            )
        return data

    @property
    def promised_state(self) -> str:
        return PROMISED_STATE[self.strategy or "InstantStart"]

    def request_body(self, vm_uuid: str) -> dict[str, Any]:
        """CreateVmFromVmBackup's body; unset options are left out, since ZStack refuses empty values."""
        optional = {
            "description": self.description,
            "backupStorageUuid": self.backup_storage_uuid,
            "instanceOfferingUuid": self.instance_offering_uuid,
            "cpuNum": self.cpu_num,
            "memorySize": self.memory_size,
            "l3NetworkUuids": list(self.l3_network_uuids) if self.l3_network_uuids else None,
            "defaultL3NetworkUuid": self.default_l3_network_uuid,
            "zoneUuid": self.zone_uuid,
            "clusterUuid": self.cluster_uuid,
            "hostUuid": self.host_uuid,
            "primaryStorageUuidForRootVolume": self.primary_storage_uuid_for_root_volume,
            "primaryStorageUuidForDataVolume": self.primary_storage_uuid_for_data_volume,
            "strategy": self.strategy,
        }
        params: dict[str, Any] = {"name": self.name, "resourceUuid": vm_uuid}
        params.update({k: v for k, v in optional.items() if v is not None})
        return {"params": params}


class _WireNic(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    uuid: str | None = None
    l3_network_uuid: str | None = Field(default=None, alias="l3NetworkUuid")
    ip: str | None = None
    mac: str | None = None
    netmask: str | None = None
    gateway: str | None = None
    device_id: int | None = Field(default=None, alias="deviceId")


class _WireVolume(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    uuid: str
    type: str | None = None
    device_id: int | None = Field(default=None, alias="deviceId")
    status: str | None = None


class WireVm(BaseModel):
    """A VmInstanceInventory as ZStack sends it: most fields may be absent."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    uuid: str
    state: str | None = None
    host_uuid: str | None = Field(default=None, alias="hostUuid")
    root_volume_uuid: str | None = Field(default=None, alias="rootVolumeUuid")
    vm_nics: list[_WireNic] = Field(default_factory=list, alias="vmNics")
    all_volumes: list[_WireVolume] = Field(default_factory=list, alias="allVolumes")

    @property
    def gone(self) -> bool:
        return self.state in _GOING

    def outputs(self) -> dict[str, Any]:
        data = sorted(
            (v for v in self.all_volumes if v.type == "Data"),
            key=lambda v: (v.device_id is None, v.device_id),
        )
        root = self.root_volume_uuid or next((v.uuid for v in self.all_volumes if v.type == "Root"), None)
        return {
            "uuid": self.uuid,
            "state": self.state,
            "vm_host_uuid": self.host_uuid,
            "root_volume_uuid": root,
            "data_volume_uuids": [v.uuid for v in data],
            "nics": [
                nic.model_dump(exclude={"device_id"})
                for nic in sorted(self.vm_nics, key=lambda n: (n.device_id is None, n.device_id))
            ],
        }


def _find_vms(ctx: OperationContext, *conditions: str) -> list[WireVm]:
    return [WireVm.model_validate(i) for i in ctx.client.query("vm-instances", *conditions)]


def find_vm(ctx: OperationContext, vm_uuid: str) -> WireVm | None:
    return next((vm for vm in _find_vms(ctx, f"uuid={vm_uuid}") if vm.uuid == vm_uuid), None)


def _vm_tags(ctx: OperationContext, vm_uuids: Sequence[str]) -> dict[str, GroupTags]:
    return tags_by_resource(ctx, list(vm_uuids)) if vm_uuids else {}


def check_restorable(ctx: OperationContext, props: VmFromBackupProperties, subject: str) -> None:
    """Refuse, before any job, a group ZStack could not restore: its job would fail only half-way."""
    group_uuid = props.group_uuid
    members = live_members(ctx, group_uuid)
    advice = "Restore another backup group (e.g. a newer one of the series), or take a new backup."
    if not members:
        raise ZStackError(
            f"{subject}: backup group {group_uuid} cannot be restored: ZStack holds no volume backup in it "
            f"(deleted?). {advice}"
        )
    roots = [m for m in members if m.type == "Root"]
    if not roots:
        raise ZStackError(
            f"{subject}: backup group {group_uuid} cannot be restored: its root volume backup is missing. "
            f"{advice}"
        )
    for member in members:
        refs = [r for r in member.backup_storage_refs if r.status in (None, "Ready")]
        if props.backup_storage_uuid is not None:
            refs = [r for r in refs if r.backup_storage_uuid == props.backup_storage_uuid]
        if member.status != "Ready" or not refs:
            where = f" on backup storage {props.backup_storage_uuid}" if props.backup_storage_uuid else ""
            raise ZStackError(
                f"{subject}: backup group {group_uuid} cannot be restored: its {member.type or 'volume'} "
                f"backup {member.uuid} is {member.status or 'in an unknown status'}"
                f"{'' if member.status != 'Ready' else ' but has no Ready copy' + where}. {advice}"
            )


class VmFromBackupResource(ResourceDefinition[VmFromBackupProperties]):
    model = VmFromBackupProperties
    label = "VmFromBackup"

    def create(self, ctx: OperationContext, props: VmFromBackupProperties) -> tuple[str, dict[str, Any]]:
        owner, inputs_digest = props.owner(), digest(props.shaping_inputs())
        owned = {vm.uuid: vm for vm in _find_vms(ctx, f"uuid~={owner.like_pattern}")}
        tags = _vm_tags(ctx, sorted(owned))
        line = candidates(lambda g: owner.object_id(self.label, inputs_digest, g), len(owned))
        resumable = [
            u for u in line if u in owned and not owned[u].gone and not tags.get(u, GroupTags()).handed_out
        ]
        vm_uuid = resumable[0] if resumable else first_free(line, set(owned))
        limits = Limits.start(props.create_timeout, DEFAULT_RESTORE_TIMEOUT, props.max_poll_interval)
        hint = (
            f"Raise the `create_timeout` input of this VmFromBackup (now {limits.allowed}) and run `pulumi "
            f"up` again: the provider resumes VM {vm_uuid} instead of making another one."
        )
        subject = f"VmFromBackup {vm_uuid}"
        if vm_uuid in owned:
            ctx.progress(f"{subject}: resuming the restore an earlier run started")
        else:
            check_restorable(ctx, props, subject)
            self._submit(ctx, props, vm_uuid, limits, subject, hint)
        vm = self._wait_for_state(ctx, props, vm_uuid, limits, subject, hint)
        claim = new_claim()
        tag = OwnerTag(owner.stack_key, vm_uuid, claim, inputs_digest, props.owner_urn)
        claim_object(
            ctx, "VmInstanceVO", vm_uuid, tag, subject=subject, current=tags.get(vm_uuid, GroupTags())
        )
        return vm_uuid, {**props.model_dump(), **vm.outputs(), "owner_claim": claim}

    @staticmethod
    def _submit(
        ctx: OperationContext,
        props: VmFromBackupProperties,
        vm_uuid: str,
        limits: Limits,
        subject: str,
        hint: str,
        *,
        resubmitted: bool = False,
    ) -> None:
        try:
            ctx.run_job(
                "POST",
                f"/vm-instances/from/vm-backups/{props.group_uuid}",
                body=props.request_body(vm_uuid),
                deadline=limits.deadline,
                operation=f"create of {subject} from backup group {props.group_uuid}",
                timeout_hint=hint,
                max_poll_interval=limits.max_poll_interval,
            )
        except JobNotFoundError:
            # ZStack either ran the job and forgot its result, or never ran it: the VM tells which.
            if find_vm(ctx, vm_uuid) is None and not resubmitted:
                VmFromBackupResource._submit(ctx, props, vm_uuid, limits, subject, hint, resubmitted=True)
        except JobFailedError:
            # A failed restore removes its VM. A VM still there under our id is being made by an earlier
            # attempt of ours whose job this one collided with (ZStack refuses a second VM of one uuid).
            vm = find_vm(ctx, vm_uuid)
            if vm is None or vm.gone:
                raise

    @staticmethod
    def _wait_for_state(
        ctx: OperationContext,
        props: VmFromBackupProperties,
        vm_uuid: str,
        limits: Limits,
        subject: str,
        hint: str,
    ) -> WireVm:
        wanted = props.promised_state
        schedule, started = PollSchedule(max_interval=limits.max_poll_interval), time.monotonic()
        while True:
            vm = find_vm(ctx, vm_uuid)
            if vm is None or vm.gone:
                raise ZStackError(
                    f"{subject}: the VM restored from backup group {props.group_uuid} is "
                    f"{'gone' if vm is None else vm.state}: ZStack's restore failed or the VM was deleted "
                    "meanwhile. Run `pulumi up` again to restore it anew."
                )
            if vm.state == wanted:
                return vm
            if vm.state not in _ON_THE_WAY:
                raise ZStackError(
                    f"{subject}: the VM restored from backup group {props.group_uuid} is {vm.state}, not "
                    f"{wanted} as strategy {props.strategy or 'InstantStart'} promises. Check the VM in "
                    "ZStack; `pulumi destroy` or a replacement removes it."
                )
            interval = schedule.wait(time.monotonic() - started)
            if time.monotonic() + interval > limits.deadline:
                raise OperationTimeoutError(
                    operation=f"create of {subject}", timeout=limits.timeout, hint=hint
                )
            ctx.progress(f"{subject}: VM is {vm.state}, waiting for {wanted}")
            time.sleep(interval)

    def read(self, ctx: OperationContext, resource_id: str, state: Mapping[str, Any]) -> ReadOutcome | None:
        vm = find_vm(ctx, resource_id)
        if vm is None or vm.gone:
            return None
        outputs = {**vm.outputs(), "owner_claim": state.get("owner_claim")}
        return ReadOutcome(outputs=outputs, inputs=VmFromBackupProperties.user_supplied(state))

    def drift_replaces(self, state: Mapping[str, Any]) -> list[str]:
        strategy = state.get("strategy") or "InstantStart"
        observed = state.get("state")
        promised = PROMISED_STATE.get(str(strategy))
        return ["state"] if observed is not None and promised is not None and observed != promised else []

    def delete(self, ctx: OperationContext, resource_id: str, state: Mapping[str, Any]) -> None:
        limits = Limits.start(
            state.get("delete_timeout"), DEFAULT_DELETE_TIMEOUT, state.get("max_poll_interval")
        )
        hint = (
            f"Raise the `delete_timeout` input (now {limits.allowed}) and run the operation again; the VM "
            "stays in the stack until it is gone."
        )
        subject = f"VmFromBackup {resource_id}"
        vm = find_vm(ctx, resource_id)
        if vm is None:
            # Gone already, or removed by a delete that stopped before its data volumes.
            remove_data_volumes(ctx, resource_id, limits, subject=subject, hint=hint)
            return
        tags = _vm_tags(ctx, [resource_id]).get(resource_id, GroupTags())
        if not tags.held_by(state.get("owner_claim")):
            owners = ", ".join(sorted({o.urn for o in tags.owners})) or "another resource"
            logger.warning(
                "warning: %s: dropped from this stack but not deleted: %s holds the VM now", subject, owners
            )
            return
        remove_vm(ctx, resource_id, limits, subject=subject, hint=hint)
        owner = VmFromBackupProperties.owner_of(state)
        if owner is not None:
            sweep_unrecorded_vms(ctx, owner, limits, keep=resource_id, subject=subject, hint=hint)


def _removal_job(ctx: OperationContext, limits: Limits, subject: str, hint: str) -> Callable[..., None]:
    def job(method: str, path: str, what: str, **kwargs: Any) -> None:
        # A record that expired before its result was read: the next query tells.
        with contextlib.suppress(JobNotFoundError):
            ctx.run_job(
                method,
                path,
                operation=f"{what} of {subject}",
                deadline=limits.deadline,
                timeout_hint=hint,
                max_poll_interval=limits.max_poll_interval,
                **kwargs,
            )

    return job


def remove_vm(ctx: OperationContext, vm_uuid: str, limits: Limits, *, subject: str, hint: str) -> None:
    """Destroy, then expunge a VM, and confirm it is gone; then its data volumes. A VM already gone is a
    success.

    Each step reads the VM first, so a run interrupted half-way (a Destroyed VM left) finishes the job.
    """
    job = _removal_job(ctx, limits, subject, hint)
    schedule, started = PollSchedule(max_interval=limits.max_poll_interval), time.monotonic()
    for _ in range(_DELETE_STEPS):
        vm = find_vm(ctx, vm_uuid)
        if vm is None:
            remove_data_volumes(ctx, vm_uuid, limits, subject=subject, hint=hint)
            return
        if vm.state == "Destroyed":
            job("PUT", f"/vm-instances/{vm_uuid}/actions", "expunge", body={"expungeVmInstance": {}})
        elif vm.state in ("Destroying", "Expunging"):
            interval = schedule.wait(time.monotonic() - started)
            if time.monotonic() + interval > limits.deadline:
                raise OperationTimeoutError(
                    operation=f"delete of {subject}", timeout=limits.timeout, hint=hint
                )
            ctx.progress(f"{subject}: VM is {vm.state}, waiting")
            time.sleep(interval)
        else:
            job("DELETE", f"/vm-instances/{vm_uuid}", "destroy")
    vm = find_vm(ctx, vm_uuid)
    if vm is not None:
        raise ZStackError(
            f"ZStack accepted the removal of VM {vm_uuid} ({subject}) but the VM is still there "
            f"({vm.state}). The resource stays in the stack; check the VM in ZStack and run the operation "
            "again."
        )


def remove_data_volumes(
    ctx: OperationContext, vm_uuid: str, limits: Limits, *, subject: str, hint: str
) -> None:
    """Delete, then expunge the data volumes the restore made, once the VM is gone.

    Destroying a VM only detaches its data volumes (`dataVolume.deleteOnVmDestroy` is false by default), so
    they would stay in ZStack, owned by nothing. Only volumes last attached to this VM and attached to no
    other VM since are removed.
    """
    job = _removal_job(ctx, limits, subject, hint)
    conditions = (f"lastVmInstanceUuid={vm_uuid}", "type=Data", "vmInstanceUuid is null")
    for _ in range(_DELETE_STEPS):
        volumes = ctx.client.query("volumes", *conditions)
        if not volumes:
            return
        for volume in volumes:
            uuid = str(volume["uuid"])
            ctx.progress(f"{subject}: removing data volume {uuid} of the removed VM")
            if volume.get("status") != "Deleted":
                job("DELETE", f"/volumes/{uuid}", f"delete of data volume {uuid}")
            job(
                "PUT",
                f"/volumes/{uuid}/actions",
                f"expunge of data volume {uuid}",
                body={"expungeDataVolume": {}},
            )
    left = [str(v["uuid"]) for v in ctx.client.query("volumes", *conditions)]
    if left:
        raise ZStackError(
            f"ZStack accepted the removal of the data volumes of VM {vm_uuid} ({subject}) but "
            f"{', '.join(left)} are still there. The resource stays in the stack; run the operation again."
        )


def sweep_unrecorded_vms(
    ctx: OperationContext, owner: Owner, limits: Limits, *, keep: str, subject: str, hint: str
) -> None:
    """Remove the VMs an owner restored that never reached a state (interrupted, timed-out attempts).

    Only VMs under the owner's own ids, with no owner tag and settled in a state a restore ends in: a VM
    still being made is left to finish, and a tagged VM is in some state.
    """
    owned = [vm for vm in _find_vms(ctx, f"uuid~={owner.like_pattern}") if vm.uuid != keep]
    tags = _vm_tags(ctx, [vm.uuid for vm in owned])
    for vm in owned:
        if tags.get(vm.uuid, GroupTags()).handed_out or vm.state not in (
            *PROMISED_STATE.values(),
            "Destroyed",
        ):
            continue
        ctx.progress(f"{subject}: removing VM {vm.uuid}, a restore that never reached the stack")
        remove_vm(ctx, vm.uuid, limits, subject=f"{subject} unrecorded attempt {vm.uuid}", hint=hint)
