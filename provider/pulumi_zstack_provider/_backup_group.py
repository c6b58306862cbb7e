"""One ZStack VM backup group: what CreateVmBackup makes, and how it is taken, found and deleted.

Every resource that keeps VM backups (one, or a rotating series) is built from these operations, and each
shares the CreateVmBackup inputs and the timeout settings declared here.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator

from ._client import JobFailedError, JobNotFoundError, OperationTimeoutError, PollSchedule, ZStackError
from ._ownership import GroupTags, Owner, OwnerTag, first_free, handed_out, tags_of
from ._resource import OperationContext
from ._schema import Input, Output, ResourceModel, Role, Setting, cross_property_error, unknown_in
from ._types import Bandwidth, Duration, ZStackUuid, parse_duration, parse_size, parse_zstack_timestamp

logger = logging.getLogger("pulumi_zstack")

DEFAULT_CREATE_TIMEOUT = "60m"
DEFAULT_DELETE_TIMEOUT = "20m"
DEFAULT_MAX_POLL_INTERVAL = "10s"

_REPLACE = Input(replace=True)
_REPLACE_CREATE_ONLY = Input(replace=True, create_only=True)
# ZStack appends java.sql.Timestamp.toString() to the name it was given: "<name>-2024-05-01 12:34:56.789".
_SERVER_NAME_SUFFIX = re.compile(r"-\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?$")


class OwnedResourceInputs(ResourceModel):
    """What the SDK tells every resource that makes objects in ZStack about itself; kept in state."""

    owner_stack: Annotated[str, StringConstraints(min_length=1), Input(create_only=True)] = Field(
        description="Set by the SDK: `organization/project/stack` of the program that declares the resource. "
        "With `owner_urn` it makes the ids of what the resource creates in ZStack."
    )
    owner_urn: Annotated[str, StringConstraints(min_length=1), Input(create_only=True)] = Field(
        description="Set by the SDK: the resource's URN (type and parent chain included) when it was made. "
        "Written into the owner tag of every backup group it holds."
    )
    owner_claim: Annotated[str | None, Output()] = Field(
        default=None,
        description="The token in the owner tag of every backup group this resource holds; only a resource "
        "whose state keeps a group's token deletes that group. None for groups made before owner tags.",
    )

    def owner(self) -> Owner:
        return Owner(self.owner_stack, self.owner_urn)

    @staticmethod
    def owner_of(state: Mapping[str, Any]) -> Owner | None:
        """The owner a state records; None for resources made before owners were recorded."""
        stack, urn = state.get("owner_stack"), state.get("owner_urn")
        return (
            Owner(stack, urn) if isinstance(stack, str) and stack and isinstance(urn, str) and urn else None
        )

    def shaping_inputs(self, *excluded: str) -> dict[str, Any]:
        """The inputs that decide what a create makes: every input but the ids and `excluded`."""
        names = {
            p.name
            for p in self.properties_with(Role.INPUT)
            if not p.identity and p.name not in {"owner_stack", "owner_urn", *excluded}
        }
        return self.model_dump(include=names)


class CreateVmBackupInputs(OwnedResourceInputs):
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
        default=None,
        description="ZStack user tags attached to every volume backup of the group. ZStack drops the "
        "userTags of a CreateVmBackup request, so the provider attaches them with CreateUserTag once the "
        "backup is made.",
    )

    copy_to_backup_storage_uuids: Annotated[list[ZStackUuid] | None, Input()] = Field(
        default=None,
        description="Offsite copies: after each backup is taken, it is copied "
        "(SyncVmBackupFromImageStoreBackupStorage) to each of these ImageStore backup storages. A change "
        "is an update, never a new backup: a store added gets a copy of what exists, a store removed loses "
        "its copy. Refresh notices a copy deleted outside Pulumi and the next update makes it again; "
        "destroy deletes every copy.",
    )

    create_timeout: Annotated[Duration | None, Setting()] = Field(
        default=None,
        description=f"How long taking one backup, or making its copies, may take, e.g. '90m' (default "
        f"{DEFAULT_CREATE_TIMEOUT}).",
    )
    delete_timeout: Annotated[Duration | None, Setting()] = Field(
        default=None, description=f"How long deleting one backup may take (default {DEFAULT_DELETE_TIMEOUT})."
    )
    max_poll_interval: Annotated[Duration | None, Setting()] = Field(
        default=None,
        description=f"Longest wait between two polls of a ZStack job (default {DEFAULT_MAX_POLL_INTERVAL}).",
    )

    def shaping_inputs(self, *excluded: str) -> dict[str, Any]:
        # Copies are made of what exists and change in place: the groups' ids and owner tags ignore them.
        return super().shaping_inputs("copy_to_backup_storage_uuids", *excluded)

    @field_validator("copy_to_backup_storage_uuids")
    @classmethod
    def _distinct_copy_stores(cls, stores: list[str] | None, info: ValidationInfo) -> list[str] | None:
        if not stores:
            return None
        repeated = sorted({s for s in stores if stores.count(s) > 1})
        if repeated:
            raise ValueError(f"lists {', '.join(repeated)} more than once")
        source = info.data.get("backup_storage_uuid")
        if source in stores and "backup_storage_uuid" not in unknown_in(info):
            raise cross_property_error(
                "copy_to_backup_storage_uuids",
                f"copy_to_backup_storage_uuids must not list backup_storage_uuid ({source}): the backup is "
                "taken there, a copy goes to another store",
            )
        return stores

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
        self.root_volume_hint = root_volume_hint
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

    def observed_inputs(self, copy_stores: Sequence[str] | None = None) -> dict[str, Any]:
        """The CreateVmBackup inputs ZStack reports back, used to detect drift on refresh."""
        root = self.root
        if root is None:
            return {}
        observed: dict[str, Any] = {"description": root.description}
        if root.volume_uuid:  # a required input: a read that cannot see it keeps the state's
            observed["root_volume_uuid"] = root.volume_uuid
        storages = sorted(
            {r.backup_storage_uuid for r in root.backup_storage_refs if r.backup_storage_uuid}
            - set(copy_stores or [])
        )
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


#: How long writing or moving an owner tag may take. A tag is written once the backup is complete, so it has a
#: deadline of its own: a backup finished near `create_timeout` is not failed for want of time to tag it.
TAG_TIMEOUT = "10m"
_TAG_ATTEMPTS = 3


def tags_by_resource(ctx: OperationContext, resource_uuids: Sequence[str]) -> dict[str, GroupTags]:
    """The owner tags (and the legacy mark) on each of `resource_uuids`, in one query per 50 uuids."""
    found: dict[str, GroupTags] = {}
    unique = sorted(set(resource_uuids))
    for start in range(0, len(unique), 50):
        chunk = unique[start : start + 50]
        found.update(
            tags_of(
                ctx.client.query("user-tags", f"resourceUuid?={','.join(chunk)}", "tag~=pulumi-zstack::%")
            )
        )
    return found


def group_tags(ctx: OperationContext, group: BackupGroup) -> GroupTags:
    if group.root is None:
        return GroupTags()
    return tags_by_resource(ctx, [group.root.uuid]).get(group.root.uuid, GroupTags())


def _run_tag_job(ctx: OperationContext, method: str, path: str, subject: str, **kwargs: Any) -> None:
    limits = Limits.start(TAG_TIMEOUT, TAG_TIMEOUT, None)
    ctx.run_job(
        method,
        path,
        deadline=limits.deadline,
        operation=subject,
        max_poll_interval=limits.max_poll_interval,
        **kwargs,
    )


def attach_user_tag(
    ctx: OperationContext, resource_type: str, resource_uuid: str, tag: str, subject: str
) -> None:
    """CreateUserTag on any taggable resource, checked: a failed poll does not mean the tag is missing."""
    failure: ZStackError | None = None
    for _ in range(_TAG_ATTEMPTS):
        try:
            _run_tag_job(
                ctx,
                "POST",
                "/user-tags",
                subject,
                body={"params": {"resourceType": resource_type, "resourceUuid": resource_uuid, "tag": tag}},
            )
            return
        except ZStackError as error:
            failure = error
            if _tag_appears(ctx, resource_uuid, tag):
                return
    raise ZStackError(f"{subject} failed: {str(failure).rstrip('.')}.")


#: How long a tag job reported failed is watched for its tag before the tag is posted again: a 503 on a poll
#: may come from a proxy while the job itself goes on, and posting again then writes the tag twice.
_TAG_SETTLE_SECONDS = 5.0


def _tag_appears(ctx: OperationContext, resource_uuid: str, tag: str) -> bool:
    schedule, started = PollSchedule(max_interval=1.0), time.monotonic()
    while True:
        if ctx.client.query("user-tags", f"resourceUuid={resource_uuid}", f"tag={tag}"):
            return True
        elapsed = time.monotonic() - started
        if elapsed >= _TAG_SETTLE_SECONDS:
            return False
        time.sleep(schedule.wait(elapsed))


def claim_object(
    ctx: OperationContext,
    resource_type: str,
    resource_uuid: str,
    tag: OwnerTag,
    *,
    subject: str,
    current: GroupTags,
) -> None:
    """Make the resource named by `tag` the one owner of a ZStack object: write its tag, remove the others.

    Written only once the object is complete, just before a create or update hands it to the engine. Until
    the other tags are gone no resource may delete the object (`GroupTags.held_by`), so an interruption in
    between is safe, and the next attempt finishes the move.
    """
    if not any(o.claim == tag.claim for o in current.owners):
        try:
            attach_user_tag(ctx, resource_type, resource_uuid, tag.render(), f"owner tag of {subject}")
        except ZStackError as error:
            raise ZStackError(
                f"{error} The tag marks what was made as this resource's, so that no later create resumes "
                "it and no other resource deletes it. Run `pulumi up` again: it finds it and tags it."
            ) from None
    for other in current.owners:
        if other.claim != tag.claim and other.tag_uuid:
            ctx.progress(f"{subject}: taking it over from {other.urn}")
            _run_tag_job(
                ctx, "DELETE", f"/tags/{other.tag_uuid}", f"removal of {other.urn}'s owner tag from {subject}"
            )


def claim_group(
    ctx: OperationContext,
    group: BackupGroup,
    tag: OwnerTag,
    *,
    subject: str,
    current: GroupTags | None = None,
) -> None:
    """`claim_object` for a backup group: its owner tag lives on the root volume backup."""
    root = group.root
    if root is None:
        raise ZStackError(f"{subject}: the group has no root volume backup to carry its owner tag")
    tags = current if current is not None else group_tags(ctx, group)
    claim_object(ctx, "VolumeBackupVO", root.uuid, tag, subject=subject, current=tags)


def apply_user_tags(
    ctx: OperationContext, group: BackupGroup, user_tags: Sequence[str], subject: str
) -> None:
    """Attach the `user_tags` input to every member: ZStack drops the userTags of a CreateVmBackup request."""
    if not user_tags:
        return
    present = {
        (t.get("resourceUuid"), t.get("tag"))
        for t in ctx.client.query("user-tags", f"resourceUuid?={','.join(m.uuid for m in group.members)}")
    }
    for member in group.ordered_members():
        for tag in user_tags:
            if (member.uuid, tag) not in present:
                attach_user_tag(ctx, "VolumeBackupVO", member.uuid, tag, f"user tag {tag!r} of {subject}")


@dataclass(frozen=True)
class OwnedGroups:
    """Every group under one owner's ids (all generations, all inputs), with the tags on their roots."""

    members: dict[str, list[WireVolumeBackup]]
    tags: dict[str, GroupTags]

    def group(self, group_uuid: str, root_volume_hint: str | None = None) -> BackupGroup:
        live = [m for m in self.members.get(group_uuid, []) if m.status != "Deleted"]
        return BackupGroup(group_uuid, live, root_volume_hint)

    def tags_of(self, group_uuid: str) -> GroupTags:
        root = self.group(group_uuid).root
        return self.tags.get(root.uuid, GroupTags()) if root is not None else GroupTags()

    def resumable(self, group_uuid: str) -> bool:
        """An earlier attempt that never reached a state: every member alive, no owner tag, no legacy mark."""
        members = self.members.get(group_uuid)
        if not members or any(m.status == "Deleted" for m in members):
            return False
        return not self.tags_of(group_uuid).handed_out

    def choose(self, candidates: Sequence[str]) -> str:
        """An earlier, unfinished attempt among `candidates` if any, else the first id nothing uses."""
        return next((c for c in candidates if self.resumable(c)), None) or first_free(
            candidates, set(self.members)
        )


