"""Markdown reference pages generated from a resource's property model."""

from __future__ import annotations

import types
import typing
from typing import Any

from ._ownership import OWNER_INPUTS
from ._schema import PropertySpec, ResourceModel, Role, wire_name
from ._vm_backup import VmBackupProperties
from ._vm_backup_schedule import VmBackupScheduleProperties
from ._vm_backup_series import VmBackupSeriesProperties
from ._vm_from_backup import VmFromBackupProperties

_ROLE_TITLES = {
    Role.INPUT: "Inputs",
    Role.SETTING: "Operation settings (changed in place, never replace)",
    Role.OUTPUT: "Outputs",
}


def _type_name(annotation: Any) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args if a is not type(None))
    if origin is typing.Literal:
        return " or ".join(repr(a) for a in args)
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return "object"
    return getattr(annotation, "__name__", str(annotation))


def _behaviour(spec: PropertySpec) -> str:
    notes = []
    if spec.required:
        notes.append("required")
    if spec.replace:
        notes.append("replaces on change")
    if spec.updates_in_place:
        notes.append("updates in place")
    elif spec.role is Role.INPUT and not spec.replace:
        notes.append("used at create only")
    if spec.ordered:
        notes.append("order matters")
    if spec.create_only and spec.replace:
        notes.append("not reported by ZStack; kept from state")
    if spec.secret:
        notes.append("secret")
    return ", ".join(notes)


def _other_languages(spec: PropertySpec) -> str:
    return "(from the URN)" if spec.name in OWNER_INPUTS else f"`{wire_name(spec.name)}`"


def render_reference(model: type[ResourceModel], title: str, intro: str) -> str:
    doors = (
        f"From Python, `pulumi_zstack.{title}` takes the names of the first column. From Pulumi YAML, Go, "
        f"TypeScript and every other language, the type `zstack:index:{title}` of the `zstack` plugin takes "
        "those of the second (the package schema's), and sets the owner from the resource's URN."
    )
    lines = [
        f"# {title}",
        "",
        "<!-- Generated from the property model; do not edit. -->",
        "",
        intro,
        "",
        doors,
        "",
    ]
    for role, heading in _ROLE_TITLES.items():
        specs = list(model.properties_with(role))
        if not specs:
            continue
        lines += [
            f"## {heading}",
            "",
            "| Python | other languages | type | behaviour | description |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| `{s.name}` | {_other_languages(s)} | `{_type_name(s.annotation)}` | {_behaviour(s)} | "
            f"{s.description} |"
            for s in specs
        ]
        lines.append("")
    return "\n".join(lines)


#: Reference page file -> (model, title, introduction); the introduction also describes the resource in
#: the package schema.
PAGES: dict[str, tuple[type[ResourceModel], str, str]] = {
    "vm_backup.md": (
        VmBackupProperties,
        "VmBackup",
        "`pulumi_zstack.VmBackup` backs up every non-shareable root and data volume of a VM with ZStack's "
        "`CreateVmBackup`. Its id is the backup group's UUID. ZStack has no update API for backups, so every "
        "ZStack-side input, and `triggers`, replaces the backup when it changes: the new backup is made "
        "first, under a new group UUID, and the old one is deleted once it is Ready.",
    ),
    "vm_backup_series.md": (
        VmBackupSeriesProperties,
        "VmBackupSeries",
        "`pulumi_zstack.VmBackupSeries` keeps the newest `keep` backups of one VM, each a `CreateVmBackup` "
        "group. Create takes the first backup; a change of `triggers` takes a new one and then deletes the "
        "oldest beyond `keep` (an update, not a replacement). Its id is a UUID of the series, which is not "
        "a ZStack object. Changing a ZStack-side input replaces the whole series, the new one made first.",
    ),
    "vm_backup_schedule.md": (
        VmBackupScheduleProperties,
        "VmBackupSchedule",
        "`pulumi_zstack.VmBackupSchedule` is ZStack's own backup schedule for one VM: a scheduler job of "
        "type `vmBackup` (target: the VM's root volume; retention and remote copy in its parameters), the "
        "trigger that fires it (a Quartz `cron` or `interval_seconds`) and, with `full_backup_cron`, a "
        "second trigger whose runs are full backups. ZStack runs it whether or not any pipeline runs. "
        "Its id is the job's UUID.\n\n"
        "**What changes in place.** Everything ZStack can change in place is an update (the preview says "
        "`update`): the job's name, description and parameters (storages, retentions, remote copy, "
        "bandwidths, `full_backup_cron`) with UpdateSchedulerJob, the timing with UpdateSchedulerTrigger "
        "(the job is rescheduled from that moment), `enabled` with ChangeSchedulerState. Only "
        "`root_volume_uuid` replaces the schedule (ZStack cannot move a job to another target): the new one "
        "is made first. The triggers keep the name they were made with.\n\n"
        "**Refresh.** ZStack never shows a job's parameters or a trigger's cron, so refresh keeps them from "
        "the state; it reads the job's name, description and state and the triggers' type and interval. A "
        "job deleted outside Pulumi removes the schedule from the state (the next `up` makes it again); a "
        "trigger deleted, unbound or changed outside Pulumi shows as a change of `cron`, `interval_seconds` "
        "or `full_backup_cron`, which the next `up` repairs.\n\n"
        "**Which backups are the schedule's.** ZStack records no job on a backup, but each run describes its "
        "backups `created by VM backup scheduler job[uuid:<job_uuid>]` (server class `CreateVmBackupJob`). "
        "`backup_group_uuids` lists the groups with that description, as of the last create, update or "
        "refresh; in ZStack, query volume backups with `description=created by VM backup scheduler "
        "job[uuid:<job_uuid>]`. Retention is per volume, not per job: ZStack prunes *every* scheduled backup "
        "of the volume (not the ones made by hand: `VmBackup` and `VmBackupSeries` backups are never "
        "pruned), so two schedules of one VM prune each other's backups.\n\n"
        "**Destroy** deletes the job and its triggers and **keeps the backups** the schedule made: they "
        "stay in ZStack as ordinary backups of the VM, no longer pruned. Set `delete_backups_on_destroy` to "
        "delete them too. A job another resource holds (its owner tag) is dropped from the stack, never "
        "deleted.",
    ),
    "vm_from_backup.md": (
        VmFromBackupProperties,
        "VmFromBackup",
        "`pulumi_zstack.VmFromBackup` is a new VM made from a VM backup group with ZStack's "
        "`CreateVmFromVmBackup`: one volume per member of the group, one NIC per L3 network. Its id is the "
        "VM's UUID, derived from the resource's URN and inputs, so an interrupted create resumes the same VM "
        "instead of making a second one. Create waits until the VM is in the state its `strategy` promises "
        "(`Running` by default). Every ZStack-side input, `group_uuid` included, replaces the VM: the new VM "
        "is made first, then the old one is destroyed and expunged. Refresh drops a VM destroyed outside "
        "Pulumi, and a VM found in another state than its strategy promises (stopped, say) is made again at "
        "the next `up`. Removing the VM also deletes and expunges its data volumes, which ZStack only "
        "detaches when a VM is destroyed (`dataVolume.deleteOnVmDestroy` is false by default); volumes "
        "attached to another VM since are left alone.",
    ),
}
