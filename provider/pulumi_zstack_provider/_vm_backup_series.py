"""The VmBackupSeries resource: a rotating series of VM backups, "a backup before every release, keep N".

The series itself is not a ZStack object: its id is a UUID of ours, and each backup it takes is one
CreateVmBackup group. The n-th backup of series S is always group ``take_id(S, n)``, so an update that
was interrupted while its backup was being made finds that backup again instead of taking another.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field, JsonValue

from ._backup_group import (
    DEFAULT_CREATE_TIMEOUT,
    DEFAULT_DELETE_TIMEOUT,
    BackupGroup,
    CreateVmBackupInputs,
    Limits,
    delete_group,
    group_occupancy,
    live_groups,
    take_backup,
)
from ._ids import take_id
from ._resource import Occupancy, OperationContext, ReadOutcome, ResourceDefinition
from ._schema import Input, Output, canonical_json
from ._types import PositiveCount, ZStackUuid

#: How many of a series' first takes a create probes to tell whether the series already exists.
_TAKES_PROBED = 64


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
        description="The series' UUID and the resource's id (not a ZStack object). The SDK derives it from "
        "the stack, the resource name and the inputs, so an interrupted first create is resumed; a "
        "replacement gets a new one. Only used at create.",
    )

    group_uuids: Annotated[list[str] | None, Output()] = Field(
        default=None, description="The kept backup groups, newest first; at most `keep`."
    )
    latest_group_uuid: Annotated[str | None, Output()] = Field(
        default=None, description="The newest backup group of the series."
    )
    backups: Annotated[list[dict[str, Any]] | None, Output()] = Field(
        default=None,
        description="One entry per kept backup, newest first: group_uuid, take (its number in the series), "
        "create_date, triggers (the values it was taken for), total_size (bytes), status.",
    )
    vm_instance_uuid: Annotated[str | None, Output()] = Field(default=None, description="The backed-up VM.")
    takes: Annotated[int | None, Output()] = Field(
        default=None, description="How many backups the series has taken in all, pruned ones included."
    )
    missing_group_uuids: Annotated[list[str] | None, Output()] = Field(
        default=None,
        description="Backups of the series found deleted outside Pulumi by refresh, and dropped from it.",
    )


def _entry(group: BackupGroup, take: int, triggers: Any) -> dict[str, Any]:
    root = group.root
    return {
        "group_uuid": group.group_uuid,
        "take": take,
        "create_date": root.create_date if root else None,
        "triggers": triggers,
        "total_size": group.total_size,
        "status": root.status if root else None,
    }


def _series_outputs(
    series_uuid: str, backups: list[dict[str, Any]], takes: int, vm_instance_uuid: str | None
) -> dict[str, Any]:
    return {
        "series_uuid": series_uuid,
        "group_uuids": [b["group_uuid"] for b in backups],
        "latest_group_uuid": backups[0]["group_uuid"] if backups else None,
        "backups": backups,
        "takes": takes,
        "vm_instance_uuid": vm_instance_uuid,
    }


def _recorded(state: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [dict(b) for b in state.get("backups") or [] if isinstance(b, Mapping) and b.get("group_uuid")]


def _takes(state: Mapping[str, Any], backups: list[dict[str, Any]]) -> int:
    recorded = state.get("takes")
    return int(recorded) if recorded is not None else len(backups)


class VmBackupSeriesResource(ResourceDefinition[VmBackupSeriesProperties]):
    model = VmBackupSeriesProperties
    label = "VmBackupSeries"

    def create(
        self, ctx: OperationContext, props: VmBackupSeriesProperties, resource_id: str
    ) -> dict[str, Any]:
        group = self._take(ctx, props, resource_id, 1)
        backups = [_entry(group, 1, props.triggers)]
        return {**props.model_dump(), **_series_outputs(resource_id, backups, 1, group.vm_instance_uuid)}

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
        if canonical_json(olds.get("triggers")) != canonical_json(props.triggers):
            takes += 1
            group = self._take(ctx, props, resource_id, takes)
            backups.insert(0, _entry(group, takes, props.triggers))
            vm_instance_uuid = group.vm_instance_uuid or vm_instance_uuid
        kept, pruned = backups[: props.keep], backups[props.keep :]
        # Oldest first, so an interruption leaves the newest backups in place.
        for backup in reversed(pruned):
            self._delete(
                ctx, resource_id, backup["group_uuid"], props.delete_timeout, props.max_poll_interval
            )
        return {**props.model_dump(), **_series_outputs(resource_id, kept, takes, vm_instance_uuid)}

    def _take(
        self, ctx: OperationContext, props: VmBackupSeriesProperties, series_uuid: str, take: int
    ) -> BackupGroup:
        group_uuid = take_id(series_uuid, take)
        limits = Limits.start(props.create_timeout, DEFAULT_CREATE_TIMEOUT, props.max_poll_interval)
        hint = (
            f"Raise the `create_timeout` input of this VmBackupSeries (now {limits.allowed}) and run "
            f"`pulumi up` again: the provider resumes backup group {group_uuid} instead of taking another."
        )
        subject = f"VmBackupSeries {series_uuid} backup {take} (group {group_uuid})"
        return take_backup(ctx, props, group_uuid, limits, subject=subject, hint=hint)

    @staticmethod
    def _delete(
        ctx: OperationContext,
        series_uuid: str,
        group_uuid: str,
        delete_timeout: str | None,
        max_poll_interval: str | None,
    ) -> None:
        limits = Limits.start(delete_timeout, DEFAULT_DELETE_TIMEOUT, max_poll_interval)
        hint = (
            f"Raise the `delete_timeout` input (now {limits.allowed}) and run the operation again; the "
            "series keeps listing the backup until it is gone."
        )
        subject = f"VmBackupSeries {series_uuid} backup group {group_uuid}"
        delete_group(ctx, group_uuid, limits, subject=subject, hint=hint)

    def occupancy(self, ctx: OperationContext, resource_id: str) -> Occupancy:
        # A series is recorded in a stack while any of its recorded backups lives; pruning removes the first.
        takes = [take_id(resource_id, n) for n in range(1, _TAKES_PROBED + 1)]
        found = {group_occupancy(ctx, g, members) for g, members in live_groups(ctx, takes).items()}
        for occupancy in (Occupancy.RECORDED, Occupancy.RESUMABLE):
            if occupancy in found:
                return occupancy
        return Occupancy.FREE

    def read(self, ctx: OperationContext, resource_id: str, state: Mapping[str, Any]) -> ReadOutcome | None:
        backups = _recorded(state)
        live = live_groups(ctx, [b["group_uuid"] for b in backups])
        kept: list[dict[str, Any]] = []
        for backup in backups:
            members = live.get(backup["group_uuid"])
            if members:
                group = BackupGroup(backup["group_uuid"], members, state.get("root_volume_uuid"))
                kept.append(_entry(group, int(backup.get("take") or 0), backup.get("triggers")))
        if not kept:
            return None
        missing = [b["group_uuid"] for b in backups if b["group_uuid"] not in live]
        newest = BackupGroup(
            kept[0]["group_uuid"], live[kept[0]["group_uuid"]], state.get("root_volume_uuid")
        )
        outputs = {
            **_series_outputs(resource_id, kept, _takes(state, backups), newest.vm_instance_uuid),
            "missing_group_uuids": sorted({*(state.get("missing_group_uuids") or []), *missing}) or None,
        }
        inputs = {
            "series_uuid": resource_id,
            **VmBackupSeriesProperties.user_supplied(state),
            **newest.observed_inputs(),
        }
        return ReadOutcome(outputs=outputs, inputs=inputs)

    def delete(self, ctx: OperationContext, resource_id: str, state: Mapping[str, Any]) -> None:
        backups = _recorded(state)
        # An update interrupted while taking its backup left that backup outside the state: it goes too.
        unrecorded_take = take_id(resource_id, _takes(state, backups) + 1)
        for group_uuid in [unrecorded_take, *(b["group_uuid"] for b in reversed(backups))]:
            self._delete(
                ctx, resource_id, group_uuid, state.get("delete_timeout"), state.get("max_poll_interval")
            )