def owned_groups(ctx: OperationContext, pattern: str) -> OwnedGroups:
    """The groups whose uuid matches the LIKE `pattern` (Deleted members included) and their roots' tags."""
    members: dict[str, list[WireVolumeBackup]] = {}
    for inventory in ctx.client.query("volume-backups", f"groupUuid~={pattern}"):
        member = WireVolumeBackup.model_validate(inventory)
        if member.group_uuid:
            members.setdefault(member.group_uuid, []).append(member)
    roots = [
        m.uuid for group in members.values() for m in group if m.type == "Root" and m.status != "Deleted"
    ]
    return OwnedGroups(members, tags_by_resource(ctx, roots))


def candidates(make_id: Callable[[int], str], taken: int) -> list[str]:
    """Ids of one line, enough of them that at least one is not among `taken` groups."""
    return [make_id(generation) for generation in range(taken + 1)]


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
    apply_user_tags(ctx, group, request.user_tags or [], subject)
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
            params=DELETE_PARAMS,
            operation=operation,
            deadline=limits.deadline,
            timeout_hint=hint,
            max_poll_interval=limits.max_poll_interval,
        )

    # DeleteVmBackup succeeds for an unknown group and even when members fail, so the only proof of a
    # delete is a query that finds nothing live: a member that later backups build on stays, `Deleted`.
    # What survives the group delete is deleted member by member.
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


