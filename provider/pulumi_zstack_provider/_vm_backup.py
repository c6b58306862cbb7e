"""The VmBackup resource: a ZStack VM backup, i.e. the group of volume backups made by CreateVmBackup."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from ._client import JobFailedError, JobNotFoundError, OperationTimeoutError, ZStackError
from ._resource import OperationContext, ReadOutcome, ResourceDefinition
from ._schema import Input, Output, ResourceModel, Setting
from ._types import Bandwidth, Duration, ZStackUuid, parse_duration, parse_size, parse_zstack_timestamp

DEFAULT_CREATE_TIMEOUT = "60m"
DEFAULT_DELETE_TIMEOUT = "20m"
DEFAULT_MAX_POLL_INTERVAL = "10s"

_REPLACE = Input(replace=True)
_REPLACE_CREATE_ONLY = Input(replace=True, create_only=True)
# ZStack appends java.sql.Timestamp.toString() to the name it was given: "<name>-2024-05-01 12:34:56.789".
_SERVER_NAME_SUFFIX = re.compile(r"-\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?$")


class VmBackupProperties(ResourceModel):
    """Every property of a VmBackup, declared once. Inputs map to CreateVmBackup's parameters."""

    root_volume_uuid: Annotated[ZStackUuid, _REPLACE] = Field(
        description="UUID of the VM's root volume. The backup covers every non-shareable root and data "
        "volume of that VM."
    )
    backup_storage_uuid: Annotated[ZStackUuid, _REPLACE] = Field(
        description="UUID of the backup storage to write to: an Enabled ImageStoreBackupStorage."
    )
    name: Annotated[str, StringConstraints(min_length=1, max_length=255), _REPLACE] = Field(
        description="Backup name, 1 to 255 characters. ZStack stores it with a timestamp appended "
        "(see `backup_name`)."
    )
    description: Annotated[str | None, StringConstraints(max_length=2048), _REPLACE] = Field(
        default=None, description="Free text, at most 2048 characters."
    )
    mode: Annotated[Literal["auto", "full"] | None, _REPLACE_CREATE_ONLY] = Field(
        default=None,
        description="`full` forces a full backup; `auto` (the default) lets ZStack back up "
        "incrementally when it can.",
    )
    volume_read_bandwidth: Annotated[Bandwidth | None, _REPLACE_CREATE_ONLY] = Field(
        default=None, description="Limit on reading the volumes, in bytes per second (at least 1024)."
    )
    volume_write_bandwidth: Annotated[Bandwidth | None, _REPLACE_CREATE_ONLY] = Field(
        default=None, description="Limit on writing the volumes, in bytes per second (at least 1024)."
    )
    network_read_bandwidth: Annotated[Bandwidth | None, _REPLACE_CREATE_ONLY] = Field(
        default=None, description="Limit on network reads, in bytes per second (at least 1024)."
    )
    network_write_bandwidth: Annotated[Bandwidth | None, _REPLACE_CREATE_ONLY] = Field(
        default=None, description="Limit on network writes, in bytes per second (at least 1024)."
    )
    system_tags: Annotated[list[str] | None, _REPLACE_CREATE_ONLY] = Field(
        default=None, description="ZStack system tags attached to each volume backup."
    )
    user_tags: Annotated[list[str] | None, _REPLACE_CREATE_ONLY] = Field(
        default=None, description="ZStack user tags sent with the request."
    )
    group_uuid: Annotated[ZStackUuid | None, Input(create_only=True)] = Field(
        default=None,
        description="The backup group's UUID and the resource's id. The SDK derives it from "
        "the stack, the resource name and the inputs, so an interrupted create is resumed instead of "
        "duplicated; set it to adopt an existing group. Only used at create.",
    )

    create_timeout: Annotated[Duration | None, Setting()] = Field(
        default=None,
        description=f"How long a create may take, e.g. '90m' (default {DEFAULT_CREATE_TIMEOUT}).",
    )
    delete_timeout: Annotated[Duration | None, Setting()] = Field(
        default=None, description=f"How long a delete may take (default {DEFAULT_DELETE_TIMEOUT})."
    )
    max_poll_interval: Annotated[Duration | None, Setting()] = Field(
        default=None,
        description=f"Longest wait between two polls of a ZStack job (default {DEFAULT_MAX_POLL_INTERVAL}).",
    )

    vm_instance_uuid: Annotated[str | None, Output()] = Field(default=None, description="The backed-up VM.")
    uuid: Annotated[str | None, Output()] = Field(default=None, description="UUID of the root volume backup.")
    volume_uuid: Annotated[str | None, Output()] = Field(
        default=None, description="The root volume the root backup was taken from."
    )
    backup_name: Annotated[str | None, Output()] = Field(
        default=None, description="The root backup's name as ZStack stored it (with its timestamp)."
    )
    type: Annotated[str | None, Output()] = Field(default=None, description="`Root`.")
    state: Annotated[str | None, Output()] = Field(default=None, description="`Enabled` or `Disabled`.")
    status: Annotated[str | None, Output()] = Field(
        default=None, description="`Ready` once usable; `Creating` while the job runs."
    )
    size: Annotated[int | None, Output()] = Field(default=None, description="Root backup size in bytes.")
    metadata: Annotated[str | None, Output()] = Field(
        default=None, description="ZStack's volume metadata of the root backup (a JSON string)."
    )
    create_date: Annotated[str | None, Output()] = Field(
        default=None, description="ISO 8601, in the management node's local time (ZStack sends no zone)."
    )
    last_op_date: Annotated[str | None, Output()] = Field(
        default=None, description="ISO 8601, in the management node's local time."
    )
    backup_storage_refs: Annotated[list[dict[str, Any]] | None, Output()] = Field(
        default=None,
        description="Where the root backup is stored: backup_storage_uuid, install_path, status.",
    )
    members: Annotated[list[dict[str, Any]] | None, Output()] = Field(
        default=None, description="Every volume backup of the group (root first, then data by volume)."
    )
    total_size: Annotated[int | None, Output()] = Field(
        default=None, description="Sum of the members' sizes in bytes."
    )
    missing_members: Annotated[list[str] | None, Output()] = Field(
        default=None,
        description="Volumes whose backup in this group was deleted outside Pulumi. Set by refresh; the next "
        "update makes the whole backup again.",
    )


