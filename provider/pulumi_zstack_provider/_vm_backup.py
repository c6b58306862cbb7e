"""The VmBackup resource: a ZStack VM backup, i.e. the group of volume backups made by CreateVmBackup."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field, JsonValue

from ._backup_group import (
    DEFAULT_CREATE_TIMEOUT,
    DEFAULT_DELETE_TIMEOUT,
    BackupGroup,
    CopyFailed,
    CreateVmBackupInputs,
    Limits,
    candidates,
    claim_group,
    complete_stores,
    copy_complete,
    delete_if_held,
    group_tags,
    live_members,
    logger,
    make_copies,
    missing_copies,
    original_name,
    owned_groups,
    remove_copy,
    sweep_unrecorded,
    take_backup,
)
from ._client import ZStackError
from ._ownership import GroupTags, OwnerTag, digest, handed_out, new_claim
from ._resource import IncompleteOperation, OperationContext, ReadOutcome, ResourceDefinition
from ._schema import Input, Output
from ._types import ZStackUuid


class VmBackupProperties(CreateVmBackupInputs):
    """Every property of a VmBackup, declared once. Inputs map to CreateVmBackup's parameters."""

    triggers: Annotated[list[JsonValue] | None, Input(replace=True, ordered=True)] = Field(
        default=None,
        description="Any JSON values; a change takes a new backup (the old one is deleted once the new one "
        "is Ready). E.g. `[app_version]` for a backup before each release.",
    )
    group_uuid: Annotated[ZStackUuid | None, Input(identity=True)] = Field(
        default=None,
        description="Set it to adopt an existing backup group: the resource takes that group whatever its "
        "tags and becomes its one owner (a `--replace` keeps it). Left unset, each create makes a group "
        "under an id derived from the resource's URN and inputs, so an interrupted create is resumed "
        "instead of duplicated. The group's UUID is the resource's id. Only used at create.",
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
    backup_storage_refs: Annotated[list[dict[str, Any]] | None, Output(always=True)] = Field(
        default=None,
        description="Where the root backup is stored: backup_storage_uuid, install_path, status.",
    )
    members: Annotated[list[dict[str, Any]] | None, Output(always=True)] = Field(
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
    backup_storage_uuids: Annotated[list[str] | None, Output()] = Field(
        default=None,
        description="Every backup storage that holds the whole group (each volume backup Ready there): the "
        "one it was taken to and its offsite copies.",
    )
    copies: Annotated[list[dict[str, Any]] | None, Output()] = Field(
        default=None,
        description="One entry per store of `copy_to_backup_storage_uuids`: backup_storage_uuid, complete "
        "(every volume backup has a Ready copy there).",
    )
    copy_pending: Annotated[list[str] | None, Output()] = Field(
        default=None,
        description="Stores of `copy_to_backup_storage_uuids` that do not hold a complete copy (a failed "
        "copy, or one deleted outside Pulumi and found by refresh). The next update makes them; until then "
        "a preview shows an update.",
    )


def _copy_outputs(group: BackupGroup, copy_stores: list[str] | None) -> dict[str, Any]:
    return {
        "backup_storage_uuids": complete_stores(group),
        "copies": [
            {"backup_storage_uuid": s, "complete": copy_complete(group, s)} for s in sorted(copy_stores or [])
        ]
        or None,
        "copy_pending": missing_copies(group, copy_stores) or None,
    }


def _outputs(group: BackupGroup, copy_stores: list[str] | None) -> dict[str, Any]:
    root = group.root
    return {
        **_copy_outputs(group, copy_stores),
        "group_uuid": group.group_uuid,
        "vm_instance_uuid": group.vm_instance_uuid,
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
        "members": [m.as_member() for m in group.ordered_members()],
        "total_size": group.total_size,
    }


def _copy_limits(props: VmBackupProperties, group_uuid: str) -> tuple[Limits, str]:
    limits = Limits.start(props.create_timeout, DEFAULT_CREATE_TIMEOUT, props.max_poll_interval)
    hint = (
        f"Raise the `create_timeout` input of this VmBackup (now {limits.allowed}) and run `pulumi up` "
        f"again: backup group {group_uuid} is kept, and the copies it lacks are made then."
    )
    return limits, hint


class VmBackupResource(ResourceDefinition[VmBackupProperties]):
    model = VmBackupProperties
    label = "VmBackup"

    def create(self, ctx: OperationContext, props: VmBackupProperties) -> tuple[str, dict[str, Any]]:
        owner, inputs_digest = props.owner(), digest(props.shaping_inputs())
        if props.group_uuid is not None:
            group_uuid, current = props.group_uuid, None
        else:
            owned = owned_groups(ctx, owner.like_pattern)
            group_uuid = owned.choose(
                candidates(lambda g: owner.object_id(self.label, inputs_digest, g), len(owned.members))
            )
            ctx.remember(f"members:{group_uuid}", owned.group(group_uuid).members)
            current = owned.tags_of(group_uuid)
        limits = Limits.start(props.create_timeout, DEFAULT_CREATE_TIMEOUT, props.max_poll_interval)
        hint = (
            f"Raise the `create_timeout` input of this VmBackup (now {limits.allowed}) and run `pulumi up` "
            f"again: the provider resumes backup group {group_uuid} instead of starting another one."
        )
        subject = f"VmBackup {group_uuid}"
        group = take_backup(ctx, props, group_uuid, limits, subject=subject, hint=hint)
        if props.group_uuid is not None:
            current = group_tags(ctx, group)
            if any(o.urn == props.owner_urn for o in current.owners):
                # A forced replacement of an adopted backup: the engine sees a new resource, ZStack the same.
                logger.info(
                    "%s: keeps the adopted backup group (set by `group_uuid`): replacing an adopted backup "
                    "takes no new one; unset `group_uuid` to take new backups",
                    subject,
                )
        claim = new_claim()
        tag = OwnerTag(owner.stack_key, group_uuid, claim, inputs_digest, props.owner_urn)
        claim_group(ctx, group, tag, subject=subject, current=current)
        handed_out.add(group_uuid)
        made = {**props.model_dump(), "owner_claim": claim}
        try:
            group = self._copy(ctx, props, group, subject)
        except CopyFailed as error:
            raise IncompleteOperation(
                str(error), group_uuid, {**made, **self._reread(ctx, group, props)}
            ) from None
        return group_uuid, {**made, **_outputs(group, props.copy_to_backup_storage_uuids)}

    def update(
        self, ctx: OperationContext, resource_id: str, olds: Mapping[str, Any], props: VmBackupProperties
    ) -> dict[str, Any]:
        """Offsite copies, the one thing that changes in place: copy to the stores listed, and delete the
        copies on stores no longer listed."""
        subject = f"VmBackup {resource_id}"
        members = live_members(ctx, resource_id)
        if not members:
            raise ZStackError(
                f"{subject}: the backup group is gone from ZStack; run `pulumi refresh` to drop it from the "
                "stack"
            )
        group = BackupGroup(resource_id, members, props.root_volume_uuid)
        kept = {
            "owner_claim": olds.get("owner_claim"),
            "missing_members": olds.get("missing_members"),
        }
        made = {**props.model_dump(), **kept}
        wanted = set(props.copy_to_backup_storage_uuids or [])
        dropped = sorted(
            set(olds.get("copy_to_backup_storage_uuids") or []) - wanted - {props.backup_storage_uuid}
        )
        limits, hint = _copy_limits(props, resource_id)
        try:
            for store in dropped:
                remove_copy(
                    ctx, resource_id, store, olds.get("owner_claim"), limits, subject=subject, hint=hint
                )
            if dropped:
                group = BackupGroup(resource_id, live_members(ctx, resource_id), props.root_volume_uuid)
            group = self._copy(ctx, props, group, subject)
        except CopyFailed as error:
            raise IncompleteOperation(
                str(error), resource_id, {**made, **self._reread(ctx, group, props)}
            ) from None
        return {**made, **_outputs(group, props.copy_to_backup_storage_uuids)}

    def pending_update(self, state: Mapping[str, Any]) -> bool:
        return bool(state.get("copy_pending"))

    @staticmethod
    def _copy(
        ctx: OperationContext, props: VmBackupProperties, group: BackupGroup, subject: str
    ) -> BackupGroup:
        limits, hint = _copy_limits(props, group.group_uuid)
        return make_copies(
            ctx,
            group,
            props.backup_storage_uuid,
            props.copy_to_backup_storage_uuids,
            limits,
            subject=subject,
            hint=hint,
        )

    @staticmethod
    def _reread(ctx: OperationContext, group: BackupGroup, props: VmBackupProperties) -> dict[str, Any]:
        """The outputs after a failed copy, as ZStack now holds the group (some copies may be made)."""
        current = BackupGroup(group.group_uuid, live_members(ctx, group.group_uuid), props.root_volume_uuid)
        return _outputs(current if current.members else group, props.copy_to_backup_storage_uuids)

    def read(self, ctx: OperationContext, resource_id: str, state: Mapping[str, Any]) -> ReadOutcome | None:
        members = live_members(ctx, resource_id)
        if not members:
            return None
        group = BackupGroup(resource_id, members, state.get("root_volume_uuid"))
        copy_stores = state.get("copy_to_backup_storage_uuids")
        outputs = _outputs(group, copy_stores)
        live_volumes = {m.volume_uuid for m in members}
        recorded = {m.get("volume_uuid") for m in state.get("members") or [] if isinstance(m, Mapping)}
        missing = (recorded | set(state.get("missing_members") or [])) - live_volumes - {None}
        outputs["missing_members"] = sorted(str(v) for v in missing) or None
        outputs["owner_claim"] = state.get("owner_claim")
        inputs = {
            "group_uuid": resource_id,
            **VmBackupProperties.user_supplied(state),
            **group.observed_inputs(copy_stores),
        }
        if not inputs.get("name"):  # adopted with VmBackup.get: recover the name ZStack was given
            inputs["name"] = original_name(outputs["backup_name"])
        return ReadOutcome(outputs=outputs, inputs=inputs)

    def owner_tags(self, ctx: OperationContext, resource_id: str) -> GroupTags | None:
        return group_tags(ctx, BackupGroup(resource_id, live_members(ctx, resource_id), None))

    def drift_replaces(self, state: Mapping[str, Any]) -> list[str]:
        return ["missing_members"] if state.get("missing_members") else []

    def delete(self, ctx: OperationContext, resource_id: str, state: Mapping[str, Any]) -> None:
        limits = Limits.start(
            state.get("delete_timeout"), DEFAULT_DELETE_TIMEOUT, state.get("max_poll_interval")
        )
        hint = (
            f"Raise the `delete_timeout` input (now {limits.allowed}) and run the operation again; the "
            "backup group stays in the stack until it is gone."
        )
        subject = f"VmBackup {resource_id}"
        delete_if_held(ctx, resource_id, state.get("owner_claim"), limits, subject=subject, hint=hint)
        owner = VmBackupProperties.owner_of(state)
        if owner is not None:
            sweep_unrecorded(ctx, owner, limits, keep=[resource_id], subject=subject, hint=hint)