def delete_if_held(
    ctx: OperationContext,
    group_uuid: str,
    claim: str | None,
    limits: Limits,
    *,
    subject: str,
    hint: str,
) -> bool:
    """Delete a group the state holds, unless another resource has adopted it since; True if deleted.

    A group handed to the engine by a create or update of this same run is never deleted: it is the one a
    replacement kept (an adopted group under ``--replace``).
    """
    if group_uuid in handed_out:
        logger.warning(
            "warning: %s: kept, not deleted: this run handed the same backup group to its replacement",
            subject,
        )
        return False
    members = live_members(ctx, group_uuid)
    if not members:
        return True
    tags = group_tags(ctx, BackupGroup(group_uuid, members, None))
    if not tags.held_by(claim):
        owners = ", ".join(sorted({o.urn for o in tags.owners})) or "another resource"
        logger.warning(
            "warning: %s: dropped from this stack but not deleted: %s holds the backup group now",
            subject,
            owners,
        )
        return False
    delete_group(ctx, group_uuid, limits, subject=subject, hint=hint)
    return True


def sweep_unrecorded(
    ctx: OperationContext, owner: Owner, limits: Limits, *, keep: Sequence[str], subject: str, hint: str
) -> None:
    """Delete the complete groups an owner made that never reached a state (interrupted, timed-out attempts).

    Only groups under the owner's own ids, with no owner tag and every member Ready: a group still being made
    is left to finish (the orphans command lists it), and a tagged group is in some state.
    """
    owned = owned_groups(ctx, owner.like_pattern)
    for group_uuid in sorted(owned.members):
        group = owned.group(group_uuid)
        if (
            group_uuid in keep
            or group_uuid in handed_out
            or not owned.resumable(group_uuid)
            or not group.ready
        ):
            continue
        ctx.progress(
            f"{subject}: deleting backup group {group_uuid}, an attempt that never reached the stack"
        )
        delete_group(ctx, group_uuid, limits, subject=f"{subject} unrecorded attempt {group_uuid}", hint=hint)


