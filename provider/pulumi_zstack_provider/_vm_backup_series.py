"""The VmBackupSeries resource: a rotating series of VM backups, "a backup before every release, keep N".

The series itself is not a ZStack object: its id is an owned id of ours (see `_ownership`), and each backup it
takes is one CreateVmBackup group. The n-th backup, taken for triggers T, is always group
``owner.object_id("take", series, n, digest(T))``: an update interrupted while its backup was being made finds
that backup again, and a backup is never labelled with triggers it was not taken for.
"""

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
    OwnedGroups,
    candidates,
    claim_group,
    complete_stores,
    delete_if_held,
    live_groups,
    live_members,
    logger,
    make_copies,
    owned_groups,
    remove_copy,
    sweep_unrecorded,
    take_backup,
)
from ._client import ZStackError
from ._ownership import Owner, OwnerTag, digest, handed_out, new_claim
from ._resource import IncompleteOperation, OperationContext, ReadOutcome, ResourceDefinition
from ._schema import Input, Output, canonical_json
from ._types import PositiveCount, ZStackUuid

#: Inputs that change a series in place: they must not change the id of its first create.
_IN_PLACE = ("keep", "triggers")


class VmBackupSeriesProperties(CreateVmBackupInputs):
    """Every property of a VmBackupSeries, declared once."""

    keep: Annotated[PositiveCount, Input()] = Field(
        description="How many backups to keep, newest first. Lowering it deletes the oldest ones at the next "
        "update; raising it keeps what exists."
    )
    triggers: Annotated[list[JsonValue] | None, Input(ordered=True)] = Field(
        default=None,
        description="Any JSON values; a change takes a new backup in the series (an update, not a "
        "replacement), then deletes the oldest ones beyond `keep`. E.g. `[app_version]`.",
    )
    series_uuid: Annotated[ZStackUuid | None, Input(identity=True)] = Field(
        default=None,
        description="Left unset, the series' UUID (the resource's id, not a ZStack object) is derived from "
        "the resource's URN and inputs, so an interrupted first create is resumed and a replacement gets a "
        "new one. Only used at create.",
    )

    group_uuids: Annotated[list[str] | None, Output(always=True)] = Field(
        default=None, description="The kept backup groups, newest first; at most `keep`."
    )
    latest_group_uuid: Annotated[str | None, Output()] = Field(
        default=None, description="The newest backup group of the series."
    )
    backups: Annotated[list[dict[str, Any]] | None, Output(always=True)] = Field(
        default=None,
        description="One entry per kept backup, newest first: group_uuid, take (its number in the series), "
        "create_date, triggers (the values it was taken for), total_size (bytes), status, volume_uuids, "
        "backup_storage_uuids (every store that holds the whole backup: the one it was taken to and its "
        "offsite copies).",
    )
    vm_instance_uuid: Annotated[str | None, Output()] = Field(default=None, description="The backed-up VM.")
    takes: Annotated[int | None, Output(always=True)] = Field(
        default=None, description="How many backups the series has taken in all, pruned ones included."
    )
    missing_group_uuids: Annotated[list[str] | None, Output()] = Field(
        default=None,
        description="Backups of the series that refresh found deleted or broken (a volume backup gone) "
        "outside Pulumi, and dropped from `backups`.",
    )
    prune_pending: Annotated[list[str] | None, Output()] = Field(
        default=None,
        description="Backup groups the series no longer keeps but could not delete yet (a failed prune, or "
        "a broken backup found by refresh). The next update deletes them; until then a preview shows an "
        "update.",
    )
    copy_pending: Annotated[list[dict[str, Any]] | None, Output()] = Field(
        default=None,
        description="Copies that `copy_to_backup_storage_uuids` asks for and ZStack does not hold "
        "complete (a failed copy, or one deleted outside Pulumi and found by refresh), as group_uuid, "
        "backup_storage_uuid. The next update makes them; until then a preview shows an update.",
    )


def _entry(group: BackupGroup, take: int, triggers: Any) -> dict[str, Any]:
    root = group.root
    return {
        "backup_storage_uuids": complete_stores(group),
        "group_uuid": group.group_uuid,
        "take": take,
        "create_date": root.create_date if root else None,
        "triggers": triggers,
        "total_size": group.total_size,
        "status": root.status if root else None,
        "volume_uuids": sorted(m.volume_uuid for m in group.members if m.volume_uuid),
    }