class _WireStorageRef(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    backup_storage_uuid: str | None = Field(default=None, alias="backupStorageUuid")
    install_path: str | None = Field(default=None, alias="installPath")
    status: str | None = None


class _WireVolumeBackup(BaseModel):
    """A VolumeBackupInventory as ZStack really sends it: most fields may be absent."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    uuid: str
    volume_uuid: str | None = Field(default=None, alias="volumeUuid")
    name: str | None = None
    description: str | None = None
    type: str | None = None
    state: str | None = None
    status: str | None = None
    size: int | None = None
    metadata: str | None = None
    mode: str | None = None
    group_uuid: str | None = Field(default=None, alias="groupUuid")
    vm_instance_uuid: str | None = Field(default=None, alias="vmInstanceUuid")
    create_date: str | None = Field(default=None, alias="createDate")
    last_op_date: str | None = Field(default=None, alias="lastOpDate")
    backup_storage_refs: list[_WireStorageRef] = Field(default_factory=list, alias="backupStorageRefs")

    _size = field_validator("size", mode="before")(lambda v: parse_size(v))
    _dates = field_validator("create_date", "last_op_date", mode="before")(
        lambda v: parse_zstack_timestamp(v)
    )

    @field_validator("backup_storage_refs", mode="before")
    @classmethod
    def _refs(cls, value: Any) -> Any:
        return value or []

    def as_member(self) -> dict[str, Any]:
        return {
            "uuid": self.uuid,
            "volume_uuid": self.volume_uuid,
            "name": self.name,
            "type": self.type,
            "state": self.state,
            "status": self.status,
            "size": self.size,
            "mode": self.mode,
            "create_date": self.create_date,
            "last_op_date": self.last_op_date,
            "backup_storage_refs": [r.model_dump() for r in self.backup_storage_refs],
        }


class _Group:
    """The live members of one backup group, as one VM backup."""

    def __init__(self, members: list[_WireVolumeBackup], root_volume_hint: str | None) -> None:
        self.members = members
        roots = [m for m in members if m.type == "Root"]
        if not roots and root_volume_hint:  # documented example responses omit `type`
            roots = [m for m in members if m.volume_uuid == root_volume_hint]
        self.root = roots[0] if roots else None

    @property
    def ready(self) -> bool:
        return all(m.status == "Ready" for m in self.members)

    def ordered_members(self) -> list[_WireVolumeBackup]:
        return sorted(self.members, key=lambda m: (m is not self.root, m.volume_uuid or "", m.uuid))

    def outputs(self, group_uuid: str) -> dict[str, Any]:
        root = self.root
        sizes = [m.size for m in self.members if m.size is not None]
        return {
            "group_uuid": group_uuid,
            "vm_instance_uuid": next((m.vm_instance_uuid for m in self.members if m.vm_instance_uuid), None),
            "uuid": root.uuid if root else None,
            "volume_uuid": root.volume_uuid if root else None,
            "backup_name": root.name if root else None,
            "type": root.type if root else None,
            "state": root.state if root else None,
            "status": root.status if root else None,
            "size": root.size if root else None,
            "metadata": root.metadata if root else None,
            "create_date": root.create_date if root else None,
            "last_op_date": root.last_op_date if root else None,
            "backup_storage_refs": [r.model_dump() for r in root.backup_storage_refs] if root else [],
            "members": [m.as_member() for m in self.ordered_members()],
            "total_size": sum(sizes) if sizes else None,
        }

    def observed_inputs(self) -> dict[str, Any]:
        """The inputs ZStack reports back, used to detect drift on refresh."""
        root = self.root
        if root is None:
            return {}
        observed: dict[str, Any] = {"root_volume_uuid": root.volume_uuid, "description": root.description}
        storages = sorted({r.backup_storage_uuid for r in root.backup_storage_refs if r.backup_storage_uuid})
        if len(storages) == 1:
            observed["backup_storage_uuid"] = storages[0]
        return observed


def _original_name(server_name: str | None) -> str | None:
    return _SERVER_NAME_SUFFIX.sub("", server_name) if server_name else None


class VmBackupResource(ResourceDefinition[VmBackupProperties]):
    model = VmBackupProperties
    label = "VmBackup"

    def create(self, ctx: OperationContext, props: VmBackupProperties) -> tuple[str, dict[str, Any]]:
        group_uuid = props.group_uuid or uuid.uuid4().hex
        allowed = props.create_timeout or DEFAULT_CREATE_TIMEOUT
        timeout = parse_duration(allowed)
        deadline = time.monotonic() + timeout
        hint = (
            f"Raise the `create_timeout` input of this VmBackup (now {allowed}) and run `pulumi up` "
            f"again: the provider resumes backup group {group_uuid} instead of starting another one."
        )
        # A group that already has members is an earlier, interrupted create of this same resource (or one the
        # user asked to adopt): never POST again, since ZStack would add a second set to the group.
        existing = self._live_members(ctx, group_uuid)
        if existing:
            self._check_adoptable(group_uuid, existing, props)
        else:
            try:
                self._submit(ctx, props, group_uuid, deadline, hint)
            except JobNotFoundError:
                # The job record vanished before we saw its result: ZStack either ran it or never did.
                if not self._live_members(ctx, group_uuid):
                    self._submit(ctx, props, group_uuid, deadline, hint)
            except JobFailedError:
                # A failed CreateVmBackup rolls its records back. Members that are still there mean the 503
                # came from something between us and the job (a proxy, an overloaded node): keep waiting.
                if not self._live_members(ctx, group_uuid):
                    raise
        group = self._wait_until_ready(ctx, group_uuid, props.root_volume_uuid, deadline, timeout, hint)
        return group_uuid, {**props.model_dump(), **group.outputs(group_uuid)}

    @staticmethod
    def _check_adoptable(
        group_uuid: str, members: list[_WireVolumeBackup], props: VmBackupProperties
    ) -> None:
        volumes = {m.volume_uuid for m in members if m.volume_uuid}
        if props.root_volume_uuid not in volumes:
            raise ZStackError(
                f"backup group {group_uuid} already exists in ZStack but does not back up root volume "
                f"{props.root_volume_uuid} (it holds volumes {', '.join(sorted(volumes)) or 'none'}). Set "
                "`group_uuid` to a group of this VM, or leave it unset to make a new backup."
            )

    def _submit(
        self, ctx: OperationContext, props: VmBackupProperties, group_uuid: str, deadline: float, hint: str
    ) -> None:
        params: dict[str, Any] = {
            "backupStorageUuid": props.backup_storage_uuid,
            "name": props.name,
            "resourceUuid": group_uuid,
        }
        optional = {
            "description": props.description,
            "mode": "full" if props.mode == "full" else None,  # ZStack's only mode value; omitted means auto
            "volumeReadBandwidth": props.volume_read_bandwidth,
            "volumeWriteBandwidth": props.volume_write_bandwidth,
            "networkReadBandwidth": props.network_read_bandwidth,
            "networkWriteBandwidth": props.network_write_bandwidth,
        }
        params.update({k: v for k, v in optional.items() if v is not None})
        body: dict[str, Any] = {"params": params}
        if props.system_tags:
            body["systemTags"] = list(props.system_tags)
        if props.user_tags:
            body["userTags"] = list(props.user_tags)
        ctx.run_job(
            "POST",
            f"/volumes/{props.root_volume_uuid}/vm-backups",
            body=body,
            deadline=deadline,
            operation=f"create of VmBackup {group_uuid}",
            timeout_hint=hint,
            max_poll_interval=parse_duration(props.max_poll_interval or DEFAULT_MAX_POLL_INTERVAL),
        )

    def _live_members(self, ctx: OperationContext, group_uuid: str) -> list[_WireVolumeBackup]:
        inventories = ctx.client.query("volume-backups", f"groupUuid={group_uuid}")
        members = [_WireVolumeBackup.model_validate(i) for i in inventories]
        return [m for m in members if m.status != "Deleted"]

    def _wait_until_ready(
        self,
        ctx: OperationContext,
        group_uuid: str,
        root_volume_uuid: str | None,
        deadline: float,
        timeout: float,
        hint: str,
    ) -> _Group:
        interval = 0.2
        while True:
            group = _Group(self._live_members(ctx, group_uuid), root_volume_uuid)
            if group.members and group.ready:
                if group.root is None:
                    raise ZStackError(
                        f"VM backup group {group_uuid} has no root volume backup; ZStack cannot restore it. "
                        "Delete the group and create the backup again."
                    )
                return group
            if not group.members:
                raise ZStackError(
                    f"ZStack reported VM backup group {group_uuid} as created but it has no "
                    "volume backups; run `pulumi up` again to retry."
                )
            if time.monotonic() + interval > deadline:
                raise OperationTimeoutError(
                    operation=f"create of VmBackup {group_uuid}", timeout=timeout, hint=hint
                )
            ctx.progress(
                f"VmBackup {group_uuid}: waiting for {sum(m.status != 'Ready' for m in group.members)} of "
                f"{len(group.members)} volume backups to become Ready"
            )
            time.sleep(interval)
            interval = min(interval * 2, 5.0)

    def read(self, ctx: OperationContext, resource_id: str, state: Mapping[str, Any]) -> ReadOutcome | None:
        members = self._live_members(ctx, resource_id)
        if not members:
            return None
        group = _Group(members, state.get("root_volume_uuid"))
        outputs = group.outputs(resource_id)
        live_volumes = {m.volume_uuid for m in members}
        recorded = {m.get("volume_uuid") for m in state.get("members") or [] if isinstance(m, Mapping)}
        missing = (recorded | set(state.get("missing_members") or [])) - live_volumes - {None}
        outputs["missing_members"] = sorted(str(v) for v in missing) or None
        inputs = {
            **VmBackupProperties.user_supplied(state),
            **group.observed_inputs(),
            "group_uuid": resource_id,
        }
        if not inputs.get("name"):  # adopted with VmBackup.get: recover the name ZStack was given
            inputs["name"] = _original_name(outputs["backup_name"])
        return ReadOutcome(outputs=outputs, inputs=inputs)

    def drift_replaces(self, state: Mapping[str, Any]) -> list[str]:
        return ["missing_members"] if state.get("missing_members") else []

    def replacement_reuses_id(self, resource_id: str, news: Mapping[str, Any]) -> bool:
        # The SDK derives the group uuid from the inputs: a replacement forced by drift rather than by an
        # input change gets the same uuid, and create would adopt the very group it replaces.
        return news.get("group_uuid") == resource_id

    def delete(self, ctx: OperationContext, resource_id: str, state: Mapping[str, Any]) -> None:
        allowed = state.get("delete_timeout") or DEFAULT_DELETE_TIMEOUT
        deadline = time.monotonic() + parse_duration(allowed)
        hint = (
            f"Raise the `delete_timeout` input (now {allowed}) and run the operation again; the backup "
            "group stays in the stack until it is gone."
        )
        poll_cap = parse_duration(state.get("max_poll_interval") or DEFAULT_MAX_POLL_INTERVAL)

        def delete_path(path: str, operation: str) -> None:
            ctx.run_job(
                "DELETE",
                path,
                params={"deleteMode": "Permissive"},
                operation=operation,
                deadline=deadline,
                timeout_hint=hint,
                max_poll_interval=poll_cap,
            )

        # DeleteVmBackup succeeds for an unknown group and even when members fail, so the only proof of a
        # delete is a query that finds nothing. What survives the group delete is deleted member by member.
        for attempt in range(2):
            remaining = self._live_members(ctx, resource_id)
            if not remaining:
                return
            if attempt == 0:
                try:
                    delete_path(f"/vm-backups/{resource_id}", f"delete of VmBackup {resource_id}")
                    continue
                except JobNotFoundError:
                    continue  # the job's record expired before its result was read: the query tells
                except JobFailedError as error:
                    # e.g. a group holding two root backups (a reused resourceUuid) is refused as a whole
                    ctx.progress(
                        f"ZStack refused to delete group {resource_id} as a whole ({error.code}); "
                        "deleting its volume backups one by one"
                    )
            for member in remaining:
                try:
                    delete_path(
                        f"/volume-backups/{member.uuid}",
                        f"delete of volume backup {member.uuid} of VmBackup {resource_id}",
                    )
                except JobNotFoundError:
                    continue  # as above: the query after the loop tells whether the member is gone
                except JobFailedError as error:
                    if error.code != "SYS.1003":  # already gone
                        raise
        remaining = self._live_members(ctx, resource_id)
        if remaining:
            raise ZStackError(
                f"ZStack accepted the deletion of VM backup group {resource_id} but "
                f"{len(remaining)} volume backup(s) remain ({', '.join(m.uuid for m in remaining)}). "
                "The resource stays in the stack; check the backup storage in ZStack and run the operation "
                "again."
            )