#: The query parameters of every DeleteVmBackup and DeleteVolumeBackup. An auto backup builds on the
#: previous backup of each volume, and ZStack deletes the bits of a backup even when later backups build
#: on it, unless `handleDependency` is set: then such a backup keeps its bits and only turns `Deleted`, and
#: ZStack purges it once the last backup built on it is deleted (server class VolumeBackupManagerImpl,
#: doDeleteVolumeBackup). So pruning a series or replacing a backup never breaks a backup that stays kept.
#: ZStack before 4.7.11 does not know the parameter and ignores it, as any unknown query parameter.
DELETE_PARAMS = {"deleteMode": "Permissive", "handleDependency": "true"}


# ----------------------------------------------------------------- offsite copies

#: A copy on a backup storage is a `backupStorageRefs` entry of each member; these are still being written.
_COPY_IN_PROGRESS = frozenset({"Creating", "Downloading"})


class CopyFailed(ZStackError):
    """A backup group could not be copied to (or its copy removed from) one backup storage."""


def _ref_on(member: WireVolumeBackup, storage_uuid: str) -> _WireStorageRef | None:
    return next((r for r in member.backup_storage_refs if r.backup_storage_uuid == storage_uuid), None)


def copy_complete(group: BackupGroup, storage_uuid: str) -> bool:
    """Whether every member of the group has a Ready copy on `storage_uuid`."""
    return bool(group.members) and all(
        (ref := _ref_on(m, storage_uuid)) is not None and ref.status == "Ready" for m in group.members
    )