def _series_outputs(
    series_uuid: str,
    backups: list[dict[str, Any]],
    takes: int,
    vm_instance_uuid: str | None,
    *,
    claim: str | None,
    prune_pending: list[str],
    copy_stores: list[str] | None,
) -> dict[str, Any]:
    pending = [
        {"group_uuid": b["group_uuid"], "backup_storage_uuid": store}
        for b in backups
        for store in sorted(copy_stores or [])
        if store not in (b.get("backup_storage_uuids") or [])
    ]
    return {
        "copy_pending": pending or None,
        "series_uuid": series_uuid,
        "group_uuids": [b["group_uuid"] for b in backups],
        "latest_group_uuid": backups[0]["group_uuid"] if backups else None,
        "backups": backups,
        "takes": takes,
        "vm_instance_uuid": vm_instance_uuid,
        "owner_claim": claim,
        "prune_pending": prune_pending or None,
    }


def _recorded(state: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [dict(b) for b in state.get("backups") or [] if isinstance(b, Mapping) and b.get("group_uuid")]


def _takes(state: Mapping[str, Any], backups: list[dict[str, Any]]) -> int:
    recorded = state.get("takes")
    return int(recorded) if recorded is not None else len(backups)


def _take_id(owner: Owner, series_uuid: str, take: int, triggers: Any) -> str:
    return owner.object_id("take", series_uuid, take, digest({"triggers": triggers}))


def _complete(group: BackupGroup, entry: Mapping[str, Any]) -> bool:
    """Whether a kept backup can still be restored: its root and every volume it was taken with are Ready."""
    recorded = set(entry.get("volume_uuids") or [])
    live = {m.volume_uuid for m in group.members}
    return group.root is not None and group.ready and recorded <= live


class VmBackupSeriesResource(ResourceDefinition[VmBackupSeriesProperties]):
    model = VmBackupSeriesProperties
    label = "VmBackupSeries"

    def create(self, ctx: OperationContext, props: VmBackupSeriesProperties) -> tuple[str, dict[str, Any]]:
        owner = props.owner()
        owned = owned_groups(ctx, owner.like_pattern)
        if props.series_uuid is not None:
            series_uuid = props.series_uuid
        else:
            shape = digest(props.shaping_inputs(*_IN_PLACE))
            held = {o.resource_id for tags in owned.tags.values() for o in tags.owners}
            line = [
                s
                for s in candidates(lambda g: owner.object_id(self.label, shape, g), len(held))
                if s not in held
            ]
            # An earlier attempt at this series that never reached a state left its first take untagged.
            series_uuid = next(
                (s for s in line if owned.resumable(_take_id(owner, s, 1, props.triggers))), line[0]
            )
        claim = new_claim()
        group = self._take(ctx, props, owner, owned, series_uuid, 1, claim)
        backups, failures = self._copies(
            ctx, props, series_uuid, [_entry(group, 1, props.triggers)], [], claim
        )
        outputs = _series_outputs(
            series_uuid,
            backups,
            1,
            group.vm_instance_uuid,
            claim=claim,
            prune_pending=[],
            copy_stores=props.copy_to_backup_storage_uuids,
        )
        made = {**props.model_dump(), **outputs}
        if failures:
            raise IncompleteOperation(" ".join(failures), series_uuid, made)
        return series_uuid, made

    def update(
        self,
        ctx: OperationContext,
        resource_id: str,
        olds: Mapping[str, Any],
        props: VmBackupSeriesProperties,
    ) -> dict[str, Any]:
        backups = _recorded(olds)
        takes = _takes(olds, backups)
        vm_instance_uuid = olds.get("vm_instance_uuid")
        # A series made before owner tags gets its claim with its first new take.
        claim = olds.get("owner_claim") or new_claim()
        if canonical_json(olds.get("triggers")) != canonical_json(props.triggers):
            owner = props.owner()
            owned = owned_groups(ctx, owner.like_pattern)
            takes += 1
            group = self._take(ctx, props, owner, owned, resource_id, takes, claim)
            backups.insert(0, _entry(group, takes, props.triggers))
            vm_instance_uuid = group.vm_instance_uuid or vm_instance_uuid
        kept, beyond = backups[: props.keep], backups[props.keep :]
        # Oldest first, so an interruption leaves the newest backups in place.
        prune = [*(olds.get("prune_pending") or []), *(b["group_uuid"] for b in reversed(beyond))]
        failed = self._prune(ctx, resource_id, prune, claim, props)
        dropped = sorted(
            set(olds.get("copy_to_backup_storage_uuids") or [])
            - set(props.copy_to_backup_storage_uuids or [])
            - {props.backup_storage_uuid}
        )
        kept, failures = self._copies(ctx, props, resource_id, kept, dropped, claim)
        outputs = _series_outputs(
            resource_id,
            kept,
            takes,
            vm_instance_uuid,
            claim=claim,
            prune_pending=failed,
            copy_stores=props.copy_to_backup_storage_uuids,
        )
        made = {**props.model_dump(), **outputs}
        if failures:
            raise IncompleteOperation(" ".join(failures), resource_id, made)
        return made

    def pending_update(self, state: Mapping[str, Any]) -> bool:
        return bool(state.get("prune_pending") or state.get("copy_pending"))

    def _copies(
        self,
        ctx: OperationContext,
        props: VmBackupSeriesProperties,
        series_uuid: str,
        backups: list[dict[str, Any]],
        dropped: list[str],
        claim: str | None,
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """Make the offsite copies the kept backups lack, and delete their copies on `dropped` stores.

        Returns the entries as ZStack now holds them, and the failures: a failed copy does not stop the
        others, and never loses a backup (the caller hands every entry to the engine).
        """
        if not backups or not (props.copy_to_backup_storage_uuids or dropped):
            return backups, []
        live = live_groups(ctx, [b["group_uuid"] for b in backups])
        limits = Limits.start(props.create_timeout, DEFAULT_CREATE_TIMEOUT, props.max_poll_interval)
        hint = (
            f"Raise the `create_timeout` input of this VmBackupSeries (now {limits.allowed}) and run "
            "`pulumi up` again: the backups are kept, and the copies they lack are made then."
        )
        entries: list[dict[str, Any]] = []
        failures: list[str] = []
        for entry in backups:
            group_uuid = entry["group_uuid"]
            members = live.get(group_uuid)
            if not members:
                entries.append(entry)
                continue
            group = BackupGroup(group_uuid, members, props.root_volume_uuid)
            subject = f"VmBackupSeries {series_uuid} backup {entry.get('take')} (group {group_uuid})"
            try:
                for store in dropped:
                    remove_copy(ctx, group_uuid, store, claim, limits, subject=subject, hint=hint)
                if dropped:
                    group = BackupGroup(group_uuid, live_members(ctx, group_uuid), props.root_volume_uuid)
                group = make_copies(
                    ctx,
                    group,
                    props.backup_storage_uuid,
                    props.copy_to_backup_storage_uuids,
                    limits,
                    subject=subject,
                    hint=hint,
                )
            except CopyFailed as error:
                failures.append(str(error))
                group = BackupGroup(group_uuid, live_members(ctx, group_uuid), props.root_volume_uuid)
            entries.append({**entry, "backup_storage_uuids": complete_stores(group)})
        return entries, failures

    def _take(
        self,
        ctx: OperationContext,
        props: VmBackupSeriesProperties,
        owner: Owner,
        owned: OwnedGroups,
        series_uuid: str,
        take: int,
        claim: str,
    ) -> BackupGroup:
        group_uuid = _take_id(owner, series_uuid, take, props.triggers)
        current = owned.tags_of(group_uuid)
        if current.owners and not any(o.claim == claim for o in current.owners):
            raise ZStackError(
                f"VmBackupSeries {series_uuid}: backup group {group_uuid} for take {take} belongs to "
                f"{', '.join(sorted({o.urn for o in current.owners}))}; it is not this series' to resume. "
                "Run `pulumi-zstack orphans` to see what ZStack holds for the stack."
            )
        ctx.remember(f"members:{group_uuid}", owned.group(group_uuid).members)
        limits = Limits.start(props.create_timeout, DEFAULT_CREATE_TIMEOUT, props.max_poll_interval)
        hint = (
            f"Raise the `create_timeout` input of this VmBackupSeries (now {limits.allowed}) and run "
            f"`pulumi up` again: the provider resumes backup group {group_uuid} instead of taking another."
        )
        subject = f"VmBackupSeries {series_uuid} backup {take} (group {group_uuid})"
        group = take_backup(ctx, props, group_uuid, limits, subject=subject, hint=hint)
        tag = OwnerTag(owner.stack_key, series_uuid, claim, digest({"triggers": props.triggers}), owner.urn)
        claim_group(ctx, group, tag, subject=subject, current=current)
        handed_out.add(group_uuid)
        return group

    @staticmethod
    def _limits(props: Mapping[str, Any]) -> tuple[Limits, str]:
        limits = Limits.start(
            props.get("delete_timeout"), DEFAULT_DELETE_TIMEOUT, props.get("max_poll_interval")
        )
        hint = (
            f"Raise the `delete_timeout` input (now {limits.allowed}) and run the operation again; the "
            "series keeps listing the backup until it is gone."
        )
        return limits, hint

    def _prune(
        self,
        ctx: OperationContext,
        series_uuid: str,
        group_uuids: list[str],
        claim: str | None,
        props: VmBackupSeriesProperties,
    ) -> list[str]:
        """Delete groups the series no longer keeps; return those that could not be deleted.

        A failed prune does not fail the update: the backup it took is in ZStack and must reach the state.
        The failure is reported, and the group stays in `prune_pending` for the next update.
        """
        limits, hint = self._limits(props.model_dump())
        failed: list[str] = []
        for group_uuid in dict.fromkeys(group_uuids):
            subject = f"VmBackupSeries {series_uuid} backup group {group_uuid}"
            try:
                delete_if_held(ctx, group_uuid, claim, limits, subject=subject, hint=hint)
            except ZStackError as error:
                failed.append(group_uuid)
                logger.warning(
                    "warning: %s could not be deleted: %s. The series keeps it in `prune_pending` and "
                    "deletes it at the next update.",
                    subject,
                    str(error).rstrip("."),
                )
        return failed

    def read(self, ctx: OperationContext, resource_id: str, state: Mapping[str, Any]) -> ReadOutcome | None:
        backups = _recorded(state)
        pending = list(state.get("prune_pending") or [])
        live = live_groups(ctx, [b["group_uuid"] for b in backups] + pending)
        kept: list[dict[str, Any]] = []
        missing: list[str] = []
        for backup in backups:
            members = live.get(backup["group_uuid"])
            group = BackupGroup(backup["group_uuid"], members or [], state.get("root_volume_uuid"))
            if not members:
                missing.append(backup["group_uuid"])
            elif not _complete(group, backup):
                # What is left cannot be restored: the next update deletes it.
                missing.append(backup["group_uuid"])
                pending.append(backup["group_uuid"])
            else:
                kept.append(_entry(group, int(backup.get("take") or 0), backup.get("triggers")))
        pending = [g for g in dict.fromkeys(pending) if g in live]
        if not kept and not pending:
            return None
        newest = (
            BackupGroup(kept[0]["group_uuid"], live[kept[0]["group_uuid"]], state.get("root_volume_uuid"))
            if kept
            else None
        )
        outputs = {
            **_series_outputs(
                resource_id,
                kept,
                _takes(state, backups),
                newest.vm_instance_uuid if newest else state.get("vm_instance_uuid"),
                claim=state.get("owner_claim"),
                prune_pending=pending,
                copy_stores=state.get("copy_to_backup_storage_uuids"),
            ),
            "missing_group_uuids": sorted({*(state.get("missing_group_uuids") or []), *missing}) or None,
        }
        inputs = {
            "series_uuid": resource_id,
            **VmBackupSeriesProperties.user_supplied(state),
            **(newest.observed_inputs(state.get("copy_to_backup_storage_uuids")) if newest else {}),
        }
        return ReadOutcome(outputs=outputs, inputs=inputs)

    def delete(self, ctx: OperationContext, resource_id: str, state: Mapping[str, Any]) -> None:
        limits, hint = self._limits(state)
        claim = state.get("owner_claim")
        groups = [*(state.get("prune_pending") or []), *(b["group_uuid"] for b in reversed(_recorded(state)))]
        owner = VmBackupSeriesProperties.owner_of(state)
        if owner is not None:
            # A take that reached ZStack's tags but not the state (the CLI stopped in between) is ours too.
            owned = owned_groups(ctx, owner.like_pattern)
            groups += [
                g
                for g in sorted(owned.members)
                if any(o.resource_id == resource_id and o.claim == claim for o in owned.tags_of(g).owners)
            ]
        for group_uuid in dict.fromkeys(groups):
            subject = f"VmBackupSeries {resource_id} backup group {group_uuid}"
            delete_if_held(ctx, group_uuid, claim, limits, subject=subject, hint=hint)
        if owner is not None:
            subject = f"VmBackupSeries {resource_id}"
            sweep_unrecorded(ctx, owner, limits, keep=[], subject=subject, hint=hint)
