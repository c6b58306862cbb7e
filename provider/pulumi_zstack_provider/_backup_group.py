"""One ZStack VM backup group: what CreateVmBackup makes, and how it is taken, found and deleted.

Every resource that keeps VM backups (one, or a rotating series) is built from these operations, and each
shares the CreateVmBackup inputs and the timeout settings declared here.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from ._client import JobFailedError, JobNotFoundError, OperationTimeoutError, PollSchedule, ZStackError
from ._resource import Occupancy, OperationContext
from ._schema import Input, ResourceModel, Setting
from ._types import Bandwidth, Duration, ZStackUuid, parse_duration, parse_size, parse_zstack_timestamp

DEFAULT_CREATE_TIMEOUT = "60m"
DEFAULT_DELETE_TIMEOUT = "20m"
DEFAULT_MAX_POLL_INTERVAL = "10s"

_REPLACE = Input(replace=True)
_REPLACE_CREATE_ONLY = Input(replace=True, create_only=True)
# ZStack appends java.sql.Timestamp.toString() to the name it was given: "<name>-2024-05-01 12:34:56.789".
_SERVER_NAME_SUFFIX = re.compile(r"-\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?$")


class CreateVmBackupInputs(ResourceModel):
    """CreateVmBackup's parameters. ZStack has no update API for backups: each one replaces on change."""

    root_volume_uuid: Annotated[ZStackUuid, _REPLACE] = Field(
        description="UUID of the VM's root volume. The backup covers every non-shareable root and data "
        "volume of that VM."
    )
    backup_storage_uuid: Annotated[ZStackUuid, _REPLACE] = Field(
        description="UUID of the backup storage to write to: an Enabled ImageStoreBackupStorage."
    )
    name: Annotated[str, StringConstraints(min_length=1, max_length=255), _REPLACE] = Field(
        description="Backup name, 1 to 255 characters. ZStack stores it with a timestamp appended."
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

    create_timeout: Annotated[Duration | None, Setting()] = Field(
        default=None,
        description=f"How long taking one backup may take, e.g. '90m' (default {DEFAULT_CREATE_TIMEOUT}).",
    )
    delete_timeout: Annotated[Duration | None, Setting()] = Field(
        default=None, description=f"How long deleting one backup may take (default {DEFAULT_DELETE_TIMEOUT})."
    )
    max_poll_interval: Annotated[Duration | None, Setting()] = Field(
        default=None,
        description=f"Longest wait between two polls of a ZStack job (default {DEFAULT_MAX_POLL_INTERVAL}).",
    )

    def request_body(self, group_uuid: str) -> dict[str, Any]:
        """CreateVmBackup's body; unset options are left out, since ZStack refuses empty values."""
        params: dict[str, Any] = {
            "backupStorageUuid": self.backup_storage_uuid,
            "name": self.name,
            "resourceUuid": group_uuid,
        }
        optional = {
            "description": self.description,
            "mode": "full" if self.mode == "full" else None,  # ZStack's only mode value; omitted means auto
            "volumeReadBandwidth": self.volume_read_bandwidth,
            "volumeWriteBandwidth": self.volume_write_bandwidth,
            "networkReadBandwidth": self.network_read_bandwidth,
            "networkWriteBandwidth": self.network_write_bandwidth,
        }
        params.update({k: v for k, v in optional.items() if v is not None})
        body: dict[str, Any] = {"params": params}
        if self.system_tags:
            body["systemTags"] = list(self.system_tags)
        if self.user_tags:
            body["userTags"] = list(self.user_tags)
        return body


class _WireStorageRef(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    backup_storage_uuid: str | None = Field(default=None, alias="backupStorageUuid")
    install_path: str | None = Field(default=None, alias="installPath")
    status: str | None = None


class WireVolumeBackup(BaseModel):
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


class BackupGroup:
    """The live members of one backup group, as one VM backup."""

    def __init__(
        self, group_uuid: str, members: list[WireVolumeBackup], root_volume_hint: str | None
    ) -> None:
        self.group_uuid = group_uuid
        self.members = members
        roots = [m for m in members if m.type == "Root"]
        if not roots and root_volume_hint:  # documented example responses omit `type`
            roots = [m for m in members if m.volume_uuid == root_volume_hint]
        self.root = roots[0] if roots else None

    @property
    def ready(self) -> bool:
        return all(m.status == "Ready" for m in self.members)

    @property
    def total_size(self) -> int | None:
        sizes = [m.size for m in self.members if m.size is not None]
        return sum(sizes) if sizes else None

    @property
    def vm_instance_uuid(self) -> str | None:
        return next((m.vm_instance_uuid for m in self.members if m.vm_instance_uuid), None)

    def ordered_members(self) -> list[WireVolumeBackup]:
        return sorted(self.members, key=lambda m: (m is not self.root, m.volume_uuid or "", m.uuid))

    def observed_inputs(self) -> dict[str, Any]:
        """The CreateVmBackup inputs ZStack reports back, used to detect drift on refresh."""
        root = self.root
        if root is None:
            return {}
        observed: dict[str, Any] = {"root_volume_uuid": root.volume_uuid, "description": root.description}
        storages = sorted({r.backup_storage_uuid for r in root.backup_storage_refs if r.backup_storage_uuid})
        if len(storages) == 1:
            observed["backup_storage_uuid"] = storages[0]
        return observed


def original_name(server_name: str | None) -> str | None:
    """The name a backup was given, without the timestamp ZStack appended."""
    return _SERVER_NAME_SUFFIX.sub("", server_name) if server_name else None


@dataclass(frozen=True)
class Limits:
    """The deadline and polling bounds of one operation, from the resource's settings."""

    deadline: float
    timeout: float
    allowed: str  # as the user wrote it, for messages
    max_poll_interval: float

    @classmethod
    def start(cls, timeout: str | None, default: str, max_poll_interval: str | None) -> Limits:
        allowed = timeout or default
        seconds = parse_duration(allowed)
        return cls(
            deadline=time.monotonic() + seconds,
            timeout=seconds,
            allowed=allowed,
            max_poll_interval=parse_duration(max_poll_interval or DEFAULT_MAX_POLL_INTERVAL),
        )


def live_members(ctx: OperationContext, group_uuid: str) -> list[WireVolumeBackup]:
    inventories = ctx.client.query("volume-backups", f"groupUuid={group_uuid}")
    members = [WireVolumeBackup.model_validate(i) for i in inventories]
    return [m for m in members if m.status != "Deleted"]


#: The user tag a complete backup gets just before a create hands it to the engine, which records it in the
#: stack. A create that finds a complete backup without it resumes an interrupted attempt; with it, the
#: backup may be the one a replacement replaces, and is never adopted.
RECORDED_TAG = "pulumi-zstack::recorded"
_RECORD_ATTEMPTS = 3


def group_occupancy(ctx: OperationContext, group_uuid: str, members: Sequence[WireVolumeBackup]) -> Occupancy:
    # The create that follows the probe looks the group up first; it reuses this look-up instead.
    ctx.remember(f"members:{group_uuid}", list(members))
    if not members:
        return Occupancy.FREE
    group = BackupGroup(group_uuid, list(members), None)
    if not group.ready or group.root is None or not _is_recorded(ctx, group.root.uuid):
        return Occupancy.RESUMABLE
    return Occupancy.RECORDED


def _is_recorded(ctx: OperationContext, root_backup_uuid: str) -> bool:
    return bool(ctx.client.query("user-tags", f"resourceUuid={root_backup_uuid}", f"tag={RECORDED_TAG}"))


def _record(
    ctx: OperationContext, group: BackupGroup, limits: Limits, subject: str, *, resumed: bool
) -> None:
    root = group.root
    if root is None or (resumed and _is_recorded(ctx, root.uuid)):
        return
    failure: ZStackError | None = None
    # A 503 on a poll of the tag job does not mean the tag is missing (as with the backup itself), and a
    # second tag is harmless: look, and tag again, a few times.
    for _ in range(_RECORD_ATTEMPTS):
        try:
            ctx.run_job(
                "POST",
                "/user-tags",
                body={
                    "params": {
                        "resourceType": "VolumeBackupVO",
                        "resourceUuid": root.uuid,
                        "tag": RECORDED_TAG,
                    }
                },
                deadline=limits.deadline,
                operation=f"recording of {subject}",
                max_poll_interval=limits.max_poll_interval,
            )
            return
        except ZStackError as error:
            failure = error
            if _is_recorded(ctx, root.uuid):
                return
    raise ZStackError(
        f"{subject} is complete, but tagging its root backup {root.uuid} with the user tag "
        f"{RECORDED_TAG!r} failed: {str(failure).rstrip('.')}. The tag tells later replacements that this "
        "backup is in a stack. Run `pulumi up` again: it resumes this backup and tags it."
    )


def live_groups(ctx: OperationContext, group_uuids: Sequence[str]) -> dict[str, list[WireVolumeBackup]]:
    """The live members of several groups, in one query; groups with none are left out."""
    if not group_uuids:
        return {}
    inventories = ctx.client.query("volume-backups", f"groupUuid?={','.join(group_uuids)}")
    found: dict[str, list[WireVolumeBackup]] = {}
    for inventory in inventories:
        member = WireVolumeBackup.model_validate(inventory)
        group = member.group_uuid
        if member.status != "Deleted" and group is not None and group in group_uuids:
            found.setdefault(group, []).append(member)
    return found


def take_backup(
    ctx: OperationContext,
    request: CreateVmBackupInputs,
    group_uuid: str,
    limits: Limits,
    *,
    subject: str,
    hint: str,
) -> BackupGroup:
    """Make backup group `group_uuid`, or resume it if an earlier, interrupted attempt already started it.

    A group that already has members is never posted again: ZStack would add a second set to the group.
    Callers choose `group_uuid` so that only their own earlier attempt can have made it. `subject` names
    the backup in progress lines and errors, e.g. ``VmBackup <group uuid>``.
    """
    looked_up: list[WireVolumeBackup] | None = ctx.recall(f"members:{group_uuid}")
    existing = looked_up if looked_up is not None else live_members(ctx, group_uuid)
    finished: BackupGroup | None = None
    if existing:
        _check_adoptable(group_uuid, existing, request.root_volume_uuid)
    else:
        try:
            finished = _submit(ctx, request, group_uuid, limits, subject, hint)
        except JobNotFoundError:
            # The job record vanished before we saw its result: ZStack either ran it or never did.
            if not live_members(ctx, group_uuid):
                finished = _submit(ctx, request, group_uuid, limits, subject, hint)
        except JobFailedError:
            # A failed CreateVmBackup rolls its records back. Members that are still there mean the 503
            # came from something between us and the job (a proxy, an overloaded node): keep waiting.
            if not live_members(ctx, group_uuid):
                raise
    group = finished or _wait_until_ready(ctx, group_uuid, request.root_volume_uuid, limits, subject, hint)
    _record(ctx, group, limits, subject, resumed=bool(existing))
    return group


def _check_adoptable(group_uuid: str, members: list[WireVolumeBackup], root_volume_uuid: str) -> None:
    volumes = {m.volume_uuid for m in members if m.volume_uuid}
    if root_volume_uuid not in volumes:
        raise ZStackError(
            f"backup group {group_uuid} already exists in ZStack but does not back up root volume "
            f"{root_volume_uuid} (it holds volumes {', '.join(sorted(volumes)) or 'none'}). Set "
            "`group_uuid` to a group of this VM, or leave it unset to make a new backup."
        )


def _submit(
    ctx: OperationContext,
    request: CreateVmBackupInputs,
    group_uuid: str,
    limits: Limits,
    subject: str,
    hint: str,
) -> BackupGroup | None:
    """Run CreateVmBackup; the group its result holds when every member in it is Ready, else None."""
    result = ctx.run_job(
        "POST",
        f"/volumes/{request.root_volume_uuid}/vm-backups",
        body=request.request_body(group_uuid),
        deadline=limits.deadline,
        operation=f"create of {subject}",
        timeout_hint=hint,
        max_poll_interval=limits.max_poll_interval,
    )
    members = [WireVolumeBackup.model_validate(i) for i in result.get("inventories") or []]
    group = BackupGroup(group_uuid, members, request.root_volume_uuid)
    in_group = all(m.group_uuid == group_uuid for m in members)
    return group if members and in_group and group.ready and group.root is not None else None


def _wait_until_ready(
    ctx: OperationContext,
    group_uuid: str,
    root_volume_uuid: str | None,
    limits: Limits,
    subject: str,
    hint: str,
) -> BackupGroup:
    schedule, started = PollSchedule(max_interval=limits.max_poll_interval), time.monotonic()
    while True:
        group = BackupGroup(group_uuid, live_members(ctx, group_uuid), root_volume_uuid)
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
        interval = schedule.wait(time.monotonic() - started)
        if time.monotonic() + interval > limits.deadline:
            raise OperationTimeoutError(operation=f"create of {subject}", timeout=limits.timeout, hint=hint)
        ctx.progress(
            f"{subject}: waiting for {sum(m.status != 'Ready' for m in group.members)} of "
            f"{len(group.members)} volume backups to become Ready"
        )
        time.sleep(interval)


def delete_group(ctx: OperationContext, group_uuid: str, limits: Limits, *, subject: str, hint: str) -> None:
    """Delete a backup group and confirm it is gone; a group that is already gone is a success."""

    def delete_path(path: str, operation: str) -> None:
        ctx.run_job(
            "DELETE",
            path,
            params={"deleteMode": "Permissive"},
            operation=operation,
            deadline=limits.deadline,
            timeout_hint=hint,
            max_poll_interval=limits.max_poll_interval,
        )

    # DeleteVmBackup succeeds for an unknown group and even when members fail, so the only proof of a
    # delete is a query that finds nothing. What survives the group delete is deleted member by member.
    for attempt in range(2):
        remaining = live_members(ctx, group_uuid)
        if not remaining:
            return
        if attempt == 0:
            try:
                delete_path(f"/vm-backups/{group_uuid}", f"delete of {subject}")
                continue
            except JobNotFoundError:
                continue  # the job's record expired before its result was read: the query tells
            except JobFailedError as error:
                # e.g. a group holding two root backups (a reused resourceUuid) is refused as a whole
                ctx.progress(
                    f"ZStack refused to delete group {group_uuid} as a whole ({error.code}); "
                    "deleting its volume backups one by one"
                )
        for member in remaining:
            try:
                delete_path(
                    f"/volume-backups/{member.uuid}",
                    f"delete of volume backup {member.uuid} of {subject}",
                )
            except JobNotFoundError:
                continue  # as above: the query after the loop tells whether the member is gone
            except JobFailedError as error:
                if error.code != "SYS.1003":  # already gone
                    raise
    remaining = live_members(ctx, group_uuid)
    if remaining:
        raise ZStackError(
            f"ZStack accepted the deletion of VM backup group {group_uuid} but "
            f"{len(remaining)} volume backup(s) remain ({', '.join(m.uuid for m in remaining)}). "
            "The resource stays in the stack; check the backup storage in ZStack and run the operation "
            "again."
        )