def complete_stores(group: BackupGroup) -> list[str]:
    """Every backup storage that holds the whole group, Ready (the one it was taken to included)."""
    stores = {
        r.backup_storage_uuid for m in group.members for r in m.backup_storage_refs if r.backup_storage_uuid
    }
    return sorted(s for s in stores if copy_complete(group, s))


def missing_copies(group: BackupGroup, copy_stores: Sequence[str] | None) -> list[str]:
    """The stores of `copy_stores` that do not hold the whole group yet."""
    return sorted(s for s in copy_stores or [] if not copy_complete(group, s))


def copy_sync_body(source_uuid: str, destination_uuid: str) -> dict[str, Any]:
    """The body of SyncVmBackupFromImageStoreBackupStorage (Java SDK, its Action class)."""
    return {
        "syncVmBackupFromImageStoreBackupStorage": {
            "srcBackupStorageUuid": source_uuid,
            "dstBackupStorageUuid": destination_uuid,
        }
    }


def make_copies(
    ctx: OperationContext,
    group: BackupGroup,
    source_uuid: str,
    copy_stores: Sequence[str] | None,
    limits: Limits,
    *,
    subject: str,
    hint: str,
) -> BackupGroup:
    """Copy the group to every store of `copy_stores` that does not hold it whole yet; the group as it ends.

    Idempotent: a store that already holds a Ready copy of every member is not copied again, and a copy still
    being written (an earlier, interrupted run) is waited for before anything is sent. Raises `CopyFailed`
    naming the group and the store; the copies made before it stay.
    """
    for store in copy_stores or []:
        if copy_complete(group, store):
            continue
        group = _wait_for_copy_in_progress(ctx, group, store, limits, subject)
        if copy_complete(group, store):
            continue
        ctx.progress(f"{subject}: copying backup group {group.group_uuid} to backup storage {store}")
        failure: ZStackError | None = None
        try:
            ctx.run_job(
                "PUT",
                f"/vm-backups/{group.group_uuid}/actions",
                body=copy_sync_body(source_uuid, store),
                deadline=limits.deadline,
                operation=f"copy of {subject} to backup storage {store}",
                timeout_hint=hint,
                max_poll_interval=limits.max_poll_interval,
            )
        except ZStackError as error:
            failure = error  # a failed poll does not prove a failed copy: the query below tells
        group = BackupGroup(group.group_uuid, live_members(ctx, group.group_uuid), group.root_volume_hint)
        if not copy_complete(group, store):
            reason = (
                str(failure).rstrip(".")
                if failure
                else "ZStack reported it done, but a member has no Ready copy there"
            )
            raise CopyFailed(
                f"{subject}: the copy of backup group {group.group_uuid} to backup storage {store} failed: "
                f"{reason}. The backup itself is kept; run `pulumi up` again to make the copy."
            )
    return group


def _wait_for_copy_in_progress(
    ctx: OperationContext, group: BackupGroup, store: str, limits: Limits, subject: str
) -> BackupGroup:
    schedule, started = PollSchedule(max_interval=limits.max_poll_interval), time.monotonic()
    while True:
        writing = [
            m
            for m in group.members
            if (ref := _ref_on(m, store)) is not None and ref.status in _COPY_IN_PROGRESS
        ]
        if not writing:
            return group
        interval = schedule.wait(time.monotonic() - started)
        if time.monotonic() + interval > limits.deadline:
            raise CopyFailed(
                f"{subject}: the copy of backup group {group.group_uuid} to backup storage {store} is still "
                f"being written after {limits.allowed}; run `pulumi up` again once ZStack has finished it."
            )
        ctx.progress(
            f"{subject}: waiting for the copy of {len(writing)} of {len(group.members)} volume backups to "
            f"backup storage {store} to finish"
        )
        time.sleep(interval)
        group = BackupGroup(group.group_uuid, live_members(ctx, group.group_uuid), group.root_volume_hint)


def remove_copy(
    ctx: OperationContext,
    group_uuid: str,
    store: str,
    claim: str | None,
    limits: Limits,
    *,
    subject: str,
    hint: str,
) -> None:
    """Delete the copy of a group the state holds from one backup storage (DeleteVmBackup with
    `backupStorageUuids`): the group and its other copies stay. Another resource's group is left alone."""
    members = live_members(ctx, group_uuid)
    group = BackupGroup(group_uuid, members, None)
    if not any(_live_ref(m, store) for m in members):
        return
    if not group_tags(ctx, group).held_by(claim):
        logger.warning(
            "warning: %s: copy on backup storage %s kept: another resource holds the group", subject, store
        )
        return
    ctx.progress(f"{subject}: deleting the copy of backup group {group_uuid} on backup storage {store}")
    try:
        ctx.run_job(
            "DELETE",
            f"/vm-backups/{group_uuid}",
            params={**DELETE_PARAMS, "backupStorageUuids": store},
            operation=f"delete of the copy of {subject} on backup storage {store}",
            deadline=limits.deadline,
            timeout_hint=hint,
            max_poll_interval=limits.max_poll_interval,
        )
    except ZStackError as error:
        failure: ZStackError | None = error
    else:
        failure = None
    left = [m.uuid for m in live_members(ctx, group_uuid) if _live_ref(m, store)]
    if left:
        reason = f": {str(failure).rstrip('.')}" if failure else ""
        raise CopyFailed(
            f"{subject}: the copy of backup group {group_uuid} on backup storage {store} could not be "
            f"deleted ({len(left)} volume backup(s) still there){reason}. Run `pulumi up` again."
        )


def _live_ref(member: WireVolumeBackup, store: str) -> bool:
    # A ref left `Deleted` keeps bits later backups build on (handleDependency); ZStack purges it with them.
    ref = _ref_on(member, store)
    return ref is not None and ref.status != "Deleted"
